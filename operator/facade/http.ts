// Route machinery: declarative route definitions (zod in/out), mounted with auth, roles, tenancy, validation and audit.
import type express from "express";
import { z } from "zod";
import type { AuditInput, AuditOutcome, AuditWriter } from "../../src-shared/audit/types.js";
import { ForbiddenError, NotFoundError, UnauthorizedError, UnprocessableError } from "./errors.js";
import { roundMoneyFields } from "../../src-shared/pricing/rounding.js";

export type Role = "owner" | "admin" | "viewer" | "super_admin";

export const ORG_ROLES: Role[] = ["owner", "admin", "viewer"];

export interface AuthContext {
  userId: string;
  email: string;
  role: Role;
  /** The organisation's stable id ("" for a super_admin not acting on an organisation). */
  orgId: string;
  /** The org's namespace; for super_admin the org being acted on (X-Org-Id header), if any, else "". */
  namespace: string;
  /** Refresh-token family (session) the access token belongs to; logout revokes it. */
  sessionId?: string;
  /** The cluster the user chose with PATCH /settings/context (a default for routes that take an optional cluster_id). */
  activeClusterId?: string;
  /** Set for `auth: "agent"` routes: the ManagedCluster the agent token was issued for. */
  agentClusterId?: string;
  /** An impersonation token: `email` is the super_admin's, acting as an owner of this one organisation. */
  impersonating?: boolean;
  /** A super_admin chose this organisation with the X-Org-Id header (its reads are audited there too). */
  viaOrgHeader?: boolean;
}

/** The audit actor of a caller: an impersonating super_admin is recorded as such in the organisation's chain. */
export function auditActor(auth: AuthContext): string {
  return auth.impersonating ? `${auth.email} (admin acting as user)` : auth.email;
}

/** Details a handler adds to the audit entry the machinery writes for a mutating request. */
export interface AuditNote {
  event?: string;
  resource?: string;
  before?: unknown;
  after?: unknown;
  /** Namespace to record in when the route has no authenticated org (e.g. signup, login). */
  namespace?: string;
  /** Actor when there is no authenticated user (e.g. login: the email that logged in). */
  actor?: string;
}

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  auth: AuthContext | undefined;
  req: express.Request;
  res: express.Response;
  /** Enriches (or, for public routes, enables) the one audit entry written for this request. */
  audit: (note: AuditNote) => void;
}

export type HttpMethod = "get" | "post" | "patch" | "put" | "delete";

export interface RouteRateLimit {
  /** Bucket name; routes sharing a name share the counter (e.g. token and login). */
  name: string;
  windowMs: number;
  limit: number;
  /** Whose requests are counted together: the client IP (default), the caller, or the caller's organisation. */
  per?: "ip" | "user" | "organisation";
}

