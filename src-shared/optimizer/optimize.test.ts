// Optimizer behaviour on hand-made price books: fit in every dimension, constraints, policies, baseline and the lower bound.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { optimize, PLAN_LIMITS, PlanInputError, type OptimizeResult } from "./optimize.js";
import { fixtureBook, type FixtureType } from "./test-fixtures.js";
import { DEFAULT_POLICY, type OptimizerPolicy, type PodGroup } from "./types.js";

const TYPES: FixtureType[] = [
  {
    name: "m5.large",
    cpuMillicores: 1930,
    memoryMiB: 7000,
    pods: 29,
    onDemandUsd: 0.096,
    spotUsd: { z1: 0.04, z2: 0.045 },
    bucket: 1,
  },
  {
    name: "m5.2xlarge",
    cpuMillicores: 7910,
    memoryMiB: 29000,
    pods: 58,
    onDemandUsd: 0.384,
    spotUsd: { z1: 0.17, z2: 0.16 },
    bucket: 2,
  },
  {
    name: "c5.xlarge",
    cpuMillicores: 3920,
    memoryMiB: 6500,
    pods: 58,
    onDemandUsd: 0.17,
    spotUsd: { z1: 0.07 },
    bucket: 3,
  },
  {
    name: "r5.xlarge",
    cpuMillicores: 3920,
    memoryMiB: 29000,
    pods: 58,
    onDemandUsd: 0.252,
    spotUsd: { z2: 0.2 },
    bucket: 0,
  },
  {
    name: "m6g.xlarge",
    cpuMillicores: 3920,
    memoryMiB: 14000,
    pods: 58,
    onDemandUsd: 0.154,
    spotUsd: { z1: 0.06 },
    arch: "arm64",
    bucket: 1,
  },
  {
    name: "g4dn.xlarge",
    cpuMillicores: 3920,
    memoryMiB: 14000,
    pods: 29,
    onDemandUsd: 0.526,
    spotUsd: { z1: 0.2 },
    gpus: 1,
    bucket: 2,
  },
  { name: "t3.small", cpuMillicores: 1930, memoryMiB: 1400, pods: 4, onDemandUsd: 0.0208, bucket: 4 },
];
const book = fixtureBook(TYPES);

function policy(p: Partial<OptimizerPolicy> = {}): OptimizerPolicy {
  return { ...DEFAULT_POLICY, ...p };
}

/** Every node holds its pods in cpu, memory, pod count and GPUs; every pod is placed once or listed as unplaced. */
function checkPlan(pods: PodGroup[], plan: OptimizeResult): void {
  for (const n of plan.nodes) {
    const sum = (f: (p: (typeof n.pods)[number]) => number): number => n.pods.reduce((s, p) => s + f(p) * p.count, 0);
    expect(sum((p) => p.cpuMillicores)).toBeLessThanOrEqual(n.allocatable.cpuMillicores);
    expect(sum((p) => p.memoryMiB)).toBeLessThanOrEqual(n.allocatable.memoryMiB);
    expect(sum(() => 1)).toBeLessThanOrEqual(n.allocatable.pods);
    expect(sum((p) => p.gpus)).toBeLessThanOrEqual(n.allocatable.gpus);
    expect(n.pods.every((p) => p.count > 0)).toBe(true);
  }
  const key = (p: { app: string; cpuMillicores: number; memoryMiB: number }): string =>
    `${p.app}/${p.cpuMillicores}/${p.memoryMiB}`;
  const want = new Map<string, number>();
  for (const p of pods) want.set(key(p), (want.get(key(p)) ?? 0) + p.count);
  const got = new Map<string, number>();
  for (const p of [...plan.nodes.flatMap((n) => n.pods), ...plan.unplaced])
    got.set(key(p), (got.get(key(p)) ?? 0) + p.count);
  expect(got).toEqual(want);
  expect(plan.hourlyCostUsd).toBeCloseTo(
    plan.nodes.reduce((s, n) => s + n.hourlyUsd, 0),
    9,
  );
  expect(plan.baselineHourlyCostUsd).toBeCloseTo(
    plan.nodes.reduce((s, n) => s + n.onDemandHourlyUsd, 0),
    9,
  );
}

/**
 * Cheapest On-Demand plan by brute force: every partition of the pods into nodes (restricted growth
 * strings), each node the cheapest type that holds its pods (no GPUs, so any type may be used).
 */
