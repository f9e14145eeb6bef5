# syntax=docker/dockerfile:1
# One image, three entrypoints: `docker run IMAGE operator|facade|agent` (see bin/spot-optimizer.mjs).

# Production dependencies only, installed from the lockfile without running install scripts.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# The agent compiled into one file (esbuild, a dev dependency): it runs in every workload cluster, so it starts without
# tsx and loads far less.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src-shared ./src-shared
COPY agent ./agent
RUN npm run build:agent

# Runtime: operator and facade run their sources through tsx (a production dependency); the agent runs its bundle.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src-shared ./src-shared
COPY operator ./operator
COPY agent ./agent
COPY crds ./crds
COPY --from=build /app/dist ./dist
# The node image's unprivileged user (uid 1000, matching the chart's runAsUser); the root filesystem can be read-only
# because tsx's compile cache goes to /tmp (an emptyDir in the chart).
USER 1000:1000
EXPOSE 8080 8081
ENTRYPOINT ["node", "/app/bin/spot-optimizer.mjs"]
CMD ["operator"]