export interface RouteDef<P = unknown, Q = unknown, B = unknown, R = unknown> {
  method: HttpMethod;
  /** Express style: "/clusters/:id". */
  path: string;
  summary: string;
  tags: string[];
  /** "user" = Bearer access JWT; "agent" = per-cluster agent token. */
  auth: "public" | "user" | "agent";
  /** Allowed roles; default: GET -> all org roles, mutating -> owner, admin (super_admin always allowed). */
  roles?: Role[];
  /**
   * Why an impersonation token is refused here (403 with this detail, audited as denied): the route changes who has
   * access to the organisation or what its audit log keeps, which a one-hour token must not make lasting.
   */
  notImpersonated?: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  response: z.ZodType<R>;
  /** Success status, default 200. */
  status?: number;
  /**
   * csv: the handler returns a string. A function chooses per request from the parsed query (e.g. `?format=csv`);
   * the handler then returns the string for "csv" requests, which are not parsed with `response`.
   */
  produces?: "json" | "csv" | ((query: unknown) => "json" | "csv");
  /** Longer OpenAPI description (formats, headers, procedures); `summary` stays one line. */
  description?: string;
  // Method syntax on purpose: keeps RouteDef<{ id: string }> assignable to RouteDef[] (bivariant params).
  handler(ctx: RouteContext<P, Q, B>): Promise<R>;
  /** Default true for "user" routes: needs auth.namespace (an organisation) to be set. */
  tenant?: boolean;
  /** Default true for mutating methods; false skips the audit entry (e.g. agent heartbeats). */
  audit?: boolean;
  /** Fixed-window limits (per IP, user or organisation), answered with 429 + Retry-After. */
  rateLimit?: RouteRateLimit | RouteRateLimit[];
  /** The answer carries a credential or an export: `Cache-Control: no-store`, so no browser or proxy keeps it. */
  noStore?: boolean;
  /**
   * GET only: the response is a pure function of the read cache, the caller's organisation and the URL, so its
   * serialised body may be reused while the cache has not changed (see ResponseMemo).
   */
  memo?: boolean;
  /**
   * The answer carries audit records as they were stored and hashed: money rounding would change the values an export
   * verifies against and a diff shows.
   */
  asRecorded?: boolean;
  /** The feature is not built: a valid request answers 501 with this detail (the OpenAPI document says so). */
  notBuilt?: string;
  /**
   * Statuses this route's own handler answers beyond what its shape implies (OpenAPI only), e.g. a public sign-in's
   * 401; null takes one of those out (a POST that conflicts with nothing answers no 409).
   */
  errors?: Partial<Record<"401" | "403" | "404" | "409" | "501" | "503", string | null>>;
}

/** Identity-typed helper so route modules get inference on params/query/body/response. */
export function defineRoute<P, Q, B, R>(def: RouteDef<P, Q, B, R>): RouteDef<P, Q, B, R> {
  return def;
}

/** Resolves the caller of a protected route; throws UnauthorizedError when the credential is missing or bad. */
export type Authenticator = (req: express.Request, kind: "user" | "agent", params: unknown) => Promise<AuthContext>;

/** Checks one request of `clientKey` (an IP, `user:<id>` or `org:<id>`); throws (or rejects with) RateLimitError. */
export type RateLimiter = (clientKey: string, limit: RouteRateLimit) => void | Promise<void>;

/**
 * Serialised responses of `memo` routes, reused while the read cache's version is unchanged and for at most
 * `maxAgeMs` (figures that depend on the clock, e.g. a 7-day window, or on a price book refreshed outside the
 * cache, are at most that old). Saves the handler, JSON.stringify and the ETag hash on dashboards that poll.
 */
export interface ResponseMemo {
  /** Changes whenever any cached object changes. */
  version(): number;
  nowMs(): number;
  maxAgeMs: number;
  maxEntries: number;
  /** Counts lookups (a metric: a low hit rate means the cache changes faster than dashboards poll). */
  record?(route: string, hit: boolean): void;
}

interface MemoEntry {
  version: number;
  atMs: number;
  body: Buffer;
  etag: string | undefined;
}

export interface RouteRuntime {
  authenticate: Authenticator;
  audit: AuditWriter;
  rateLimit: RateLimiter;
  /** Parse handler results with the response schema (tests/dev); production skips it for speed. */
  validateResponses: boolean;
  onAuditError: (err: unknown, route: RouteDef) => void;
  /** Absent: `memo` routes run their handler on every request. */
  memo?: ResponseMemo;
  /**
   * The platform chain (the system namespace): entries of callers without an organisation (a super_admin's own
   * logins, logouts, password changes, failed logins of unknown emails) land here, so none is dropped.
   */
  platformNamespace?: string;
  /** Denied requests and failed public-route attempts: identical ones of an actor are counted into one entry. */
  refusals?: { record(input: AuditInput): Promise<void> };
}

const MUTATING = new Set<HttpMethod>(["post", "patch", "put", "delete"]);

export function isMutating(route: Pick<RouteDef, "method">): boolean {
  return MUTATING.has(route.method);
}

export function allowedRoles(route: Pick<RouteDef, "method" | "roles">): Role[] {
  if (route.roles) return route.roles;
  return isMutating(route) ? ["owner", "admin"] : ORG_ROLES;
}

