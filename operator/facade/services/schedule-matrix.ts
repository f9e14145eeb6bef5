// Converts the dashboard's 168-slot schedule_matrix into HibernationSchedule weekly awake windows and back.
//
// Matrix layout (the dashboard's, docs/facade-metrics.md): index = day * 24 + hour, day 0 = Monday, 1 = awake, 0 = asleep.
// Windows use the HibernationSchedule shape {days: ["Mon", …], start: "HH:MM", end: "HH:MM"}, start inclusive,
// end exclusive, "24:00" = end of day. Compilation never crosses midnight: a run of awake hours is cut at the end
// of each day, so the compiled windows are exact and the round trip matrix -> weekly -> matrix is the identity.

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const MATRIX_SLOTS = 168;

export interface WeeklyWindow {
  days: Weekday[];
  start: string;
  end: string;
}

function hhmm(hour: number): string {
  return `${String(hour).padStart(2, "0")}:00`;
}

/** Awake runs of one day as [startHour, endHourExclusive) pairs. */
function awakeRunsOfDay(matrix: readonly number[], day: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let runStart = -1;
  for (let hour = 0; hour <= 24; hour++) {
    const awake = hour < 24 && matrix[day * 24 + hour] === 1;
    if (awake && runStart < 0) runStart = hour;
    if (!awake && runStart >= 0) {
      runs.push([runStart, hour]);
      runStart = -1;
    }
  }
  return runs;
}

/** Compiles a validated 168-slot matrix into weekly awake windows, days with identical runs grouped together. */
export function matrixToWeekly(matrix: readonly number[]): WeeklyWindow[] {
  if (matrix.length !== MATRIX_SLOTS) throw new RangeError(`schedule_matrix must have ${MATRIX_SLOTS} entries`);
  const byRun = new Map<string, WeeklyWindow>();
  for (let day = 0; day < 7; day++) {
    for (const [startHour, endHour] of awakeRunsOfDay(matrix, day)) {
      const key = `${startHour}-${endHour}`;
      const existing = byRun.get(key);
      if (existing) existing.days.push(WEEKDAYS[day]);
      else byRun.set(key, { days: [WEEKDAYS[day]], start: hhmm(startHour), end: hhmm(endHour) });
    }
  }
  return [...byRun.values()].sort(
    (a, b) => WEEKDAYS.indexOf(a.days[0]) - WEEKDAYS.indexOf(b.days[0]) || a.start.localeCompare(b.start),
  );
}

function minutesOf(time: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(time);
  if (!m) throw new RangeError(`invalid time ${time}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

function markAwake(matrix: number[], fromMinute: number, toMinute: number): void {
  // An hour slot counts as awake when any minute of it is awake (the matrix has hourly resolution).
  for (let minute = fromMinute; minute < toMinute; minute += 1) {
    const slot = Math.floor(minute / 60) % MATRIX_SLOTS;
    matrix[slot] = 1;
    minute = Math.floor(minute / 60) * 60 + 59;
  }
}

/** Renders weekly windows (R2/R3 semantics: end < start crosses midnight into the next day) as a 168-slot matrix. */
export function weeklyToMatrix(windows: readonly WeeklyWindow[]): number[] {
  const matrix = new Array<number>(MATRIX_SLOTS).fill(0);
  for (const window of windows) {
    const startMinute = minutesOf(window.start);
    let endMinute = minutesOf(window.end);
    if (endMinute <= startMinute) endMinute += 24 * 60;
    for (const day of window.days) {
      const dayStart = WEEKDAYS.indexOf(day) * 24 * 60;
      markAwake(matrix, dayStart + startMinute, dayStart + endMinute);
    }
  }
  return matrix;
}

/** Number of asleep hours in a week according to the matrix. */
export function asleepHoursPerWeek(matrix: readonly number[]): number {
  return matrix.filter((v) => v !== 1).length;
}
