// The facade's express app: security headers, request logs, metrics, system endpoints, route modules, one error handler.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import express from "express";
import helmet from "helmet";
import { pino, type Logger } from "pino";
import { pinoHttp } from "pino-http";
import { Counter, Histogram, Registry } from "prom-client";
import { ZodError } from "zod";
import type { AuditWriter } from "../../src-shared/audit/types.js";
import { KubeApiError } from "../../src-shared/kube/client.js";
import { REDACTED_PATHS } from "../../src-shared/log/index.js";
import type { FacadeConfig } from "./config.js";
import { ForbiddenError, HttpError, NotFoundError, UnauthorizedError } from "./errors.js";
import {
  describeZodError,
  mountRoutes,
  type AuthContext,
  type ResponseMemo,
  type RouteDef,
  type RouteRateLimit,
} from "./http.js";
import { createRateLimiter, type ClientRateLimiter } from "./rate-limit.js";
import { mountDocs } from "./openapi.js";
import { RefusalAggregator } from "./audit-denials.js";
import { mapKubeError } from "./services/k8s-writes.js";

/** What the facade needs from the read model (cache.ts implements more). */
export interface FacadeCacheBase {
  hasSynced(): boolean;
  /** Changes whenever any cached object changes; without it no response is memoised. */
  version?(): number;
}

/** Verifies the per-cluster agent token of an `auth: "agent"` route (implemented with the cluster routes). */
export type AgentTokenVerifier = (token: string, params: unknown) => Promise<AuthContext>;

/** Verifies a user's Bearer access token (implemented in auth/). */
export interface UserAuthenticator {
  authenticateUser(req: express.Request): Promise<AuthContext>;
  /** False until users and sessions are loaded; /readyz waits for it. */
  hasSynced?(): boolean;
}

export interface FacadeDeps<C extends FacadeCacheBase = FacadeCacheBase> {
  cache: C;
  audit: AuditWriter;
  config: FacadeConfig;
  now: () => Date;
  /** Absent: every "user" route answers 401. */
  users?: UserAuthenticator;
  /** Absent: every "agent" route answers 401. */
  verifyAgentToken?: AgentTokenVerifier;
  logger?: Logger;
  /** Per-IP limiter of `rateLimit` routes; absent: counted in memory on this replica (start.ts passes the cluster one). */
  rateLimiter?: ClientRateLimiter;
  /** Registry the app's metrics go to (start.ts serves it on SPOTOPT_METRICS_PORT); absent: a fresh one. */
  metricsRegistry?: Registry;
}

export function bearerToken(req: express.Request): string {
  const header = req.headers.authorization;
  const match = typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new UnauthorizedError("missing or malformed Authorization: Bearer header");
  return match[1]!;
}

const SECRET_QUERY_KEY = /token|secret|pass|key|auth|sig|code|session|cookie/i;

/** The URL as logged: query values whose name suggests a credential are replaced (none is accepted there anyway). */
export function loggableUrl(url: string): string {
  const at = url.indexOf("?");
  if (at < 0) return url;
  const params = new URLSearchParams(url.slice(at + 1));
  for (const key of new Set(params.keys())) if (SECRET_QUERY_KEY.test(key)) params.set(key, "[REDACTED]");
  return `${url.slice(0, at)}?${params.toString()}`;
}

/** What an access-log line says about the request: enough to correlate, never a credential. */
function accessLogRequest(req: express.Request & { id?: unknown }): Record<string, unknown> {
  return {
    id: req.id,
    method: req.method,
    url: loggableUrl(req.originalUrl ?? req.url),
    remoteAddress: req.socket?.remoteAddress,
  };
}

function accessLogResponse(res: express.Response): Record<string, unknown> {
  return { statusCode: res.statusCode };
}

function requestId(req: express.Request, res: express.Response): string {
  const incoming = req.headers["x-request-id"];
  const id = typeof incoming === "string" && /^[A-Za-z0-9._-]{1,128}$/.test(incoming) ? incoming : randomUUID();
  res.setHeader("X-Request-Id", id);
  return id;
}

/** express.json / urlencoded refusals by their `type`. */
const BODY_PARSER_ERRORS: Readonly<Record<string, { status: number; detail: string }>> = {
  "entity.parse.failed": { status: 400, detail: "malformed JSON body" },
  "entity.too.large": { status: 413, detail: "request body too large" },
  "encoding.unsupported": { status: 415, detail: "unsupported body encoding" },
  "charset.unsupported": { status: 415, detail: "unsupported body encoding" },
};

