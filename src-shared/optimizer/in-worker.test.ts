// optimize() in a worker thread: the same plan as in the caller's thread, errors that keep their kind, and a caller
// whose event loop keeps turning while the plan runs.
import { afterAll, describe, expect, it } from "vitest";
import { OptimizerWorker } from "./in-worker.js";
import { optimize, PLAN_LIMITS, PlanInputError, type OptimizeInput } from "./optimize.js";
import { fixtureBook } from "./test-fixtures.js";
import { DEFAULT_POLICY, type PodGroup } from "./types.js";

const book = fixtureBook([
  { name: "m5.large", cpuMillicores: 1930, memoryMiB: 7000, pods: 29, onDemandUsd: 0.096, spotUsd: { z1: 0.04 } },
  { name: "m5.2xlarge", cpuMillicores: 7910, memoryMiB: 29000, pods: 58, onDemandUsd: 0.384, spotUsd: { z1: 0.17 } },
  { name: "c5.xlarge", cpuMillicores: 3920, memoryMiB: 6500, pods: 58, onDemandUsd: 0.17, spotUsd: { z1: 0.07 } },
]);
const pods: PodGroup[] = Array.from({ length: 40 }, (_, k) => ({
  app: `app-${k}`,
  cpuMillicores: 100 + 37 * k,
  memoryMiB: 256 + 91 * k,
  count: 1 + (k % 5),
}));
const input: OptimizeInput = { pods, book, policy: DEFAULT_POLICY };

const worker = new OptimizerWorker();
afterAll(() => worker.close());

describe("OptimizerWorker", () => {
  it("plans exactly as optimize() does in the caller's thread", async () => {
    const [here, there] = await Promise.all([optimize(input), worker.optimize(input)]);
    expect(there).toEqual(here);
  });

  it("carries the policy's type filter across (as the names it allows)", async () => {
    const filtered: OptimizeInput = {
      ...input,
      policy: { ...DEFAULT_POLICY, allowType: (s) => s.name !== "c5.xlarge" },
    };
    const [here, there] = await Promise.all([optimize(filtered), worker.optimize(filtered)]);
    expect(there).toEqual(here);
    expect(there.nodes.map((n) => n.instanceType)).not.toContain("c5.xlarge");
    expect((await optimize(input)).nodes.map((n) => n.instanceType)).toContain("c5.xlarge");
  });

  it("keeps the caller's event loop turning while it plans", async () => {
    let turns = 0;
    let done = false;
    const spin = (): void => {
      turns += 1;
      if (!done) setImmediate(spin);
    };
    setImmediate(spin);
    const plan = await worker.optimize(input).finally(() => (done = true));
    expect(plan.nodes.length).toBeGreaterThan(0);
    expect(turns).toBeGreaterThan(1);
  });

  it("rejects an input that cannot cross to the thread, and keeps planning", async () => {
    const uncloneable = { ...input, book: { ...book, extra: () => 1 } } as unknown as OptimizeInput;
    await expect(worker.optimize(uncloneable)).rejects.toThrow(/could not be cloned/);
    expect((await worker.optimize(input)).nodes.length).toBeGreaterThan(0);
  });

  it("rejects an input the planner refuses with a PlanInputError, and plans again after it is closed", async () => {
    const crowd: PodGroup[] = [{ app: "web", cpuMillicores: 100, memoryMiB: 100, count: PLAN_LIMITS.pods + 1 }];
    const refused = worker.optimize({ ...input, pods: crowd });
    await expect(refused).rejects.toThrow(PlanInputError);
    await expect(refused).rejects.toThrow(/more than the 200000/);
    await worker.close();
    expect((await worker.optimize(input)).nodes.length).toBeGreaterThan(0);
  });
});
