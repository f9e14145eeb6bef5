// Per-IP fixed-window rate limiting for the auth routes: the in-memory counter (one replica's view) and the 429 error.
import { RateLimitError } from "./errors.js";
import type { RouteRateLimit } from "./http.js";

/** Checks one request of `clientKey` against `limit`; throws RateLimitError (429 + Retry-After) when over it. */
export type ClientRateLimiter = (clientKey: string, limit: RouteRateLimit) => void | Promise<void>;

/** A window's state after counting one more request in it. */
export interface WindowCount {
  count: number;
  windowEndMs: number;
}

/** The 429 for a request counted as number `count` in a window that ends at `windowEndMs`. */
export function rateLimitError(limit: RouteRateLimit, windowEndMs: number, nowMs: number): RateLimitError {
  return new RateLimitError(
    `rate limit of ${limit.limit} per ${limit.windowMs / 1000}s exceeded for ${limit.name}`,
    (windowEndMs - nowMs) / 1000,
  );
}

/**
 * Fixed windows that start at a client's first request (so a burst never straddles a wall-clock boundary), kept in
 * this process only. Memory stays bounded: ended windows are dropped at most once a minute.
 */
export class MemoryRateCounter {
  private readonly windows = new Map<string, { startMs: number; windowMs: number; count: number }>();
  private lastSweepMs = 0;

  /** Counts one request and returns the window's count including it. */
  hit(clientKey: string, limit: RouteRateLimit, nowMs: number): WindowCount {
    this.sweep(nowMs);
    const key = `${limit.name}\u0000${limit.windowMs}\u0000${clientKey}`;
    let w = this.windows.get(key);
    if (!w || nowMs - w.startMs >= limit.windowMs || nowMs < w.startMs) {
      w = { startMs: nowMs, windowMs: limit.windowMs, count: 0 };
      this.windows.set(key, w);
    }
    w.count += 1;
    return { count: w.count, windowEndMs: w.startMs + w.windowMs };
  }

  get size(): number {
    return this.windows.size;
  }

  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < 60_000) return;
    this.lastSweepMs = nowMs;
    for (const [key, w] of this.windows) if (nowMs - w.startMs >= w.windowMs) this.windows.delete(key);
  }
}

/** The per-replica limiter: counts in this process only (used when no cluster-backed limiter is configured). */
export function createRateLimiter(nowMs: () => number): (clientKey: string, limit: RouteRateLimit) => void {
  const counter = new MemoryRateCounter();
  return (clientKey, limit) => {
    const now = nowMs();
    const { count, windowEndMs } = counter.hit(clientKey, limit, now);
    if (count > limit.limit) throw rateLimitError(limit, windowEndMs, now);
  };
}