/** One access-log line per request: lean records, 4xx at warn, 5xx at error (a 501 excepted). */
function accessLog(logger: Logger): express.RequestHandler {
  return pinoHttp({
    logger,
    genReqId: requestId,
    // Lean access-log records: no request headers at all (nothing to redact, and no per-request header copy).
    wrapSerializers: false,
    serializers: { req: accessLogRequest, res: accessLogResponse },
    // 501 is a documented answer (a feature without its provider), not a failure to alert on
    customLogLevel: (_req, res, err) =>
      res.statusCode === 501
        ? "info"
        : err || res.statusCode >= 500
          ? "error"
          : res.statusCode >= 400
            ? "warn"
            : "info",
    // ... logged as a completed request: no error object with a stack made up for its status
    customErrorObject: (_req, res, _err, fields: Record<string, unknown>) =>
      documentedAnswer(res) ? { ...fields, err: undefined } : fields,
    customErrorMessage: (_req, res) => (documentedAnswer(res) ? "request completed" : "request errored"),
  });
}

/** Media types read as JSON: application/json and its structured-suffix forms (e.g. merge-patch+json). */
const JSON_TYPES = ["application/json", "application/*+json"];
/** The agent's heartbeat route (routes/agent.ts). */
const HEARTBEAT_PATH = "/clusters/:id/heartbeat";
/** The agent's action-result route (routes/agent.ts). */
const RESULT_PATH = "/clusters/:id/actions/:action_id/result";
/** The routes that also take the OAuth2 password form. */
const LOGIN_PATHS = ["/api/auth/token", "/api/auth/login"];

/** A 501 the handler chose (a feature without its provider), not an error the request ran into. */
function documentedAnswer(res: { statusCode: number; err?: unknown }): boolean {
  return res.statusCode === 501 && !res.err;
}

/** The agent behind a request's Bearer token (UnauthorizedError when it is none). */
async function verifyAgent(deps: FacadeDeps, req: express.Request, params: unknown): Promise<AuthContext> {
  const token = bearerToken(req);
  if (!deps.verifyAgentToken) throw new UnauthorizedError("agent authentication is not configured");
  return deps.verifyAgentToken(token, params);
}

/**
 * An agent route's body (a heartbeat's up to 16 MiB once inflated) is read only once its agent token checks out:
 * anyone could otherwise have the process inflate and parse 16 MiB for each 16 KiB gzip body before the route answered
 * 401. The check's outcome is kept for the route's own authentication, which so answers (401, after the per-IP limits)
 * as without it.
 */
function agentsFirst(deps: FacadeDeps): {
  check: express.RequestHandler;
  json: { strict: false; type: (req: IncomingMessage) => boolean };
  refuseUnreadBodies: express.RequestHandler;
  verified: (req: express.Request) => Promise<AuthContext> | undefined;
} {
  const checked = new WeakMap<express.Request, Promise<AuthContext>>();
  const unread = new WeakSet<IncomingMessage>();
  return {
    check: (req, _res, next) => {
      const outcome = verifyAgent(deps, req, req.params);
      checked.set(req, outcome);
      outcome.then(
        () => next(),
        () => {
          unread.add(req);
          next();
        },
      );
    },
    // express gives every request its `is`
    json: { strict: false, type: (req) => !unread.has(req) && Boolean((req as express.Request).is(JSON_TYPES)) },
    refuseUnreadBodies: (req, res, next) => (unread.has(req) ? next() : refuseUnreadBodies(req, res, next)),
    verified: (req) => checked.get(req),
  };
}

/**
 * A body no parser read (another media type) is refused rather than ignored: its fields would otherwise be reported
 * missing. A parsed JSON body holding the key `__proto__` is refused too: validation would drop that key silently.
 */
function refuseUnreadBodies(req: express.Request, _res: express.Response, next: express.NextFunction): void {
  if (sentBody(req) && req.body === undefined)
    return next(new HttpError(415, "unsupported media type: send the body as application/json"));
  if (holdsProtoKey(req.body)) return next(new HttpError(422, 'body: the key "__proto__" is not allowed'));
  next();
}

/** A request that carries a body its route may read (GET, HEAD and OPTIONS bodies mean nothing here). */
function sentBody(req: express.Request): boolean {
  if (req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS") return false;
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/** Whether any object in a parsed JSON value has an own key `__proto__` (JSON.parse makes it an ordinary key). */
function holdsProtoKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== "object") continue;
    if (!Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, "__proto__")) return true;
    for (const child of Object.values(v)) stack.push(child);
  }
  return false;
}

