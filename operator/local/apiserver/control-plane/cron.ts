// Cron schedules as CronJobs write them (five fields, names, ranges, steps, @macros), evaluated in UTC.

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface FieldSpec {
  min: number;
  max: number;
  names?: string[];
  namesFrom?: number;
}

const FIELDS: FieldSpec[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  { min: 0, max: 7, names: DAYS, namesFrom: 0 },
];

/** A parsed schedule: the allowed values of each field; `domStar`/`dowStar` decide how day fields combine. */
export interface CronSchedule {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  domStar: boolean;
  dowStar: boolean;
}

function value(text: string, f: FieldSpec): number {
  const i = f.names?.indexOf(text.toLowerCase()) ?? -1;
  const n = i >= 0 ? i + (f.namesFrom ?? 0) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= f.min && n <= f.max)) throw new Error(`value "${text}" out of range [${f.min}, ${f.max}]`);
  return n;
}

function parseField(text: string, f: FieldSpec): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step "${part}"`);
    let lo = f.min;
    let hi = f.max;
    if (range !== "*" && range !== "?") {
      const [a, b] = range!.split("-");
      lo = value(a!, f);
      hi = b === undefined ? (stepText === undefined ? lo : f.max) : value(b, f);
    }
    if (lo > hi) throw new Error(`bad range "${part}"`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parses a CronJob schedule; throws with a reason when it is not one. */
export function parseCron(schedule: string): CronSchedule {
  const text = MACROS[schedule.trim()] ?? schedule.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new Error(`expected exactly 5 fields, found ${parts.length}: "${schedule}"`);
  const sets = parts.map((p, i) => parseField(p, FIELDS[i]!));
  const weekdays = sets[4]!;
  if (weekdays.delete(7)) weekdays.add(0);
  const star = (p: string): boolean => p === "*" || p === "?" || p.startsWith("*/");
  return {
    minutes: sets[0]!,
    hours: sets[1]!,
    days: sets[2]!,
    months: sets[3]!,
    weekdays,
    domStar: star(parts[2]!),
    dowStar: star(parts[4]!),
  };
}

/** Whether the minute starting at `ms` (UTC) is scheduled. Day of month and weekday combine with OR when both are set. */
export function cronMatches(s: CronSchedule, ms: number): boolean {
  const d = new Date(ms);
  if (!s.minutes.has(d.getUTCMinutes()) || !s.hours.has(d.getUTCHours()) || !s.months.has(d.getUTCMonth() + 1))
    return false;
  const dom = s.days.has(d.getUTCDate());
  const dow = s.weekdays.has(d.getUTCDay());
  return s.domStar || s.dowStar ? dom && dow : dom || dow;
}

const MINUTE = 60_000;
/** How far back a missed schedule is looked for (upstream gives up on counting after 100 misses, then takes the last). */
const LOOKBACK_MINUTES = 366 * 24 * 60;

/** The latest scheduled minute in (after, now], if any. */
export function lastScheduled(s: CronSchedule, after: number, now: number): number | undefined {
  const first = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  const floor = Math.max(first, Math.floor(now / MINUTE) * MINUTE - LOOKBACK_MINUTES * MINUTE);
  for (let t = Math.floor(now / MINUTE) * MINUTE; t >= floor; t -= MINUTE) if (cronMatches(s, t)) return t;
  return undefined;
}
