// OpenAPI 3.1 document generated from the same route definitions (zod schemas) the app mounts; Swagger UI at /docs.
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from "@asteasolutions/zod-to-openapi";
import type express from "express";
import swaggerUi from "swagger-ui-express";
import { z } from "zod";
import { allowedRoles, isMutating, openApiPath, pathParamNames, type RouteDef } from "./http.js";

const ErrorBody = z.object({ detail: z.string() });

function paramsSchema(route: RouteDef): z.ZodObject | undefined {
  if (route.params instanceof z.ZodObject) return route.params;
  const names = pathParamNames(route.path);
  if (names.length === 0) return undefined;
  return z.object(Object.fromEntries(names.map((n) => [n, z.string()])));
}

function err(description: string): {
  description: string;
  content: { "application/json": { schema: typeof ErrorBody } };
} {
  return { description, content: { "application/json": { schema: ErrorBody } } };
}

/** Routes that take a sign-in form as well as JSON (app.ts reads both there). */
const FORM_PATHS = new Set(["/api/auth/token", "/api/auth/login"]);
/** Session routes that answer no conflict: they only start, renew or end the caller's own session. */
const NO_CONFLICT_PATHS = new Set(["/api/auth/token", "/api/auth/login", "/api/auth/refresh", "/api/auth/logout"]);

/** What a body of the wrong media type or encoding is refused with, per route. */
function mediaTypeError(route: RouteDef): string {
  if (route.auth === "agent") return "Body not JSON (gzip, deflate or br compressed JSON is read)";
  if (FORM_PATHS.has(route.path)) return "Body neither JSON nor a form, or compressed";
  return "Body not JSON, or compressed";
}

/** What a request's body or query can be refused with. */
function inputErrors(route: RouteDef): RouteConfig["responses"] {
  const out: RouteConfig["responses"] = {};
  if (route.body) {
    out["400"] = err("Malformed JSON");
    out["413"] = err("Body larger than the limit");
    out["415"] = err(mediaTypeError(route));
  }
  const where = [route.params ? "path" : "", route.query ? "query" : "", route.body ? "body" : ""].filter(Boolean);
  if (where.length > 0) out["422"] = err(`Invalid value (${where.join(", ")}); the detail names the field`);
  return out;
}

/** Who may call: a user (role and organisation checked) or a cluster's agent (its token, for its cluster only). */
function authErrors(route: RouteDef): RouteConfig["responses"] {
  if (route.auth === "public") return {};
  if (route.auth === "agent") return { "401": err("Missing or invalid agent token, or another cluster's") };
  const impersonation = route.notImpersonated !== undefined ? "; never an impersonation token" : "";
  return {
    "401": err("Missing, invalid or expired token"),
    "403": err(`Role not allowed (allowed: ${allowedRoles(route).join(", ")}, super_admin)${impersonation}`),
  };
}

/** 404: an id of the path (or named in the request) that is not the caller's, or no organisation selected. */
function notFound(route: RouteDef): string | undefined {
  const tenant = route.auth === "user" && route.tenant !== false;
  if (pathParamNames(route.path).length > 0)
    return tenant
      ? "Not found, or not in the caller's organisation (a super_admin: no organisation selected with X-Org-Id)"
      : "Not found";
  if (tenant)
    return "An id the request names is not found in the caller's organisation, or (a super_admin) no organisation selected with X-Org-Id";
  return undefined;
}

function errorResponses(route: RouteDef): RouteConfig["responses"] {
  const out: RouteConfig["responses"] = { ...inputErrors(route), ...authErrors(route) };
  const missing = notFound(route);
  if (missing) out["404"] = err(missing);
  // an organisation's reads (and an agent's cluster) come from the informer cache, which answers only once synced
  if (route.auth === "agent" || (route.auth === "user" && route.tenant !== false))
    out["503"] = err("Caches not synced yet (just after start)");
  if (isMutating(route) && !NO_CONFLICT_PATHS.has(route.path))
    out["409"] = err("Conflicts with the current state; the detail says with what and what to do");
  if (route.rateLimit) out["429"] = err("Rate limited; see Retry-After");
  if (route.notBuilt) out["501"] = err(`Not built, answered to every valid request: ${route.notBuilt}`);
  return withRouteErrors(out, route.errors ?? {});
}

/** The route's own statuses over those its shape implies (null takes one out). */
function withRouteErrors(
  out: RouteConfig["responses"],
  own: NonNullable<RouteDef["errors"]>,
): RouteConfig["responses"] {
  for (const [status, description] of Object.entries(own)) {
    if (description === null) delete out[status];
    else if (description !== undefined) out[status] = err(description);
  }
  return out;
}

function successContent(route: RouteDef): RouteConfig["responses"][string] {
  if (route.produces === "csv") {
    return { description: "CSV", content: { "text/csv": { schema: z.string() } } };
  }
  if (typeof route.produces === "function") {
    // The query picks the format (e.g. ?format=csv); the route's description says how.
    return {
      description: "JSON, or CSV when the query asks for it",
      content: { "application/json": { schema: route.response }, "text/csv": { schema: z.string() } },
    };
  }
  const description = route.notBuilt
    ? "The answer once the feature is built; today every valid request gets 501"
    : "Success";
  return { description, content: { "application/json": { schema: route.response } } };
}

function describe(route: RouteDef): { description?: string } {
  const parts = [
    route.description,
    isMutating(route) && route.auth === "user" ? "Writes an audit entry." : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? { description: parts.join("\n\n") } : {};
}

function routeConfig(route: RouteDef): RouteConfig {
  const request: NonNullable<RouteConfig["request"]> = {};
  const params = paramsSchema(route);
  if (params) request.params = params;
  if (route.query instanceof z.ZodObject) request.query = route.query;
  if (route.body) request.body = { required: true, content: { "application/json": { schema: route.body } } };
  return {
    method: route.method,
    path: openApiPath(route.path),
    summary: route.summary,
    tags: route.tags,
    security: route.auth === "public" ? [] : route.auth === "agent" ? [{ agentToken: [] }] : [{ bearerAuth: [] }],
    request,
    responses: { [String(route.status ?? 200)]: successContent(route), ...errorResponses(route) },
    ...describe(route),
  };
}

/** The OpenAPI 3.1 document for the given routes. */
export function buildOpenApiDocument(
  routes: RouteDef[],
  version: string,
): ReturnType<OpenApiGeneratorV31["generateDocument"]> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  // the token POST /clusters/connect hands out for one cluster's agent: opaque, not a JWT
  registry.registerComponent("securitySchemes", "agentToken", { type: "http", scheme: "bearer" });
  for (const route of routes) registry.registerPath(routeConfig(route));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Spot Optimizer facade",
      version,
      description: 'REST facade of the Spot Optimizer operator. Errors are {"detail": string}.',
    },
    servers: [{ url: "/" }],
  });
}

/** Mounts /openapi.json (built once, on first request) and Swagger UI at /docs with locally served assets. */
export function mountDocs(app: express.Express, routes: RouteDef[], version: string): void {
  let document: unknown;
  app.get("/openapi.json", (_req, res) => {
    res.locals.routeTemplate = "/openapi.json";
    document ??= buildOpenApiDocument(routes, version);
    res.json(document);
  });
  app.use("/docs", (_req, res, next) => {
    res.locals.routeTemplate = "/docs";
    next();
  });
  app.use("/docs", swaggerUi.serve);
  app.get("/docs", swaggerUi.setup(undefined, { swaggerOptions: { url: "/openapi.json" } }));
}
