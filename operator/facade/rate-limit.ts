// Per-IP fixed-window rate limiter for the auth routes (signup, token, logout); in memory, per replica.
import { RateLimitError } from "./errors.js";
import type { RouteRateLimit } from "./http.js";

interface Window {
  startMs: number;
  count: number;
}

/** Returns a check that throws RateLimitError (429 + Retry-After) once `limit.limit` calls hit one window. */
export function createRateLimiter(nowMs: () => number): (clientKey: string, limit: RouteRateLimit) => void {
  const windows = new Map<string, Window>();
  let lastSweepMs = 0;
  const sweep = (now: number): void => {
    // Bounded memory: drop windows that ended; at most once a minute.
    if (now - lastSweepMs < 60_000) return;
    lastSweepMs = now;
    for (const [key, w] of windows) if (now - w.startMs > 24 * 3_600_000) windows.delete(key);
  };
  return (clientKey, limit) => {
    const now = nowMs();
    sweep(now);
    const key = `${limit.name}\u0000${clientKey}`;
    let w = windows.get(key);
    if (!w || now - w.startMs >= limit.windowMs) {
      w = { startMs: now, count: 0 };
      windows.set(key, w);
    }
    w.count += 1;
    if (w.count > limit.limit) {
      const retryAfterSeconds = (w.startMs + limit.windowMs - now) / 1000;
      throw new RateLimitError(`rate limit of ${limit.limit} per ${limit.windowMs / 1000}s exceeded for ${limit.name}`, retryAfterSeconds);
    }
  };
}
