// Rate-limit counters kept in the cluster (one Lease per bucket and hashed client IP), so all facade replicas share one limit; memory fallback.
import { createHmac } from "node:crypto";
import type { Logger } from "pino";
import { isConflict, isNotFound, type KubeClient, type KubeObject } from "../../src-shared/kube/client.js";
import type { RouteRateLimit } from "./http.js";
import { MemoryRateCounter, rateLimitError, type ClientRateLimiter, type WindowCount } from "./rate-limit.js";

/** Every counter carries it (value: the bucket name, sanitised); the sweep lists by it. */
export const RATE_LIMIT_BUCKET_LABEL = "spotoptimizer.io/rate-limit-bucket";
export const RATE_LIMIT_COUNT_ANNOTATION = "spotoptimizer.io/rate-limit-count";
export const RATE_LIMIT_WINDOW_START_ANNOTATION = "spotoptimizer.io/rate-limit-window-start-ms";
export const RATE_LIMIT_WINDOW_END_ANNOTATION = "spotoptimizer.io/rate-limit-window-end-ms";

const LEASE = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" } as const;
const HOLDER = "spot-optimizer-facade/rate-limit";
/** Optimistic-concurrency rounds per request before this request is counted in memory instead. */
const MAX_ATTEMPTS = 5;
/** Remembered counter objects per replica (saves a GET per request); the oldest are forgotten first. */
const MAX_CACHED_OBJECTS = 10_000;
const WARN_EVERY_MS = 60_000;

export interface LeaseObject extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}

export interface ClusterRateLimiterOptions {
  client: KubeClient;
  /** The facade's system namespace: the counters live there. */
  namespace: string;
  /**
   * Secret key shared by all replicas (start.ts passes the JWT signing key); object names are an HMAC of the client
   * IP under a key derived from it, so reading the Leases does not reveal (nor let anyone brute-force) addresses.
   */
  hashKey: Uint8Array;
  /** Business clock (windows, Retry-After); tests inject it. */
  now: () => Date;
  logger?: Pick<Logger, "warn">;
  /** Longest wait for one API call before the request is counted in memory; default 2000. */
  apiDeadlineMs?: number;
  /** After the API server failed, count in memory only for this long before trying it again; default 10000. */
  retryClusterAfterMs?: number;
  /** Monotonic clock for the deadline and the back-off (independent of the injectable business clock). */
  monotonicMs?: () => number;
}

export interface ClusterRateLimiter {
  /** Counts one request in the cluster (or, when that fails, in memory); throws RateLimitError over the limit. */
  check: ClientRateLimiter;
  /** Deletes the counters whose window has ended; returns how many this call deleted. */
  sweep(): Promise<number>;
  /** Runs `sweep` every `everyMs` (timer unref'd; failures logged); returns the function that stops it. */
  startSweep(everyMs: number): () => void;
}

interface CounterState {
  count: number;
  startMs: number;
  endMs: number;
}

/** The counter with this request: a fresh window when the stored one ended; `over` when it was already full. */
function nextCount(
  state: CounterState | undefined,
  limit: RouteRateLimit,
  nowMs: number,
): { next: CounterState; over: boolean } {
  if (!state || nowMs >= state.endMs)
    return { next: { count: 1, startMs: nowMs, endMs: nowMs + limit.windowMs }, over: false };
  return { next: { ...state, count: state.count + 1 }, over: state.count >= limit.limit };
}

/** A Lease could not be updated because other writers kept winning (a rate-limit request is then counted in memory). */
export class ContendedError extends Error {
  constructor(name: string) {
    super(`Lease ${name} kept changing under us`);
    this.name = "ContendedError";
  }
}

