// Validation of HibernationSchedule specs: every bad input is refused with the path of the offending field.
import { describe, expect, it } from "vitest";
import { ScheduleSpecError, compileSchedule } from "./spec.js";

const base = { timezone: "Europe/Berlin", weekly: [{ days: ["Mon"], start: "08:00", end: "18:00" }] };

function fieldOf(spec: unknown): string {
  try {
    compileSchedule(spec);
  } catch (err) {
    if (err instanceof ScheduleSpecError) return err.field;
    throw err;
  }
  throw new Error("spec was accepted");
}

describe("compileSchedule validation", () => {
  it.each([
    ["start == end", { ...base, weekly: [{ days: ["Mon"], start: "08:00", end: "08:00" }] }, "spec.weekly[0].end"],
    ["00:00–00:00", { ...base, weekly: [{ days: ["Mon"], start: "00:00", end: "00:00" }] }, "spec.weekly[0].end"],
    ["one-digit hour", { ...base, weekly: [{ days: ["Mon"], start: "8:00", end: "18:00" }] }, "spec.weekly[0].start"],
    ["minute 60", { ...base, weekly: [{ days: ["Mon"], start: "08:60", end: "18:00" }] }, "spec.weekly[0].start"],
    ["start 24:00", { ...base, weekly: [{ days: ["Mon"], start: "24:00", end: "18:00" }] }, "spec.weekly[0].start"],
    ["end 24:30", { ...base, weekly: [{ days: ["Mon"], start: "08:00", end: "24:30" }] }, "spec.weekly[0].end"],
    ["end a number", { ...base, weekly: [{ days: ["Mon"], start: "08:00", end: 1800 }] }, "spec.weekly[0].end"],
    [
      "unknown day",
      { ...base, weekly: [{ days: ["Mon", "Funday"], start: "08:00", end: "18:00" }] },
      "spec.weekly[0].days[1]",
    ],
    ["no days", { ...base, weekly: [{ days: [], start: "08:00", end: "18:00" }] }, "spec.weekly[0].days"],
    ["unknown time zone", { ...base, timezone: "Mars/Olympus_Mons" }, "spec.timezone"],
    ["offset instead of a zone", { ...base, timezone: "+02:00" }, "spec.timezone"],
    ["missing time zone", { weekly: base.weekly }, "spec.timezone"],
    ["neither weekly nor matrix", { timezone: "UTC" }, "spec.weekly"],
    ["weekly and matrix", { ...base, matrix: new Array(168).fill(0) }, "spec.matrix"],
    ["matrix of 167", { timezone: "UTC", matrix: new Array(167).fill(0) }, "spec.matrix"],
    [
      "matrix value 2",
      { timezone: "UTC", matrix: [...new Array(5).fill(0), 2, ...new Array(162).fill(0)] },
      "spec.matrix[5]",
    ],
    ["matrix value true", { timezone: "UTC", matrix: [true, ...new Array(167).fill(0)] }, "spec.matrix[0]"],
    [
      "30 February",
      { ...base, exceptions: [{ date: "2025-02-30", action: "force_sleep" }] },
      "spec.exceptions[0].date",
    ],
    ["month 13", { ...base, exceptions: [{ date: "2025-13-01", action: "force_sleep" }] }, "spec.exceptions[0].date"],
    [
      "date without dashes",
      { ...base, exceptions: [{ date: "20250101", action: "force_sleep" }] },
      "spec.exceptions[0].date",
    ],
    [
      "unknown exception action",
      { ...base, exceptions: [{ date: "2025-01-01", action: "sleep" }] },
      "spec.exceptions[0].action",
    ],
    [
      "conflicting exceptions",
      {
        ...base,
        exceptions: [
          { date: "2025-01-01", action: "force_sleep" },
          { date: "2025-01-01", action: "force_awake" },
        ],
      },
      "spec.exceptions[1].date",
    ],
    [
      "override without offset",
      { ...base, override: { action: "wake", from: "2025-01-01T10:00:00", durationHours: 2 } },
      "spec.override.from",
    ],
    [
      "override duration 0",
      { ...base, override: { action: "wake", from: "2025-01-01T10:00:00Z", durationHours: 0 } },
      "spec.override.durationHours",
    ],
    [
      "override action",
      { ...base, override: { action: "awake", from: "2025-01-01T10:00:00Z", durationHours: 1 } },
      "spec.override.action",
    ],
    ["negative prewarm", { ...base, prewarmMinutes: -5 }, "spec.prewarmMinutes"],
    ["fractional prewarm", { ...base, prewarmMinutes: 1.5 }, "spec.prewarmMinutes"],
  ])("refuses %s", (_name, spec, field) => {
    expect(fieldOf(spec)).toBe(field);
  });

  it("compiles weekly windows into merged week ranges in minutes", () => {
    const compiled = compileSchedule({
      timezone: "UTC",
      weekly: [
        { days: ["Sun"], start: "22:00", end: "02:00" },
        { days: ["Mon"], start: "01:00", end: "03:00" },
        { days: ["Wed"], start: "09:00", end: "24:00" },
      ],
    });
    // Sun 22:00 = 6*1440+1320 = 9960, wraps to Mon 00:00–02:00 and merges with Mon 01:00–03:00 (60–180).
    expect(compiled.weekRanges).toEqual([
      [0, 180],
      [2 * 1440 + 540, 3 * 1440],
      [9960, 10080],
    ]);
  });

  it("compiles a matrix hour by hour", () => {
    const matrix = new Array<number>(168).fill(0);
    matrix[24 + 9] = 1;
    matrix[24 + 10] = 1;
    expect(compileSchedule({ timezone: "UTC", matrix }).weekRanges).toEqual([[1440 + 540, 1440 + 660]]);
  });

  it("keeps an override's end as elapsed time from its start", () => {
    const compiled = compileSchedule({
      ...base,
      override: { action: "sleep", from: "2025-03-30T00:30:00+01:00", durationHours: 2 },
    });
    expect(compiled.override).toEqual({
      action: "sleep",
      fromEpochMs: Date.parse("2025-03-29T23:30:00Z"),
      untilEpochMs: Date.parse("2025-03-30T01:30:00Z"),
    });
  });
});
