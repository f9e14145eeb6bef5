// The fluid bounds on random small instances: the LP one below the configuration LP over every pattern and equal to the fluid LP over every bin, the whole-node one between that and the integer optimum; their plans place every pod within capacity.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compatLists,
  getHighs,
  MasterLp,
  WorkMeter,
  type CgBin,
  type CgItem,
  type CgProblem,
  type Column,
} from "./colgen.js";
import {
  cutLoop,
  fluidBound,
  type FluidBound,
  type FluidMilp,
  fluidLpBins,
  fluidMilp,
  knapsackRow,
  resourceRows,
  surrogateMilp,
  wholeNodeBins,
  wholeNodeBound,
} from "./fluid.js";
import { solveMasterMilp } from "./milp.js";
import { fluidPlan, usage, wholeNodePlan, type PackedNode } from "./packing.js";

/** Every pattern of every bin: all count vectors with a_i ≤ demand_i that fit, not all zero. */
function allPatterns(p: CgProblem, demand: number[]): Column[] {
  const out: Column[] = [];
  p.bins.forEach((bin, j) => {
    const counts = new Array<number>(p.items.length).fill(0);
    const go = (i: number, used: number[]): void => {
      if (i === p.items.length) {
        const nz = counts.flatMap((c, k) => (c > 0 ? [k] : []));
        if (nz.length > 0) out.push({ bin: j, items: nz, counts: nz.map((k) => counts[k]!) });
        return;
      }
      for (let c = 0; c <= demand[i]!; c++) {
        const next = used.map((u, d) => u + c * p.items[i]!.size[d]!);
        if (next.some((u, d) => u > bin.cap[d]!) || (c > 0 && p.compatMask[j]![i] === 0)) break;
        counts[i] = c;
        go(i + 1, next);
      }
      counts[i] = 0;
    };
    go(0, [0, 0, 0, 0]);
  });
  return out;
}

/** The fluid LP over every bin (no bin left out), written out for HiGHS independently of fluid.ts. */
async function fluidLpObjective(p: CgProblem, demand: number[]): Promise<number> {
  const highs = await getHighs();
  const lines = ["Minimize", " obj:", ...p.bins.map((b, j) => ` + ${b.weight} z${j}`), "Subject To"];
  demand.forEach((b, i) => {
    const terms = p.bins.flatMap((_, j) => (p.compatMask[j]![i] ? [` + x${i}_${j}`] : []));
    if (b > 0 && terms.length > 0) lines.push(` d${i}:`, ...terms, ` >= ${b}`);
  });
  p.bins.forEach((bin, j) =>
    bin.cap.forEach((c, d) => {
      const terms = p.compat[j]!.flatMap((i) =>
        p.items[i]!.size[d]! > 0 ? [` + ${p.items[i]!.size[d]} x${i}_${j}`] : [],
      );
      if (terms.length > 0) lines.push(` c${j}_${d}:`, ...terms, ` - ${c} z${j}`, " <= 0");
    }),
  );
  lines.push("End");
  const res = highs.solve(lines.join("\n"), { output_flag: false } as never);
  expect(res.Status).toBe("Optimal");
  return res.ObjectiveValue;
}

const itemFields = {
  cpu: fc.integer({ min: 100, max: 3000 }),
  mem: fc.integer({ min: 100, max: 6000 }),
  arch: fc.constantFrom(undefined, "amd64", "arm64"),
};
const itemArb = fc.record({ ...itemFields, count: fc.integer({ min: 1, max: 3 }) });
const binArb = fc.record({
  cpu: fc.constantFrom(2000, 4000, 8000),
  mem: fc.constantFrom(4000, 8000, 16000),
  pods: fc.integer({ min: 2, max: 6 }),
  arch: fc.constantFrom("amd64", "arm64"),
  usd: fc.integer({ min: 10, max: 100 }),
});
const instance = fc.record({
  items: fc.array(itemArb, { minLength: 1, maxLength: 4 }),
  bins: fc.array(binArb, { minLength: 1, maxLength: 5 }),
});

type Instance = typeof instance extends fc.Arbitrary<infer T> ? T : never;

