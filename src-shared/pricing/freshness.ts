// When a price is too old to be shown without a warning: one maximum age (SPOTOPT_PRICE_MAX_AGE_HOURS) for every
// figure that carries a price date, in the operator, the facade and the CLI.

/** Default maximum age of a price: a week (the operator refreshes On-Demand every 12 h and Spot every hour). */
export const DEFAULT_PRICE_MAX_AGE_HOURS = 168;

/** The configured maximum price age in ms; throws naming the variable on a bad value. */
export function priceMaxAgeMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SPOTOPT_PRICE_MAX_AGE_HOURS;
  if (raw === undefined || raw === "") return DEFAULT_PRICE_MAX_AGE_HOURS * 3_600_000;
  const hours = Number(raw);
  if (!Number.isFinite(hours) || hours <= 0)
    throw new Error(`SPOTOPT_PRICE_MAX_AGE_HOURS must be a positive number of hours, got ${JSON.stringify(raw)}`);
  return hours * 3_600_000;
}

/**
 * Whether a price dated `asOf` is older than `maxAgeMs` at `nowMs`. A date that cannot be read ("unknown") is stale:
 * nothing shows it is recent. No date at all (no price used) is not stale: there is nothing to warn about.
 */
export function isStale(asOf: string | null | undefined, nowMs: number, maxAgeMs: number): boolean {
  if (asOf === null || asOf === undefined) return false;
  const ms = asOfMs(asOf);
  return !Number.isFinite(ms) || nowMs - ms > maxAgeMs;
}

/** A price date ("2026-07-20" or a date-time) in ms, NaN when it cannot be read ("unknown"). */
export function asOfMs(asOf: string): number {
  return Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(asOf) ? `${asOf}T00:00:00Z` : asOf);
}

/** A price date as an answer shows it: null where it is absent or the "unknown" of an undated price. */
export function knownAsOf(asOf: string | undefined): string | null {
  return asOf === undefined || asOf === "unknown" ? null : asOf;
}

/**
 * What a figure made from prices of these dates is as of: the oldest, "unknown" when any cannot be read (an undated
 * price may be older than every dated one), undefined when there is none.
 */
export function oldestAsOf(dates: readonly string[]): string | undefined {
  if (dates.length === 0) return undefined;
  if (dates.some((d) => !Number.isFinite(asOfMs(d)))) return "unknown";
  return [...dates].sort((a, b) => asOfMs(a) - asOfMs(b))[0];
}