/** One optimistic read-modify-write of a Lease kept as shared state by the facade replicas. */
export interface LeaseUpdate<T> {
  /** For the error when other writers keep winning. */
  name: string;
  attempts: number;
  /** The object as it is now (undefined: there is none). */
  read(): Promise<LeaseObject | undefined>;
  /** What to answer, and what to write instead of `current` (none: nothing changed, so nothing is written). */
  change(current: LeaseObject | undefined): { result: T; lease?: LeaseObject };
  /** Creates `lease` (no current) or replaces current with it (the resourceVersion it carries is the precondition). */
  write(lease: LeaseObject, current: LeaseObject | undefined): Promise<LeaseObject>;
}

/**
 * Reads, changes and writes with the read object's resourceVersion; when another writer won (409 Conflict or
 * AlreadyExists, or 404: the object was deleted since), reads again and retries, at most `attempts` times.
 */
export async function updateLeaseOptimistically<T>(update: LeaseUpdate<T>): Promise<T> {
  for (let attempt = 0; attempt < update.attempts; attempt++) {
    const current = await update.read();
    const { result, lease } = update.change(current);
    if (!lease) return result;
    try {
      await update.write(lease, current);
      return result;
    } catch (err) {
      if (!isConflict(err) && !(current && isNotFound(err))) throw err;
    }
  }
  throw new ContendedError(update.name);
}

function derivedKey(hashKey: Uint8Array): Buffer {
  return createHmac("sha256", hashKey).update("spotoptimizer.io/rate-limit-client").digest();
}

/** DNS-1123 label part from a bucket name ("token" -> "token"; anything else folded to [a-z0-9-]). */
function bucketSlug(bucket: string): string {
  const slug = bucket
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, 20)
    .replace(/^-+|-+$/g, "");
  return slug || "bucket";
}

function objectName(key: Buffer, clientKey: string, limit: RouteRateLimit): string {
  // The window length and the limit are part of the identity: replicas configured alike share one counter, and a
  // changed limit starts fresh counters instead of reading ones counted against another limit.
  const digest = createHmac("sha256", key)
    .update(`${limit.name}\u0000${limit.windowMs}\u0000${limit.limit}\u0000${clientKey}`)
    .digest("hex");
  return `ratelimit-${bucketSlug(limit.name)}-${digest.slice(0, 40)}`;
}

/** Name of the Lease counting `clientKey` for `limit` (for operators and tests holding the same key). */
export function rateLimitObjectName(hashKey: Uint8Array, clientKey: string, limit: RouteRateLimit): string {
  return objectName(derivedKey(hashKey), clientKey, limit);
}

/** RFC 3339 with microseconds, as metav1.MicroTime is written. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000Z");
}

function stateOf(lease: LeaseObject): CounterState {
  const a = lease.metadata?.annotations ?? {};
  // Anything unreadable counts as an ended window: the next request starts a fresh one, the sweep deletes it.
  const num = (v: string | undefined): number => (v !== undefined && /^\d+$/.test(v) ? Number(v) : Number.NaN);
  const count = num(a[RATE_LIMIT_COUNT_ANNOTATION]);
  const startMs = num(a[RATE_LIMIT_WINDOW_START_ANNOTATION]);
  const endMs = num(a[RATE_LIMIT_WINDOW_END_ANNOTATION]);
  if ([count, startMs, endMs].some(Number.isNaN)) return { count: 0, startMs: 0, endMs: 0 };
  return { count, startMs, endMs };
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the API server did not answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** One limiter's dependencies and the state its requests share (module-level functions take it). */
interface LimiterContext {
  client: KubeClient;
  namespace: string;
  now: () => Date;
  logger?: Pick<Logger, "warn">;
  key: Buffer;
  deadlineMs: number;
  retryAfterMs: number;
  monotonic: () => number;
  memory: MemoryRateCounter;
  /** Last object seen per name: lets the common case be a single PUT, and lets a client over its limit cost nothing. */
  seen: Map<string, LeaseObject>;
  queues: Map<string, Promise<unknown>>;
  clusterRetryAtMs: number;
  lastWarnMs: number;
}

