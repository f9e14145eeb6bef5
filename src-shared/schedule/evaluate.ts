// Evaluates a compiled HibernationSchedule at an instant (rules R1–R8 of docs/hibernation.md) and finds its next transition.
import { Temporal } from "@js-temporal/polyfill";
import { MINUTES_PER_DAY, MINUTES_PER_WEEK, type CompiledSchedule } from "./spec.js";

export type ScheduleState = "awake" | "asleep";
/** Which rule decided the state, in precedence order: override > exception > weekly > prewarm > default. */
export type ScheduleReason = "override" | "exception" | "weekly" | "prewarm" | "default";

export interface ScheduleEvaluation {
  state: ScheduleState;
  reason: ScheduleReason;
}

export interface ScheduleTransition extends ScheduleEvaluation {
  /** The first instant (epoch ms) at which the new state holds. */
  epochMs: number;
  /** The same instant as RFC 3339 in UTC. */
  at: string;
}

export type InstantInput = Date | number | string | Temporal.Instant;

const DAY_MS = 86_400_000;
/** Transitions are searched in windows of 8 days: more than a week, so one window holds a whole weekly cycle even across DST. */
const WINDOW_MS = 8 * DAY_MS;
/** A search bound (about 22 years) so that a malformed schedule can never loop forever. */
const MAX_WINDOWS = 1000;

/** Epoch milliseconds of an instant given as Date, epoch ms, RFC 3339 string or Temporal.Instant. */
export function toEpochMs(at: InstantInput): number {
  if (typeof at === "number") return at;
  if (at instanceof Date) return at.getTime();
  if (typeof at === "string") return Temporal.Instant.from(at).epochMilliseconds;
  return at.epochMilliseconds;
}

function zoned(schedule: CompiledSchedule, epochMs: number): Temporal.ZonedDateTime {
  return Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(schedule.timeZone);
}

/**
 * The local wall-clock time the weekly windows are read at (R1, R4, R5).
 * A spring-forward gap needs nothing special: the wall clock jumps over the boundary, so the boundary
 * takes effect at the first instant after the gap. In the second pass of a fall-back fold the clock is
 * held at the end of the first pass, so that no boundary in the repeated hour fires twice.
 */
function weeklyWallClock(schedule: CompiledSchedule, at: Temporal.ZonedDateTime): Temporal.PlainDateTime {
  const wall = at.toPlainDateTime();
  const firstPass = wall.toZonedDateTime(schedule.timeZone, { disambiguation: "earlier" });
  if (firstPass.epochNanoseconds === at.epochNanoseconds) return wall;
  const fallBack = firstPass.getTimeZoneTransition("next");
  return fallBack ? fallBack.subtract({ nanoseconds: 1 }).toPlainDateTime() : wall;
}

function weeklyAwake(schedule: CompiledSchedule, wall: Temporal.PlainDateTime): boolean {
  const minuteOfWeek = (wall.dayOfWeek - 1) * MINUTES_PER_DAY + wall.hour * 60 + wall.minute;
  return schedule.weekRanges.some(([s, e]) => s <= minuteOfWeek && minuteOfWeek < e);
}

/** The state without pre-warm: override > exception > weekly > asleep. */
function baseEvaluation(schedule: CompiledSchedule, epochMs: number): ScheduleEvaluation {
  const { override } = schedule;
  if (override && override.fromEpochMs <= epochMs && epochMs < override.untilEpochMs) {
    return { state: override.action === "wake" ? "awake" : "asleep", reason: "override" };
  }
  const local = zoned(schedule, epochMs);
  const exception = schedule.exceptions.get(local.toPlainDate().toString());
  if (exception) return { state: exception === "force_awake" ? "awake" : "asleep", reason: "exception" };
  if (weeklyAwake(schedule, weeklyWallClock(schedule, local))) return { state: "awake", reason: "weekly" };
  return { state: "asleep", reason: "default" };
}