/** Maps anything thrown to a status and a client-safe detail; unknown errors become a bare 500. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  // The API server's answers in the facade's words (services/k8s-writes.ts), wherever they were thrown.
  if (err instanceof KubeApiError) return mapKubeError(err) as HttpError;
  if (err instanceof ZodError) return new HttpError(422, describeZodError("body", err));
  return fromStatusOf(err);
}

/** A body-parser refusal by its `type`, another error's 4xx status as a bare "bad request", else a 500. */
function fromStatusOf(err: unknown): HttpError {
  const e = (err ?? {}) as { type?: string; status?: number; statusCode?: number };
  const known = e.type === undefined ? undefined : BODY_PARSER_ERRORS[e.type];
  if (known) return new HttpError(known.status, known.detail);
  const status = e.status ?? e.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) return new HttpError(status, "bad request");
  return new HttpError(500, "internal error");
}

interface AppMetrics {
  registry: Registry;
  durationSeconds: Histogram<"method" | "route" | "status_code">;
  auditFailures: Counter<"route">;
  memoLookups: Counter<"route" | "result">;
}

function createMetrics(registry: Registry): AppMetrics {
  const durationSeconds = new Histogram({
    name: "spotopt_facade_http_request_duration_seconds",
    help: "Facade request duration by route template",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const auditFailures = new Counter({
    name: "spotopt_facade_audit_write_failures_total",
    help: "Audit entries that could not be written after the change was made",
    labelNames: ["route"] as const,
    registers: [registry],
  });
  const memoLookups = new Counter({
    name: "spotopt_facade_response_memo_lookups_total",
    help: "Lookups of memoised GET responses by route template and result (hit: served without recomputing)",
    labelNames: ["route", "result"] as const,
    registers: [registry],
  });
  return { registry, durationSeconds, auditFailures, memoLookups };
}

function metricsMiddleware(metrics: AppMetrics): express.RequestHandler {
  return (req, res, next) => {
    const end = metrics.durationSeconds.startTimer();
    res.on("finish", () => {
      // Route template, never the raw URL: ids in paths would explode the label cardinality.
      const route = typeof res.locals.routeTemplate === "string" ? res.locals.routeTemplate : "unmatched";
      end({ method: req.method, route, status_code: String(res.statusCode) });
    });
    next();
  };
}

function mountSystemRoutes(app: express.Express, deps: FacadeDeps, metrics: AppMetrics): void {
  const template =
    (path: string): express.RequestHandler =>
    (_req, res, next) => {
      res.locals.routeTemplate = path;
      next();
    };
  app.get("/", template("/"), (_req, res) => {
    res.json({
      name: "spot-optimizer",
      version: deps.config.version,
      docs: "/docs",
      openapi: "/openapi.json",
      health: "/health",
    });
  });
  app.get("/health", template("/health"), (_req, res) => {
    res.json({
      status: "healthy",
      service: "spot-optimizer-facade",
      version: deps.config.version,
      timestamp: deps.now().toISOString(),
    });
  });
  app.get("/healthz", template("/healthz"), (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", template("/readyz"), (_req, res) => {
    if (deps.cache.hasSynced() && (deps.users?.hasSynced?.() ?? true)) res.json({ status: "ready" });
    else res.status(503).json({ detail: "caches not synced yet" });
  });
  // With its own port configured, /metrics is served there only; here it answers only a super_admin.
  if (deps.config.metricsPort !== undefined) return;
  app.get("/metrics", template("/metrics"), (req, res, next) => {
    metricsCaller(deps, req)
      .then(() => metrics.registry.metrics())
      .then((text) => res.type(metrics.registry.contentType).send(text))
      .catch(next);
  });
}

async function metricsCaller(deps: FacadeDeps, req: express.Request): Promise<void> {
  if (!deps.users) throw new UnauthorizedError("user authentication is not configured");
  const caller = await deps.users.authenticateUser(req);
  if (caller.role !== "super_admin" || caller.impersonating)
    throw new ForbiddenError("metrics are for the platform admin (or set SPOTOPT_METRICS_PORT)");
}

function errorHandler(logger: Logger): express.ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const httpError = toHttpError(err);
    if (httpError.status >= 500 && httpError.status !== 501) {
      (req.log ?? logger).error({ err }, "Request failed");
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [name, value] of Object.entries(httpError.headers ?? {})) res.setHeader(name, value);
    res.status(httpError.status).json({ detail: httpError.detail });
  };
}

/** helmet's headers; HSTS and upgrade-insecure-requests only when the facade is really reached over HTTPS. */
function securityHeaders(servedOverHttps: boolean): express.RequestHandler {
  return helmet({
    strictTransportSecurity: servedOverHttps,
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: servedOverHttps ? [] : null } },
  });
}

