// Starts a facade: auth store + signing key, informer cache, audit chain, bootstrap super_admin, then the HTTP server.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";
import express from "express";
import { Registry } from "prom-client";
import { pino, type Logger } from "pino";
import { createAuditChainStore, type AuditChainStore } from "../../src-shared/audit/writer.js";
import { KubeClient } from "../../src-shared/kube/client.js";
import { createAdminRoutes } from "./admin/routes.js";
import { buildFacadeApp, type FacadeApp, type FacadeDeps } from "./app.js";
import { REDACTED_PATHS } from "../../src-shared/log/index.js";
import { createAuditRoutes } from "./audit/routes.js";
import { getOrganisation, listOrganisations, orgIdOfNamespace } from "./auth/orgs.js";
import { createAuthRoutes } from "./auth/routes.js";
import { AuthService, generateAdminCredentials } from "./auth/service.js";
import { createFacadeCache, type FacadeCache } from "./cache.js";
import { loadFacadeConfig, type FacadeConfig, type FacadeConfigOverrides } from "./config.js";
import type { RouteDef } from "./http.js";
import { createOutboxMailer } from "./mail.js";
import { createClusterRateLimiter, type ClusterRateLimiter } from "./rate-limit-cluster.js";
import { createResourceRoutes } from "./routes/index.js";
import { attachStreams } from "./streams.js";
import type { LogTap } from "./log-tap.js";
import { createResourceServices, type ResourceServices } from "./services/index.js";
import { createAgentTokenVerifier } from "./services/agent-token.js";
import { createSettingsRoutes } from "./settings/routes.js";
import { isStale } from "../../src-shared/pricing/freshness.js";
import { sweepAgentObjects } from "./services/agent-objects-sweep.js";

export interface BootstrapAdmin {
  email: string;
  password: string;
  /** Set the password even if the account exists (local mode prints fresh credentials on each start). */
  resetPassword?: boolean;
}

export interface StartFacadeOptions {
  kubeConfig: KubeConfig;
  /** Default 8080; 0 = ephemeral. */
  port?: number;
  /** Default 127.0.0.1; main.ts passes 0.0.0.0 inside a pod. */
  host?: string;
  /** Overrides on top of the SPOTOPT_* environment. */
  config?: FacadeConfigOverrides;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  logger?: Logger;
  /** Default: SPOTOPT_ADMIN_EMAIL / SPOTOPT_ADMIN_PASSWORD when both are set. */
  admin?: BootstrapAdmin;
  /** Route modules mounted after the facade's own (tests add probes). */
  extraRoutes?: RouteDef[][];
  /** Where `logger` also writes its lines, for WS /admin/logs (none: that stream answers 503). */
  logTap?: LogTap;
}

export interface RunningFacade {
  url: string;
  port: number;
  app: express.Express;
  auth: AuthService;
  audit: AuditChainStore;
  cache: FacadeCache;
  config: FacadeConfig;
  /** The resource services the routes run on (benchmarks read their counters). */
  services: ResourceServices;
  /** Where /metrics is served when SPOTOPT_METRICS_PORT is set (else on the API port, for a super_admin). */
  metricsUrl?: string;
  /** What bootstrapping the super_admin did: created it, reset its password, or found it as it was. */
  adminBootstrap?: "created" | "updated" | "unchanged";
  stop(): Promise<void>;
}

function adminFromEnv(env: NodeJS.ProcessEnv): BootstrapAdmin | undefined {
  const email = env.SPOTOPT_ADMIN_EMAIL;
  const password = env.SPOTOPT_ADMIN_PASSWORD;
  return email && password ? { email, password } : undefined;
}

function listen(app: express.Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once("listening", () => resolve(server));
    server.once("error", reject);
  });
}

/**
 * Applies the stored retention policies periodically. Every replica may run it: removals are idempotent and the
 * anchor only moves forward (resourceVersion-guarded), so two sweeps at once agree.
 */
function startRetentionSweep(parts: FacadeParts, logger: Logger | undefined): NodeJS.Timeout | undefined {
  const { audit, client, config } = parts;
  if (config.retentionSweepSeconds <= 0) return undefined;
  // the chains are the organisations' and the platform's: their namespaces, not a cluster-wide ConfigMap list
  const namespaces = async (): Promise<string[]> => [
    config.systemNamespace,
    ...(await listOrganisations(client)).map((o) => o.namespace),
  ];
  const timer = setInterval(() => {
    namespaces()
      .then((list) => audit.sweepRetention(list))
      .catch((err: unknown) => logger?.warn({ err }, "Audit retention sweep failed"));
  }, config.retentionSweepSeconds * 1000);
  timer.unref();
  return timer;
}

