// Unit tests for the fleet figures (formulas of docs/facade-metrics.md) and quantity parsing.
import { describe, it, expect } from "vitest";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import {
  composition,
  efficiencyGrade,
  efficiencyScore,
  binPackingSavings,
  figuresFromStatus,
  figuresFromUsage,
  fleetKpi,
  nodeFacts,
  projection,
  type Price,
  type PriceBook,
  requestedOn,
  timeframeDays,
} from "./fleet-metrics.js";
import { cpuMillicores, memoryMiB } from "./quantity.js";

const asOf = "2026-07-20";
const price = (usdPerHour: number, source = "snapshot"): Price => ({ usdPerHour, source, asOf });

function book(): PriceBook {
  return {
    onDemand: new Map([
      ["m5.large", price(0.096)],
      ["c5.xlarge", price(0.17)],
    ]),
    spot: new Map([
      [
        "m5.large",
        new Map([
          ["use1-az1", price(0.04, "spot-history")],
          ["use1-az2", price(0.05, "spot-history")],
        ]),
      ],
    ]),
  };
}

function node(name: string, type: string, capacity: string, ready = true): V1Node {
  return {
    metadata: {
      name,
      labels: {
        "node.kubernetes.io/instance-type": type,
        "karpenter.sh/capacity-type": capacity,
        "topology.kubernetes.io/zone": "us-east-1a",
      },
    },
    status: {
      allocatable: { cpu: "1930m", memory: "7134Mi" },
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    },
  } as V1Node;
}

function pod(nodeName: string, cpu: string, memory: string, phase = "Running"): V1Pod {
  return {
    metadata: { name: `p-${nodeName}-${cpu}` },
    spec: { nodeName, containers: [{ name: "c", resources: { requests: { cpu, memory } } }] },
    status: { phase },
  } as V1Pod;
}

describe("quantities", () => {
  it("parses cpu and memory the way Kubernetes writes them", () => {
    expect(cpuMillicores("1500m")).toBe(1500);
    expect(cpuMillicores("2")).toBe(2000);
    expect(cpuMillicores("0.25")).toBe(250);
    expect(memoryMiB("8Gi")).toBe(8192);
    expect(memoryMiB("1048576")).toBe(1);
    expect(memoryMiB("1M")).toBeCloseTo(0.9537, 3);
    expect(cpuMillicores("lots")).toBe(0);
  });
});

describe("efficiency and health formulas", () => {
  it("scores full utilisation, all Spot, no interruptions as 100 and an idle On-Demand fleet as 20", () => {
    expect(efficiencyScore({ cpu: 1, memory: 1 }, 1, 0)).toBe(100);
    expect(efficiencyScore({ cpu: 0, memory: 0 }, 0, 0)).toBe(20);
    expect(efficiencyScore({ cpu: 0.5, memory: 0.3 }, 0.5, 0.25)).toBe(
      Math.round(100 * (0.5 * 0.4 + 0.15 + 0.2 * 0.75)),
    );
  });

  it("grades scores and says N/A without nodes", () => {
    expect([90, 75, 60, 45, 10].map(efficiencyGrade)).toEqual(["A", "B", "C", "D", "F"]);
    expect(efficiencyGrade(null)).toBe("N/A");
  });
});

