// The planner's worker thread on real prices: a wide input whose plan takes the whole-node MILP's solution (mixed
// arm64/x86 pods pinned to families, Karpenter's starter types, On-Demand) plans the same with the MILP solved in a
// worker thread beside the other steps as with every step in the caller's thread (whole-node-job.test.ts checks that a
// worker answers what the caller's thread would). Skipped where the process may use less than two CPUs: both plans would
// then be made in the caller's thread.
import { expect, it } from "vitest";
import { optimize } from "../../src-shared/optimizer/optimize.js";
import { cpusAvailable } from "../../src-shared/optimizer/threads.js";
import { DEFAULT_POLICY } from "../../src-shared/optimizer/types.js";
import { loadPriceBookFromDataDir } from "../../src-shared/pricing/data-dir.js";
import { mixedArch } from "../bench/workload-families.js";
import { itWithSharedData, sharedDataDir } from "../support/shared-data.js";

const title = "mixed-arch pods on starter types, On-Demand: the same plan and bound with and without the worker thread";
if (cpusAvailable() < 2) it.skip(`${title} — skipped: this process may use less than two CPUs`, () => undefined);
else
  itWithSharedData(
    title,
    async () => {
      const book = loadPriceBookFromDataDir(sharedDataDir, "us-east-1");
      const input = {
        pods: mixedArch(3),
        book,
        policy: {
          ...DEFAULT_POLICY,
          capacity: "on-demand" as const,
          allowType: (s: { category: string; generation: number }) =>
            ["c", "m", "r"].includes(s.category) && s.generation >= 5,
        },
        lowerBound: true,
      };
      const threaded = await optimize(input);
      const inline = await optimize({ ...input, threads: false });
      expect(threaded).toEqual(inline);
      expect(threaded.hourlyCostUsd).toBeLessThanOrEqual(threaded.lowerBound!.hourlyUsd * 1.03);
    },
    120_000,
  );