const MEMO_MAX_ENTRIES_PER_ROUTE = 2000;

function responseMemo(deps: FacadeDeps, metrics: AppMetrics): ResponseMemo | undefined {
  const cache = deps.cache;
  if (deps.config.responseMemoMs <= 0 || !cache.version) return undefined;
  return {
    version: () => cache.version!(),
    nowMs: () => deps.now().getTime(),
    maxAgeMs: deps.config.responseMemoMs,
    maxEntries: MEMO_MAX_ENTRIES_PER_ROUTE,
    record: (route, hit) => metrics.memoLookups.inc({ route, result: hit ? "hit" : "miss" }),
  };
}

function refusalAggregator(deps: FacadeDeps, metrics: AppMetrics, logger: Logger): RefusalAggregator {
  return new RefusalAggregator({
    windowMs: deps.config.auditRefusalWindowMs,
    nowMs: () => deps.now().getTime(),
    write: async (input) => {
      try {
        await deps.audit.record(input);
      } catch (err) {
        metrics.auditFailures.inc({ route: input.event });
        logger.error({ err, event: input.event }, "Audit entry not written");
      }
    },
  });
}

/** The app and what to call before the process stops. */
export interface FacadeApp {
  app: express.Express;
  /** Writes the counts of refusals still being aggregated. */
  flushAuditRefusals(): Promise<void>;
}

/** Builds the app; `routeModules` are the route lists the route module factories built (auth, audit, clusters, ...). */
export function createFacadeApp(deps: FacadeDeps, routeModules: RouteDef[][]): express.Express {
  return buildFacadeApp(deps, routeModules).app;
}

/** Builds the app with its shutdown hook. */
export function buildFacadeApp(deps: FacadeDeps, routeModules: RouteDef[][]): FacadeApp {
  const logger = deps.logger ?? pino({ level: deps.config.logLevel, redact: REDACTED_PATHS });
  // A registry per app (two apps in one process, as in tests, must not collide on names), or the caller's, which
  // start.ts serves on the metrics port.
  const metrics = createMetrics(deps.metricsRegistry ?? new Registry());
  const routes = routeModules.flat();
  const limiter = deps.rateLimiter ?? createRateLimiter(() => deps.now().getTime());
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", deps.config.trustProxy);
  app.use(securityHeaders(deps.config.servedOverHttps));
  app.use(accessLog(logger));
  app.use(metricsMiddleware(metrics));
  const agents = agentsFirst(deps);
  app.post([HEARTBEAT_PATH, RESULT_PATH], agents.check);
  // A heartbeat lists every node and pod group of a cluster: thousands of nodes pass the general limit.
  app.post(HEARTBEAT_PATH, express.json({ ...agents.json, limit: deps.config.heartbeatBodyLimitBytes }));
  // The agent compresses big bodies; elsewhere a compressed body is refused (415) before it is inflated: 1 KiB of gzip
  // from anyone inflates to the whole 1 MiB limit, parsed before any route or rate limit sees the request.
  app.post(RESULT_PATH, express.json({ ...agents.json, limit: deps.config.bodyLimitBytes }));
  app.use(express.json({ ...agents.json, limit: deps.config.bodyLimitBytes, inflate: false }));
  // The OAuth2 password form of the login routes posts urlencoded fields; no other route reads a form.
  app.use(LOGIN_PATHS, express.urlencoded({ limit: deps.config.bodyLimitBytes, extended: false, inflate: false }));
  app.use(agents.refuseUnreadBodies);
  mountSystemRoutes(app, deps, metrics);
  mountDocs(app, routes, deps.config.version);
  const router = express.Router();
  const refusals = refusalAggregator(deps, metrics, logger);
  mountRoutes(router, routes, {
    refusals,
    authenticate: async (req, kind, params) => {
      if (kind === "user") {
        if (!deps.users) throw new UnauthorizedError("user authentication is not configured");
        return deps.users.authenticateUser(req);
      }
      return agents.verified(req) ?? verifyAgent(deps, req, params);
    },
    audit: deps.audit,
    platformNamespace: deps.config.systemNamespace,
    rateLimit: (clientKey: string, limit: RouteRateLimit) => limiter(clientKey, limit),
    validateResponses: deps.config.validateResponses,
    onAuditError: (err, route) => {
      metrics.auditFailures.inc({ route: route.path });
      logger.error({ err, route: route.path }, "Audit entry not written");
    },
    memo: responseMemo(deps, metrics),
  });
  app.use(router);
  app.use((_req, _res, next) => next(new NotFoundError("not found")));
  app.use(errorHandler(logger));
  return { app, flushAuditRefusals: () => refusals.flush() };
}