/** `/clusters/:id` -> `/clusters/{id}` for OpenAPI. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

export function pathParamNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

/** One line naming the field: `body.email: Invalid email address; query.limit: ...`. */
export function describeZodError(where: string, error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const field = [where, ...issue.path.map((p) => clipped(String(p), 64))].join(".");
      return `${field}: ${clipped(issue.message, 200)}`;
    })
    .join("; ");
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Client-sent text echoed in an error: at most `max` characters, and no lone surrogate (not valid UTF-8 to send). */
function clipped(text: string, max: number): string {
  // cut first: a cut may split a surrogate pair, whose half the replacement then removes
  const cut = text.length <= max ? text : `${text.slice(0, max - 1)}…`;
  return cut.replace(LONE_SURROGATE, "\uFFFD");
}

function parsePart<T>(where: string, schema: z.ZodType<T> | undefined, raw: unknown): T {
  if (!schema) return raw as T;
  const result = schema.safeParse(raw);
  if (!result.success) throw new UnprocessableError(describeZodError(where, result.error));
  return result.data;
}

/** Express 5 defines req.query as a getter; redefine it so later readers see the parsed value. */
function replaceQuery(req: express.Request, value: unknown): void {
  Object.defineProperty(req, "query", { value, writable: true, configurable: true, enumerable: true });
}

const SECRET_KEYS = /pass(word)?|token|secret|authorization|cookie/i;

/** Copy of a request body safe to keep in the audit log: secrets replaced by "[REDACTED]". */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value ?? null;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] = SECRET_KEYS.test(key) ? "[REDACTED]" : redactSecrets(v, depth + 1);
  }
  return out;
}

interface AuditState {
  note: AuditNote;
  enabled: boolean;
}

function outcomeOf(err: unknown): AuditOutcome {
  return err instanceof ForbiddenError ? "denied" : "failure";
}

interface AuditCtx {
  req: express.Request;
  auth: AuthContext | undefined;
  body: unknown;
  state: AuditState;
}

