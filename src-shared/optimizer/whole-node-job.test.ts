// The plan-only whole-node MILP in a worker thread: the worker answers exactly what the caller's thread solves (so a plan
// does not depend on where it ran), a stopped worker's request is still answered, and an answer is only taken for the
// request it was started with.
import { afterAll, describe, expect, it } from "vitest";
import { getHighs, type CgBin, type CgItem } from "./colgen.js";
import { solveWholeNode, WholeNodeJob, type WholeNodeRequest } from "./whole-node-job.js";

const bin = (cpu: number, mem: number, pods: number, weight: number): CgBin => ({
  cap: [cpu, mem, pods, 0],
  weight,
  arch: "amd64",
  zone: "z1",
});
const items: CgItem[] = Array.from({ length: 24 }, (_, k) => ({
  size: [150 + ((k * 173) % 1400), 256 + ((k * 611) % 5000), 1, 0],
}));
const request: WholeNodeRequest = {
  items,
  bins: [
    bin(1930, 7000, 29, 0.096),
    bin(3920, 6500, 58, 0.17),
    bin(7910, 29000, 58, 0.384),
    bin(1930, 15000, 29, 0.126),
  ],
  demand: items.map((_, k) => 1 + ((k * 7) % 9)),
  budget: 1_000_000,
};

const jobs: WholeNodeJob[] = [];
afterAll(() => jobs.forEach((job) => job.cancel()));
function started(req: WholeNodeRequest): WholeNodeJob {
  const job = new WholeNodeJob(req);
  jobs.push(job);
  return job;
}

describe("WholeNodeJob", () => {
  it("answers from its worker exactly what the caller's thread solves: the same nodes, pods and work", async () => {
    const highs = await getHighs();
    const here = solveWholeNode(highs, request);
    expect(here.solution?.nodes.size).toBeGreaterThan(0);
    const job = started(request);
    expect(await job.fromWorker()).toEqual(here);
    expect(await job.answer(highs)).toEqual(here);
  }, 30_000);

  it("still answers a request whose worker was stopped, in the caller's thread, the same", async () => {
    const highs = await getHighs();
    const job = started(request);
    job.cancel();
    expect(await job.fromWorker()).toBeUndefined();
    expect(await job.answer(highs)).toEqual(solveWholeNode(highs, request));
  }, 30_000);

  it("is taken only for the request it was started with", () => {
    const job = started(request);
    job.cancel();
    expect(job.matches(structuredClone(request))).toBe(true);
    expect(job.matches({ ...request, demand: request.demand.map((b, i) => (i === 0 ? b + 1 : b)) })).toBe(false);
    expect(job.matches({ ...request, budget: request.budget / 2 })).toBe(false);
    expect(job.matches({ ...request, bins: request.bins.slice(1) })).toBe(false);
  });
});