function bruteForceOnDemandUsd(pods: PodGroup[]): number {
  const flat = pods.flatMap((g) => Array.from({ length: g.count }, () => g));
  const nodeCost = (block: PodGroup[]): number => {
    const cpu = block.reduce((s, p) => s + p.cpuMillicores, 0);
    const mem = block.reduce((s, p) => s + p.memoryMiB, 0);
    const fit = TYPES.filter((t) => t.cpuMillicores >= cpu && t.memoryMiB >= mem && t.pods >= block.length);
    return Math.min(...fit.map((t) => t.onDemandUsd));
  };
  let best = Infinity;
  const label: number[] = [];
  const go = (k: number, blocks: number): void => {
    if (k === flat.length) {
      let cost = 0;
      for (let b = 0; b < blocks && cost < best; b++) cost += nodeCost(flat.filter((_, i) => label[i] === b));
      best = Math.min(best, cost);
      return;
    }
    for (let b = 0; b <= blocks; b++) {
      label[k] = b;
      go(k + 1, Math.max(blocks, b + 1));
    }
  };
  go(0, 0);
  return best;
}

describe("optimize", () => {
  it("refuses an input bigger than one plan takes (pods, distinct shapes) before planning it", async () => {
    const crowd: PodGroup[] = [{ app: "web", cpuMillicores: 100, memoryMiB: 100, count: PLAN_LIMITS.pods + 1 }];
    await expect(optimize({ pods: crowd, book, policy: policy({}) })).rejects.toThrow(PlanInputError);
    const varied: PodGroup[] = Array.from({ length: PLAN_LIMITS.shapes + 1 }, (_, k) => ({
      app: `app-${k}`,
      cpuMillicores: k + 1,
      memoryMiB: 100,
      count: 1,
    }));
    await expect(optimize({ pods: varied, book, policy: policy({}) })).rejects.toThrow(/distinct pod shapes/);
    // at the limit it plans (one shape of many pods)
    const atLimit: PodGroup[] = [{ app: "web", cpuMillicores: 100, memoryMiB: 100, count: PLAN_LIMITS.pods }];
    const plan = await optimize({ pods: atLimit, book, policy: policy({ families: ["m5"] }) });
    expect(plan.nodes.reduce((n, node) => n + node.pods.reduce((m, p) => m + p.count, 0), 0)).toBe(PLAN_LIMITS.pods);
  });

  it("packs by max pods per node, not only cpu and memory", async () => {
    const pods: PodGroup[] = [{ app: "tiny", cpuMillicores: 10, memoryMiB: 10, count: 40 }];
    const plan = await optimize({ pods, book, policy: policy({ capacity: "on-demand", families: ["t3"] }) });
    checkPlan(pods, plan);
    expect(plan.nodes).toHaveLength(10); // 4 pods per t3.small although cpu would allow 193
  });

  it("finds the obvious optimum and proves it with the lower bound", async () => {
    // 4 pods of 900m/3000MiB: two per m5.large (0.096) beat anything else per pod.
    const pods: PodGroup[] = [{ app: "web", cpuMillicores: 900, memoryMiB: 3000, count: 4 }];
    const plan = await optimize({
      pods,
      book,
      policy: policy({ capacity: "on-demand", arch: ["amd64"] }),
      lowerBound: true,
    });
    checkPlan(pods, plan);
    expect(plan.hourlyCostUsd).toBeCloseTo(0.192, 9);
    expect(plan.lowerBound!.hourlyUsd).toBeLessThanOrEqual(plan.hourlyCostUsd + 1e-9);
    expect(plan.lowerBound!.hourlyUsd).toBeGreaterThan(0.19);
    expect(plan.savingsPct).toBe(0);
  });

  it("reports Spot savings against the same nodes On-Demand", async () => {
    const pods: PodGroup[] = [{ app: "web", cpuMillicores: 500, memoryMiB: 1000, count: 30 }];
    const plan = await optimize({ pods, book, policy: policy({ capacity: "spot" }) });
    checkPlan(pods, plan);
    expect(plan.nodes.every((n) => n.capacityType === "spot" && n.priceSource === "spot-history")).toBe(true);
    expect(plan.savingsPct).toBeCloseTo(
      (100 * (plan.baselineHourlyCostUsd - plan.hourlyCostUsd)) / plan.baselineHourlyCostUsd,
      9,
    );
    expect(plan.savingsPct).toBeGreaterThan(40);
  });

  it("lists pods no type can hold, with the reason", async () => {
    const pods: PodGroup[] = [
      { app: "huge", cpuMillicores: 64000, memoryMiB: 1000, count: 2 },
      { app: "ok", cpuMillicores: 100, memoryMiB: 100, count: 1 },
    ];
    const plan = await optimize({ pods, book, policy: policy() });
    checkPlan(pods, plan);
    expect(plan.unplaced).toEqual([
      expect.objectContaining({ app: "huge", count: 2, reason: expect.stringMatching(/64000m CPU/) }),
    ]);
    // no node at all: no baseline, so no saving of 0 % either
    const none = await optimize({ pods: [pods[0]!], book, policy: policy() });
    expect(none.nodes).toEqual([]);
    expect(none.savingsPct).toBeNull();
  });

  it("puts GPU pods on GPU types only and reports missing GPUs", async () => {
    const pods: PodGroup[] = [
      { app: "train", cpuMillicores: 2000, memoryMiB: 8000, gpus: 1, count: 3 },
      { app: "big-train", cpuMillicores: 2000, memoryMiB: 8000, gpus: 4, count: 1 },
    ];
    const plan = await optimize({ pods, book, policy: policy() });
    checkPlan(pods, plan);
    expect(
      plan.nodes.filter((n) => n.pods.some((p) => p.app === "train")).every((n) => n.instanceType === "g4dn.xlarge"),
    ).toBe(true);
    expect(plan.unplaced[0]).toMatchObject({ app: "big-train", reason: expect.stringMatching(/4 GPU/) });
  });

  it("honours per-pod arch and zone constraints", async () => {
    const pods: PodGroup[] = [
      { app: "arm", cpuMillicores: 1000, memoryMiB: 1000, count: 5, arch: "arm64" },
      { app: "pinned", cpuMillicores: 1000, memoryMiB: 1000, count: 5, zone: "z2" },
    ];
    const plan = await optimize({ pods, book, policy: policy() });
    checkPlan(pods, plan);
    for (const n of plan.nodes) {
      if (n.pods.some((p) => p.app === "arm")) expect(book.instanceTypes.get(n.instanceType)!.arch).toBe("arm64");
      if (n.pods.some((p) => p.app === "pinned")) expect(n.zone).toBe("z2");
    }
  });

  it("falls back to On-Demand for pods no Spot type holds, or lists them without fallback", async () => {
    // Only t3.small (no Spot price) is allowed.
    const pods: PodGroup[] = [{ app: "a", cpuMillicores: 500, memoryMiB: 400, count: 3 }];
    const withFallback = await optimize({ pods, book, policy: policy({ families: ["t3"] }) });
    checkPlan(pods, withFallback);
    expect(withFallback.nodes.map((n) => n.capacityType)).toEqual(["on-demand"]);
    expect(withFallback.warnings.join()).toMatch(/fell back to On-Demand/);
    const without = await optimize({ pods, book, policy: policy({ families: ["t3"], spotFallback: false }) });
    expect(without.nodes).toEqual([]);
    expect(without.unplaced[0]!.count).toBe(3);
  });

  it("capacity-optimized prefers the low interruption bucket that lowest-price passes over", async () => {
    const pods: PodGroup[] = [{ app: "mem", cpuMillicores: 500, memoryMiB: 6000, count: 8 }];
    const cheap = await optimize({ pods, book, policy: policy({ strategy: "lowest-price", families: ["m5", "r5"] }) });
    const safe = await optimize({
      pods,
      book,
      policy: policy({ strategy: "capacity-optimized", families: ["m5", "r5"] }),
    });
    checkPlan(pods, cheap);
    checkPlan(pods, safe);
    expect(safe.nodes.every((n) => n.instanceType === "r5.xlarge")).toBe(true);
    expect(cheap.nodes.some((n) => n.instanceType !== "r5.xlarge")).toBe(true);
    expect(safe.hourlyCostUsd).toBeGreaterThanOrEqual(cheap.hourlyCostUsd);
  });

  it("spreads Spot nodes over the minimum number of instance types", async () => {
    const pods: PodGroup[] = [{ app: "web", cpuMillicores: 900, memoryMiB: 1000, count: 12 }];
    const plan = await optimize({ pods, book, policy: policy({ minTypeDiversity: 3, arch: ["amd64"] }) });
    checkPlan(pods, plan);
    expect(new Set(plan.nodes.map((n) => n.instanceType)).size).toBeGreaterThanOrEqual(3);
  });

  it("filters by family, category and arch", async () => {
    const pods: PodGroup[] = [{ app: "web", cpuMillicores: 900, memoryMiB: 1000, count: 12 }];
    const byCategory = await optimize({ pods, book, policy: policy({ families: ["c"] }) });
    expect(byCategory.nodes.every((n) => n.instanceType.startsWith("c5."))).toBe(true);
    const arm = await optimize({ pods, book, policy: policy({ arch: ["arm64"] }) });
    expect(arm.nodes.every((n) => n.instanceType === "m6g.xlarge")).toBe(true);
  });

  it("with a few big pods, plans the brute-force optimum and bounds below it (60 seeded instances)", async () => {
    // 1–7 pods of 1–7.9 vCPU: a handful per node (exact pricing, integer program, node splits). A
    // heuristic, not exact: over 500 other seeded instances it missed the optimum once (by 5.7 %).
    const group = fc.record({
      app: fc.constantFrom("a", "b", "c"),
      cpuMillicores: fc.integer({ min: 1000, max: 7900 }),
      memoryMiB: fc.integer({ min: 500, max: 28000 }),
      count: fc.integer({ min: 1, max: 3 }),
    });
    const pods = fc.array(group, { minLength: 1, maxLength: 3 }).filter((g) => g.reduce((s, p) => s + p.count, 0) <= 7);
    await fc.assert(
      fc.asyncProperty(pods, async (pods) => {
        const plan = await optimize({
          pods,
          book,
          policy: policy({ capacity: "on-demand" }),
          lowerBound: true,
          lowerBoundBudgetMs: 2000,
        });
        checkPlan(pods, plan);
        const optimum = bruteForceOnDemandUsd(pods);
        expect(plan.hourlyCostUsd).toBeCloseTo(optimum, 9);
        expect(plan.lowerBound!.hourlyUsd).toBeLessThanOrEqual(optimum * (1 + 1e-9) + 1e-12);
      }),
      { numRuns: 60, seed: 7 },
    );
  });

  it("with small pods of near-identical shapes, plans the brute-force optimum and bounds below it (40 seeded instances)", async () => {
    // Up to 7 pods of 0.1–0.9 vCPU and 0.1–1.3 GiB: t3.small's 4 pod slots and 1.4 GiB bind, and many shapes dominate
    // others (the bound's exchange columns, then rounding its LP with a smaller pod in a bigger one's room).
    const group = fc.record({
      app: fc.constantFrom("a", "b", "c", "d", "e"),
      cpuMillicores: fc.integer({ min: 100, max: 900 }),
      memoryMiB: fc.integer({ min: 100, max: 1300 }),
      count: fc.integer({ min: 1, max: 2 }),
    });
    const pods = fc.array(group, { minLength: 2, maxLength: 5 }).filter((g) => g.reduce((s, p) => s + p.count, 0) <= 7);
    await fc.assert(
      fc.asyncProperty(pods, async (pods) => {
        const plan = await optimize({ pods, book, policy: policy({ capacity: "on-demand" }), lowerBound: true });
        checkPlan(pods, plan);
        const optimum = bruteForceOnDemandUsd(pods);
        expect(plan.hourlyCostUsd).toBeCloseTo(optimum, 9);
        expect(plan.lowerBound!.hourlyUsd).toBeLessThanOrEqual(optimum * (1 + 1e-9) + 1e-12);
      }),
      { numRuns: 40, seed: 5 },
    );
  });

  it("places every pod once, within every node's allocatable, never below the lower bound (property)", async () => {
    const group = fc.record({
      app: fc.constantFrom("a", "b", "c"),
      cpuMillicores: fc.integer({ min: 0, max: 9000 }),
      memoryMiB: fc.integer({ min: 1, max: 32000 }),
      count: fc.integer({ min: 1, max: 40 }),
      gpus: fc.constantFrom(0, 0, 0, 1),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(group, { minLength: 1, maxLength: 6 }),
        fc.constantFrom("spot", "on-demand", "mixed") as fc.Arbitrary<"spot">,
        async (pods, capacity) => {
          const plan = await optimize({
            pods,
            book,
            policy: policy({ capacity }),
            lowerBound: true,
            lowerBoundBudgetMs: 2000,
          });
          checkPlan(pods, plan);
          expect(plan.lowerBound!.hourlyUsd).toBeLessThanOrEqual(plan.hourlyCostUsd * (1 + 1e-9) + 1e-12);
        },
      ),
      { numRuns: 40, seed: 42 },
    );
  });

  it("plans the same input the same way every time (budgets count work, not time)", async () => {
    // A mix of small and big pods, arch and family pins: every phase runs (column generation, rounding, integer
    // program, repair, the bound and the integer program over its columns).
    const pods: PodGroup[] = Array.from({ length: 24 }, (_, k) => ({
      app: `app${k}`,
      cpuMillicores: 100 + ((k * 737) % 3500),
      memoryMiB: 128 + ((k * 1931) % 12000),
      count: 1 + (k % 5),
      ...(k % 4 === 0 ? { arch: "arm64" as const } : {}),
      ...(k % 7 === 1 ? { families: ["m5", "c5"] } : {}),
    }));
    const plans: OptimizeResult[] = [];
    for (let run = 0; run < 3; run++)
      plans.push(await optimize({ pods, book, policy: policy({ capacity: "mixed" }), lowerBound: true }));
    checkPlan(pods, plans[0]!);
    expect(plans[1]).toEqual(plans[0]);
    expect(plans[2]).toEqual(plans[0]);
    expect(plans[0]!.lowerBound!.hourlyUsd).toBeLessThanOrEqual(plans[0]!.hourlyCostUsd * (1 + 1e-9));
  });

  it("merges identical pods of different apps into one shape and deals the apps back onto the nodes", async () => {
    // Three apps with the same requests, 13 pods: four t3.small (4 pods each) are the cheapest way to hold them.
    const pods: PodGroup[] = [
      { app: "a", cpuMillicores: 150, memoryMiB: 256, count: 3 },
      { app: "b", cpuMillicores: 150, memoryMiB: 256, count: 4 },
      { app: "c", cpuMillicores: 150, memoryMiB: 256, count: 5 },
      { app: "a", cpuMillicores: 150, memoryMiB: 256, count: 1 },
    ];
    const plan = await optimize({ pods, book, policy: policy({ capacity: "on-demand" }), lowerBound: true });
    checkPlan(pods, plan);
    expect(plan.nodes.map((n) => n.instanceType)).toEqual(["t3.small", "t3.small", "t3.small", "t3.small"]);
    const perApp = new Map<string, number>();
    for (const p of plan.nodes.flatMap((n) => n.pods)) perApp.set(p.app, (perApp.get(p.app) ?? 0) + p.count);
    expect(Object.fromEntries(perApp)).toEqual({ a: 4, b: 4, c: 5 });
    // the apps are dealt in input order: the first node takes a's four pods
    expect(plan.nodes[0]!.pods).toEqual([expect.objectContaining({ app: "a", count: 4 })]);
  });

  it("keeps pods restricted to instance families on those families only", async () => {
    const pods: PodGroup[] = [
      { app: "mem", cpuMillicores: 500, memoryMiB: 4000, count: 6, families: ["r5"] },
      { app: "cpu", cpuMillicores: 900, memoryMiB: 500, count: 6, families: ["c"] },
      { app: "any", cpuMillicores: 500, memoryMiB: 500, count: 6 },
      { app: "nowhere", cpuMillicores: 100, memoryMiB: 100, count: 1, families: ["x9"] },
    ];
    const plan = await optimize({ pods, book, policy: policy({ capacity: "on-demand" }), lowerBound: true });
    checkPlan(pods, plan);
    for (const n of plan.nodes) {
      if (n.pods.some((p) => p.app === "mem")) expect(n.instanceType).toMatch(/^r5\./);
      if (n.pods.some((p) => p.app === "cpu")) expect(n.instanceType).toMatch(/^c/);
    }
    expect(plan.unplaced).toEqual([
      expect.objectContaining({ app: "nowhere", reason: expect.stringMatching(/instance families x9/) }),
    ]);
    expect(plan.lowerBound!.hourlyUsd).toBeLessThanOrEqual(plan.hourlyCostUsd * (1 + 1e-9));
  });
});