describe("figuresFromUsage", () => {
  const nodes = [
    node("a", "m5.large", "spot"),
    node("b", "m5.large", "spot", false),
    node("c", "c5.xlarge", "on-demand"),
  ];
  const pods = [
    pod("a", "965m", "1Gi"),
    pod("b", "500m", "512Mi"),
    pod("c", "1", "2Gi", "Succeeded"),
    pod("zz", "4", "1Gi"),
  ];

  it("counts each pod's effective request: the scheduler's reservation, init containers and overhead included", () => {
    const withInit = pod("a", "500m", "256Mi");
    withInit.spec!.initContainers = [{ name: "migrate", resources: { requests: { cpu: "2", memory: "1Gi" } } }];
    withInit.spec!.overhead = { cpu: "100m", memory: "64Mi" };
    expect(requestedOn([withInit], new Set(["a"]))).toEqual({ millicores: 2100, mib: 1088 });
  });

  it("shows no utilisation above 1, nor a score built on it, but says which requests exceed allocatable", () => {
    const facts = nodes.map((n) => nodeFacts(n, book()));
    const allocatable = facts.reduce((a, x) => a + x.allocatableMillicores, 0);
    const f = figuresFromUsage({
      nodes: facts,
      requestedMillicores: 1_000_000,
      requestedMiB: 1024,
      interruptions7d: 0,
    });
    expect(f).toMatchObject({ cpuUtilisation: null, efficiencyScore: null, efficiencyGrade: "N/A" });
    expect(f.memoryUtilisation).toBeGreaterThan(0);
    expect(f.utilisationReason).toBe(
      `reported requests exceed allocatable: 1000000m CPU requested of ${allocatable}m allocatable`,
    );
    // Exactly full is a figure, not an error.
    const full = figuresFromUsage({
      nodes: facts,
      requestedMillicores: allocatable,
      requestedMiB: 0,
      interruptions7d: 0,
    });
    expect(full).toMatchObject({ cpuUtilisation: 1, utilisationReason: null });
    expect(full.efficiencyScore).not.toBeNull();
    expect(figuresFromStatus({ nodeCount: 3, utilisationReason: f.utilisationReason! })).toMatchObject({
      cpuUtilisation: null,
      efficiencyScore: null,
      utilisationReason: f.utilisationReason,
    });
  });

  it("says why utilisation is null when the nodes report nothing allocatable", () => {
    const facts = nodes.map((n) => ({ ...nodeFacts(n, book()), allocatableMillicores: 0 }));
    const f = figuresFromUsage({ nodes: facts, requestedMillicores: 100, requestedMiB: 1024, interruptions7d: 0 });
    expect(f.cpuUtilisation).toBeNull();
    expect(f.memoryUtilisation).toBeGreaterThan(0);
    expect(f.utilisationReason).toBe("no allocatable CPU reported");
    const none = figuresFromUsage({ nodes: [], requestedMillicores: 0, requestedMiB: 0, interruptions7d: 0 });
    expect(none).toMatchObject({
      cpuUtilisation: null,
      memoryUtilisation: null,
      utilisationReason: "no allocatable CPU or memory reported",
    });
  });

  it("computes counts, utilisation, health and prices from nodes and pods", () => {
    const facts = nodes.map((n) => nodeFacts(n, book()));
    const req = requestedOn(pods, new Set(facts.map((f) => f.name)));
    expect(req).toEqual({ millicores: 1465, mib: 1536 });
    const f = figuresFromUsage({
      nodes: facts,
      requestedMillicores: req.millicores,
      requestedMiB: req.mib,
      interruptions7d: 1,
    });
    expect(f.nodeCount).toBe(3);
    expect(f.spotNodes).toBe(2);
    expect(f.readyNodes).toBe(2);
    expect(f.interruptionRate).toBe(0.5);
    expect(f.fleetHealth).toBe(Math.round(100 * (2 / 3) * 0.5));
    expect(f.cpuUtilisation).toBeCloseTo(1465 / (3 * 1930), 6);
    // Spot m5.large: zone name has no AZ-id mapping -> mean of zone prices (0.045), labelled derived.
    expect(f.monthlyCostUsd).toBeCloseTo((0.045 * 2 + 0.17) * 730, 6);
    expect(f.baselineMonthlyUsd).toBeCloseTo((0.096 * 2 + 0.17) * 730, 6);
    expect(f.priceSources).toEqual(["derived", "snapshot"]);
    expect(f.pricesAsOf).toBe(asOf);
    expect(f.byFamily).toEqual({ m5: 2, c5: 1 });
  });

  it("takes a zone-independent Spot price as it is (not derived)", () => {
    const uniform: PriceBook = {
      onDemand: new Map([["m5.large", price(0.096)]]),
      spot: new Map([
        [
          "m5.large",
          new Map([
            ["z1", price(0.04)],
            ["z2", price(0.04)],
          ]),
        ],
      ]),
    };
    const f = nodeFacts(node("a", "m5.large", "spot"), uniform);
    expect(f.price).toEqual(price(0.04));
  });

  it("gives no cost when any node is unpriced, and nothing invented for an empty cluster", () => {
    const unpriced = figuresFromUsage({
      nodes: [nodeFacts(node("x", "z9.huge", "spot"), book())],
      requestedMillicores: 0,
      requestedMiB: 0,
      interruptions7d: 0,
    });
    expect(unpriced.monthlyCostUsd).toBeNull();
    const empty = figuresFromUsage({ nodes: [], requestedMillicores: 0, requestedMiB: 0, interruptions7d: 0 });
    expect(empty).toMatchObject({
      nodeCount: 0,
      efficiencyScore: null,
      efficiencyGrade: "N/A",
      fleetHealth: null,
      monthlyCostUsd: 0,
    });
  });
});

