// Integer restricted master: HiGHS's answer over a handful of patterns equals the cheapest covering found by brute force.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compatLists, getHighs, WorkMeter, type CgBin, type CgItem, type CgProblem, type Column } from "./colgen.js";
import { covers, solveMasterMilp } from "./milp.js";

const items: CgItem[] = [{ size: [1000, 1000, 1, 0] }, { size: [2000, 500, 1, 0] }, { size: [500, 3000, 1, 0] }];
const bins: CgBin[] = [
  { cap: [4000, 8000, 10, 0], weight: 0.2, arch: "amd64", zone: "z1" },
  { cap: [8000, 16000, 10, 0], weight: 0.37, arch: "amd64", zone: "z1" },
  { cap: [2000, 4000, 10, 0], weight: 0.11, arch: "amd64", zone: "z1" },
];

async function problem(): Promise<CgProblem> {
  return { highs: await getHighs(), items, bins, ...compatLists(items, bins), work: new WorkMeter() };
}

/** Cheapest covering by trying 0..maxCopies copies of every column. */
function bruteForce(columns: Column[], demand: number[], maxCopies: number): number {
  let best = Infinity;
  const copies = columns.map(() => 0);
  const go = (k: number, usd: number): void => {
    if (usd >= best) return;
    if (k === columns.length) {
      if (covers(columns, copies, demand)) best = usd;
      return;
    }
    for (let n = 0; n <= maxCopies; n++) {
      copies[k] = n;
      go(k + 1, usd + n * bins[columns[k]!.bin]!.weight);
    }
    copies[k] = 0;
  };
  go(0, 0);
  return best;
}

const column = fc.record({
  bin: fc.integer({ min: 0, max: bins.length - 1 }),
  counts: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
});

describe("solveMasterMilp", () => {
  it("finds the cheapest whole number of copies covering the demand (property, brute force)", async () => {
    const p = await problem();
    const demand = [4, 3, 2];
    // With every count ≥ 1 where it appears and demand ≤ 4, no optimum needs more than 4 copies of one column.
    const single: Column[] = [0, 1, 2].map((i) => ({ bin: 1, items: [i], counts: [1] }));
    await fc.assert(
      fc.asyncProperty(fc.array(column, { minLength: 1, maxLength: 4 }), async (raw) => {
        const columns: Column[] = [
          ...single,
          ...raw.flatMap((c) => {
            const idx = [0, 1, 2].filter((i) => c.counts[i]! > 0);
            return idx.length > 0 ? [{ bin: c.bin, items: idx, counts: idx.map((i) => c.counts[i]!) }] : [];
          }),
        ];
        const res = solveMasterMilp(p, columns, demand, { deadline: Infinity });
        expect(res).toBeDefined();
        expect(res!.optimal).toBe(true);
        expect(covers(columns, res!.copies, demand)).toBe(true);
        expect(res!.weight).toBeCloseTo(bruteForce(columns, demand, 4), 9);
      }),
      { numRuns: 25, seed: 3 },
    );
  });

  it("keeps the incumbent when it is already optimal and reports no solution without budget", async () => {
    const p = await problem();
    const columns: Column[] = [
      { bin: 0, items: [0, 1], counts: [2, 1] },
      { bin: 2, items: [0], counts: [2] },
    ];
    const res = solveMasterMilp(p, columns, [2, 1], { deadline: Infinity, incumbent: [1, 0] });
    expect(res).toMatchObject({ copies: [1, 0], optimal: true });
    expect(res!.weight).toBeCloseTo(0.2, 12);
    expect(solveMasterMilp(p, columns, [2, 1], { deadline: -1 })).toBeUndefined();
  });
});