/** Instants in the week-range boundaries of one local date (first pass in a fold; gaps are covered by the transitions). */
function weeklyBoundaryInstants(schedule: CompiledSchedule, date: Temporal.PlainDate, out: number[]): void {
  const dayStart = (date.dayOfWeek - 1) * MINUTES_PER_DAY;
  for (const range of schedule.weekRanges) {
    for (const boundary of range) {
      const minuteOfDay = (boundary % MINUTES_PER_WEEK) - dayStart;
      if (minuteOfDay < 0 || minuteOfDay >= MINUTES_PER_DAY) continue;
      const wall = date.toPlainDateTime({ hour: Math.floor(minuteOfDay / 60), minute: minuteOfDay % 60 });
      out.push(wall.toZonedDateTime(schedule.timeZone, { disambiguation: "earlier" }).epochMilliseconds);
    }
  }
}

/** Time-zone transitions in (fromMs, toMs], plus the end of each fold (where the held clock is released). */
function zoneTransitionInstants(schedule: CompiledSchedule, fromMs: number, toMs: number, out: number[]): void {
  let cursor: Temporal.ZonedDateTime | null = zoned(schedule, fromMs);
  for (;;) {
    cursor = cursor.getTimeZoneTransition("next");
    if (!cursor || cursor.epochMilliseconds > toMs) return;
    const before = cursor.subtract({ nanoseconds: 1 }).offsetNanoseconds;
    const foldNs = before - cursor.offsetNanoseconds;
    out.push(cursor.epochMilliseconds);
    if (foldNs > 0) out.push(cursor.epochMilliseconds + foldNs / 1_000_000);
  }
}

/**
 * Every instant in (fromMs, toMs] at which the base state may change: weekly boundaries, local
 * midnights (exception dates), time-zone transitions and the override's ends. Extra candidates are
 * harmless (the state is re-evaluated at each); a missing one would skip a transition.
 */
function baseCandidates(schedule: CompiledSchedule, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  const lastDate = zoned(schedule, toMs).toPlainDate().add({ days: 1 });
  for (
    let date = zoned(schedule, fromMs).toPlainDate().subtract({ days: 1 });
    Temporal.PlainDate.compare(date, lastDate) <= 0;
    date = date.add({ days: 1 })
  ) {
    out.push(date.toZonedDateTime(schedule.timeZone).epochMilliseconds);
    weeklyBoundaryInstants(schedule, date, out);
  }
  zoneTransitionInstants(schedule, fromMs, toMs, out);
  if (schedule.override) out.push(schedule.override.fromEpochMs, schedule.override.untilEpochMs);
  return sortedWithin(out, fromMs, toMs);
}

function sortedWithin(instants: number[], fromMs: number, toMs: number): number[] {
  const inRange = instants.filter((ms) => ms > fromMs && ms <= toMs);
  return [...new Set(inRange)].sort((a, b) => a - b);
}

/** R8: does the base state become awake somewhere in (fromMs, toMs]? The state is constant between candidates. */
function awakeWithin(schedule: CompiledSchedule, fromMs: number, toMs: number): boolean {
  return baseCandidates(schedule, fromMs, toMs).some((ms) => baseEvaluation(schedule, ms).state === "awake");
}

/** The schedule's state at an instant: a pure function of (schedule, instant). */
export function evaluateSchedule(schedule: CompiledSchedule, at: InstantInput): ScheduleEvaluation {
  const epochMs = toEpochMs(at);
  const base = baseEvaluation(schedule, epochMs);
  // Pre-warm only lifts the plain weekly "asleep": never an override or an exception date (R8, precedence).
  if (base.reason !== "default" || schedule.prewarmMs === 0) return base;
  if (awakeWithin(schedule, epochMs, epochMs + schedule.prewarmMs)) return { state: "awake", reason: "prewarm" };
  return base;
}

