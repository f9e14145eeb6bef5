import { describe, expect, it } from "vitest";
import { isStale, oldestAsOf } from "./freshness.js";

describe("oldestAsOf", () => {
  it("is the oldest date, by time not by spelling, and unknown when any date is undated", () => {
    expect(oldestAsOf([])).toBeUndefined();
    expect(oldestAsOf(["2026-07-20T13:44:30Z", "2025-06-28", "2026-01-01T00:00:00+05:00"])).toBe("2025-06-28");
    // compared as instants, not as strings: 03:00+05:00 is 22:00Z, an hour before the other
    expect(oldestAsOf(["2026-01-01T03:00:00+05:00", "2025-12-31T23:00:00Z"])).toBe("2026-01-01T03:00:00+05:00");
    expect(oldestAsOf(["2026-07-20T13:44:30Z", "unknown"])).toBe("unknown");
    expect(oldestAsOf(["not a date", "2025-06-28"])).toBe("unknown");
  });

  it("agrees with isStale: an undated price is stale", () => {
    expect(isStale(oldestAsOf(["2026-07-20", "unknown"]), Date.parse("2026-07-21"), 7 * 86_400_000)).toBe(true);
    expect(isStale(oldestAsOf(["2026-07-20"]), Date.parse("2026-07-21"), 7 * 86_400_000)).toBe(false);
  });
});
