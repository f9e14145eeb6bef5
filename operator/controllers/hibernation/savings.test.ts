// Savings projection: asleep hours from the schedule over four reference weeks × prices of the nodes that go away.
import { describe, expect, it } from "vitest";
import { compileSchedule } from "../../../src-shared/schedule/index.js";
import { readPriceSnapshot } from "../../../src-shared/pricing/snapshot/index.js";
import { nodeFacts } from "../../../src-shared/fleet/fleet-metrics.js";
import { asleepMsBetween } from "../../../src-shared/schedule/index.js";
import {
  asleepHoursPerMonth,
  catalogPrices,
  priceFromBook,
  projectSavings,
  referenceWindowStartMs,
  savingsDate,
} from "./savings.js";

const officeHours = compileSchedule({
  timezone: "UTC",
  weekly: [{ days: ["Mon", "Tue", "Wed", "Thu", "Fri"], start: "08:00", end: "18:00" }],
});
const node = (name: string, labels: Record<string, string>) => ({ metadata: { name, labels } });

describe("savings", () => {
  it("starts the reference window at the current hour", () => {
    expect(referenceWindowStartMs(Date.parse("2025-01-08T15:30:00Z"))).toBe(Date.parse("2025-01-08T15:00:00Z"));
    expect(referenceWindowStartMs(Date.parse("2025-01-12T23:59:59Z"))).toBe(Date.parse("2025-01-12T23:00:00Z"));
    expect(referenceWindowStartMs(Date.parse("2025-01-13T00:00:00Z"))).toBe(Date.parse("2025-01-13T00:00:00Z"));
  });

  it("counts asleep hours per 730-hour month from the schedule, the same on any day of the week", () => {
    // Awake 5 × 10 = 50 h of 168: asleep 118/168 of 730 h.
    for (const at of ["2025-01-06T00:00:00Z", "2025-01-08T12:00:00Z", "2025-01-12T23:30:00Z"])
      expect(asleepHoursPerMonth(officeHours, Date.parse(at))).toBeCloseTo((118 / 168) * 730, 9);
  });

  it("counts only the hours ahead: a wake override for a year leaves none asleep, whatever the weekday", () => {
    for (const from of ["2025-01-06T09:00:00Z", "2025-01-12T20:00:00Z"]) {
      const awake = compileSchedule({
        timezone: "UTC",
        weekly: [{ days: ["Mon", "Tue", "Wed", "Thu", "Fri"], start: "08:00", end: "18:00" }],
        override: { action: "wake", from, durationHours: 8760 },
      });
      expect(asleepHoursPerMonth(awake, Date.parse(from))).toBe(0);
    }
  });

  it("counts a one-off event once: a 2 h sleep override is 2 h of the month, not scaled to its extra days", () => {
    const from = "2025-01-06T09:00:00Z";
    const alwaysAwake = {
      timezone: "UTC",
      weekly: [{ days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], start: "00:00", end: "24:00" }],
    };
    const sleep2h = compileSchedule({ ...alwaysAwake, override: { action: "sleep", from, durationHours: 2 } });
    expect(asleepHoursPerMonth(sleep2h, Date.parse(from))).toBe(2);
    // a force_sleep day on office hours: the weekly hours of the 730 ahead, plus that day's ten office hours
    const day = compileSchedule({
      timezone: "UTC",
      weekly: [{ days: ["Mon", "Tue", "Wed", "Thu", "Fri"], start: "08:00", end: "18:00" }],
      exceptions: [{ date: "2025-01-08", action: "force_sleep" }],
    });
    const start = Date.parse("2025-01-06T00:00:00Z");
    const weeklyOnly = asleepMsBetween(officeHours, start, start + 730 * 3_600_000) / 3_600_000;
    expect(asleepHoursPerMonth(day, start)).toBe(weeklyOnly + 10);
    // a holiday beyond the 730 hours ahead changes nothing: the weekly figure, the same from any weekday
    const farOff = compileSchedule({
      timezone: "UTC",
      weekly: [{ days: ["Mon", "Tue", "Wed", "Thu", "Fri"], start: "08:00", end: "18:00" }],
      exceptions: [{ date: "2025-06-02", action: "force_sleep" }],
    });
    for (const at of ["2025-01-06T09:00:00Z", "2025-01-11T15:00:00Z"])
      expect(asleepHoursPerMonth(farOff, Date.parse(at))).toBeCloseTo((118 / 168) * 730, 9);
  });

  it("prices only nodes of hibernated NodePools, names unpriced ones, and reports the oldest snapshot", () => {
    const book = {
      onDemand: new Map([["m5.large", { usdPerHour: 0.096, asOf: "2025-01-02", source: "snapshot" }]]),
      spot: new Map([
        [
          "m5.large",
          new Map([
            ["use1-az1", { usdPerHour: 0.04, asOf: "2025-01-03T10:00:00Z", source: "spot-history" }],
            ["use1-az2", { usdPerHour: 0.035, asOf: "2025-01-03T10:00:00Z", source: "spot-history" }],
          ]),
        ],
      ]),
    };
    const projection = projectSavings({
      schedule: officeHours,
      nowMs: Date.parse("2025-01-08T12:00:00Z"),
      sleepingNodePools: new Set(["general"]),
      price: priceFromBook(book),
      nodes: [
        node("od", {
          "karpenter.sh/nodepool": "general",
          "node.kubernetes.io/instance-type": "m5.large",
          "karpenter.sh/capacity-type": "on-demand",
        }),
        node("spot-az1", {
          "karpenter.sh/nodepool": "general",
          "node.kubernetes.io/instance-type": "m5.large",
          "karpenter.sh/capacity-type": "spot",
          "topology.kubernetes.io/zone": "use1-az1",
        }),
        node("spot-unknown-zone", {
          "karpenter.sh/nodepool": "general",
          "node.kubernetes.io/instance-type": "m5.large",
          "karpenter.sh/capacity-type": "spot",
        }),
        node("other-pool", { "karpenter.sh/nodepool": "system", "node.kubernetes.io/instance-type": "m5.large" }),
        node("node-group", { "node.kubernetes.io/instance-type": "m5.large" }),
      ],
    });
    // (0.096 + 0.04 + 0.0375 mean of the zones, as the cluster status prices a Spot node without a zone) × 118/168 × 730
    // = 0.1735 × 512.738… = 88.96…
    expect(projection.projectedMonthlySavingsUsd).toBe(88.96);
    expect(projection.savingsAsOf).toBe("2025-01-02T00:00:00Z");
    // the date of a figure priced with one undated price is unknown: absent, not the dated prices' oldest
    expect(savingsDate(["2025-01-02", "2025-03-01T10:00:00+01:00"])).toBe("2025-01-02T00:00:00Z");
    expect(savingsDate(["2025-01-02", "unknown"])).toBeUndefined();
    expect(projection.savingsBaseline).toMatch(/^3 Karpenter node\(s\) of the hibernated NodePools running 24x7/);
    // One node without a price: no figure at all (a partial sum would pass for the whole), and the reason.
    const exotic = node("exotic", {
      "karpenter.sh/nodepool": "general",
      "node.kubernetes.io/instance-type": "x9.huge",
    });
    const partial = projectSavings({
      schedule: officeHours,
      nowMs: Date.parse("2025-01-08T12:00:00Z"),
      sleepingNodePools: new Set(["general"]),
      price: priceFromBook(book),
      nodes: [exotic],
    });
    expect(partial.projectedMonthlySavingsUsd).toBeUndefined();
    expect(partial.savingsBaseline).toMatch(/not computed: 1 node\(s\) without a known price$/);
  });

  it("prices a node as the ManagedCluster status does, and leaves guesses out", () => {
    const asOf = "2025-01-03T10:00:00Z";
    const book = {
      onDemand: new Map([
        ["m5.large", { usdPerHour: 0.096, asOf, source: "snapshot" }],
        ["c5.large", { usdPerHour: 0.085, asOf, source: "snapshot" }],
      ]),
      spot: new Map([
        [
          "m5.large",
          new Map([
            ["use1-az1", { usdPerHour: 0.03, asOf, source: "spot-history" }],
            ["use1-az2", { usdPerHour: 0.05, asOf, source: "spot-history" }],
          ]),
        ],
      ]),
    };
    const nowMs = Date.parse("2025-01-08T12:00:00Z");
    const project = (labels: Record<string, string>) =>
      projectSavings({
        schedule: officeHours,
        nowMs,
        sleepingNodePools: new Set(["general"]),
        price: priceFromBook(book),
        nodes: [node("n", { "karpenter.sh/nodepool": "general", ...labels })],
      });
    // A Spot node in us-east-1a, whose AZ id is use1-az2: the Spot book is keyed by AZ id.
    const spotNode = {
      "node.kubernetes.io/instance-type": "m5.large",
      "eks.amazonaws.com/capacityType": "SPOT",
      "topology.kubernetes.io/zone": "us-east-1a",
      "topology.k8s.aws/zone-id": "use1-az2",
    };
    const statusPrice = nodeFacts({ metadata: { name: "n", labels: spotNode } }, book).price;
    expect(statusPrice?.usdPerHour).toBe(0.05);
    const hours = asleepHoursPerMonth(officeHours, nowMs);
    expect(project(spotNode).projectedMonthlySavingsUsd).toBe(Math.round(statusPrice!.usdPerHour * hours * 100) / 100);
    // A Spot node of a type without a Spot price is not priced On-Demand, and neither is a node without a capacity type.
    const unpricedNodes: Record<string, string>[] = [
      { "node.kubernetes.io/instance-type": "c5.large", "karpenter.sh/capacity-type": "spot" },
      { "node.kubernetes.io/instance-type": "c5.large" },
    ];
    for (const labels of unpricedNodes) {
      const unpriced = project(labels);
      expect(unpriced.projectedMonthlySavingsUsd).toBeUndefined();
      expect(unpriced.savingsBaseline).toMatch(/not computed: 1 node\(s\) without a known price$/);
    }
  });

  it("prices from the shipped snapshot by the node's region, and leaves other regions unpriced", () => {
    const price = catalogPrices();
    // The snapshot's m5.large On-Demand price for us-east-1 (src-shared/pricing/snapshot/us-east-1.json).
    expect(price({ instanceType: "m5.large", capacityType: "on-demand", region: "us-east-1" })).toEqual({
      usdPerHour: 0.096,
      asOf: readPriceSnapshot("us-east-1")._meta.onDemand.asOf,
      source: "snapshot",
    });
    expect(price({ instanceType: "m5.large", capacityType: "on-demand", region: "eu-west-1" })).toBeUndefined();
    expect(price({ instanceType: "m5.large", capacityType: "on-demand" })).toBeUndefined();
  });

  it("reports no figure, only the reason, when there is no price source", () => {
    expect(projectSavings({ schedule: officeHours, nowMs: 0, nodes: [], sleepingNodePools: new Set() })).toEqual({
      savingsBaseline: "no price source configured: savings not computed",
    });
  });
});
