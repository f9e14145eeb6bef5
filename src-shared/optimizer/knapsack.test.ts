// Pricing knapsack: branch and bound is exact and every bound it reports is ≥ the true optimum (checked by brute force).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  fractionalBound,
  lagrangianBound,
  lagrangianMultipliers,
  solveKnapsack,
  type KnapsackItem,
} from "./knapsack.js";

function bruteForce(items: KnapsackItem[], cap: number[]): number {
  let best = 0;
  const go = (k: number, rem: number[], value: number): void => {
    if (k === items.length) {
      best = Math.max(best, value);
      return;
    }
    const it = items[k]!;
    for (let c = 0; c <= it.maxCount; c++) {
      const next = rem.map((r, d) => r - c * it.size[d]!);
      if (next.some((r) => r < 0)) break;
      go(k + 1, next, value + c * it.value);
    }
  };
  go(0, cap, 0);
  return best;
}

const item = fc.record({
  value: fc.double({ min: 0.01, max: 10, noNaN: true }),
  size: fc.tuple(
    fc.integer({ min: 0, max: 4000 }),
    fc.integer({ min: 0, max: 8000 }),
    fc.constant(1),
    fc.integer({ min: 0, max: 1 }),
  ),
  maxCount: fc.integer({ min: 1, max: 5 }),
});
const cap = fc.tuple(
  fc.integer({ min: 1000, max: 8000 }),
  fc.integer({ min: 1000, max: 16000 }),
  fc.integer({ min: 1, max: 12 }),
  fc.integer({ min: 0, max: 2 }),
);

describe("knapsack", () => {
  it("branch and bound finds the brute-force optimum; all bounds are valid (property)", () => {
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 5 }), cap, (items, c) => {
        const opt = bruteForce(items, c);
        const res = solveKnapsack(items, c);
        expect(res.exact).toBe(true);
        expect(res.value).toBeCloseTo(opt, 9);
        const used = c.map((_, d) => res.counts.reduce((s, n, k) => s + n * items[k]!.size[d]!, 0));
        expect(used.every((u, d) => u <= c[d]!)).toBe(true);
        expect(fractionalBound(items, c)).toBeGreaterThanOrEqual(opt - 1e-9);
        expect(lagrangianBound(items, c, lagrangianMultipliers(items, c))).toBeGreaterThanOrEqual(opt - 1e-9);
        expect(lagrangianBound(items, c, [0.001, 0.0005, 0.3, 1])).toBeGreaterThanOrEqual(opt - 1e-9);
      }),
      { numRuns: 300, seed: 3 },
    );
  });

  it("with a floor, finds the optimum when it is above the floor and otherwise proves it is at most the floor (property)", () => {
    fc.assert(
      fc.property(
        fc.array(item, { minLength: 1, maxLength: 5 }),
        cap,
        fc.double({ min: 0, max: 1.5, noNaN: true }),
        (items, c, share) => {
          const opt = bruteForce(items, c);
          const floor = opt * share;
          const res = solveKnapsack(items, c, 20_000, { floor });
          expect(res.exact).toBe(true);
          expect(res.upperBound).toBeGreaterThanOrEqual(opt - 1e-9);
          expect(res.value).toBeLessThanOrEqual(opt + 1e-9);
          if (opt > floor * (1 + 1e-9) + 1e-9) expect(res.value).toBeCloseTo(opt, 9);
          else expect(res.upperBound).toBeLessThanOrEqual(floor + 1e-9);
        },
      ),
      { numRuns: 300, seed: 5 },
    );
  });

  it("reports a valid upper bound when it stops at the node limit", () => {
    const items: KnapsackItem[] = Array.from({ length: 12 }, (_, k) => ({
      value: 1 + (k % 5) * 0.37,
      size: [300 + 97 * k, 500 + 131 * k, 1, 0],
      maxCount: 4,
    }));
    const c = [8000, 16000, 30, 0];
    const res = solveKnapsack(items, c, 5);
    const full = solveKnapsack(items, c);
    expect(res.exact).toBe(false);
    expect(res.upperBound).toBeGreaterThanOrEqual(full.value - 1e-9);
    expect(full.exact).toBe(true);
  });
});