/** One request's counter: which object, under which limit, at which time. */
interface CountRequest {
  name: string;
  limit: RouteRateLimit;
  nowMs: number;
}

function leaseRef(ctx: LimiterContext, name: string): typeof LEASE & { namespace: string; name: string } {
  return { ...LEASE, namespace: ctx.namespace, name };
}

function api<T>(ctx: LimiterContext, call: Promise<T>): Promise<T> {
  return withDeadline(call, ctx.deadlineMs);
}

function remember(ctx: LimiterContext, name: string, lease: LeaseObject): void {
  ctx.seen.delete(name);
  if (ctx.seen.size >= MAX_CACHED_OBJECTS) ctx.seen.delete(ctx.seen.keys().next().value!);
  ctx.seen.set(name, lease);
}

function warn(ctx: LimiterContext, err: unknown): void {
  const t = ctx.monotonic();
  if (t - ctx.lastWarnMs < WARN_EVERY_MS) return;
  ctx.lastWarnMs = t;
  ctx.logger?.warn({ err }, "Rate-limit counters could not be kept in the cluster; counting in memory on this replica");
}

function leaseFor(
  ctx: LimiterContext,
  req: CountRequest,
  state: CounterState,
  base: LeaseObject | undefined,
): LeaseObject {
  return {
    ...LEASE,
    metadata: {
      ...(base?.metadata ?? {}),
      name: req.name,
      namespace: ctx.namespace,
      labels: { ...(base?.metadata?.labels ?? {}), [RATE_LIMIT_BUCKET_LABEL]: bucketSlug(req.limit.name) },
      annotations: {
        ...(base?.metadata?.annotations ?? {}),
        [RATE_LIMIT_COUNT_ANNOTATION]: String(state.count),
        [RATE_LIMIT_WINDOW_START_ANNOTATION]: String(state.startMs),
        [RATE_LIMIT_WINDOW_END_ANNOTATION]: String(state.endMs),
      },
    },
    spec: {
      holderIdentity: HOLDER,
      leaseDurationSeconds: Math.max(1, Math.ceil(req.limit.windowMs / 1000)),
      acquireTime: microTime(state.startMs),
      renewTime: microTime(req.nowMs),
    },
  };
}

/**
 * Optimistic-concurrency increment: creates the counter (absent) or increments / restarts it (present, with its
 * resourceVersion); resolves with the count including this request.
 */
function countInCluster(ctx: LimiterContext, req: CountRequest): Promise<WindowCount> {
  return updateLeaseOptimistically<WindowCount>({
    name: req.name,
    attempts: MAX_ATTEMPTS,
    read: async () =>
      ctx.seen.get(req.name) ?? (await api(ctx, ctx.client.getIfExists<LeaseObject>(leaseRef(ctx, req.name)))),
    change: (current) => {
      const { next, over } = nextCount(current ? stateOf(current) : undefined, req.limit, req.nowMs);
      const result = { count: next.count, windowEndMs: next.endMs };
      // Over the limit already: refuse without a write (the window's end does not depend on the count).
      return over ? { result } : { result, lease: leaseFor(ctx, req, next, current) };
    },
    write: async (lease, current) => {
      try {
        const stored = await api(ctx, current ? ctx.client.replace(lease) : ctx.client.create(lease));
        remember(ctx, req.name, stored);
        return stored;
      } catch (err) {
        // A lost race or a failure: the remembered object is stale either way, so the next round reads it.
        ctx.seen.delete(req.name);
        throw err;
      }
    },
  });
}

