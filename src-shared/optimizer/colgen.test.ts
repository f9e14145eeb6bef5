// Column generation on instances small enough to enumerate every node pattern: escalated pricing reaches the configuration LP optimum, and a bound cut short by its deadline stays below it.
import { describe, expect, it } from "vitest";
import {
  columnGeneration,
  compatLists,
  WorkMeter,
  getHighs,
  initialColumns,
  MasterLp,
  type CgBin,
  type CgItem,
  type CgOptions,
  type CgProblem,
  type Column,
} from "./colgen.js";
import { fewPodsPerNode } from "./packing.js";

const items: CgItem[] = [
  { size: [1500, 3000, 1, 0] },
  { size: [3000, 2500, 1, 0] },
  { size: [900, 6000, 1, 0] },
  { size: [2600, 1200, 1, 0] },
];
const demand = [4, 3, 5, 2];

/** 16 node types: every combination of 4 CPU and 4 memory sizes, priced per vCPU and GiB with a deterministic wobble. */
const bins: CgBin[] = [2000, 4000, 8000, 16000].flatMap((cpu, a) =>
  [4000, 8000, 16000, 32000].map((mem, b) => ({
    cap: [cpu, mem, 8, 0],
    weight: 0.02 * (cpu / 1000) + 0.005 * (mem / 1000) + 0.003 * ((a * 5 + b * 3) % 7),
    arch: "amd64",
    zone: "z1",
  })),
);

/** Every pattern of every bin: all count vectors with a_i ≤ demand_i that fit, not all zero. */
function allPatterns(): Column[] {
  const out: Column[] = [];
  bins.forEach((bin, j) => {
    const counts = new Array<number>(items.length).fill(0);
    const go = (i: number, used: number[]): void => {
      if (i === items.length) {
        const nz = counts.flatMap((c, k) => (c > 0 ? [k] : []));
        if (nz.length > 0) out.push({ bin: j, items: nz, counts: nz.map((k) => counts[k]!) });
        return;
      }
      for (let c = 0; c <= demand[i]!; c++) {
        const next = used.map((u, d) => u + c * items[i]!.size[d]!);
        if (next.some((u, d) => u > bin.cap[d]!)) break;
        counts[i] = c;
        go(i + 1, next);
      }
      counts[i] = 0;
    };
    go(0, [0, 0, 0, 0]);
  });
  return out;
}

async function problem(): Promise<CgProblem> {
  return { highs: await getHighs(), items, bins, ...compatLists(items, bins), work: new WorkMeter() };
}

/** The configuration LP over every pattern, solved directly. */
async function lpOptimum(): Promise<number> {
  const p = await problem();
  const master = new MasterLp(p, demand);
  try {
    master.add(allPatterns());
    return master.solve().objective;
  } finally {
    master.dispose();
  }
}

async function generate(
  opts: Omit<CgOptions, "deadline"> & { deadline?: number },
): Promise<{ objective: number; lowerBound: number; converged: boolean }> {
  const p = await problem();
  const master = new MasterLp(p, demand);
  try {
    master.add(initialColumns(p, demand));
    const res = columnGeneration(p, master, demand, { deadline: Infinity, ...opts });
    return { objective: res.lp.objective, lowerBound: res.lowerBound, converged: res.converged };
  } finally {
    master.dispose();
  }
}

// One exact knapsack per iteration and no greedy dives: pricing that cannot widen its search stops short.
const narrow = {
  maxIterations: 1000,
  exactPerIteration: 1,
  greedyPerIteration: 0,
  nodeLimit: 100_000,
  maxNodeLimit: 100_000,
  lpStart: false,
};

describe("column generation", () => {
  it("reaches the configuration LP optimum when pricing escalates to exact knapsacks on every bin", async () => {
    const optimum = await lpOptimum();
    const res = await generate({ ...narrow, keepEffort: true, maxExactPerIteration: bins.length });
    expect(res.converged).toBe(true);
    expect(res.objective).toBeCloseTo(optimum, 9);
    expect(res.lowerBound).toBeCloseTo(optimum, 9);
  });

  it("without escalation the same narrow pricing cannot prove the optimum, and its bound stays below it", async () => {
    const optimum = await lpOptimum();
    const res = await generate(narrow);
    expect(res.converged).toBe(false);
    expect(res.lowerBound).toBeLessThanOrEqual(optimum + 1e-9);
  });

  it("a pricing round cut short by its work deadline still gives a valid bound", async () => {
    const optimum = await lpOptimum();
    const res = await generate({ ...narrow, exactPerIteration: bins.length, deadline: -1 });
    expect(res.converged).toBe(false);
    expect(res.lowerBound).toBeGreaterThan(0);
    expect(res.lowerBound).toBeLessThanOrEqual(optimum + 1e-9);
  });

  it("with dual smoothing, reaches the same LP optimum and proves it", async () => {
    const optimum = await lpOptimum();
    for (const smoothing of [0.3, 0.5, 0.9]) {
      const res = await generate({ ...narrow, keepEffort: true, maxExactPerIteration: bins.length, smoothing });
      expect(res.converged).toBe(true);
      expect(res.objective).toBeCloseTo(optimum, 9);
      // converged means within 1e-6 of the master's objective (as ρ ≤ 1 + 1e-6 does without smoothing), never above the optimum
      expect(res.lowerBound).toBeGreaterThanOrEqual(optimum * (1 - 1e-6));
      expect(res.lowerBound).toBeLessThanOrEqual(optimum * (1 + 1e-9));
    }
  });

  it("with dual smoothing, the bound after any number of iterations stays below the LP optimum", async () => {
    const optimum = await lpOptimum();
    const bounds: number[] = [];
    for (const smoothing of [0.5, 0.9]) {
      for (let maxIterations = 0; maxIterations <= 12; maxIterations++) {
        const res = await generate({
          ...narrow,
          maxIterations,
          keepEffort: true,
          maxExactPerIteration: bins.length,
          smoothing,
        });
        expect(res.lowerBound).toBeLessThanOrEqual(optimum * (1 + 1e-9));
        bounds.push(res.lowerBound);
      }
    }
    // the check above is not vacuous: some cut-short bounds are strictly between 0 and the optimum
    expect(bounds.some((b) => b > 0 && b < optimum * (1 - 1e-6))).toBe(true);
  });

  it("tells instances with few pods per node from those with many", async () => {
    const p = await problem();
    expect(fewPodsPerNode(p, demand)).toBe(true);
    const tiny: CgItem[] = [{ size: [100, 128, 1, 0] }];
    const roomy: CgBin[] = [{ cap: [16000, 32000, 110, 0], weight: 1, arch: "amd64", zone: "z1" }];
    const many: CgProblem = { ...p, items: tiny, bins: roomy, ...compatLists(tiny, roomy) };
    expect(fewPodsPerNode(many, [1000])).toBe(false);
    // the bound is per shape and capped by its demand: 20 tiny pods are still few
    expect(fewPodsPerNode(many, [20])).toBe(true);
  });
});
