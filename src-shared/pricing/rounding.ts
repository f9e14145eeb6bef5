// How money figures are written for people: hourly prices to 4 decimals, other dollar figures and percentages to
// 2, so that outputs never show float noise such as 0.47600000000000003.

/** Rounds a number to `decimals` places (half away from zero on the decimal representation). */
export function roundTo(value: number, decimals: number): number {
  if (!Number.isFinite(value)) return value;
  // Past 2^53 units of the last decimal a double has no such decimals to round, and the exponent form the string below
  // would then hold reads as NaN (which turned 1e19 into 0).
  if (Math.abs(value) * 10 ** decimals >= Number.MAX_SAFE_INTEGER) return value;
  // Below a millionth, JavaScript prints an exponent too: such a value rounds to 0 at any of our decimals.
  if (Math.abs(value) < 1e-6) return 0;
  return Number(`${Math.round(Number(`${Math.abs(value)}e${decimals}`))}e-${decimals}`) * Math.sign(value) || 0;
}

/** The facade's (snake_case) hourly money fields: 4 decimals. The feed's `savings` is hourly. */
const HOURLY_FIELDS = /^(hourly_cost|baseline_hourly_cost|savings|price_per_hour|.*_hourly_usd)$/;
/** The facade's monthly / total money fields: cents. */
const MONEY_FIELDS =
  /^(monthly|monthly_cost|baseline_monthly_cost|monthly_spend|net_savings|total_spend|total_savings|unoptimized_cost|optimized_cost|potential_savings|spot_replacement|bin_packing|hibernation|projected_savings|savings_pct)$/;

/**
 * Decimals for a money-like field by its name: hourly prices 4, other `…Usd` and `…Pct` fields and the facade's money
 * fields 2, else none. The one rule for every figure people read (CLI JSON and facade JSON).
 */
/** An hourly price as people read it in texts: `$0.0960`. */
export function hourlyUsdText(usdPerHour: number): string {
  return `$${usdPerHour.toFixed(4)}`;
}

export function moneyDecimals(key: string): number | undefined {
  if (/hourly|perhour/i.test(key) && /usd/i.test(key)) return 4;
  if (HOURLY_FIELDS.test(key)) return 4;
  if (/usd$/i.test(key) || /pct$/i.test(key) || /percent(age)?$/i.test(key) || MONEY_FIELDS.test(key)) return 2;
  return undefined;
}

/** A copy of a JSON value with its money-like fields rounded (moneyDecimals), for responses sent as JSON. */
export function roundMoneyFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(roundMoneyFields);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] = typeof v === "number" ? moneyReplacer(key, v) : roundMoneyFields(v);
  }
  return out;
}

/** A JSON.stringify replacer that rounds money-like numeric fields by name. */
export function moneyReplacer(key: string, value: unknown): unknown {
  if (typeof value !== "number") return value;
  const decimals = moneyDecimals(key);
  return decimals === undefined ? value : roundTo(value, decimals);
}
