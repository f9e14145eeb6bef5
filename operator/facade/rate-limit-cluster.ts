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

/** A request's counter could not be updated because other writers kept winning: count it in memory. */
class ContendedError extends Error {
  constructor(name: string) {
    super(`rate-limit counter ${name} kept changing under us`);
    this.name = "ContendedError";
  }
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

/**
 * Fixed windows that start at a client's first request, counted in a Lease per (bucket, limit, HMAC of the client IP)
 * in the system namespace with optimistic concurrency, so two replicas enforce one limit together. Requests of one
 * client on one replica are serialised (no self-inflicted 409s). When the API server errors or is slow, the request is
 * decided by this replica's own in-memory count (which counts every request, so it is current when needed) and a
 * warning is logged at most once a minute; the limiter never turns an API failure into a 5xx.
 */
export function createClusterRateLimiter(options: ClusterRateLimiterOptions): ClusterRateLimiter {
  const { client, namespace, now } = options;
  const key = derivedKey(options.hashKey);
  const deadlineMs = options.apiDeadlineMs ?? 2000;
  const retryAfterMs = options.retryClusterAfterMs ?? 10_000;
  const monotonic = options.monotonicMs ?? ((): number => performance.now());
  const memory = new MemoryRateCounter();
  /** Last object seen per name: lets the common case be a single PUT, and lets a client over its limit cost nothing. */
  const seen = new Map<string, LeaseObject>();
  const queues = new Map<string, Promise<unknown>>();
  let clusterRetryAtMs = Number.NEGATIVE_INFINITY;
  let lastWarnMs = Number.NEGATIVE_INFINITY;

  const ref = (name: string): typeof LEASE & { namespace: string; name: string } => ({ ...LEASE, namespace, name });
  const api = <T>(call: Promise<T>): Promise<T> => withDeadline(call, deadlineMs);

  const remember = (name: string, lease: LeaseObject): void => {
    seen.delete(name);
    if (seen.size >= MAX_CACHED_OBJECTS) seen.delete(seen.keys().next().value!);
    seen.set(name, lease);
  };

  const warn = (err: unknown): void => {
    const t = monotonic();
    if (t - lastWarnMs < WARN_EVERY_MS) return;
    lastWarnMs = t;
    options.logger?.warn(
      { err },
      "Rate-limit counters could not be kept in the cluster; counting in memory on this replica",
    );
  };

  const leaseFor = (
    name: string,
    limit: RouteRateLimit,
    state: CounterState & { nowMs: number },
    base?: LeaseObject,
  ): LeaseObject => ({
    ...LEASE,
    metadata: {
      ...(base?.metadata ?? {}),
      name,
      namespace,
      labels: { ...(base?.metadata?.labels ?? {}), [RATE_LIMIT_BUCKET_LABEL]: bucketSlug(limit.name) },
      annotations: {
        ...(base?.metadata?.annotations ?? {}),
        [RATE_LIMIT_COUNT_ANNOTATION]: String(state.count),
        [RATE_LIMIT_WINDOW_START_ANNOTATION]: String(state.startMs),
        [RATE_LIMIT_WINDOW_END_ANNOTATION]: String(state.endMs),
      },
    },
    spec: {
      holderIdentity: HOLDER,
      leaseDurationSeconds: Math.max(1, Math.ceil(limit.windowMs / 1000)),
      acquireTime: microTime(state.startMs),
      renewTime: microTime(state.nowMs),
    },
  });

  /**
   * One write attempt: creates the counter (absent) or increments / restarts it (present, with its resourceVersion).
   * Undefined when another writer won (409 Conflict / AlreadyExists, or 404: the sweep removed it): re-read and retry.
   */
  const tryCount = async (
    name: string,
    limit: RouteRateLimit,
    nowMs: number,
    current: LeaseObject | undefined,
  ): Promise<WindowCount | undefined> => {
    const state = current ? stateOf(current) : undefined;
    const { next, over } = nextCount(state, limit, nowMs);
    // Over the limit already: refuse without a write (the window's end does not depend on the count).
    if (over) return { count: next.count, windowEndMs: next.endMs };
    const lease = leaseFor(name, limit, { ...next, nowMs }, current);
    try {
      remember(name, await api(current ? client.replace(lease) : client.create(lease)));
      return { count: next.count, windowEndMs: next.endMs };
    } catch (err) {
      seen.delete(name);
      if (isConflict(err) || (current && isNotFound(err))) return undefined;
      throw err;
    }
  };

  /** Optimistic-concurrency increment; resolves with the count including this request. */
  const countInCluster = async (name: string, limit: RouteRateLimit, nowMs: number): Promise<WindowCount> => {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = seen.get(name) ?? (await api(client.getIfExists<LeaseObject>(ref(name))));
      const counted = await tryCount(name, limit, nowMs, current);
      if (counted) return counted;
    }
    throw new ContendedError(name);
  };

  /** Runs `fn` after the previous operation on `name` in this replica has finished. */
  const serialised = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
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
  };

  const check = async (clientKey: string, limit: RouteRateLimit): Promise<void> => {
    const nowMs = now().getTime();
    // Every request is counted in memory too, so a fallback in the middle of a window starts from this replica's share.
    const local = memory.hit(clientKey, limit, nowMs);
    let result: WindowCount = local;
    if (monotonic() >= clusterRetryAtMs) {
      const name = objectName(key, clientKey, limit);
      try {
        result = await serialised(name, () => countInCluster(name, limit, nowMs));
      } catch (err) {
        // Contention is about one counter; an API failure is about all of them: stop asking for a while.
        if (!(err instanceof ContendedError)) clusterRetryAtMs = monotonic() + retryAfterMs;
        warn(err);
        result = local;
      }
    }
    if (result.count > limit.limit) throw rateLimitError(limit, result.windowEndMs, nowMs);
  };

  /** Deletes one ended counter; false when it was gone or another replica has just restarted its window. */
  const deleteEnded = async (lease: LeaseObject & { metadata: { name: string } }): Promise<boolean> => {
    const name = lease.metadata.name;
    seen.delete(name);
    try {
      // The precondition keeps a window another replica restarted in the same object since our list.
      await client.request({
        method: "DELETE",
        path: await client.path(ref(name)),
        body: {
          apiVersion: "v1",
          kind: "DeleteOptions",
          preconditions: { resourceVersion: lease.metadata.resourceVersion },
        },
      });
      return true;
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return false;
      throw err;
    }
  };

  const sweep = async (): Promise<number> => {
    const list = await client.listAll<LeaseObject>({ ...LEASE, namespace }, { labelSelector: RATE_LIMIT_BUCKET_LABEL });
    const nowMs = now().getTime();
    let deleted = 0;
    for (const lease of list.items) {
      if (lease.metadata?.name && nowMs >= stateOf(lease).endMs)
        deleted += Number(await deleteEnded(lease as LeaseObject & { metadata: { name: string } }));
    }
    for (const [name, lease] of seen) if (nowMs >= stateOf(lease).endMs) seen.delete(name);
    return deleted;
  };

  return {
    check,
    sweep,
    startSweep(everyMs: number): () => void {
      const timer = setInterval(() => {
        sweep().catch((err: unknown) => warn(err));
      }, everyMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
