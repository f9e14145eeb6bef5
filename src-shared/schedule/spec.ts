// Validates a HibernationSchedule spec and compiles it into the form the evaluator works on (week ranges in minutes).
import { Temporal } from "@js-temporal/polyfill";

export const DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;
export type DayName = (typeof DAY_NAMES)[number];

export interface WeeklyWindow {
  days: DayName[];
  /** "HH:MM", inclusive. */
  start: string;
  /** "HH:MM" or "24:00", exclusive; earlier than start means the window crosses midnight. */
  end: string;
}

export interface ScheduleException {
  /** Local date "YYYY-MM-DD" in the schedule's time zone. */
  date: string;
  action: "force_sleep" | "force_awake";
}

export interface ScheduleOverride {
  action: "wake" | "sleep";
  /** RFC 3339 instant (with offset or Z). */
  from: string;
  durationHours: number;
}

/** The schedule-relevant part of HibernationSchedule.spec (other fields are ignored here). */
export interface ScheduleSpec {
  timezone: string;
  weekly?: WeeklyWindow[];
  matrix?: number[];
  exceptions?: ScheduleException[];
  override?: ScheduleOverride;
  prewarmMinutes?: number;
}

export const MINUTES_PER_DAY = 1440;
export const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;
/** Upper bound on pre-warm: a day is already far more than anyone warms a cluster up for. */
export const MAX_PREWARM_MINUTES = MINUTES_PER_DAY;
/** Upper bound on an override: a year, so that a typo cannot pin a cluster forever. */
export const MAX_OVERRIDE_HOURS = 8760;

/** A compiled schedule: what `evaluateSchedule` and `nextTransition` consume. */
export interface CompiledSchedule {
  timeZone: string;
  /** Awake ranges [startMinute, endMinute) of the local week, Monday 00:00 = 0, merged, sorted, not wrapping. */
  weekRanges: Array<[number, number]>;
  /** Local date "YYYY-MM-DD" -> action. */
  exceptions: Map<string, ScheduleException["action"]>;
  override?: { action: ScheduleOverride["action"]; fromEpochMs: number; untilEpochMs: number };
  prewarmMs: number;
}

/** A spec that cannot be evaluated; `field` is the path of the offending field, e.g. `spec.weekly[0].end`. */
export class ScheduleSpecError extends Error {
  override name = "ScheduleSpecError";
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

const HHMM = /^(\d{2}):(\d{2})$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Minutes since local midnight for "HH:MM"; "24:00" only where `allow24` (an end). */
function parseClock(value: unknown, field: string, allow24: boolean): number {
  const m = typeof value === "string" ? HHMM.exec(value) : null;
  const [hours, minutes] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  const maxMinuteOfDay = allow24 ? MINUTES_PER_DAY : MINUTES_PER_DAY - 1;
  // NaN fails every comparison, so an unparsable value lands in the error branch too.
  if (!(minutes <= 59 && hours * 60 + minutes <= maxMinuteOfDay)) {
    const range = allow24 ? "00:00–24:00" : "00:00–23:59";
    throw new ScheduleSpecError(field, `must be a time "HH:MM" in ${range}, got ${JSON.stringify(value)}`);
  }
  return hours * 60 + minutes;
}

function validateTimeZone(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0)
    throw new ScheduleSpecError(field, "is required (an IANA time zone such as Europe/Berlin)");
  // Offsets like "+02:00" are valid Temporal zones but not IANA names and would hide DST, so they are refused.
  if (/^[+-]/.test(value))
    throw new ScheduleSpecError(field, `must be an IANA time zone name, got offset ${JSON.stringify(value)}`);
  try {
    return Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(value).timeZoneId;
  } catch {
    throw new ScheduleSpecError(
      field,
      `unknown time zone ${JSON.stringify(value)} (use an IANA name such as America/New_York)`,
    );
  }
}

function parseDays(value: unknown, field: string): number[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new ScheduleSpecError(field, `must be a non-empty list of ${DAY_NAMES.join(", ")}`);
  return value.map((day, i) => {
    const index = DAY_NAMES.indexOf(day as DayName);
    if (index === -1)
      throw new ScheduleSpecError(
        `${field}[${i}]`,
        `unknown day ${JSON.stringify(day)} (expected one of ${DAY_NAMES.join(", ")})`,
      );
    return index;
  });
}

/** Week ranges of one window: one range per listed day, split where it wraps past Sunday 24:00. */
function windowRanges(window: unknown, field: string): Array<[number, number]> {
  if (!isRecord(window)) throw new ScheduleSpecError(field, "must be an object {days, start, end}");
  const days = parseDays(window.days, `${field}.days`);
  const start = parseClock(window.start, `${field}.start`, false);
  let end = parseClock(window.end, `${field}.end`, true);
  if (start === end)
    throw new ScheduleSpecError(
      `${field}.end`,
      `must differ from start (${String(window.start)}); an empty window is not allowed`,
    );
  // R2/R3: an end before the start (including "00:00") runs into the next day and belongs to the start day.
  if (end < start) end += MINUTES_PER_DAY;
  const ranges: Array<[number, number]> = [];
  for (const day of days) {
    const s = day * MINUTES_PER_DAY + start;
    const e = day * MINUTES_PER_DAY + end;
    if (e <= MINUTES_PER_WEEK) ranges.push([s, e]);
    else ranges.push([s, MINUTES_PER_WEEK], [0, e - MINUTES_PER_WEEK]);
  }
  return ranges;
}

