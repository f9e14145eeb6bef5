// A packing that reports itself settled within its budget packs exactly the same with twice the budget (what lets the
// planner skip its second pass); one that used the budget up does not report itself settled. Without its integer
// program a packing still places every pod, and with the bound on the planner (which leaves it out) plans as cheaply.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WorkMeter, type CgItem } from "./colgen.js";
import { buildOffers } from "./offers.js";
import { optimize } from "./optimize.js";
import { pack, usage, type PackedNode } from "./packing.js";
import { fixtureBook } from "./test-fixtures.js";
import { DEFAULT_POLICY, type Offer, type PodGroup } from "./types.js";

const typeArb = fc.record({
  cpu: fc.constantFrom(1930, 3920, 7910),
  mem: fc.constantFrom(3500, 7000, 15000, 30000),
  pods: fc.integer({ min: 3, max: 30 }),
  usd: fc.integer({ min: 20, max: 400 }),
});
const shapeArb = fc.record({
  cpu: fc.integer({ min: 100, max: 1900 }),
  mem: fc.integer({ min: 128, max: 3400 }),
  count: fc.integer({ min: 1, max: 12 }),
});
const instance = fc.record({
  types: fc.array(typeArb, { minLength: 1, maxLength: 6 }),
  shapes: fc.array(shapeArb, { minLength: 1, maxLength: 8 }),
});

function problem(inst: typeof instance extends fc.Arbitrary<infer T> ? T : never) {
  const book = fixtureBook(
    inst.types.map((t, k) => ({
      name: `m${k + 5}.large`,
      cpuMillicores: t.cpu,
      memoryMiB: t.mem,
      pods: t.pods,
      onDemandUsd: t.usd / 1000,
    })),
  );
  const offers = buildOffers(book, { ...DEFAULT_POLICY, capacity: "on-demand" }, ["on-demand"], new Set());
  const items: CgItem[] = inst.shapes.map((s) => ({ size: [s.cpu, s.mem, 1, 0] }));
  const pods: PodGroup[] = inst.shapes.map((s, k) => ({
    app: `app-${k}`,
    cpuMillicores: s.cpu,
    memoryMiB: s.mem,
    count: s.count,
  }));
  return { book, offers, items, pods, demand: inst.shapes.map((s) => s.count) };
}

function cost(offers: Offer[], nodes: PackedNode[]): number {
  return nodes.reduce((s, n) => s + offers[n.offer]!.price.usdPerHour, 0);
}

describe("pack: settled within its budget", () => {
  it("a settled packing packs the same nodes with twice the budget", async () => {
    let settled = 0;
    await fc.assert(
      fc.asyncProperty(instance, async (inst) => {
        const { offers, items, demand } = problem(inst);
        const once = await pack(items, demand, offers, { budget: 1_000_000 });
        const twice = await pack(items, demand, offers, { budget: 2_000_000 });
        if (!once.settled) return;
        settled++;
        expect(twice.nodes).toEqual(once.nodes);
        expect(twice.patterns).toEqual(once.patterns);
        expect(twice.settled).toBe(true);
      }),
      { seed: 11, numRuns: 40 },
    );
    // the property above says nothing unless most of these small packings do settle
    expect(settled).toBeGreaterThan(30);
  }, 120_000);

  it("a budget too small for the integer program's minimum work never reports settled", async () => {
    const { offers, items, demand } = problem({
      types: [{ cpu: 3920, mem: 15000, pods: 20, usd: 170 }],
      shapes: [{ cpu: 500, mem: 1000, count: 5 }],
    });
    const small = await pack(items, demand, offers, { budget: 10_000 });
    expect(small.nodes.length).toBeGreaterThan(0);
    expect(small.settled).toBe(false);
    expect((await pack(items, demand, offers, { budget: 1_000_000 })).settled).toBe(true);
  });
});

describe("pack: without its integer program", () => {
  it("places every pod within capacity, and the planner with the bound (which leaves it out) is as cheap as the packing with it", async () => {
    let differs = 0;
    await fc.assert(
      fc.asyncProperty(instance, async (inst) => {
        const { book, offers, items, pods, demand } = problem(inst);
        const without = await pack(items, demand, offers, { budget: 1_000_000, integerProgram: false });
        const placed = demand.map(() => 0);
        for (const n of without.nodes) {
          const cap = offers[n.offer]!.shape.allocatable;
          const used = usage(items, n);
          expect(used[0]).toBeLessThanOrEqual(cap.cpuMillicores);
          expect(used[1]).toBeLessThanOrEqual(cap.memoryMiB);
          expect(used[2]).toBeLessThanOrEqual(cap.pods);
          n.items.forEach((i, k) => (placed[i]! += n.counts[k]!));
        }
        expect(placed).toEqual(demand);
        const withIt = await pack(items, demand, offers, { budget: 1_000_000 });
        if (cost(offers, without.nodes) > cost(offers, withIt.nodes) + 1e-9) differs++;
        const plan = await optimize({
          pods,
          book,
          policy: { ...DEFAULT_POLICY, capacity: "on-demand" },
          lowerBound: true,
        });
        expect(plan.hourlyCostUsd).toBeLessThanOrEqual(cost(offers, withIt.nodes) + 1e-9);
      }),
      { seed: 12, numRuns: 40 },
    );
    // the integer program matters on some of these instances, so the comparison above is not vacuous
    expect(differs).toBeGreaterThan(0);
  }, 180_000);
});

describe("pack: only a start for the bound's steps", () => {
  it("on a wide input (hundreds of shapes, many pods per node) spends a fifth of its budget; elsewhere the same nodes", async () => {
    const wide = problem({
      types: [{ cpu: 7910, mem: 30000, pods: 110, usd: 300 }],
      shapes: Array.from({ length: 160 }, (_, k) => ({
        cpu: 100 + ((k * 37) % 300),
        mem: 128 + ((k * 53) % 400),
        count: 1 + (k % 3),
      })),
    });
    const spent = async (startOnly: boolean): Promise<{ units: number; nodes: PackedNode[] }> => {
      const work = new WorkMeter();
      const { nodes } = await pack(wide.items, wide.demand, wide.offers, {
        budget: 1_000_000,
        work,
        startOnly,
        integerProgram: false,
      });
      return { units: work.units, nodes };
    };
    const [start, whole] = [await spent(true), await spent(false)];
    expect(whole.units).toBeGreaterThan(600_000);
    expect(start.units).toBeLessThan(300_000);
    for (const { nodes } of [start, whole]) {
      const placed = wide.demand.map(() => 0);
      nodes.forEach((n) => n.items.forEach((i, k) => (placed[i]! += n.counts[k]!)));
      expect(placed).toEqual(wide.demand);
    }
    // a narrow input packs the same either way
    const narrow = problem({
      types: [
        { cpu: 3920, mem: 15000, pods: 20, usd: 170 },
        { cpu: 7910, mem: 30000, pods: 30, usd: 330 },
      ],
      shapes: [
        { cpu: 500, mem: 1000, count: 9 },
        { cpu: 1200, mem: 2600, count: 5 },
      ],
    });
    const a = await pack(narrow.items, narrow.demand, narrow.offers, { budget: 1_000_000, startOnly: true });
    const b = await pack(narrow.items, narrow.demand, narrow.offers, { budget: 1_000_000 });
    expect(a.nodes).toEqual(b.nodes);
  }, 60_000);
});
