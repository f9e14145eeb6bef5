// The plan-only whole-node MILP (fluid.ts: whole nodes of the fluid LP's types) in a worker thread, started as the plan
// begins: on wide inputs it is the plan's longest step and needs nothing the steps before it compute.
import type { Worker } from "node:worker_threads";
import { compatLists, highsWasm, WorkMeter, type CgBin, type CgItem, type CgProblem } from "./colgen.js";
import { fluidLpBins, fluidMilp, type FluidMilp } from "./fluid.js";
import type { Highs } from "highs";
import { startWorker } from "./threads.js";

export interface WholeNodeRequest {
  items: CgItem[];
  /** the bound's bins (undominated) */
  bins: CgBin[];
  demand: number[];
  /** work budget (WorkMeter units) */
  budget: number;
}

export interface WholeNodeAnswer {
  solution?: FluidMilp["solution"];
  /** the work it counted */
  work: number;
}

/** The MILP on its own work meter: the same answer on any thread, so where it runs does not change a plan. */
export function solveWholeNode(highs: Highs, { items, bins, demand, budget }: WholeNodeRequest): WholeNodeAnswer {
  const p: CgProblem = { highs, items, bins, ...compatLists(items, bins), work: new WorkMeter() };
  const { solution } = fluidMilp(p, demand, { deadline: budget, bins: fluidLpBins(p) });
  return solution ? { solution, work: p.work.units } : { work: p.work.units };
}

/** A request's identity: an answer is only taken for exactly the request it was started with. */
function keyOf(req: WholeNodeRequest): string {
  return JSON.stringify([req.items, req.bins, req.demand, req.budget]);
}

/**
 * One request, solved in its own worker thread from the moment it is made. `answer` waits for it (or, where the
 * worker failed, solves it in the caller's thread); `cancel` stops a worker whose answer nobody needs.
 */
export class WholeNodeJob {
  private readonly key: string;
  private readonly worker: Worker | undefined;
  private readonly pending: Promise<WholeNodeAnswer | undefined>;

  constructor(private readonly request: WholeNodeRequest) {
    this.key = keyOf(request);
    let worker: Worker | undefined;
    try {
      worker = startWorker(new URL("./whole-node-entry.ts", import.meta.url));
    } catch {
      worker = undefined;
    }
    this.worker = worker;
    this.pending = worker ? answerOf(worker, request) : Promise.resolve(undefined);
  }

  matches(request: WholeNodeRequest): boolean {
    return keyOf(request) === this.key;
  }

  /** The worker's answer; undefined where it failed or was stopped first. */
  fromWorker(): Promise<WholeNodeAnswer | undefined> {
    return this.pending;
  }

  async answer(highs: Highs): Promise<WholeNodeAnswer> {
    return (await this.pending) ?? solveWholeNode(highs, this.request);
  }

  cancel(): void {
    void this.worker?.terminate();
  }
}

/** The worker's answer, or undefined if it failed or stopped first; the worker is stopped either way. */
function answerOf(worker: Worker, request: WholeNodeRequest): Promise<WholeNodeAnswer | undefined> {
  return new Promise((resolve) => {
    worker.once("message", (answer: WholeNodeAnswer | { error: string }) => {
      resolve("error" in answer ? undefined : answer);
      void worker.terminate();
    });
    // "on": a second error event without a listener would be thrown in the caller's thread
    worker.on("error", () => resolve(undefined));
    worker.once("exit", () => resolve(undefined));
    highsWasm()
      .then((wasm) => worker.postMessage({ request, wasm }))
      .catch(() => {
        resolve(undefined);
        void worker.terminate();
      });
  });
}