function matrixRanges(value: unknown, field: string): Array<[number, number]> {
  if (!Array.isArray(value) || value.length !== 168) {
    const got = Array.isArray(value) ? `${value.length} entries` : typeof value;
    throw new ScheduleSpecError(
      field,
      `must be a list of 168 integers (7 days × 24 hours, Monday 00:00 first), got ${got}`,
    );
  }
  const ranges: Array<[number, number]> = [];
  value.forEach((cell, index) => {
    if (cell !== 0 && cell !== 1)
      throw new ScheduleSpecError(`${field}[${index}]`, `must be 0 (asleep) or 1 (awake), got ${JSON.stringify(cell)}`);
    if (cell === 1) ranges.push([index * 60, (index + 1) * 60]);
  });
  return ranges;
}

/** Sorts and merges overlapping or adjacent ranges (R2: a union). */
export function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: Array<[number, number]> = [];
  for (const [s, e] of sorted) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  return merged;
}

function parseWeekly(spec: Record<string, unknown>, prefix: string): Array<[number, number]> {
  const hasWeekly = spec.weekly !== undefined && spec.weekly !== null;
  const hasMatrix = spec.matrix !== undefined && spec.matrix !== null;
  if (hasWeekly && hasMatrix)
    throw new ScheduleSpecError(`${prefix}.matrix`, "cannot be combined with weekly; give one of weekly or matrix");
  if (hasMatrix) return matrixRanges(spec.matrix, `${prefix}.matrix`);
  if (!hasWeekly)
    throw new ScheduleSpecError(`${prefix}.weekly`, "is required (or matrix): the awake windows of the week");
  if (!Array.isArray(spec.weekly))
    throw new ScheduleSpecError(`${prefix}.weekly`, "must be a list of {days, start, end}");
  return spec.weekly.flatMap((w, i) => windowRanges(w, `${prefix}.weekly[${i}]`));
}

function parseDate(value: unknown, field: string): string {
  if (typeof value !== "string" || !ISO_DATE.test(value))
    throw new ScheduleSpecError(field, `must be a date "YYYY-MM-DD", got ${JSON.stringify(value)}`);
  try {
    // "reject" refuses 2025-02-30 instead of clamping it to the 28th.
    return Temporal.PlainDate.from(value, { overflow: "reject" }).toString();
  } catch {
    throw new ScheduleSpecError(field, `is not a calendar date: ${JSON.stringify(value)}`);
  }
}

function parseExceptions(value: unknown, field: string): Map<string, ScheduleException["action"]> {
  const exceptions = new Map<string, ScheduleException["action"]>();
  if (value === undefined || value === null) return exceptions;
  if (!Array.isArray(value)) throw new ScheduleSpecError(field, "must be a list of {date, action}");
  value.forEach((entry, i) => {
    const at = `${field}[${i}]`;
    if (!isRecord(entry)) throw new ScheduleSpecError(at, "must be an object {date, action}");
    const date = parseDate(entry.date, `${at}.date`);
    const action = entry.action;
    if (action !== "force_sleep" && action !== "force_awake") {
      throw new ScheduleSpecError(`${at}.action`, `must be force_sleep or force_awake, got ${JSON.stringify(action)}`);
    }
    const previous = exceptions.get(date);
    if (previous !== undefined && previous !== action)
      throw new ScheduleSpecError(`${at}.date`, `${date} already has action ${previous}`);
    exceptions.set(date, action);
  });
  return exceptions;
}

function parseInstant(value: unknown, field: string): number {
  try {
    if (typeof value !== "string") throw new TypeError("not a string");
    return Temporal.Instant.from(value).epochMilliseconds;
  } catch {
    throw new ScheduleSpecError(
      field,
      `must be an RFC 3339 instant with offset (e.g. 2025-01-31T18:00:00Z), got ${JSON.stringify(value)}`,
    );
  }
}

function parseOverride(value: unknown, field: string): CompiledSchedule["override"] {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new ScheduleSpecError(field, "must be an object {action, from, durationHours}");
  if (value.action !== "wake" && value.action !== "sleep") {
    throw new ScheduleSpecError(`${field}.action`, `must be wake or sleep, got ${JSON.stringify(value.action)}`);
  }
  const fromEpochMs = parseInstant(value.from, `${field}.from`);
  const hours = value.durationHours;
  if (typeof hours !== "number" || !Number.isFinite(hours) || hours <= 0 || hours > MAX_OVERRIDE_HOURS) {
    throw new ScheduleSpecError(
      `${field}.durationHours`,
      `must be a number of hours in (0, ${MAX_OVERRIDE_HOURS}], got ${JSON.stringify(hours)}`,
    );
  }
  // R7: elapsed time, not wall-clock time, so a DST change inside the override neither shortens nor lengthens it.
  return { action: value.action, fromEpochMs, untilEpochMs: fromEpochMs + Math.round(hours * 3_600_000) };
}

function parsePrewarm(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_PREWARM_MINUTES) {
    throw new ScheduleSpecError(
      field,
      `must be an integer number of minutes in [0, ${MAX_PREWARM_MINUTES}], got ${JSON.stringify(value)}`,
    );
  }
  return value * 60_000;
}

/**
 * Validates a HibernationSchedule spec (untrusted input) and compiles it.
 * Throws ScheduleSpecError naming the field, e.g. `spec.weekly[1].days[0]: unknown day "Mo"`.
 */
export function compileSchedule(spec: unknown, prefix = "spec"): CompiledSchedule {
  if (!isRecord(spec)) throw new ScheduleSpecError(prefix, "must be an object");
  const timeZone = validateTimeZone(spec.timezone, `${prefix}.timezone`);
  return {
    timeZone,
    weekRanges: mergeRanges(parseWeekly(spec, prefix)),
    exceptions: parseExceptions(spec.exceptions, `${prefix}.exceptions`),
    override: parseOverride(spec.override, `${prefix}.override`),
    prewarmMs: parsePrewarm(spec.prewarmMinutes, `${prefix}.prewarmMinutes`),
  };
}
