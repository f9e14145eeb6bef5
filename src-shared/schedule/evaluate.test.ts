// Table of schedule cases for R1–R8 (docs/hibernation.md); every expected instant is derived by hand from the rule, in the comment beside it.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  compileSchedule,
  evaluateSchedule,
  nextTransition,
  asleepMsBetween,
  type ScheduleReason,
  type ScheduleState,
} from "./index.js";

interface Case {
  name: string;
  spec: Record<string, unknown>;
  at: string;
  state: ScheduleState;
  reason: ScheduleReason;
  next: string | null;
}

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"];
const ALL_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const weekly = (
  timezone: string,
  windows: Array<[string[], string, string]>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> => ({
  timezone,
  weekly: windows.map(([days, start, end]) => ({ days, start, end })),
  ...extra,
});

// Offsets used below: New York EST −5 / EDT −4, Berlin CET +1 / CEST +2, Auckland NZST +12 / NZDT +13.
// DST days (all Sundays): New York 2024-03-10, 2024-11-03, 2025-03-09, 2025-11-02 (at 02:00 local);
// Berlin 2024-03-31, 2024-10-27, 2025-03-30, 2025-10-26 (at 01:00Z); Auckland fall-back 2024-04-07 and
// 2025-04-06 (03:00 NZDT -> 02:00 NZST, at 14:00Z the day before), spring-forward 2024-09-29 and
// 2025-09-28 (02:00 NZST -> 03:00 NZDT, at 14:00Z the day before). 2025-01-06 is a Monday.
const cases: Case[] = [
  // ---- R1/R2 in UTC: start inclusive, end exclusive ----
  {
    name: "UTC R2 start is inclusive",
    spec: weekly("UTC", [[WEEKDAYS, "09:00", "17:00"]]),
    at: "2025-01-06T09:00:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-01-06T17:00:00Z",
  },
  {
    name: "UTC R2 one second before start",
    spec: weekly("UTC", [[WEEKDAYS, "09:00", "17:00"]]),
    at: "2025-01-06T08:59:59Z",
    state: "asleep",
    reason: "default",
    next: "2025-01-06T09:00:00Z",
  },
  {
    name: "UTC R2 end is exclusive",
    spec: weekly("UTC", [[WEEKDAYS, "09:00", "17:00"]]),
    at: "2025-01-06T17:00:00Z",
    state: "asleep",
    reason: "default",
    next: "2025-01-07T09:00:00Z",
  },
  {
    name: "UTC R1 Friday evening sleeps through the weekend",
    spec: weekly("UTC", [[WEEKDAYS, "09:00", "17:00"]]),
    at: "2025-01-10T17:00:00Z",
    state: "asleep",
    reason: "default",
    next: "2025-01-13T09:00:00Z",
  },
  // Mon 20:00–24:00 and Tue 00:00–02:00 are adjacent: one awake span, no edge at midnight.
  {
    name: "UTC R2 end 24:00 adjacent to next day's window forms a union",
    spec: weekly("UTC", [
      [["Mon"], "20:00", "24:00"],
      [["Tue"], "00:00", "02:00"],
    ]),
    at: "2025-01-06T23:59:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-01-07T02:00:00Z",
  },
  {
    name: "UTC R2 end 00:00 after a later start means midnight",
    spec: weekly("UTC", [[["Mon"], "20:00", "00:00"]]),
    at: "2025-01-06T23:30:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-01-07T00:00:00Z",
  },
  {
    name: "UTC R2 after a 00:00 end the next day is not covered",
    spec: weekly("UTC", [[["Mon"], "20:00", "00:00"]]),
    at: "2025-01-07T00:00:00Z",
    state: "asleep",
    reason: "default",
    next: "2025-01-13T20:00:00Z",
  },
  {
    name: "UTC R2 overlapping windows form a union",
    spec: weekly("UTC", [
      [["Mon"], "09:00", "12:00"],
      [["Mon"], "11:00", "14:00"],
    ]),
    at: "2025-01-06T11:30:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-01-06T14:00:00Z",
  },
  {
    name: "UTC R2 always awake never transitions",
    spec: weekly("UTC", [[ALL_DAYS, "00:00", "24:00"]]),
    at: "2025-01-06T11:30:00Z",
    state: "awake",
    reason: "weekly",
    next: null,
  },
  // ---- R3: a window crossing midnight belongs to the day it starts ----
  {
    name: "UTC R3 Mon–Fri 22:00–06:00 covers Saturday 03:00 (Friday's tail)",
    spec: weekly("UTC", [[WEEKDAYS, "22:00", "06:00"]]),
    at: "2025-01-11T03:00:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-01-11T06:00:00Z",
  },
  {
    name: "UTC R3 Mon–Fri 22:00–06:00 does not cover Monday 03:00",
    spec: weekly("UTC", [[WEEKDAYS, "22:00", "06:00"]]),
    at: "2025-01-13T03:00:00Z",
    state: "asleep",
    reason: "default",
    next: "2025-01-13T22:00:00Z",
  },
  {
    name: "UTC R3 Sunday's window wraps into Monday",
    spec: weekly("UTC", [[["Sun"], "22:00", "06:00"]]),
    at: "2025-01-13T05:59:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-01-13T06:00:00Z",
  },
  // ---- matrix: index day*24+hour, Monday 0 ----
  {
    name: "UTC matrix Mon 09–17",
    spec: { timezone: "UTC", matrix: matrixOf([9, 10, 11, 12, 13, 14, 15, 16]) },
    at: "2025-01-06T16:59:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-01-06T17:00:00Z",
  },
  {
    name: "UTC matrix Sun 23h and Mon 0h join across the week end",
    spec: { timezone: "UTC", matrix: matrixOf([167, 0]) },
    at: "2025-01-12T23:30:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-01-13T01:00:00Z",
  },
  // ---- R1: weekday and date are local ----
  // Mon 08:00 NZDT = Sun 19:00Z; 09:00 NZDT = 20:00Z.
  {
    name: "Auckland R1 local Monday is a UTC Sunday",
    spec: weekly("Pacific/Auckland", [[["Mon"], "08:00", "09:00"]]),
    at: "2025-01-05T19:30:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-01-05T20:00:00Z",
  },
  // Fri 20:30 EST = Sat 01:30Z; 23:00 EST = 04:00Z.
  {
    name: "New York R1 local Friday is a UTC Saturday",
    spec: weekly("America/New_York", [[["Fri"], "20:00", "23:00"]]),
    at: "2025-01-11T01:30:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-01-11T04:00:00Z",
  },

  // ---- R4: spring-forward gaps ----
  // NY 2024-03-10: 02:00 EST -> 03:00 EDT at 07:00Z. A 02:30 start takes effect at 07:00Z; 04:00 EDT = 08:00Z.
  {
    name: "New York 2024 spring R4 start inside the gap, before",
    spec: weekly("America/New_York", [[["Sun"], "02:30", "04:00"]]),
    at: "2024-03-10T06:59:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-03-10T07:00:00Z",
  },
  {
    name: "New York 2024 spring R4 start inside the gap, after",
    spec: weekly("America/New_York", [[["Sun"], "02:30", "04:00"]]),
    at: "2024-03-10T07:00:00Z",
    state: "awake",
    reason: "weekly",
    next: "2024-03-10T08:00:00Z",
  },
  // Sat 22:00 EST – Sun 02:30: 01:30 EST = 06:30Z is awake; the 02:30 end takes effect at 07:00Z.
  {
    name: "New York 2024 spring R4 end inside the gap",
    spec: weekly("America/New_York", [[["Sat"], "22:00", "02:30"]]),
    at: "2024-03-10T06:30:00Z",
    state: "awake",
    reason: "weekly",
    next: "2024-03-10T07:00:00Z",
  },
  // NY 2025-03-09: gap at 07:00Z. 01:00 EST = 06:00Z.
  {
    name: "New York 2025 spring R4 start inside the gap",
    spec: weekly("America/New_York", [[["Sun"], "02:30", "04:00"]]),
    at: "2025-03-09T06:00:00Z",
    state: "asleep",
    reason: "default",
    next: "2025-03-09T07:00:00Z",
  },
  // Both boundaries inside the gap take effect at the same instant: no awake time that day; next Sunday 02:00 EDT = 06:00Z.
  {
    name: "New York 2025 spring R4 window wholly inside the gap never wakes",
    spec: weekly("America/New_York", [[["Sun"], "02:00", "03:00"]]),
    at: "2025-03-09T06:59:00Z",
    state: "asleep",
    reason: "default",
    next: "2025-03-16T06:00:00Z",
  },
  // Berlin 2024-03-31: 02:00 CET -> 03:00 CEST at 01:00Z; 10:00 CEST = 08:00Z.
  {
    name: "Berlin 2024 spring R4 start inside the gap, before",
    spec: weekly("Europe/Berlin", [[["Sun"], "02:15", "10:00"]]),
    at: "2024-03-31T00:59:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-03-31T01:00:00Z",
  },
  {
    name: "Berlin 2024 spring R4 start inside the gap, after",
    spec: weekly("Europe/Berlin", [[["Sun"], "02:15", "10:00"]]),
    at: "2024-03-31T01:00:00Z",
    state: "awake",
    reason: "weekly",
    next: "2024-03-31T08:00:00Z",
  },
  // Berlin 2025-03-30, gap at 01:00Z: Sat 20:00 – Sun 02:30 ends at 01:00Z; 01:30 CET = 00:30Z.
  {
    name: "Berlin 2025 spring R4 end inside the gap",
    spec: weekly("Europe/Berlin", [[["Sat"], "20:00", "02:30"]]),
    at: "2025-03-30T00:30:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-03-30T01:00:00Z",
  },
  // Auckland 2024-09-29: 02:00 NZST -> 03:00 NZDT at 2024-09-28T14:00Z; Sat 23:00 – Sun 02:30 ends at 14:00Z.
  {
    name: "Auckland 2024 spring R4 end inside the gap, before",
    spec: weekly("Pacific/Auckland", [[["Sat"], "23:00", "02:30"]]),
    at: "2024-09-28T13:59:00Z",
    state: "awake",
    reason: "weekly",
    next: "2024-09-28T14:00:00Z",
  },
  // Next Saturday 2024-10-05 23:00 NZDT = 10:00Z.
  {
    name: "Auckland 2024 spring R4 end inside the gap, after",
    spec: weekly("Pacific/Auckland", [[["Sat"], "23:00", "02:30"]]),
    at: "2024-09-28T14:00:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-10-05T10:00:00Z",
  },
  // Auckland 2025-09-28, gap at 2025-09-27T14:00Z: start 02:45 takes effect at 14:00Z; 06:00 NZDT = 17:00Z.
  {
    name: "Auckland 2025 spring R4 start inside the gap, before",
    spec: weekly("Pacific/Auckland", [[["Sun"], "02:45", "06:00"]]),
    at: "2025-09-27T13:50:00Z",
    state: "asleep",
    reason: "default",
    next: "2025-09-27T14:00:00Z",
  },
  {
    name: "Auckland 2025 spring R4 start inside the gap, after",
    spec: weekly("Pacific/Auckland", [[["Sun"], "02:45", "06:00"]]),
    at: "2025-09-27T14:00:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-09-27T17:00:00Z",
  },

  // ---- R5: fall-back folds, every boundary fires once ----
  // NY 2024-11-03: 01:00–02:00 repeats, first pass 05:00–06:00Z (EDT), second 06:00–07:00Z (EST).
  // Sat 22:00 – Sun 01:30 ends at 01:30 EDT = 05:30Z and must not re-open at 01:00 EST; next Sat 22:00 EST = 2024-11-10T03:00Z.
  {
    name: "New York 2024 fall R5 end inside the fold, first pass",
    spec: weekly("America/New_York", [[["Sat"], "22:00", "01:30"]]),
    at: "2024-11-03T05:29:00Z",
    state: "awake",
    reason: "weekly",
    next: "2024-11-03T05:30:00Z",
  },
  {
    name: "New York 2024 fall R5 end inside the fold does not fire twice",
    spec: weekly("America/New_York", [[["Sat"], "22:00", "01:30"]]),
    at: "2024-11-03T05:30:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-11-10T03:00:00Z",
  },
  {
    name: "New York 2024 fall R5 second pass holds asleep",
    spec: weekly("America/New_York", [[["Sat"], "22:00", "01:30"]]),
    at: "2024-11-03T06:15:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-11-10T03:00:00Z",
  },
  // Sun 01:30–09:00 starts at 01:30 EDT = 05:30Z and stays awake through the second pass until 09:00 EST = 14:00Z.
  {
    name: "New York 2024 fall R5 start inside the fold, before",
    spec: weekly("America/New_York", [[["Sun"], "01:30", "09:00"]]),
    at: "2024-11-03T05:10:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-11-03T05:30:00Z",
  },
  {
    name: "New York 2024 fall R5 start inside the fold, first pass",
    spec: weekly("America/New_York", [[["Sun"], "01:30", "09:00"]]),
    at: "2024-11-03T05:30:00Z",
    state: "awake",
    reason: "weekly",
    next: "2024-11-03T14:00:00Z",
  },
  {
    name: "New York 2024 fall R5 second pass holds awake",
    spec: weekly("America/New_York", [[["Sun"], "01:30", "09:00"]]),
    at: "2024-11-03T06:10:00Z",
    state: "awake",
    reason: "weekly",
    next: "2024-11-03T14:00:00Z",
  },
  // NY 2025-11-02, second pass 06:00–07:00Z; next Sat 2025-11-08 22:00 EST = 2025-11-09T03:00Z.
  {
    name: "New York 2025 fall R5 end inside the fold, first pass",
    spec: weekly("America/New_York", [[["Sat"], "22:00", "01:30"]]),
    at: "2025-11-02T05:29:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-11-02T05:30:00Z",
  },
  {
    name: "New York 2025 fall R5 second pass holds asleep",
    spec: weekly("America/New_York", [[["Sat"], "22:00", "01:30"]]),
    at: "2025-11-02T06:45:00Z",
    state: "asleep",
    reason: "default",
    next: "2025-11-09T03:00:00Z",
  },
  // Sun 01:15–01:45 lies inside the fold: awake 05:15–05:45Z once; next Sunday 01:15 EST = 2025-11-09T06:15Z.
  {
    name: "New York 2025 fall R5 window inside the fold, first pass",
    spec: weekly("America/New_York", [[["Sun"], "01:15", "01:45"]]),
    at: "2025-11-02T05:15:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-11-02T05:45:00Z",
  },
  {
    name: "New York 2025 fall R5 window inside the fold, second pass",
    spec: weekly("America/New_York", [[["Sun"], "01:15", "01:45"]]),
    at: "2025-11-02T06:20:00Z",
    state: "asleep",
    reason: "default",
    next: "2025-11-09T06:15:00Z",
  },
  // Berlin 2024-10-27: 02:00–03:00 repeats, first pass 00:00–01:00Z (CEST), second 01:00–02:00Z (CET); 08:00 CET = 07:00Z.
  {
    name: "Berlin 2024 fall R5 start inside the fold, before",
    spec: weekly("Europe/Berlin", [[["Sun"], "02:30", "08:00"]]),
    at: "2024-10-27T00:29:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-10-27T00:30:00Z",
  },
  {
    name: "Berlin 2024 fall R5 start inside the fold, first pass",
    spec: weekly("Europe/Berlin", [[["Sun"], "02:30", "08:00"]]),
    at: "2024-10-27T00:30:00Z",
    state: "awake",
    reason: "weekly",
    next: "2024-10-27T07:00:00Z",
  },
  {
    name: "Berlin 2024 fall R5 second pass before the boundary's wall time holds awake",
    spec: weekly("Europe/Berlin", [[["Sun"], "02:30", "08:00"]]),
    at: "2024-10-27T01:15:00Z",
    state: "awake",
    reason: "weekly",
    next: "2024-10-27T07:00:00Z",
  },
  // Berlin 2025-10-26: Sat 18:00 – Sun 02:30 ends at 02:30 CEST = 00:30Z; 02:00 CET (01:00Z) would re-open it naively.
  // Next Sat 2025-11-01 18:00 CET = 17:00Z.
  {
    name: "Berlin 2025 fall R5 end inside the fold, first pass",
    spec: weekly("Europe/Berlin", [[["Sat"], "18:00", "02:30"]]),
    at: "2025-10-26T00:29:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-10-26T00:30:00Z",
  },
  {
    name: "Berlin 2025 fall R5 second pass at 02:00 CET stays asleep",
    spec: weekly("Europe/Berlin", [[["Sat"], "18:00", "02:30"]]),
    at: "2025-10-26T01:00:00Z",
    state: "asleep",
    reason: "default",
    next: "2025-11-01T17:00:00Z",
  },
  {
    name: "Berlin 2025 fall R5 second pass after the boundary's wall time",
    spec: weekly("Europe/Berlin", [[["Sat"], "18:00", "02:30"]]),
    at: "2025-10-26T01:45:00Z",
    state: "asleep",
    reason: "default",
    next: "2025-11-01T17:00:00Z",
  },
  // Auckland 2024-04-07: 02:00–03:00 repeats, first pass 13:00–14:00Z (NZDT), second 14:00–15:00Z (NZST); 07:00 NZST = 19:00Z.
  {
    name: "Auckland 2024 fall R5 start inside the fold, first pass",
    spec: weekly("Pacific/Auckland", [[["Sun"], "02:30", "07:00"]]),
    at: "2024-04-06T13:30:00Z",
    state: "awake",
    reason: "weekly",
    next: "2024-04-06T19:00:00Z",
  },
  {
    name: "Auckland 2024 fall R5 second pass before the boundary's wall time holds awake",
    spec: weekly("Pacific/Auckland", [[["Sun"], "02:30", "07:00"]]),
    at: "2024-04-06T14:10:00Z",
    state: "awake",
    reason: "weekly",
    next: "2024-04-06T19:00:00Z",
  },
  {
    name: "Auckland 2024 fall R5 second pass after the boundary's wall time",
    spec: weekly("Pacific/Auckland", [[["Sun"], "02:30", "07:00"]]),
    at: "2024-04-06T14:40:00Z",
    state: "awake",
    reason: "weekly",
    next: "2024-04-06T19:00:00Z",
  },
  // Auckland 2025-04-06: Sat 20:00 – Sun 02:15 ends at 02:15 NZDT = 13:15Z; next Sat 2025-04-12 20:00 NZST = 08:00Z.
  {
    name: "Auckland 2025 fall R5 second pass before the end's wall time stays asleep",
    spec: weekly("Pacific/Auckland", [[["Sat"], "20:00", "02:15"]]),
    at: "2025-04-05T14:10:00Z",
    state: "asleep",
    reason: "default",
    next: "2025-04-12T08:00:00Z",
  },
  {
    name: "Auckland 2025 fall R5 end inside the fold, first pass",
    spec: weekly("Pacific/Auckland", [[["Sat"], "20:00", "02:15"]]),
    at: "2025-04-05T13:00:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-04-05T13:15:00Z",
  },

  // ---- R6: exceptions cover the whole local date, beat the previous day's tail, stop at the next date ----
  {
    name: "UTC R6 force_sleep on a weekday",
    spec: weekly("UTC", [[WEEKDAYS, "09:00", "17:00"]], {
      exceptions: [{ date: "2025-01-06", action: "force_sleep" }],
    }),
    at: "2025-01-06T10:00:00Z",
    state: "asleep",
    reason: "exception",
    next: "2025-01-07T09:00:00Z",
  },
  // NY 2024-03-10 has 23 h: 00:00 EST = 05:00Z to 00:00 EDT next day = 2024-03-11T04:00Z; Mon 09:00 EDT = 13:00Z.
  {
    name: "New York 2024 spring R6 force_awake starts at local midnight",
    spec: weekly("America/New_York", [[WEEKDAYS, "09:00", "17:00"]], {
      exceptions: [{ date: "2024-03-10", action: "force_awake" }],
    }),
    at: "2024-03-10T04:59:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-03-10T05:00:00Z",
  },
  {
    name: "New York 2024 spring R6 force_awake on a 23 h day ends after 23 h",
    spec: weekly("America/New_York", [[WEEKDAYS, "09:00", "17:00"]], {
      exceptions: [{ date: "2024-03-10", action: "force_awake" }],
    }),
    at: "2024-03-10T12:00:00Z",
    state: "awake",
    reason: "exception",
    next: "2024-03-11T04:00:00Z",
  },
  {
    name: "New York 2024 spring R6 exception does not reach into the next date",
    spec: weekly("America/New_York", [[WEEKDAYS, "09:00", "17:00"]], {
      exceptions: [{ date: "2024-03-10", action: "force_awake" }],
    }),
    at: "2024-03-11T04:00:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-03-11T13:00:00Z",
  },
  // Sat 22:00–06:00 would cover Sunday's early hours; force_sleep on Sunday cuts it at 00:00 EST = 05:00Z.
  {
    name: "New York 2024 spring R6 exception beats the previous day's tail",
    spec: weekly("America/New_York", [[["Sat"], "22:00", "06:00"]], {
      exceptions: [{ date: "2024-03-10", action: "force_sleep" }],
    }),
    at: "2024-03-10T03:30:00Z",
    state: "awake",
    reason: "weekly",
    next: "2024-03-10T05:00:00Z",
  },
  // NY 2024-11-03 has 25 h: 00:00 EDT = 04:00Z to 00:00 EST next day = 2024-11-04T05:00Z.
  {
    name: "New York 2024 fall R6 force_awake on a 25 h day lasts 25 h",
    spec: weekly("America/New_York", [[WEEKDAYS, "09:00", "17:00"]], {
      exceptions: [{ date: "2024-11-03", action: "force_awake" }],
    }),
    at: "2024-11-04T04:30:00Z",
    state: "awake",
    reason: "exception",
    next: "2024-11-04T05:00:00Z",
  },
  {
    name: "New York 2024 fall R6 force_awake starts at 00:00 EDT",
    spec: weekly("America/New_York", [[WEEKDAYS, "09:00", "17:00"]], {
      exceptions: [{ date: "2024-11-03", action: "force_awake" }],
    }),
    at: "2024-11-03T03:59:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-11-03T04:00:00Z",
  },
  // NY 2025-03-09 (23 h): 00:00 EST = 05:00Z to 2025-03-10 00:00 EDT = 04:00Z.
  {
    name: "New York 2025 spring R6 force_awake on a 23 h day",
    spec: weekly("America/New_York", [[WEEKDAYS, "09:00", "17:00"]], {
      exceptions: [{ date: "2025-03-09", action: "force_awake" }],
    }),
    at: "2025-03-09T05:00:00Z",
    state: "awake",
    reason: "exception",
    next: "2025-03-10T04:00:00Z",
  },
  // NY 2025-11-02 (25 h): 04:00Z to 2025-11-03T05:00Z; Mon 09:00 EST = 14:00Z.
  {
    name: "New York 2025 fall R6 after a 25 h force_sleep the week resumes",
    spec: weekly("America/New_York", [[ALL_DAYS, "09:00", "17:00"]], {
      exceptions: [{ date: "2025-11-02", action: "force_sleep" }],
    }),
    at: "2025-11-02T15:00:00Z",
    state: "asleep",
    reason: "exception",
    next: "2025-11-03T14:00:00Z",
  },
  // Berlin 2025-10-26 (25 h): 00:00 CEST = 2025-10-25T22:00Z to 00:00 CET = 2025-10-26T23:00Z.
  {
    name: "Berlin 2025 fall R6 force_sleep beats Saturday's tail",
    spec: weekly("Europe/Berlin", [[["Sat"], "22:00", "04:00"]], {
      exceptions: [{ date: "2025-10-26", action: "force_sleep" }],
    }),
    at: "2025-10-25T21:59:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-10-25T22:00:00Z",
  },
  // After the exception, Monday 00:00 is not covered (Sunday is not listed); next Sat 2025-11-01 22:00 CET = 21:00Z.
  {
    name: "Berlin 2025 fall R6 force_sleep on a 25 h day",
    spec: weekly("Europe/Berlin", [[["Sat"], "22:00", "04:00"]], {
      exceptions: [{ date: "2025-10-26", action: "force_sleep" }],
    }),
    at: "2025-10-26T12:00:00Z",
    state: "asleep",
    reason: "exception",
    next: "2025-11-01T21:00:00Z",
  },
  // Berlin 2024-03-31 (23 h): 2024-03-30T23:00Z to 2024-03-31T22:00Z; Mon 08:00 CEST = 06:00Z.
  {
    name: "Berlin 2024 spring R6 force_awake on a 23 h day",
    spec: weekly("Europe/Berlin", [[WEEKDAYS, "08:00", "18:00"]], {
      exceptions: [{ date: "2024-03-31", action: "force_awake" }],
    }),
    at: "2024-03-31T21:59:00Z",
    state: "awake",
    reason: "exception",
    next: "2024-03-31T22:00:00Z",
  },
  {
    name: "Berlin 2024 spring R6 the next date is the week's again",
    spec: weekly("Europe/Berlin", [[WEEKDAYS, "08:00", "18:00"]], {
      exceptions: [{ date: "2024-03-31", action: "force_awake" }],
    }),
    at: "2024-03-31T22:00:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-04-01T06:00:00Z",
  },
  // Berlin 2024-10-27 (25 h): 2024-10-26T22:00Z to 2024-10-27T23:00Z.
  {
    name: "Berlin 2024 fall R6 force_awake lasts the whole 25 h date",
    spec: weekly("Europe/Berlin", [[WEEKDAYS, "08:00", "18:00"]], {
      exceptions: [{ date: "2024-10-27", action: "force_awake" }],
    }),
    at: "2024-10-26T22:00:00Z",
    state: "awake",
    reason: "exception",
    next: "2024-10-27T23:00:00Z",
  },
  // Berlin 2025-03-30 (23 h): 2025-03-29T23:00Z to 2025-03-30T22:00Z.
  {
    name: "Berlin 2025 spring R6 force_awake on a 23 h day",
    spec: weekly("Europe/Berlin", [[WEEKDAYS, "08:00", "18:00"]], {
      exceptions: [{ date: "2025-03-30", action: "force_awake" }],
    }),
    at: "2025-03-30T12:00:00Z",
    state: "awake",
    reason: "exception",
    next: "2025-03-30T22:00:00Z",
  },
  // Auckland 2025-04-06 (25 h): 00:00 NZDT = 2025-04-05T11:00Z to 2025-04-07 00:00 NZST = 2025-04-06T12:00Z.
  {
    name: "Auckland 2025 fall R6 force_sleep stops at the next local date",
    spec: weekly("Pacific/Auckland", [[["Mon"], "00:00", "06:00"]], {
      exceptions: [{ date: "2025-04-06", action: "force_sleep" }],
    }),
    at: "2025-04-06T11:59:00Z",
    state: "asleep",
    reason: "exception",
    next: "2025-04-06T12:00:00Z",
  },
  // Sat 22:00–06:00 tail is cut at Sunday 00:00 NZDT = 2025-04-05T11:00Z.
  {
    name: "Auckland 2025 fall R6 force_sleep beats Saturday's tail",
    spec: weekly("Pacific/Auckland", [[["Sat"], "22:00", "06:00"]], {
      exceptions: [{ date: "2025-04-06", action: "force_sleep" }],
    }),
    at: "2025-04-05T10:00:00Z",
    state: "awake",
    reason: "weekly",
    next: "2025-04-05T11:00:00Z",
  },
  // Auckland 2024-09-29 (23 h): 00:00 NZST = 2024-09-28T12:00Z to 2024-09-30 00:00 NZDT = 2024-09-29T11:00Z.
  {
    name: "Auckland 2024 spring R6 force_awake on a 23 h day",
    spec: weekly("Pacific/Auckland", [[WEEKDAYS, "08:00", "18:00"]], {
      exceptions: [{ date: "2024-09-29", action: "force_awake" }],
    }),
    at: "2024-09-28T12:00:00Z",
    state: "awake",
    reason: "exception",
    next: "2024-09-29T11:00:00Z",
  },
  // Auckland 2024-04-07 (25 h): 2024-04-06T11:00Z to 2024-04-07T12:00Z.
  {
    name: "Auckland 2024 fall R6 force_awake on a 25 h day",
    spec: weekly("Pacific/Auckland", [[WEEKDAYS, "08:00", "18:00"]], {
      exceptions: [{ date: "2024-04-07", action: "force_awake" }],
    }),
    at: "2024-04-07T11:30:00Z",
    state: "awake",
    reason: "exception",
    next: "2024-04-07T12:00:00Z",
  },
  // Auckland 2025-09-28 (23 h): 2025-09-27T12:00Z to 2025-09-28T11:00Z.
  {
    name: "Auckland 2025 spring R6 force_awake on a 23 h day",
    spec: weekly("Pacific/Auckland", [[WEEKDAYS, "08:00", "18:00"]], {
      exceptions: [{ date: "2025-09-28", action: "force_awake" }],
    }),
    at: "2025-09-27T12:00:00Z",
    state: "awake",
    reason: "exception",
    next: "2025-09-28T11:00:00Z",
  },

  // ---- R7: override for elapsed hours, beats everything ----
  // From 12:00 EST Sat (17:00Z) for 24 h of elapsed time crosses the gap: ends 2024-03-10T17:00Z (13:00 EDT, not 12:00).
  {
    name: "New York 2024 spring R7 override counts elapsed hours",
    spec: weekly("America/New_York", [[WEEKDAYS, "09:00", "17:00"]], {
      override: { action: "wake", from: "2024-03-09T12:00:00-05:00", durationHours: 24 },
    }),
    at: "2024-03-10T16:59:00Z",
    state: "awake",
    reason: "override",
    next: "2024-03-10T17:00:00Z",
  },
  {
    name: "New York 2024 spring R7 override starts at from",
    spec: weekly("America/New_York", [[WEEKDAYS, "09:00", "17:00"]], {
      override: { action: "wake", from: "2024-03-09T12:00:00-05:00", durationHours: 24 },
    }),
    at: "2024-03-09T16:59:59Z",
    state: "asleep",
    reason: "default",
    next: "2024-03-09T17:00:00Z",
  },
  // Sleep override from 00:00 CEST (22:00Z) for 3 h ends 01:00Z (02:00 CET), then the force_awake exception holds until 23:00Z.
  {
    name: "Berlin 2025 fall R7 sleep override beats a force_awake exception",
    spec: weekly("Europe/Berlin", [[WEEKDAYS, "08:00", "18:00"]], {
      exceptions: [{ date: "2025-10-26", action: "force_awake" }],
      override: { action: "sleep", from: "2025-10-26T00:00:00+02:00", durationHours: 3 },
    }),
    at: "2025-10-26T00:59:00Z",
    state: "asleep",
    reason: "override",
    next: "2025-10-26T01:00:00Z",
  },
  {
    name: "Berlin 2025 fall R7 exception resumes when the override ends",
    spec: weekly("Europe/Berlin", [[WEEKDAYS, "08:00", "18:00"]], {
      exceptions: [{ date: "2025-10-26", action: "force_awake" }],
      override: { action: "sleep", from: "2025-10-26T00:00:00+02:00", durationHours: 3 },
    }),
    at: "2025-10-26T01:00:00Z",
    state: "awake",
    reason: "exception",
    next: "2025-10-26T23:00:00Z",
  },
  {
    name: "Auckland 2024 spring R7 a far override is the next transition",
    spec: {
      timezone: "Pacific/Auckland",
      weekly: [],
      override: { action: "wake", from: "2024-09-28T12:00:00Z", durationHours: 4 },
    },
    at: "2024-09-01T00:00:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-09-28T12:00:00Z",
  },
  {
    name: "Auckland 2024 spring R7 wake override across the gap",
    spec: {
      timezone: "Pacific/Auckland",
      weekly: [],
      override: { action: "wake", from: "2024-09-28T12:00:00Z", durationHours: 4 },
    },
    at: "2024-09-28T15:59:00Z",
    state: "awake",
    reason: "override",
    next: "2024-09-28T16:00:00Z",
  },
  {
    name: "Auckland 2024 spring R7 nothing after the override",
    spec: {
      timezone: "Pacific/Auckland",
      weekly: [],
      override: { action: "wake", from: "2024-09-28T12:00:00Z", durationHours: 4 },
    },
    at: "2024-09-28T16:00:00Z",
    state: "asleep",
    reason: "default",
    next: null,
  },
  {
    name: "UTC R7 sleep override inside a window",
    spec: weekly("UTC", [[WEEKDAYS, "09:00", "17:00"]], {
      override: { action: "sleep", from: "2025-01-06T10:00:00Z", durationHours: 1.5 },
    }),
    at: "2025-01-06T11:00:00Z",
    state: "asleep",
    reason: "override",
    next: "2025-01-06T11:30:00Z",
  },

  // ---- R8: pre-warm ----
  {
    name: "UTC R8 pre-warm starts prewarmMinutes before the window",
    spec: weekly("UTC", [[WEEKDAYS, "09:00", "17:00"]], { prewarmMinutes: 30 }),
    at: "2025-01-06T08:30:00Z",
    state: "awake",
    reason: "prewarm",
    next: "2025-01-06T17:00:00Z",
  },
  {
    name: "UTC R8 just before pre-warm",
    spec: weekly("UTC", [[WEEKDAYS, "09:00", "17:00"]], { prewarmMinutes: 30 }),
    at: "2025-01-06T08:29:59Z",
    state: "asleep",
    reason: "default",
    next: "2025-01-06T08:30:00Z",
  },
  {
    name: "UTC R8 the next transition is the pre-warm start",
    spec: weekly("UTC", [[WEEKDAYS, "09:00", "17:00"]], { prewarmMinutes: 30 }),
    at: "2025-01-10T17:00:00Z",
    state: "asleep",
    reason: "default",
    next: "2025-01-13T08:30:00Z",
  },
  // Monday 2025-01-06 is a force_sleep date: no pre-warm at 23:30 before Tuesday's 00:00 window.
  {
    name: "UTC R8 no pre-warm on an exception date",
    spec: weekly("UTC", [[["Tue"], "00:00", "06:00"]], {
      prewarmMinutes: 60,
      exceptions: [{ date: "2025-01-06", action: "force_sleep" }],
    }),
    at: "2025-01-06T23:30:00Z",
    state: "asleep",
    reason: "exception",
    next: "2025-01-07T00:00:00Z",
  },
  {
    name: "UTC R8 pre-warm on the same weekday without exception",
    spec: weekly("UTC", [[["Tue"], "00:00", "06:00"]], {
      prewarmMinutes: 60,
      exceptions: [{ date: "2025-01-06", action: "force_sleep" }],
    }),
    at: "2025-01-13T23:30:00Z",
    state: "awake",
    reason: "prewarm",
    next: "2025-01-14T06:00:00Z",
  },
  // A force_sleep date cancels its own window, so there is nothing to pre-warm for; the next is Tue 08:30Z.
  {
    name: "UTC R8 no pre-warm for a window cancelled by an exception",
    spec: weekly("UTC", [[WEEKDAYS, "09:00", "17:00"]], {
      prewarmMinutes: 30,
      exceptions: [{ date: "2025-01-06", action: "force_sleep" }],
    }),
    at: "2025-01-06T08:45:00Z",
    state: "asleep",
    reason: "exception",
    next: "2025-01-07T08:30:00Z",
  },
  // A force_awake Saturday starts at 00:00Z: pre-warm from Friday 23:30Z (Friday is no exception date); Sunday 00:00Z asleep again.
  {
    name: "UTC R8 pre-warm before a force_awake date",
    spec: weekly("UTC", [[WEEKDAYS, "09:00", "17:00"]], {
      prewarmMinutes: 30,
      exceptions: [{ date: "2025-01-11", action: "force_awake" }],
    }),
    at: "2025-01-10T23:30:00Z",
    state: "awake",
    reason: "prewarm",
    next: "2025-01-12T00:00:00Z",
  },
  // A wake override starting Saturday 10:00Z for 2 h is an asleep->awake edge too: pre-warm from 09:30Z, asleep at 12:00Z.
  {
    name: "UTC R8 pre-warm before a wake override",
    spec: weekly("UTC", [[WEEKDAYS, "09:00", "17:00"]], {
      prewarmMinutes: 30,
      override: { action: "wake", from: "2025-01-11T10:00:00Z", durationHours: 2 },
    }),
    at: "2025-01-11T09:30:00Z",
    state: "awake",
    reason: "prewarm",
    next: "2025-01-11T12:00:00Z",
  },
  // NY 2024-03-10: window 03:30 EDT = 07:30Z; 60 min of elapsed time earlier is 06:30Z (01:30 EST); ends 06:00 EDT = 10:00Z.
  {
    name: "New York 2024 spring R8 pre-warm counts elapsed minutes across the gap",
    spec: weekly("America/New_York", [[["Sun"], "03:30", "06:00"]], { prewarmMinutes: 60 }),
    at: "2024-03-10T06:30:00Z",
    state: "awake",
    reason: "prewarm",
    next: "2024-03-10T10:00:00Z",
  },
  {
    name: "New York 2024 spring R8 before pre-warm across the gap",
    spec: weekly("America/New_York", [[["Sun"], "03:30", "06:00"]], { prewarmMinutes: 60 }),
    at: "2024-03-10T06:29:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-03-10T06:30:00Z",
  },
  // Berlin 2024-10-27: window 02:40 CEST (first pass) = 00:40Z, pre-warm 30 min from 00:10Z; ends 05:00 CET = 04:00Z.
  {
    name: "Berlin 2024 fall R8 pre-warm before a boundary in the fold",
    spec: weekly("Europe/Berlin", [[["Sun"], "02:40", "05:00"]], { prewarmMinutes: 30 }),
    at: "2024-10-27T00:10:00Z",
    state: "awake",
    reason: "prewarm",
    next: "2024-10-27T04:00:00Z",
  },
  {
    name: "Berlin 2024 fall R8 before the pre-warm",
    spec: weekly("Europe/Berlin", [[["Sun"], "02:40", "05:00"]], { prewarmMinutes: 30 }),
    at: "2024-10-27T00:09:00Z",
    state: "asleep",
    reason: "default",
    next: "2024-10-27T00:10:00Z",
  },
  // Auckland 2025-09-28: window 03:10 NZDT = 2025-09-27T14:10Z; 20 min earlier is 13:50Z = 01:50 NZST, before the gap.
  {
    name: "Auckland 2025 spring R8 pre-warm reaches back over the gap",
    spec: weekly("Pacific/Auckland", [[["Sun"], "03:10", "05:00"]], { prewarmMinutes: 20 }),
    at: "2025-09-27T13:50:00Z",
    state: "awake",
    reason: "prewarm",
    next: "2025-09-27T16:00:00Z",
  },
];

function matrixOf(awakeHours: number[]): number[] {
  const matrix = new Array<number>(168).fill(0);
  for (const hour of awakeHours) matrix[hour] = 1;
  return matrix;
}

describe("schedule table (R1–R8)", () => {
  it.each(cases)("$name", ({ spec, at, state, reason, next }) => {
    const schedule = compileSchedule(spec);
    expect(evaluateSchedule(schedule, at)).toEqual({ state, reason });
    expect(nextTransition(schedule, at)?.at ?? null).toBe(next);
  });

  it("covers every rule in every required zone, and both DST changes of 2024 and 2025 in each DST zone", () => {
    for (const zone of ["UTC", "New York", "Berlin", "Auckland"])
      expect(cases.some((c) => c.name.startsWith(zone))).toBe(true);
    for (const rule of ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8"])
      expect(cases.some((c) => c.name.includes(` ${rule} `))).toBe(true);
    for (const zone of ["New York", "Berlin", "Auckland"]) {
      for (const label of ["2024 spring", "2024 fall", "2025 spring", "2025 fall"])
        expect(cases.some((c) => c.name.startsWith(`${zone} ${label}`))).toBe(true);
    }
  });
});

describe("nextTransition", () => {
  it("fires every boundary of a fall-back night exactly once (no double-fire) and skips none in a gap", () => {
    // Hourly windows all night on Sundays: walk the transitions over NY's 2024 fall-back and spring-forward nights.
    const spec = weekly("America/New_York", [
      [["Sun"], "00:30", "01:30"],
      [["Sun"], "02:30", "03:30"],
    ]);
    const schedule = compileSchedule(spec);
    const walk = (fromIso: string, toIso: string): string[] => {
      const out: string[] = [];
      let at: string = fromIso;
      for (;;) {
        const next = nextTransition(schedule, at);
        if (!next || next.at > toIso) return out;
        out.push(`${next.at} ${next.state}`);
        at = next.at;
      }
    };
    // Fall-back 2024-11-03: 00:30 EDT = 04:30Z, 01:30 EDT = 05:30Z (first pass only), 02:30 EST = 07:30Z, 03:30 EST = 08:30Z.
    expect(walk("2024-11-03T00:00:00Z", "2024-11-03T12:00:00Z")).toEqual([
      "2024-11-03T04:30:00Z awake",
      "2024-11-03T05:30:00Z asleep",
      "2024-11-03T07:30:00Z awake",
      "2024-11-03T08:30:00Z asleep",
    ]);
    // Spring-forward 2024-03-10: 00:30 EST = 05:30Z, 01:30 EST = 06:30Z, 02:30 is in the gap -> 07:00Z, 03:30 EDT = 07:30Z.
    expect(walk("2024-03-10T00:00:00Z", "2024-03-10T12:00:00Z")).toEqual([
      "2024-03-10T05:30:00Z awake",
      "2024-03-10T06:30:00Z asleep",
      "2024-03-10T07:00:00Z awake",
      "2024-03-10T07:30:00Z asleep",
    ]);
  });

  it("agrees with a minute-by-minute scan of evaluateSchedule around DST changes", () => {
    const zones = ["America/New_York", "Europe/Berlin", "Pacific/Auckland", "UTC"];
    // Starts a few hours before a DST change of each zone (UTC has none: it checks plain days).
    const anchors = [
      "2024-03-10T03:00:00Z",
      "2024-11-03T03:00:00Z",
      "2025-03-30T22:00:00Z",
      "2024-10-26T22:00:00Z",
      "2024-04-06T10:00:00Z",
      "2025-09-27T10:00:00Z",
    ];
    const clock = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 15, 30, 45))
      .map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`);
    fc.assert(
      fc.property(
        fc.record({
          zone: fc.constantFrom(...zones),
          anchor: fc.constantFrom(...anchors),
          start: clock,
          end: clock,
          prewarmMinutes: fc.constantFrom(0, 20, 90),
          offsetMinutes: fc.integer({ min: 0, max: 6 * 60 }),
        }),
        ({ zone, anchor, start, end, prewarmMinutes, offsetMinutes }) => {
          fc.pre(start !== end);
          const schedule = compileSchedule({
            timezone: zone,
            weekly: [{ days: ALL_DAYS, start, end }],
            prewarmMinutes,
          });
          const fromMs = Date.parse(anchor) + offsetMinutes * 60_000;
          const initial = evaluateSchedule(schedule, fromMs).state;
          let expected: number | null = null;
          // Boundaries and offsets are whole minutes here, so a minute scan sees every change; 30 h covers a daily window.
          for (let ms = fromMs + 60_000; ms <= fromMs + 30 * 3_600_000; ms += 60_000) {
            if (evaluateSchedule(schedule, ms).state !== initial) {
              expected = ms;
              break;
            }
          }
          expect(nextTransition(schedule, fromMs)?.epochMs ?? null).toBe(expected);
        },
      ),
      { numRuns: 12, seed: 20250330 },
    );
  });
});

describe("asleepMsBetween", () => {
  it("counts elapsed asleep time, 23 h on a spring-forward Sunday that is asleep all day", () => {
    const schedule = compileSchedule(weekly("America/New_York", [[WEEKDAYS, "09:00", "17:00"]]));
    // Sunday 2024-03-10 runs from 05:00Z to 2024-03-11T04:00Z: 23 h, all asleep.
    expect(asleepMsBetween(schedule, Date.parse("2024-03-10T05:00:00Z"), Date.parse("2024-03-11T04:00:00Z"))).toBe(
      23 * 3_600_000,
    );
    // Monday 2024-03-11: awake 13:00Z–21:00Z, so 16 of the 24 h from 04:00Z are asleep.
    expect(asleepMsBetween(schedule, Date.parse("2024-03-11T04:00:00Z"), Date.parse("2024-03-12T04:00:00Z"))).toBe(
      16 * 3_600_000,
    );
  });
});