/** The metrics listener: /metrics only, unauthenticated, for a scraper on a port the Ingress never routes to. */
function metricsApp(registry: Registry): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.get("/metrics", (_req, res, next) => {
    registry
      .metrics()
      .then((text) => res.type(registry.contentType).send(text))
      .catch(next);
  });
  app.use((_req, res) => res.status(404).json({ detail: "not found" }));
  return app;
}

/** The parts every route module is built from. */
interface FacadeParts {
  client: KubeClient;
  auth: AuthService;
  cache: FacadeCache;
  audit: AuditChainStore;
  config: FacadeConfig;
  now: () => Date;
}

/** Every route module, each built from the parts and services it needs. */
function routeModulesOf(parts: FacadeParts, services: ResourceServices): RouteDef[][] {
  const { client, auth, cache, audit, config, now } = parts;
  return [
    createAuthRoutes(auth, config, cache),
    createAuditRoutes({
      audit,
      cache,
      now,
      config,
      emailOfUser: (id) => auth.store.cachedUserById(id)?.email,
      signingKey: () => auth.store.signingKey(),
      checkOrganisation: async (namespace) => {
        await getOrganisation(client, orgIdOfNamespace(namespace));
      },
    }),
    createSettingsRoutes({ auth, client, cache, inviteLimits: config.rateLimits }),
    createAdminRoutes({
      auth,
      client,
      cache,
      systemNamespace: config.systemNamespace,
      isStale: (asOf) => isStale(asOf, now().getTime(), config.priceMaxAgeMs),
    }),
    ...createResourceRoutes(services),
  ];
}

/** Auth, read model and audit chain, started; the super_admin bootstrapped when one is configured. */
async function startParts(
  options: StartFacadeOptions,
): Promise<FacadeParts & { adminBootstrap: RunningFacade["adminBootstrap"] }> {
  const env = options.env ?? process.env;
  const config = loadFacadeConfig(env, options.config ?? {});
  const now = options.now ?? ((): Date => new Date());
  const client = new KubeClient(options.kubeConfig);
  const mailer = config.mailOutbox ? createOutboxMailer(config.mailOutbox, options.logger, now) : undefined;
  const auth = new AuthService({ client, kubeConfig: options.kubeConfig, config, now, mailer });
  const cache = createFacadeCache(options.kubeConfig, { systemNamespace: config.systemNamespace });
  await Promise.all([auth.start(), cache.start()]);
  const admin = options.admin ?? adminFromEnv(env);
  const adminBootstrap = admin
    ? await auth.ensureSuperAdmin(admin.email, admin.password, admin.resetPassword ?? false)
    : undefined;
  const audit = createAuditChainStore({ client, now });
  return { client, auth, cache, audit, config, now, adminBootstrap };
}

interface Listening {
  server: Server;
  metricsServer: Server | undefined;
}

/** The API listener and, when configured, the metrics listener; on failure neither is left open. */
async function listenAll(
  app: express.Express,
  metricsRegistry: Registry,
  options: StartFacadeOptions & { config: FacadeConfig },
): Promise<Listening> {
  const { config } = options;
  let server: Server | undefined;
  try {
    server = await listen(app, options.port ?? 8080, options.host ?? "127.0.0.1");
    const metricsServer =
      config.metricsPort === undefined
        ? undefined
        : await listen(metricsApp(metricsRegistry), config.metricsPort, config.metricsHost);
    return { server, metricsServer };
  } catch (err) {
    server?.close();
    throw err;
  }
}

/** Where the metrics listener answers, as a URL a scraper on this host can use. */
function metricsUrlOf(metricsServer: Server | undefined, config: FacadeConfig): string | undefined {
  if (!metricsServer) return undefined;
  const host = config.metricsHost === "0.0.0.0" ? "127.0.0.1" : config.metricsHost;
  return `http://${host}:${(metricsServer.address() as AddressInfo).port}/metrics`;
}

/**
 * Deletes the agent objects of clusters gone, periodically. Every replica may run it: each deletion is confirmed with a
 * live read of the cluster and guarded by the resourceVersion listed.
 */
function startAgentObjectSweep(parts: FacadeParts, logger: Logger | undefined): NodeJS.Timeout | undefined {
  const { client, cache, config, now } = parts;
  if (config.agentObjectSweepSeconds <= 0) return undefined;
  const timer = setInterval(() => {
    sweepAgentObjects({ client, cache, releaseNamespace: config.systemNamespace, now })
      .then((deleted) => {
        if (deleted > 0) logger?.info({ deleted }, "Deleted agent objects of clusters gone");
      })
      .catch((err: unknown) => logger?.warn({ err }, "Agent object sweep failed"));
  }, config.agentObjectSweepSeconds * 1000);
  timer.unref();
  return timer;
}

