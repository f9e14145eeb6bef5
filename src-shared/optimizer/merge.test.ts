// Merging pairs of nodes in the local repair: two nodes become one cheaper node that holds both's pods, never a costlier or invalid plan.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compatLists, getHighs, WorkMeter, type CgBin, type CgItem, type CgProblem } from "./colgen.js";
import { mergePairs, usage, type Ctx, type PackedNode } from "./packing.js";

async function ctxOf(items: CgItem[], bins: CgBin[]): Promise<Ctx> {
  const p: CgProblem = { highs: await getHighs(), items, bins, ...compatLists(items, bins), work: new WorkMeter() };
  return { p, keptOffer: bins.map((_, j) => j), deadline: Infinity, few: false, end: Infinity };
}

const bin = (cpu: number, mem: number, usd: number, arch = "amd64"): CgBin => ({
  cap: [cpu, mem, 10, 0],
  weight: usd,
  arch,
  zone: "z1",
});
const cost = (ctx: Ctx, nodes: PackedNode[]): number => nodes.reduce((s, n) => s + ctx.p.bins[n.offer]!.weight, 0);

describe("mergePairs", () => {
  it("puts two nodes full in memory and idle in CPU on one node of a memory-rich type when that is cheaper", async () => {
    const items: CgItem[] = [{ size: [1000, 1900, 1, 0] }];
    const nodes = (): PackedNode[] => [0, 1].map(() => ({ offer: 0, items: [0], counts: [1] }));
    const cheap = await ctxOf(items, [bin(4000, 2000, 1), bin(2000, 8000, 1.2)]);
    const merged = mergePairs(cheap, nodes());
    expect(merged).toEqual([{ offer: 1, items: [0], counts: [2] }]);
    // the memory-rich type costs more than the two nodes: nothing changes
    const dear = await ctxOf(items, [bin(4000, 2000, 1), bin(2000, 8000, 2.5)]);
    expect(mergePairs(dear, nodes())).toEqual(nodes());
  });

  it("keeps every pod once, within capacity and arch, never at a higher cost (property)", async () => {
    const instance = fc.record({
      pods: fc.array(
        fc.record({
          cpu: fc.integer({ min: 100, max: 3000 }),
          mem: fc.integer({ min: 100, max: 6000 }),
          arch: fc.constantFrom(undefined, "amd64", "arm64"),
        }),
        { minLength: 1, maxLength: 8 },
      ),
      bins: fc.array(
        fc.record({
          cpu: fc.constantFrom(2000, 4000, 8000),
          mem: fc.constantFrom(4000, 8000, 16000),
          arch: fc.constantFrom("amd64", "arm64"),
          usd: fc.integer({ min: 10, max: 100 }),
        }),
        { minLength: 1, maxLength: 5 },
      ),
    });
    let mergedSome = 0;
    await fc.assert(
      fc.asyncProperty(instance, async (inst) => {
        const items: CgItem[] = inst.pods.map((q) => ({
          size: [q.cpu, q.mem, 1, 0],
          ...(q.arch ? { arch: q.arch } : {}),
        }));
        const ctx = await ctxOf(
          items,
          inst.bins.map((b) => bin(b.cpu, b.mem, b.usd / 100, b.arch)),
        );
        // one pod per node, on the first type that holds it
        const nodes: PackedNode[] = items.flatMap((_, i) => {
          const j = ctx.p.bins.findIndex((_, k) => ctx.p.compatMask[k]![i] === 1);
          return j < 0 ? [] : [{ offer: j, items: [i], counts: [1] }];
        });
        const before = cost(ctx, nodes);
        const placed = nodes.map((n) => n.items[0]!).sort();
        const merged = mergePairs(
          ctx,
          nodes.map((n) => ({ ...n, items: n.items.slice(), counts: n.counts.slice() })),
        );
        expect(cost(ctx, merged)).toBeLessThanOrEqual(before + 1e-9);
        if (merged.length < nodes.length) mergedSome++;
        const after: number[] = [];
        for (const n of merged) {
          const b = ctx.p.bins[n.offer]!;
          expect(usage(items, n).every((u, d) => u <= b.cap[d]! + 1e-9)).toBe(true);
          expect(n.items.every((i) => ctx.p.compatMask[n.offer]![i] === 1)).toBe(true);
          n.items.forEach((i, k) => after.push(...Array<number>(n.counts[k]!).fill(i)));
        }
        expect(after.sort()).toEqual(placed);
      }),
      { numRuns: 100, seed: 21 },
    );
    expect(mergedSome).toBeGreaterThan(10);
  });
});
