// Unit tests for the schedule_matrix <-> weekly awake windows compiler.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { matrixToWeekly, weeklyToMatrix, asleepHoursPerWeek, MATRIX_SLOTS } from "./schedule-matrix.js";

function officeHours(): number[] {
  const m = new Array<number>(MATRIX_SLOTS).fill(0);
  for (let day = 0; day < 5; day++) for (let hour = 8; hour < 19; hour++) m[day * 24 + hour] = 1;
  return m;
}

describe("matrixToWeekly", () => {
  it("groups weekdays with the same awake hours into one window", () => {
    expect(matrixToWeekly(officeHours())).toEqual([
      { days: ["Mon", "Tue", "Wed", "Thu", "Fri"], start: "08:00", end: "19:00" },
    ]);
  });

  it("uses 24:00 for a run that reaches the end of the day and never crosses midnight", () => {
    const m = new Array<number>(MATRIX_SLOTS).fill(0);
    m[6 * 24 + 23] = 1; // Sunday 23:00-24:00
    m[0] = 1; // Monday 00:00-01:00
    expect(matrixToWeekly(m)).toEqual([
      { days: ["Mon"], start: "00:00", end: "01:00" },
      { days: ["Sun"], start: "23:00", end: "24:00" },
    ]);
  });

  it("all awake is one all-day window, all asleep is no window", () => {
    expect(matrixToWeekly(new Array<number>(MATRIX_SLOTS).fill(1))).toEqual([
      { days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], start: "00:00", end: "24:00" },
    ]);
    expect(matrixToWeekly(new Array<number>(MATRIX_SLOTS).fill(0))).toEqual([]);
  });

  it("rejects a matrix of the wrong length", () => {
    expect(() => matrixToWeekly([1, 0, 1])).toThrow(/168/);
  });

  it("round-trips every matrix exactly (matrix -> weekly -> matrix)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 168, maxLength: 168 }), (matrix) => {
        expect(weeklyToMatrix(matrixToWeekly(matrix))).toEqual(matrix);
      }),
      { numRuns: 300 },
    );
  });
});

describe("weeklyToMatrix", () => {
  it("puts the tail of a window that crosses midnight on the next day (Sunday wraps to Monday)", () => {
    const m = weeklyToMatrix([{ days: ["Fri", "Sun"], start: "22:00", end: "02:00" }]);
    const awake = m.flatMap((v, i) => (v === 1 ? [i] : []));
    expect(awake).toEqual([0, 1, 4 * 24 + 22, 4 * 24 + 23, 5 * 24, 5 * 24 + 1, 6 * 24 + 22, 6 * 24 + 23]);
  });

  it("counts asleep hours", () => {
    expect(asleepHoursPerWeek(officeHours())).toBe(168 - 55);
  });
});