async function problemOf(inst: Instance): Promise<{ p: CgProblem; demand: number[] }> {
  const items: CgItem[] = inst.items.map((it) => ({
    size: [it.cpu, it.mem, 1, 0],
    ...(it.arch ? { arch: it.arch } : {}),
  }));
  const bins: CgBin[] = inst.bins.map((b) => ({
    cap: [b.cpu, b.mem, b.pods, 0],
    weight: b.usd / 100,
    arch: b.arch,
    zone: "z1",
  }));
  const p: CgProblem = { highs: await getHighs(), items, bins, ...compatLists(items, bins), work: new WorkMeter() };
  // shapes no bin holds are not part of the problem (the packing lists them as unplaced)
  const demand = inst.items.map((it, i) => (p.compat.some((list) => list.includes(i)) ? it.count : 0));
  return { p, demand };
}

/** Checks `check` on random small instances with some placeable pod (seeded, 80 runs). */
async function onInstances(
  seed: number,
  check: (p: CgProblem, demand: number[]) => Promise<void> | void,
  instances: fc.Arbitrary<Instance> = instance,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(instances, async (inst) => {
      const { p, demand } = await problemOf(inst);
      fc.pre(demand.some((b) => b > 0));
      await check(p, demand);
    }),
    { numRuns: 80, seed },
  );
}