describe("aggregates", () => {
  it("sums KPI over clusters, weighting scores by nodes, and counts a status-only cluster honestly", () => {
    const facts = [
      nodeFacts(node("a", "m5.large", "spot"), book()),
      nodeFacts(node("c", "c5.xlarge", "on-demand"), book()),
    ];
    const seen = figuresFromUsage({ nodes: facts, requestedMillicores: 1930, requestedMiB: 7134, interruptions7d: 0 });
    const reported = figuresFromStatus({ nodeCount: 4, spotPercentage: 50, monthlyCostUsd: 300, efficiencyScore: 40 });
    const kpi = fleetKpi([seen, reported, figuresFromStatus(undefined)]);
    expect(kpi.active_nodes).toBe(6);
    expect(kpi.spot_percentage).toBe(Math.round((100 * 3) / 6));
    expect(kpi.monthly_spend).toBeCloseTo((seen.monthlyCostUsd ?? 0) + 300, 2);
    expect(kpi.net_savings).toBeCloseTo((seen.baselineMonthlyUsd ?? 0) - (seen.monthlyCostUsd ?? 0), 2);
    expect(kpi.efficiency_score_value).toBe(Math.round(((seen.efficiencyScore ?? 0) * 2 + 40 * 4) / 6));
    expect(kpi.fleet_health).toBe(100);
    expect(kpi.price_source).toBe("derived+snapshot");
    expect(kpi.clusters).toBe(3);
  });

  it("names the priced clusters net savings leave out for want of an On-Demand baseline", () => {
    const based = { ...figuresFromStatus({ monthlyCostUsd: 100, baselineMonthlyCostUsd: 200 }), clusterId: "a" };
    const unbased = { ...figuresFromStatus({ monthlyCostUsd: 50 }), clusterId: "b" };
    const both = fleetKpi([based, unbased]);
    expect(both).toMatchObject({ monthly_spend: 150, net_savings: 100 });
    expect(both.net_savings_reason).toBe("left out, priced but without an On-Demand baseline: b");
    const alone = fleetKpi([unbased]);
    expect(alone.net_savings).toBeNull();
    expect(alone.net_savings_reason).toBe("no priced cluster has an On-Demand baseline: b");
    expect(fleetKpi([based]).net_savings_reason).toBeNull();
    expect(fleetKpi([figuresFromStatus(undefined)]).net_savings_reason).toMatch(
      /no cluster in scope has a monthly cost/,
    );
  });

  it("dates a bin-packing figure by the plans' prices, undated when any plan's prices are", () => {
    const f = figuresFromStatus({ monthlyCostUsd: 100, baselineMonthlyCostUsd: 200 });
    const plan = (prices?: { source: string; asOf: string }) => ({
      phase: "Succeeded",
      completedAt: "2026-11-01T00:00:00Z",
      monthlyCostUsd: 80,
      ...(prices ? { prices } : {}),
    });
    const dated = binPackingSavings([
      { figures: f, plan: plan({ source: "snapshot", asOf: "2026-07-20" }) },
      { figures: f, plan: plan({ source: "derived+snapshot", asOf: "2025-06-28" }) },
    ]);
    expect(dated).toMatchObject({ priceSource: "derived+snapshot", pricesAsOf: "2025-06-28" });
    const undated = binPackingSavings([
      { figures: f, plan: plan({ source: "snapshot", asOf: "2026-07-20" }) },
      { figures: f, plan: plan({ source: "derived", asOf: "unknown" }) },
    ]);
    expect(undated.pricesAsOf).toBeNull();
    expect(binPackingSavings([{ figures: f, plan: plan() }])).toMatchObject({
      priceSource: null,
      pricesAsOf: null,
    });
  });

  it("projects an organisation without clusters at 0, as its KPI totals are: nothing runs, nothing is unknown", () => {
    const p = projection(
      [],
      { hibernation: { monthlyUsd: null, reason: "x" }, binPacking: binPackingSavings([]) },
      { label: "30d", days: 30 },
    );
    expect(p).toMatchObject({ unoptimized_cost: 0, optimized_cost: 0, potential_savings: 0 });
    expect(p.breakdown).toEqual({ spot_replacement: 0, bin_packing: 0, hibernation: 0 });
    expect([p.spot_replacement.reason, p.bin_packing.reason, p.hibernation.reason]).toEqual([null, null, null]);
    expect(fleetKpi([])).toMatchObject({ monthly_spend: 0, net_savings: 0 });
  });

  it("composes re-packing with a cluster's hibernation: the plan's saving counts only in the hours awake", () => {
    const facts = [nodeFacts(node("c", "c5.xlarge", "on-demand"), book())];
    const f = figuresFromUsage({ nodes: facts, requestedMillicores: 0, requestedMiB: 0, interruptions7d: 0 });
    const current = 0.17 * 730;
    const plan = { phase: "Succeeded", completedAt: "2026-11-01T00:00:00Z", monthlyCostUsd: current - 100 };
    const at = (planUsd: number) =>
      projection(
        [f],
        {
          hibernation: { monthlyUsd: 50, reason: null },
          binPacking: binPackingSavings([
            { figures: f, plan: { ...plan, monthlyCostUsd: planUsd }, hibernationUsd: 50 },
          ]),
        },
        { label: "30d", days: 30 },
      );
    const factor = (30 * 24) / 730;
    // Asleep for 50 of the 124.10 a month: the re-packed nodes run the rest of the time.
    const p = at(current - 100);
    expect(p.breakdown.bin_packing).toBeCloseTo(100 * (1 - 50 / current) * factor, 2);
    expect(p.optimized_cost).toBeCloseTo((current - 100) * (1 - 50 / current) * factor, 2);
    expect(p.bin_packing.baseline).toMatch(/, in the hours hibernation leaves awake$/);
    // A plan far cheaper than the current nodes, with hibernation too: the plan's awake share, not the 0 of a sum.
    expect(at(10).optimized_cost).toBeCloseTo(10 * (1 - 50 / current) * factor, 2);
    // Without hibernation the plan's whole saving counts.
    expect(binPackingSavings([{ figures: f, plan }]).monthlyUsd).toBeCloseTo(100, 6);
  });

  it("projects over a timeframe with the hibernation savings and no invented bin-packing figure", () => {
    const facts = [nodeFacts(node("c", "c5.xlarge", "on-demand"), book())];
    const f = figuresFromUsage({ nodes: facts, requestedMillicores: 0, requestedMiB: 0, interruptions7d: 0 });
    const noPlan = binPackingSavings([{ figures: f }]);
    expect(noPlan).toMatchObject({ monthlyUsd: null, reason: expect.stringContaining("re-plan") });
    const p = projection(
      [f],
      { hibernation: { monthlyUsd: 50, reason: null }, binPacking: noPlan },
      { label: "30d", days: 30 },
    );
    const factor = (30 * 24) / 730;
    expect(p.unoptimized_cost).toBeCloseTo(0.17 * 730 * factor, 2);
    expect(p.breakdown.spot_replacement).toBe(0);
    expect(p.breakdown.bin_packing).toBeNull();
    expect(p.bin_packing.reason).toContain("re-plan");
    expect(p.breakdown.hibernation).toBeCloseTo(50 * factor, 6);
    expect(p.optimized_cost).toBeCloseTo((0.17 * 730 - 50) * factor, 2);
    // A successful plan that costs 20 a month less than the current nodes: that is the bin-packing figure.
    const plan = { phase: "Succeeded", completedAt: "2026-11-01T00:00:00Z", monthlyCostUsd: 0.17 * 730 - 20 };
    const planned = binPackingSavings([{ figures: f, plan }]);
    expect(planned).toMatchObject({ asOf: "2026-11-01T00:00:00Z", reason: null });
    expect(planned.monthlyUsd).toBeCloseTo(20, 6);
    const withPlan = projection(
      [f],
      { hibernation: { monthlyUsd: null, reason: "x" }, binPacking: planned },
      { label: "30d", days: 30 },
    );
    expect(withPlan.breakdown.bin_packing).toBeCloseTo(20 * factor, 6);
    expect(withPlan.breakdown.hibernation).toBeNull();
    expect(withPlan.optimized_cost).toBeCloseTo((0.17 * 730 - 20) * factor, 6);
    expect(timeframeDays("7d")).toBe(7);
    expect(timeframeDays("0d")).toBeUndefined();
    expect(timeframeDays("month")).toBeUndefined();
  });

  it("reports composition in percent with the raw counts", () => {
    const facts = [
      node("a", "m5.large", "spot"),
      node("b", "m5.large", "on-demand"),
      node("c", "c5.xlarge", "spot"),
      node("d", "c5.xlarge", "spot"),
    ].map((n) => nodeFacts(n));
    const c = composition([
      figuresFromUsage({ nodes: facts, requestedMillicores: 0, requestedMiB: 0, interruptions7d: 0 }),
    ]);
    expect(c.by_family).toEqual({ m5: 50, c5: 50 });
    expect(c.by_lifecycle).toEqual({ spot: 75, on_demand: 25 });
    expect(c.node_counts.total).toBe(4);
  });
});
