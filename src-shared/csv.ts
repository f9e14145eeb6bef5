// CSV cells every export writes: RFC 4180 quoting plus a reversible guard against spreadsheet formulas.

/**
 * A cell starting with one of these is prefixed with `'` so that spreadsheets show it as text instead of
 * evaluating a formula (OWASP "CSV injection": = + - @ tab CR). `'` itself is in the set so that the prefix
 * can always be taken off again: a cell starting with `'` always carries exactly one added prefix.
 */
const NEEDS_PREFIX = /^[=+\-@\t\r']/;

/** Formula-safe form of a value (reversible with unescapeCell). */
export function escapeCell(value: string): string {
  return NEEDS_PREFIX.test(value) ? `'${value}` : value;
}

/** Undoes escapeCell; a `'` that escapeCell would not have added is an error (the mapping stays one-to-one). */
export function unescapeCell(cell: string): string {
  if (!cell.startsWith("'")) return cell;
  const value = cell.slice(1);
  if (!NEEDS_PREFIX.test(value)) throw new Error("a leading ' that does not protect a formula character");
  return value;
}

/** RFC 4180: quote a cell holding a comma, quote or line break; double the quotes inside. */
function quoteCell(cell: string): string {
  return /[",\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}

/** One value as a CSV field: formula-safe, then quoted where RFC 4180 needs it. */
export function csvField(value: string): string {
  return quoteCell(escapeCell(value));
}
