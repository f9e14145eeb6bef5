// The planner's second pass on real prices: a small input still more than 3 % above its bound after one pass is planned
// again with twice the plan's budget, and the cheaper plan is kept with the higher of the two bounds.
import { expect } from "vitest";
import { optimize, planOnce } from "../../src-shared/optimizer/optimize.js";
import { DEFAULT_POLICY } from "../../src-shared/optimizer/types.js";
import { loadPriceBookFromDataDir } from "../../src-shared/pricing/data-dir.js";
import { fewHugePods } from "../bench/workload-families.js";
import { itWithSharedData, sharedDataDir } from "../support/shared-data.js";

itWithSharedData(
  "few-huge pods On-Demand, every priced type: the second pass's cheaper plan, with the first pass's higher bound",
  async () => {
    const book = loadPriceBookFromDataDir(sharedDataDir, "us-east-1");
    // a small plan budget and an input (the family's seed 6) where one pass ends far from the bound and twice the
    // budget plans better
    const input = {
      pods: fewHugePods(6),
      book,
      policy: { ...DEFAULT_POLICY, capacity: "on-demand" as const },
      lowerBound: true,
      planBudgetMs: 60,
    };
    const once = await planOnce(input);
    const twice = await planOnce({ ...input, planBudgetMs: 120 });
    expect(once.hourlyCostUsd).toBeGreaterThan(once.lowerBound!.hourlyUsd * 1.03);
    expect(twice.hourlyCostUsd).toBeLessThan(once.hourlyCostUsd);
    expect(twice.lowerBound!.hourlyUsd).toBeLessThan(once.lowerBound!.hourlyUsd);
    const result = await optimize(input);
    expect(result.nodes).toEqual(twice.nodes);
    expect(result.hourlyCostUsd).toBe(twice.hourlyCostUsd);
    expect(result.lowerBound).toEqual(once.lowerBound);
  },
  120_000,
);
