// The decision fields of a sleep: the prices' date is the oldest, and "unknown" when one price is undated.
import { describe, expect, it } from "vitest";
import { transitionDecision, type SleepingCapacity } from "./decision.js";

const capacity = (asOfs: string[]): SleepingCapacity => ({
  nodePools: ["general"],
  nodes: asOfs.map((asOf, i) => ({
    instanceType: `m5.${i + 1}xlarge`,
    capacityType: "on-demand",
    count: 1,
    usdPerHour: 0.2,
    source: "book",
    asOf,
  })),
  usdPerHour: 0.2 * asOfs.length,
});

const sleep = (c: SleepingCapacity) =>
  transitionDecision({ to: "asleep", cluster: "c", schedule: "s", capacity: c, nowMs: 0, wakeMs: 3_600_000 });

describe("transitionDecision", () => {
  it("dates a sleep by its oldest price, or unknown when one of its prices is undated", () => {
    expect(sleep(capacity(["2025-06-28", "2025-01-01"])).pricesAsOf).toBe("2025-01-01");
    expect(sleep(capacity(["2025-06-28", "unknown"])).pricesAsOf).toBe("unknown");
  });

  it("projects a sleep until its wake, and a month of it at most (the cost CSV's column is monthly)", () => {
    const at = (hours: number) =>
      transitionDecision({
        to: "asleep",
        cluster: "c",
        schedule: "s",
        capacity: capacity(["2025-01-01"]),
        nowMs: 0,
        wakeMs: hours * 3_600_000,
      });
    expect(at(10).periodSavingsUsd).toBe(2);
    expect(at(8760).periodSavingsUsd).toBe(Math.round(0.2 * 730 * 100) / 100);
    expect(at(8760).periodSavingsBaseline).toMatch(/for the first 730 h of the 8760\.0 h until the scheduled wake/);
  });
});