/** Runs `fn` after the previous operation on `name` in this replica has finished. */
function serialised<T>(queues: Map<string, Promise<unknown>>, name: string, fn: () => Promise<T>): Promise<T> {
  const run = (queues.get(name) ?? Promise.resolve()).then(fn, fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(name, tail);
  void tail.then(() => {
    if (queues.get(name) === tail) queues.delete(name);
  });
  return run;
}

async function check(ctx: LimiterContext, clientKey: string, limit: RouteRateLimit): Promise<void> {
  const nowMs = ctx.now().getTime();
  // Every request is counted in memory too, so a fallback in the middle of a window starts from this replica's share.
  const local = ctx.memory.hit(clientKey, limit, nowMs);
  let result: WindowCount = local;
  if (ctx.monotonic() >= ctx.clusterRetryAtMs) {
    const req = { name: objectName(ctx.key, clientKey, limit), limit, nowMs };
    try {
      result = await serialised(ctx.queues, req.name, () => countInCluster(ctx, req));
    } catch (err) {
      // Contention is about one counter; an API failure is about all of them: stop asking for a while.
      if (!(err instanceof ContendedError)) ctx.clusterRetryAtMs = ctx.monotonic() + ctx.retryAfterMs;
      warn(ctx, err);
      result = local;
    }
  }
  if (result.count > limit.limit) throw rateLimitError(limit, result.windowEndMs, nowMs);
}

/** Deletes one ended counter; false when it was gone or another replica has just restarted its window. */
async function deleteEnded(ctx: LimiterContext, lease: LeaseObject & { metadata: { name: string } }): Promise<boolean> {
  const name = lease.metadata.name;
  ctx.seen.delete(name);
  try {
    // The precondition keeps a window another replica restarted in the same object since our list.
    return await ctx.client.delete(leaseRef(ctx, name), {
      preconditions: { resourceVersion: lease.metadata.resourceVersion },
    });
  } catch (err) {
    if (isConflict(err)) return false;
    throw err;
  }
}

async function sweep(ctx: LimiterContext): Promise<number> {
  const list = await ctx.client.listAll<LeaseObject>(
    { ...LEASE, namespace: ctx.namespace },
    { labelSelector: RATE_LIMIT_BUCKET_LABEL },
  );
  const nowMs = ctx.now().getTime();
  let deleted = 0;
  for (const lease of list.items) {
    if (lease.metadata?.name && nowMs >= stateOf(lease).endMs)
      deleted += Number(await deleteEnded(ctx, lease as LeaseObject & { metadata: { name: string } }));
  }
  for (const [name, lease] of ctx.seen) if (nowMs >= stateOf(lease).endMs) ctx.seen.delete(name);
  return deleted;
}

/**
 * Fixed windows that start at a client's first request, counted in a Lease per (bucket, limit, HMAC of the client IP)
 * in the system namespace with optimistic concurrency, so two replicas enforce one limit together. Requests of one
 * client on one replica are serialised (no self-inflicted 409s). When the API server errors or is slow, the request is
 * decided by this replica's own in-memory count (which counts every request, so it is current when needed) and a
 * warning is logged at most once a minute; the limiter never turns an API failure into a 5xx.
 */
export function createClusterRateLimiter(options: ClusterRateLimiterOptions): ClusterRateLimiter {
  const ctx: LimiterContext = {
    client: options.client,
    namespace: options.namespace,
    now: options.now,
    ...(options.logger ? { logger: options.logger } : {}),
    key: derivedKey(options.hashKey),
    deadlineMs: options.apiDeadlineMs ?? 2000,
    retryAfterMs: options.retryClusterAfterMs ?? 10_000,
    monotonic: options.monotonicMs ?? ((): number => performance.now()),
    memory: new MemoryRateCounter(),
    seen: new Map(),
    queues: new Map(),
    clusterRetryAtMs: Number.NEGATIVE_INFINITY,
    lastWarnMs: Number.NEGATIVE_INFINITY,
  };
  return {
    check: (clientKey, limit) => check(ctx, clientKey, limit),
    sweep: () => sweep(ctx),
    startSweep(everyMs: number): () => void {
      const timer = setInterval(() => {
        sweep(ctx).catch((err: unknown) => warn(ctx, err));
      }, everyMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
