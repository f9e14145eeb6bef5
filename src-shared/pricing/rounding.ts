// How money figures are written for people: hourly prices to 4 decimals, other dollar figures and percentages to
// 2, so that outputs never show float noise such as 0.47600000000000003.

/** Rounds a number to `decimals` places (half away from zero on the decimal representation). */
export function roundTo(value: number, decimals: number): number {
  if (!Number.isFinite(value)) return value;
  return Number(`${Math.round(Number(`${Math.abs(value)}e${decimals}`))}e-${decimals}`) * Math.sign(value) || 0;
}

/** Decimals for a money-like field by its name: hourly prices 4, other `…Usd` and `…Pct` fields 2, else none. */
export function moneyDecimals(key: string): number | undefined {
  if (/hourly|perhour/i.test(key) && /usd/i.test(key)) return 4;
  if (/usd$/i.test(key) || /pct$/i.test(key) || /percent(age)?$/i.test(key)) return 2;
  return undefined;
}

/** A JSON.stringify replacer that rounds money-like numeric fields by name. */
export function moneyReplacer(key: string, value: unknown): unknown {
  if (typeof value !== "number") return value;
  const decimals = moneyDecimals(key);
  return decimals === undefined ? value : roundTo(value, decimals);
}