describe("fluid bound", () => {
  it("stays below the configuration LP over every pattern and equals the fluid LP over every bin (property)", async () => {
    await onInstances(11, async (p, demand) => {
      const fluid = fluidBound(p, demand)!;
      const master = new MasterLp(p, demand);
      try {
        master.add(allPatterns(p, demand));
        const lp = master.solve().objective;
        expect(fluid.value).toBeLessThanOrEqual(lp * (1 + 1e-9) + 1e-12);
      } finally {
        master.dispose();
      }
      // leaving dominated bins out of the LP and checking its duals lose nothing
      expect(fluid.value).toBeCloseTo(await fluidLpObjective(p, demand), 6);
    });
  });

  it("its plan places every pod once, within each node's capacity (property)", async () => {
    await onInstances(12, async (p, demand) => {
      expectPlacesAll(p, fluidPlan(p, fluidBound(p, demand)!, demand), demand);
    });
  });

  it("with whole nodes per type: at least the fluid LP and at most the integer optimum over every pattern (property)", async () => {
    let above = 0;
    await onInstances(13, async (p, demand) => {
      const every = p.bins.map((_, j) => j);
      const whole = fluidMilp(p, demand, { deadline: Infinity, bins: every });
      const optimum = solveMasterMilp(p, allPatterns(p, demand), demand, { deadline: Infinity })!;
      expect(optimum.optimal).toBe(true);
      expect(whole.bound).toBeLessThanOrEqual(optimum.weight * (1 + 1e-9));
      const lp = fluidBound(p, demand)!.value;
      expect(whole.bound).toBeGreaterThanOrEqual(lp * (1 - 1e-4));
      if (whole.bound > lp * 1.01) above++;
      // over the types the fluid LP keeps: a plan
      const cheap = fluidMilp(p, demand, { deadline: Infinity, bins: fluidLpBins(p) });
      for (const fit of ["aligned", "evened"] as const) {
        expectPlacesAll(p, wholeNodePlan(p, whole.solution!, demand, fit), demand);
        expectPlacesAll(p, wholeNodePlan(p, cheap.solution!, demand, fit), demand);
      }
    });
    // whole nodes are what the fluid LP misses: on these small instances the bound is often well above it
    expect(above).toBeGreaterThan(10);
  });

  it("told a bound to beat, stops once a solution costs less: less work, a bound no higher (property)", async () => {
    let stoppedSooner = 0;
    // more shapes and types than the other properties use, so that HiGHS searches past its root
    const bigger = fc.record({
      items: fc.array(itemArb, { minLength: 5, maxLength: 9 }),
      bins: fc.array(binArb, { minLength: 4, maxLength: 7 }),
    });
    await fc.assert(
      fc.asyncProperty(bigger, async (inst) => {
        const { p, demand } = await problemOf(inst);
        fc.pre(demand.some((b) => b > 0));
        const every = p.bins.map((_, j) => j);
        const work = (beat?: number): { milp: ReturnType<typeof fluidMilp>; units: number } => {
          const before = p.work.units;
          const milp = fluidMilp(p, demand, { deadline: Infinity, bins: every, beat });
          return { milp, units: p.work.units - before };
        };
        const full = work();
        const cost = [...full.milp.solution!.nodes].reduce((s, [j, n]) => s + n * p.bins[j]!.weight, 0);
        // a bound to beat above the optimum: the first solution under it ends the search
        const early = work(cost * 1.5);
        expect(early.units).toBeLessThanOrEqual(full.units);
        expect(early.milp.bound).toBeLessThanOrEqual(full.milp.bound * (1 + 1e-9));
        expect(early.milp.solution).toBeDefined();
        if (early.units < full.units) stoppedSooner++;
      }),
      { numRuns: 60, seed: 16 },
    );
    expect(stoppedSooner).toBeGreaterThan(10);
  });

  it("a whole-node solution's pods fill its own nodes where a balanced packing exists", async () => {
    // Two nodes of 4 vCPU / 8 GiB, two 2 vCPU / 2 GiB pods and four 1 vCPU / 3 GiB pods: each node holds one of the
    // first and two of the second exactly. Filling one node with both big pods first would strand two small ones.
    const items: CgItem[] = [{ size: [2000, 2048, 1, 0] }, { size: [1000, 3072, 1, 0] }];
    const bins: CgBin[] = [{ cap: [4000, 8192, 110, 0], weight: 1, arch: "amd64", zone: "z1" }];
    const p: CgProblem = { highs: await getHighs(), items, bins, ...compatLists(items, bins), work: new WorkMeter() };
    const demand = [2, 4];
    const assignment = [
      { bin: 0, shape: 0, pods: 2 },
      { bin: 0, shape: 1, pods: 4 },
    ];
    for (const fit of ["aligned", "evened"] as const) {
      const plan = wholeNodePlan(p, { nodes: new Map([[0, 2]]), assignment }, demand, fit);
      expectPlacesAll(p, plan, demand);
      expect(plan).toHaveLength(2);
    }
    // the fluid LP's plan opens as many nodes as the pods' load needs and spreads them the same way
    expect(fluidPlan(p, { assignment } as FluidBound, demand)).toHaveLength(2);
  });

  it("a pod that fits no node's free room goes where a smaller pod moving to another node makes room for it", async () => {
    // Node A (bin 0) takes three 1 vCPU pods, node B (bin 1) a 3 vCPU pod: 1 vCPU free on each, so the 2 vCPU pod dealt
    // to B fits neither until one small pod leaves A for B.
    const items: CgItem[] = [{ size: [1000, 1024, 1, 0] }, { size: [3000, 3072, 1, 0] }, { size: [2000, 2048, 1, 0] }];
    const bins: CgBin[] = [
      { cap: [4000, 4096, 110, 0], weight: 1, arch: "amd64", zone: "z1" },
      { cap: [4000, 4096, 110, 0], weight: 1.1, arch: "amd64", zone: "z1" },
    ];
    const p: CgProblem = { highs: await getHighs(), items, bins, ...compatLists(items, bins), work: new WorkMeter() };
    const demand = [3, 1, 1];
    const assignment = [
      { bin: 0, shape: 0, pods: 3 },
      { bin: 1, shape: 1, pods: 1 },
      { bin: 1, shape: 2, pods: 1 },
    ];
    for (const fit of ["aligned", "evened"] as const) {
      const plan = wholeNodePlan(
        p,
        {
          nodes: new Map([
            [0, 1],
            [1, 1],
          ]),
          assignment,
        },
        demand,
        fit,
      );
      expectPlacesAll(p, plan, demand);
      expect(plan.map((n) => n.offer).sort()).toEqual([0, 1]);
    }
  });

  it("a node of bin j is worth at most its weight less its reduced cost, and at most its cap in both rows, at the fluid duals, for every pattern (property)", async () => {
    await onInstances(14, async (p, demand) => {
      const fluid = fluidBound(p, demand)!;
      const whole = knapsackRow(p, { duals: fluid.duals, upper: fluid.row.cap, demand, nodeLimit: 3 });
      for (const col of allPatterns(p, demand)) {
        const worth = col.items.reduce((s, i, k) => s + fluid.duals[i]! * col.counts[k]!, 0);
        expect(worth).toBeLessThanOrEqual(p.bins[col.bin]!.weight - fluid.reducedCosts[col.bin]! + 1e-9);
        expect(worth).toBeLessThanOrEqual(fluid.row.cap[col.bin]! + 1e-9);
        expect(worth).toBeLessThanOrEqual(whole.cap[col.bin]! + 1e-9);
      }
      whole.cap.forEach((c, j) => expect(c).toBeLessThanOrEqual(fluid.row.cap[j]!));
    });
  });

  it("over the bins of lowest reduced cost, or over a few rows of whole nodes: at most the integer optimum (property)", async () => {
    let restricted = 0;
    let rounded = 0;
    await fc.assert(
      fc.asyncProperty(instance, fc.integer({ min: 1, max: 12 }), async (inst, maxPairs) => {
        const { p, demand } = await problemOf(inst);
        fc.pre(demand.some((b) => b > 0));
        const fluid = fluidBound(p, demand)!;
        const optimum = solveMasterMilp(p, allPatterns(p, demand), demand, { deadline: Infinity })!;
        const chosen = wholeNodeBins(p, fluid, { demand, maxPairs });
        if (chosen.bins.length < p.bins.length) restricted++;
        const bound = wholeNodeBound(fluidMilp(p, demand, { deadline: Infinity, bins: chosen.bins }), chosen.others);
        expect(bound).toBeLessThanOrEqual(optimum.weight * (1 + 1e-9));
        // a cutoff at the optimum leaves out only bins no cheaper plan uses
        const cut = wholeNodeBins(p, fluid, { demand, maxPairs: Infinity, cutoff: optimum.weight });
        const cutBound = wholeNodeBound(fluidMilp(p, demand, { deadline: Infinity, bins: cut.bins }), cut.others);
        expect(cutBound).toBeLessThanOrEqual(optimum.weight * (1 + 1e-9));
        const row = knapsackRow(p, { duals: fluid.duals, upper: fluid.row.cap, demand, nodeLimit: 50 });
        const rows = surrogateMilp(p, [...resourceRows(p, demand), row], { deadline: Infinity }).bound;
        expect(rows).toBeLessThanOrEqual(optimum.weight * (1 + 1e-9));
        expect(rows).toBeGreaterThanOrEqual(fluid.value * (1 - 1e-4));
        if (rows > fluid.value * 1.01) rounded++;
      }),
      { numRuns: 80, seed: 15 },
    );
    // the properties above are not vacuous: types were left out, and whole nodes raised the rows' bound
    expect(restricted).toBeGreaterThan(10);
    expect(rounded).toBeGreaterThan(10);
  });

  it("with rows added until its nodes hold every pod: at most the integer optimum, at least the whole-node fluid MILP over every bin (property)", async () => {
    let raised = 0;
    let solved = 0;
    // more pods per shape than the other properties use, so that the first MILP's nodes often cannot hold them
    const busier = fc.record({
      items: fc.array(fc.record({ ...itemFields, count: fc.integer({ min: 1, max: 6 }) }), {
        minLength: 2,
        maxLength: 4,
      }),
      bins: fc.array(binArb, { minLength: 2, maxLength: 5 }),
    });
    await onInstances(
      17,
      async (p, demand) => {
        // from the resource rows alone, so that the loop's rows do what the fluid LP's row would
        const rows = resourceRows(p, demand);
        const first = surrogateMilp(p, rows, { deadline: Infinity }).bound;
        const loop = cutLoop(p, demand, {
          rows,
          deadline: Infinity,
          masterWork: Infinity,
          enough: Infinity,
          nodeLimit: 3,
        });
        const optimum = solveMasterMilp(p, allPatterns(p, demand), demand, { deadline: Infinity })!;
        expect(loop.bound).toBeLessThanOrEqual(optimum.weight * (1 + 1e-9));
        if (loop.bound > first * 1.01) raised++;
        if (!loop.solution) return;
        solved++;
        // the solution's nodes hold every pod, fractionally, within each bin's capacity: a point of the whole-node fluid
        // MILP, whose optimum the loop's bound then reaches (within the MILPs' gap)
        expectHoldsEveryPod(p, loop.solution, demand);
        const whole = fluidMilp(p, demand, { deadline: Infinity, bins: p.bins.map((_, j) => j) });
        expect(loop.bound).toBeGreaterThanOrEqual(whole.bound * (1 - 5e-3));
        for (const fit of ["aligned", "evened"] as const)
          expectPlacesAll(p, wholeNodePlan(p, loop.solution, demand, fit), demand);
      },
      busier,
    );
    // not vacuous: the rows raised the first MILP's bound, and the loop ended with nodes holding every pod
    expect(raised).toBeGreaterThan(8);
    expect(solved).toBeGreaterThan(70);
  });

  it("checks nodes of a type the fluid LP leaves out (dominated per dollar) and takes them when they hold the pods", async () => {
    // The small type has no more of anything per dollar than the big one, so the fluid LP keeps only the big one; one
    // small pod needs one small node, which the rows' MILP buys and the check must add to its LP.
    const items: CgItem[] = [{ size: [500, 1000, 1, 0] }, { size: [6000, 12000, 1, 0] }];
    const bins: CgBin[] = [
      { cap: [8000, 16000, 10, 0], weight: 1, arch: "amd64", zone: "z1" },
      { cap: [1000, 2000, 2, 0], weight: 0.2, arch: "amd64", zone: "z1" },
    ];
    const p: CgProblem = { highs: await getHighs(), items, bins, ...compatLists(items, bins), work: new WorkMeter() };
    expect(fluidLpBins(p)).toEqual([0]);
    for (const [demand, nodes, cost] of [
      [[1, 0], [[1, 1]], 0.2],
      [
        [5, 1],
        [
          [0, 1],
          [1, 1],
        ],
        1.2,
      ],
    ] as const) {
      const loop = cutLoop(p, [...demand], {
        rows: resourceRows(p, [...demand]),
        deadline: Infinity,
        masterWork: Infinity,
        enough: Infinity,
        nodeLimit: 3,
      });
      expect([...loop.solution!.nodes].sort()).toEqual(nodes);
      expectHoldsEveryPod(p, loop.solution!, [...demand]);
      expect(loop.bound).toBeCloseTo(cost, 4);
      expectPlacesAll(p, wholeNodePlan(p, loop.solution!, [...demand]), [...demand]);
    }
  });
});