/** Candidates of the full state in (fromMs, toMs]: base candidates, and each shifted back by the pre-warm. */
function transitionCandidates(schedule: CompiledSchedule, fromMs: number, toMs: number): number[] {
  const base = baseCandidates(schedule, fromMs, toMs + schedule.prewarmMs);
  const shifted = schedule.prewarmMs > 0 ? base.map((ms) => ms - schedule.prewarmMs) : [];
  return sortedWithin([...base, ...shifted], fromMs, toMs);
}

/** Instants after which only fixed events (exception dates, override ends) can change a constant weekly state. */
function fixedEventsAfter(schedule: CompiledSchedule, afterMs: number): number[] {
  const events: number[] = [];
  for (const date of schedule.exceptions.keys()) {
    const start = Temporal.PlainDate.from(date);
    events.push(
      start.toZonedDateTime(schedule.timeZone).epochMilliseconds,
      start.add({ days: 1 }).toZonedDateTime(schedule.timeZone).epochMilliseconds,
    );
  }
  if (schedule.override) events.push(schedule.override.fromEpochMs, schedule.override.untilEpochMs);
  return events.filter((ms) => ms > afterMs).sort((a, b) => a - b);
}

function weeklyIsConstant(schedule: CompiledSchedule): boolean {
  const ranges = schedule.weekRanges;
  return ranges.length === 0 || (ranges.length === 1 && ranges[0]![0] === 0 && ranges[0]![1] === MINUTES_PER_WEEK);
}

/** Where the next search window starts; null when nothing can change any more. */
function nextWindowStart(schedule: CompiledSchedule, windowEndMs: number): number | null {
  if (!weeklyIsConstant(schedule)) return windowEndMs;
  // With a constant week only fixed events matter: jump close to the next one instead of walking years.
  const next = fixedEventsAfter(schedule, windowEndMs)[0];
  if (next === undefined) return null;
  return Math.max(windowEndMs, next - schedule.prewarmMs - DAY_MS);
}

/**
 * The first instant after `at` at which the evaluated state differs from the state at `at`, or null if it
 * never changes. Deterministic: every instant where a rule can change the state is a candidate, the state
 * is evaluated at each in order, and the first that differs wins, so DST can neither skip nor repeat one.
 */
export function nextTransition(schedule: CompiledSchedule, at: InstantInput): ScheduleTransition | null {
  const startMs = toEpochMs(at);
  const current = evaluateSchedule(schedule, startMs).state;
  let fromMs: number | null = startMs;
  for (let i = 0; i < MAX_WINDOWS && fromMs !== null; i++) {
    const toMs: number = fromMs + WINDOW_MS;
    for (const ms of transitionCandidates(schedule, fromMs, toMs)) {
      const evaluation = evaluateSchedule(schedule, ms);
      if (evaluation.state !== current)
        return { ...evaluation, epochMs: ms, at: Temporal.Instant.fromEpochMilliseconds(ms).toString() };
    }
    fromMs = nextWindowStart(schedule, toMs);
  }
  return null;
}

/** Milliseconds the schedule spends asleep in [fromMs, toMs): for savings projections. */
export function asleepMsBetween(schedule: CompiledSchedule, fromMs: number, toMs: number): number {
  let asleepMs = 0;
  let cursor = fromMs;
  while (cursor < toMs) {
    const state = evaluateSchedule(schedule, cursor).state;
    const next = nextTransition(schedule, cursor);
    const end = next ? Math.min(next.epochMs, toMs) : toMs;
    if (state === "asleep") asleepMs += end - cursor;
    cursor = end;
  }
  return asleepMs;
}

/** The next UTC-offset change of a time zone after `at` (epoch ms), or undefined if it has none: controllers requeue there too. */
export function nextZoneTransitionMs(timeZone: string, at: InstantInput): number | undefined {
  const next = Temporal.Instant.fromEpochMilliseconds(toEpochMs(at))
    .toZonedDateTimeISO(timeZone)
    .getTimeZoneTransition("next");
  return next?.epochMilliseconds;
}
