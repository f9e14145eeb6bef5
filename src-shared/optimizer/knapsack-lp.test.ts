// Knapsack LP by the small simplex: its optimum matches HiGHS's, its point is feasible, its bound is ≥ the integer optimum.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getHighs, knapsackLpRound } from "./colgen.js";
import { solveKnapsack, type KnapsackItem } from "./knapsack.js";
import { solveKnapsackLp } from "./knapsack-lp.js";

const item = fc.record({
  value: fc.double({ min: 0.001, max: 1, noNaN: true }),
  size: fc.tuple(
    fc.integer({ min: 0, max: 4000 }),
    fc.integer({ min: 0, max: 16000 }),
    fc.constant(1),
    fc.integer({ min: 0, max: 1 }),
  ),
  maxCount: fc.integer({ min: 0, max: 6 }),
});
const cap = fc.tuple(
  fc.integer({ min: 500, max: 16000 }),
  fc.integer({ min: 500, max: 64000 }),
  fc.integer({ min: 1, max: 60 }),
  fc.integer({ min: 0, max: 2 }),
);

function objective(items: KnapsackItem[], x: number[]): number {
  return x.reduce((s, v, k) => s + v * items[k]!.value, 0);
}

describe("solveKnapsackLp", () => {
  it("reaches the LP optimum (HiGHS's), at a feasible point, with a bound at least the integer optimum (property)", async () => {
    const highs = await getHighs();
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 40 }), cap, (items, c) => {
        // the knapsack's own convention: shapes that do not fit alone are not offered
        const fitting = items.filter((it) => it.size.every((s, d) => s <= c[d]!));
        if (fitting.length === 0) return;
        const lp = solveKnapsackLp(fitting, c);
        for (let d = 0; d < 4; d++) {
          const used = lp.x.reduce((s, v, k) => s + v * fitting[k]!.size[d]!, 0);
          expect(used).toBeLessThanOrEqual(c[d]! * (1 + 1e-9) + 1e-9);
        }
        lp.x.forEach((v, k) => {
          expect(v).toBeGreaterThanOrEqual(-1e-9);
          expect(v).toBeLessThanOrEqual(fitting[k]!.maxCount + 1e-9);
        });
        const value = objective(fitting, lp.x);
        // strong duality: the Lagrangian bound at the simplex's duals equals the LP optimum
        expect(lp.upperBound).toBeGreaterThanOrEqual(value * (1 - 1e-9) - 1e-12);
        expect(lp.upperBound).toBeLessThanOrEqual(value * (1 + 1e-6) + 1e-9);
        const reference = knapsackLpRound(highs, fitting, c);
        if (reference) expect(value).toBeCloseTo(reference.lpBound, 6);
        if (fitting.length <= 8) expect(lp.upperBound).toBeGreaterThanOrEqual(solveKnapsack(fitting, c).value - 1e-9);
      }),
      { numRuns: 150, seed: 11 },
    );
  });

  it("an empty knapsack has value 0 and bound 0", () => {
    const lp = solveKnapsackLp([], [1000, 1000, 10, 0]);
    expect(lp.x).toEqual([]);
    expect(lp.upperBound).toBe(0);
  });
});