/** A whole-node solution's nodes hold every pod fractionally: its pods cover the demand, on its own nodes, within capacity. */
function expectHoldsEveryPod(
  p: CgProblem,
  { nodes, assignment }: NonNullable<FluidMilp["solution"]>,
  demand: number[],
): void {
  const pods = demand.map(() => 0);
  const used = new Map<number, number[]>();
  for (const a of assignment) {
    expect(nodes.has(a.bin)).toBe(true);
    expect(p.compatMask[a.bin]![a.shape]).toBe(1);
    pods[a.shape]! += a.pods;
    const u = used.get(a.bin) ?? [0, 0, 0, 0];
    p.items[a.shape]!.size.forEach((s, d) => (u[d]! += s * a.pods));
    used.set(a.bin, u);
  }
  pods.forEach((n, i) => expect(n).toBeGreaterThanOrEqual(demand[i]! - 1e-6));
  used.forEach((u, j) => u.forEach((v, d) => expect(v).toBeLessThanOrEqual(p.bins[j]!.cap[d]! * nodes.get(j)! + 1e-6)));
}

/** Every pod placed exactly once, on a node that may hold it, within every node's capacity. */
function expectPlacesAll(p: CgProblem, nodes: PackedNode[], demand: number[]): void {
  const placed = demand.map(() => 0);
  for (const n of nodes) {
    expect(usage(p.items, n).every((u, d) => u <= p.bins[n.offer]!.cap[d]!)).toBe(true);
    expect(n.items.every((i) => p.compatMask[n.offer]![i] === 1)).toBe(true);
    n.items.forEach((i, k) => (placed[i]! += n.counts[k]!));
  }
  expect(placed).toEqual(demand);
}