/** The periodic sweeps of a running replica; the function returned stops them. */
function startSweeps(parts: FacadeParts & { rateLimiter: ClusterRateLimiter }, logger: Logger | undefined): () => void {
  const { config } = parts;
  const sweep = startRetentionSweep(parts, logger);
  const agentObjectSweep = startAgentObjectSweep(parts, logger);
  const stopRateLimitSweep =
    config.rateLimitSweepSeconds > 0
      ? parts.rateLimiter.startSweep(config.rateLimitSweepSeconds * 1000)
      : (): void => undefined;
  return () => {
    clearInterval(sweep);
    clearInterval(agentObjectSweep);
    stopRateLimitSweep();
  };
}

/** The app over the started parts: the replicas' shared rate limiter, the resource services and every route. */
async function appOf(
  parts: FacadeParts,
  options: StartFacadeOptions,
): Promise<FacadeApp & { rateLimiter: ClusterRateLimiter; services: ResourceServices; metricsRegistry: Registry }> {
  const { client, auth, cache, audit, config, now } = parts;
  const logger = options.logger ? { logger: options.logger } : {};
  // Counters shared by all replicas; client IPs are hashed under a key derived from the (shared) JWT signing key.
  const rateLimiter = createClusterRateLimiter({
    client,
    namespace: config.systemNamespace,
    hashKey: await auth.store.signingKey(),
    now,
    logger: options.logger ?? pino({ level: config.logLevel, redact: REDACTED_PATHS }),
  });
  const metricsRegistry = new Registry();
  const services = createResourceServices({ ...parts, ...logger });
  const deps: FacadeDeps<FacadeCache> = {
    cache,
    audit,
    config,
    now,
    users: auth,
    verifyAgentToken: createAgentTokenVerifier(cache),
    rateLimiter: rateLimiter.check,
    metricsRegistry,
    ...logger,
  };
  const routes = [...routeModulesOf(parts, services), ...(options.extraRoutes ?? [])];
  return { ...buildFacadeApp(deps, routes), rateLimiter, services, metricsRegistry };
}

/** Starts everything and listens; `stop()` closes the server and stops the watches. */
export async function startFacade(options: StartFacadeOptions): Promise<RunningFacade> {
  const { adminBootstrap, ...parts } = await startParts(options);
  const { client, auth, cache, audit, config } = parts;
  const { app, flushAuditRefusals, rateLimiter, services, metricsRegistry } = await appOf(parts, options);
  let listening: Listening;
  try {
    listening = await listenAll(app, metricsRegistry, { ...options, config });
  } catch (err) {
    await Promise.all([auth.stop(), cache.stop()]);
    throw err;
  }
  const { server, metricsServer } = listening;
  const streams = attachStreams(server, {
    cache,
    authenticateUser: (req) => auth.authenticateUser(req),
    recheckMs: config.streamRecheckSeconds * 1000,
    ...(options.logTap ? { logTap: options.logTap } : {}),
  });
  const stopSweeps = startSweeps({ ...parts, rateLimiter }, options.logger);
  const port = (server.address() as AddressInfo).port;
  const metricsUrl = metricsUrlOf(metricsServer, config);
  const host = options.host && options.host !== "0.0.0.0" ? options.host : "127.0.0.1";
  const url = `http://${host}:${port}`;
  // Without SPOTOPT_PUBLIC_URL the links handed back name the listen address (known only now, for port 0).
  if (!config.publicUrl) {
    config.publicUrl = url;
    // Listening on every interface (in a cluster) yet naming loopback: connect's command would point agents nowhere.
    if (options.host === "0.0.0.0")
      options.logger?.warn(
        { publicUrl: url },
        "SPOTOPT_PUBLIC_URL is not set: agents' endpoint and signed links name the loopback address, which other machines do not reach; set it (chart: facade.publicUrl)",
      );
  }
  return {
    url,
    port,
    app,
    auth,
    audit,
    cache,
    config,
    services,
    ...(adminBootstrap ? { adminBootstrap } : {}),
    ...(metricsUrl ? { metricsUrl } : {}),
    stop: async () => {
      metricsServer?.closeAllConnections();
      metricsServer?.close();
      stopSweeps();
      streams.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await flushAuditRefusals();
      await services.agent.ingest.close();
      await Promise.all([auth.stop(), cache.stop()]);
      client.close();
    },
  };
}

export { generateAdminCredentials };
