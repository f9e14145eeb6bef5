// A packing that reports itself settled within its budget packs exactly the same with twice the budget (what lets the
// planner skip its second pass); one that used the budget up does not report itself settled.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CgItem } from "./colgen.js";
import { buildOffers } from "./offers.js";
import { pack } from "./packing.js";
import { fixtureBook } from "./test-fixtures.js";
import { DEFAULT_POLICY } from "./types.js";

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
  return { offers, items, demand: inst.shapes.map((s) => s.count) };
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