function auditInput(
  route: RouteDef,
  ctx: AuditCtx & { platformNamespace?: string },
  outcome: AuditOutcome,
): AuditInput | undefined {
  const note: AuditNote = {
    namespace: ctx.auth?.namespace || undefined,
    actor: ctx.auth ? auditActor(ctx.auth) : undefined,
    event: `${route.method.toUpperCase()} ${route.path}`,
    resource: ctx.req.path,
    after: outcome === "success" ? redactSecrets(ctx.body) : undefined,
    ...definedOnly(ctx.state.note),
  };
  const namespace = note.namespace || ctx.platformNamespace;
  if (!ctx.state.enabled || !namespace || !note.actor) return undefined;
  return {
    ...note,
    namespace,
    actor: note.actor,
    event: note.event!,
    resource: note.resource!,
    outcome,
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Refusals that a flood could repeat: a role denial, or a failed attempt at a public route (a wrong password). */
function isRefusal(route: RouteDef, outcome: AuditOutcome): boolean {
  return outcome === "denied" || (outcome === "failure" && route.auth === "public");
}

async function writeAudit(runtime: RouteRuntime, route: RouteDef, ctx: AuditCtx, outcome: AuditOutcome): Promise<void> {
  const input = auditInput(route, { ...ctx, platformNamespace: runtime.platformNamespace }, outcome);
  if (!input) return;
  try {
    if (runtime.refusals && isRefusal(route, outcome)) await runtime.refusals.record(input);
    else await runtime.audit.record(input);
  } catch (err) {
    // The change already happened; a 5xx would invite a retry that repeats it. Count and log instead.
    runtime.onAuditError(err, route);
  }
}

/** A super_admin reading an organisation (X-Org-Id) leaves an entry in that organisation's chain. */
async function auditOrgRead(runtime: RouteRuntime, route: RouteDef, ctx: AuditCtx): Promise<void> {
  const state: AuditState = { enabled: true, note: { event: "admin.read", after: { route: route.path } } };
  await writeAudit(runtime, route, { ...ctx, body: undefined, state }, "success");
}

function checkRole(route: RouteDef, auth: AuthContext): void {
  if (route.auth === "agent" || auth.role === "super_admin") return;
  if (!allowedRoles(route).includes(auth.role)) {
    throw new ForbiddenError(`role ${auth.role} may not ${route.method.toUpperCase()} ${route.path}`);
  }
}

/** The answer to an impersonation token on a route that manages members or credentials. */
export const IMPERSONATION_MANAGES_NO_ACCESS =
  "an impersonation token cannot manage members or credentials; sign in as the organisation's owner";
/** ... and on a reconnect, which re-issues a connected cluster's agent token (its running agent then stops). */
export const IMPERSONATION_KEEPS_AGENT_TOKENS =
  "an impersonation token cannot re-issue a connected cluster's agent token (its running agent would stop); sign in as the organisation's owner";
/** ... and on the active account, which is kept per user: the impersonating super_admin's own, not the organisation's. */
export const IMPERSONATION_HAS_NO_CONTEXT =
  "an impersonation token has no active account of its own: name the cluster (cluster_id) in each request instead";
/** ... and on one that sets what the audit log keeps (a shorter retention deletes entries). */
export const IMPERSONATION_KEEPS_AUDIT =
  "an impersonation token cannot change the audit log's retention; sign in as the organisation's owner";

function checkImpersonation(route: RouteDef, auth: AuthContext): void {
  if (route.notImpersonated !== undefined && auth.impersonating === true)
    throw new ForbiddenError(route.notImpersonated);
}

function checkTenant(route: RouteDef, auth: AuthContext): void {
  const tenant = route.tenant ?? route.auth === "user";
  if (!tenant || auth.namespace) return;
  if (auth.role === "super_admin") {
    throw new NotFoundError("no organisation selected: send the X-Org-Id header to act on an organisation");
  }
  throw new UnauthorizedError("token carries no organisation");
}

/** The format of this request's answer: the route's fixed one, or the one its parsed query chose. */
function producesOf(route: RouteDef, query: unknown): "json" | "csv" {
  return typeof route.produces === "function" ? route.produces(query) : (route.produces ?? "json");
}

function sendResult(route: RouteDef, res: express.Response, result: unknown, produces: "json" | "csv"): void {
  const status = route.status ?? 200;
  if (produces === "csv") {
    res.status(status).type("text/csv; charset=utf-8").send(String(result));
    return;
  }
  if (status === 204) {
    res.status(204).end();
    return;
  }
  res.status(status).json(result);
}

function validateResponse(route: RouteDef, result: unknown): unknown {
  const parsed = route.response.safeParse(result);
  if (!parsed.success) {
    throw new Error(
      `response of ${route.method.toUpperCase()} ${route.path} broke its schema: ${describeZodError("response", parsed.error)}`,
    );
  }
  return parsed.data;
}

async function authorize(route: RouteDef, runtime: RouteRuntime, ctx: AuditCtx): Promise<void> {
  const { auth } = ctx;
  if (!auth) return;
  try {
    checkRole(route, auth);
    checkImpersonation(route, auth);
  } catch (err) {
    await writeAudit(runtime, route, ctx, "denied");
    throw err;
  }
  checkTenant(route, auth);
}

/** Parses params, query and body and puts the parsed values back on the request. */
interface ParsedRequest {
  params: unknown;
  query: unknown;
  body: unknown;
}

function parseRequest(route: RouteDef, req: express.Request): ParsedRequest {
  const params = parsePart("path", route.params, req.params);
  const query = parsePart("query", route.query, req.query);
  const body = parsePart("body", route.body, route.body ? (req.body ?? {}) : req.body);
  req.params = params as typeof req.params;
  replaceQuery(req, query);
  req.body = body;
  return { params, query, body };
}

const JSON_TYPE = "application/json; charset=utf-8";

/** One memo route's remembered bodies; a lookup fixes the key and the cache version the answer will be stored under. */
class RouteMemo {
  private readonly entries = new Map<string, MemoEntry>();

  constructor(
    private readonly route: RouteDef,
    private readonly settings: ResponseMemo,
  ) {}

  /** Everything the answer depends on besides the cache: the caller's organisation and context, and the URL. */
  private key(auth: AuthContext | undefined, req: express.Request): string {
    return [
      this.route.path,
      auth?.namespace ?? "",
      auth?.role ?? "",
      auth?.activeClusterId ?? "",
      req.originalUrl,
    ].join("\u0000");
  }

  /** Sends a remembered body if it is still good; else returns how to remember the body about to be computed. */
  serve(
    auth: AuthContext | undefined,
    req: express.Request,
    res: express.Response,
  ): { key: string; version: number } | undefined {
    const key = this.key(auth, req);
    // Read before the handler runs: a change that lands meanwhile leaves the entry already outdated, never too new.
    const version = this.settings.version();
    const hit = this.entries.get(key);
    if (hit && hit.version === version && this.settings.nowMs() - hit.atMs < this.settings.maxAgeMs) {
      this.settings.record?.(this.route.path, true);
      RouteMemo.send(res, hit);
      return undefined;
    }
    this.settings.record?.(this.route.path, false);
    return { key, version };
  }

  store(slot: { key: string; version: number }, req: express.Request, res: express.Response, result: unknown): void {
    const body = Buffer.from(JSON.stringify(result), "utf8");
    const etagFn = req.app.get("etag fn") as ((body: Buffer, encoding?: string) => string) | undefined;
    const entry: MemoEntry = { version: slot.version, atMs: this.settings.nowMs(), body, etag: etagFn?.(body) };
    this.entries.delete(slot.key);
    if (this.entries.size >= this.settings.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(slot.key, entry);
    RouteMemo.send(res, entry);
  }

  private static send(res: express.Response, entry: MemoEntry): void {
    // With ETag already set, express does not hash the body again; its If-None-Match -> 304 check still runs.
    if (entry.etag) res.setHeader("ETag", entry.etag);
    res.status(200).type(JSON_TYPE).send(entry.body);
  }
}

interface MountedRoute {
  route: RouteDef;
  runtime: RouteRuntime;
  memo: RouteMemo | undefined;
}

function rateLimitsOf(route: RouteDef): RouteRateLimit[] {
  if (!route.rateLimit) return [];
  return Array.isArray(route.rateLimit) ? route.rateLimit : [route.rateLimit];
}

/** The counter key of one limit: per IP before authentication, per user or organisation once the caller is known. */
function rateLimitKey(limit: RouteRateLimit, req: express.Request, auth: AuthContext | undefined): string | undefined {
  const per = limit.per ?? "ip";
  if (per === "ip") return req.ip ?? "unknown";
  if (!auth) return undefined;
  return per === "user" ? `user:${auth.userId}` : `org:${auth.orgId || auth.namespace}`;
}

async function checkRateLimits(
  runtime: RouteRuntime,
  limits: RouteRateLimit[],
  who: { req: express.Request; auth: AuthContext | undefined },
): Promise<void> {
  for (const limit of limits) {
    const key = rateLimitKey(limit, who.req, who.auth);
    if (key !== undefined) await runtime.rateLimit(key, limit);
  }
}

/**
 * Who may run the route and with what: rate limits per IP (every request counts there, before anything else is spent
 * on it), authentication, roles and tenancy, the request's validation, then the per-caller limits: a request refused as
 * invalid counts against no user's or organisation's limit, so that junk from one member cannot lock out the others.
 */
async function admit(
  { route, runtime }: MountedRoute,
  req: express.Request,
): Promise<{ auditCtx: AuditCtx; parsed: ParsedRequest }> {
  const limits = rateLimitsOf(route);
  await checkRateLimits(
    runtime,
    limits.filter((l) => (l.per ?? "ip") === "ip"),
    { req, auth: undefined },
  );
  const auth = route.auth === "public" ? undefined : await runtime.authenticate(req, route.auth, req.params);
  const state: AuditState = { note: {}, enabled: (route.audit ?? isMutating(route)) && route.auth !== "agent" };
  const auditCtx: AuditCtx = { req, auth, body: req.body as unknown, state };
  await authorize(route, runtime, auditCtx);
  const parsed = parseRequest(route, req);
  await checkRateLimits(
    runtime,
    limits.filter((l) => (l.per ?? "ip") !== "ip"),
    { req, auth },
  );
  return { auditCtx, parsed };
}

/** The handler's result as sent: money rounded and the response schema checked for JSON, the audit entry written. */
async function finish(
  { route, runtime }: MountedRoute,
  call: { auditCtx: AuditCtx; query: unknown; result: unknown },
): Promise<{ result: unknown; produces: "json" | "csv" }> {
  let result = call.result;
  const produces = producesOf(route, call.query);
  // The one place money in JSON answers is rounded: cents, hourly prices to 4 decimals (src-shared/pricing/rounding.ts).
  if (produces !== "csv" && route.asRecorded !== true) result = roundMoneyFields(result);
  if (runtime.validateResponses && produces !== "csv") result = validateResponse(route, result);
  await writeAudit(runtime, route, call.auditCtx, "success");
  return { result, produces };
}

/** The handler's `audit(note)`: adds to the entry and, unless the route opts out, makes it written. */
function auditNoter(route: RouteDef, state: AuditState): (note: AuditNote) => void {
  return (note) => {
    state.note = { ...state.note, ...note };
    if (route.audit !== false) state.enabled = true;
  };
}

/** The route's handler; when it throws, the audit entry records the failure (or denial) before the error goes on. */
async function callHandler(
  { route, runtime }: MountedRoute,
  auditCtx: AuditCtx,
  args: Parameters<RouteDef["handler"]>[0],
): Promise<unknown> {
  try {
    return await route.handler(args);
  } catch (err) {
    await writeAudit(runtime, route, auditCtx, outcomeOf(err));
    throw err;
  }
}

/** A credential, an export, or any signed-in answer (one tenant's data): no browser or shared cache keeps a copy. */
function keepsNoCopy(route: RouteDef): boolean {
  return route.noStore === true || route.auth !== "public";
}

async function runRoute(mounted: MountedRoute, req: express.Request, res: express.Response): Promise<void> {
  const { route, runtime, memo } = mounted;
  res.locals.routeTemplate = route.path;
  if (keepsNoCopy(route)) res.setHeader("Cache-Control", "no-store");
  const { auditCtx, parsed } = await admit(mounted, req);
  const auth = auditCtx.auth;
  auditCtx.body = parsed.body;
  const audit = auditNoter(route, auditCtx.state);
  if (auth?.viaOrgHeader === true && !isMutating(route)) await auditOrgRead(runtime, route, auditCtx);
  const memoSlot = memo?.serve(auth, req, res);
  if (memo && !memoSlot) return;
  const handled = await callHandler(mounted, auditCtx, { ...parsed, auth, req, res, audit });
  const { result, produces } = await finish(mounted, { auditCtx, query: parsed.query, result: handled });
  if (memo && memoSlot) memo.store(memoSlot, req, res, result);
  else sendResult(route, res, result, produces);
}

/** Mounts every route on the router; errors go to next() and so to the one error handler. */
export function mountRoutes(router: express.Router, routes: RouteDef[], runtime: RouteRuntime): void {
  for (const route of routes) {
    if (route.memo && route.method !== "get")
      throw new Error(`${route.method.toUpperCase()} ${route.path}: only GET routes may be memoised`);
    // Only 200 JSON answers are memoised: a memo route must not declare another status or produce CSV.
    const memoised =
      route.memo && runtime.memo && (route.status ?? 200) === 200 && (route.produces ?? "json") === "json";
    const mounted: MountedRoute = { route, runtime, memo: memoised ? new RouteMemo(route, runtime.memo!) : undefined };
    router[route.method](route.path, (req: express.Request, res: express.Response, next: express.NextFunction) => {
      runRoute(mounted, req, res).catch(next);
    });
  }
}
