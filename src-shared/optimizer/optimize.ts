// The optimizer's entry point: pod groups + price book + policy -> nodes, cost, All-On-Demand baseline, savings, unplaced pods.
import type { PriceBook } from "../pricing/types.js";
import { getHighs, type CgItem } from "./colgen.js";
import { buildOffers } from "./offers.js";
import {
  fits,
  offerBin,
  pack,
  packingLowerBound,
  startWholeNodeJob,
  unplaceableShapes,
  type BoundMethod,
  type PackedNode,
} from "./packing.js";
import type { CapacityType, Offer, OptimizerPolicy, Plan, PlannedNode, PodGroup, UnplacedPods } from "./types.js";
import { cpusAvailable } from "./threads.js";
import type { WholeNodeJob } from "./whole-node-job.js";

export interface OptimizeInput {
  pods: PodGroup[];
  book: PriceBook;
  policy: OptimizerPolicy;
  /** Also compute a proven lower bound on the optimal hourly cost (and use its columns to improve the plan) */
  lowerBound?: boolean;
  /**
   * Work budget of the plan (default 1000), in units of 1 000 WorkMeter units — about 1 ms of CPU each. Counted in work
   * done, not time, so the same input and budget always give the same plan. The plan is complete whatever the budget.
   */
  planBudgetMs?: number;
  /** Work budget of the lower bound (default 1000), same units; a bound stopped early is still valid, only weaker */
  lowerBoundBudgetMs?: number;
  /**
   * Whether a step may run in a worker thread beside the others, where the process may use two CPUs (its container's
   * CPU limit counted; default true):
   * on wide inputs the plan-only whole-node MILP does, from the start. The same plan either way; false keeps every step
   * in the caller's thread.
   */
  threads?: boolean;
}

export interface OptimizeResult extends Plan {
  lowerBound?: { hourlyUsd: number; converged: boolean; iterations: number; method: BoundMethod };
}

/** WorkMeter units per nominal millisecond of budget. */
const WORK_PER_MS = 1000;
export const DEFAULT_PLAN_BUDGET_MS = 1000;
export const DEFAULT_BOUND_BUDGET_MS = 1000;

/**
 * The most pods and distinct pod shapes one plan takes: above Kubernetes' own scale (150 000 pods a cluster), and within
 * what the planner packs in bounded memory (tens of thousands of shapes overran the knapsack search's stack).
 */
export const PLAN_LIMITS = { pods: 200_000, shapes: 5_000 } as const;

/** An input the planner does not take (too big): callers answer it as the caller's error, not a failure of theirs. */
export class PlanInputError extends Error {
  override name = "PlanInputError";
}

function checkPlanSize(pods: number, shapes: number): void {
  if (pods > PLAN_LIMITS.pods)
    throw new PlanInputError(`${pods} pods to plan: more than the ${PLAN_LIMITS.pods} one plan takes`);
  if (shapes > PLAN_LIMITS.shapes)
    throw new PlanInputError(
      `${shapes} distinct pod shapes (requests, architecture, families, zone) to plan: more than the ${PLAN_LIMITS.shapes} one plan takes`,
    );
}

interface Shape {
  cpuMillicores: number;
  memoryMiB: number;
  gpus: number;
  arch?: PodGroup["arch"];
  zone?: string;
  families?: string[];
  /** the apps whose pods have this shape, with their counts (in input order) */
  apps: Array<{ app: string; count: number }>;
}

function shapeOf(g: PodGroup): Shape {
  const families = g.families && g.families.length > 0 ? [...new Set(g.families)].sort() : undefined;
  return {
    cpuMillicores: g.cpuMillicores,
    memoryMiB: g.memoryMiB,
    gpus: g.gpus ?? 0,
    arch: g.arch,
    zone: g.zone,
    families,
    apps: [],
  };
}

/**
 * Identical pods become one shape with a summed count, whatever their app: the solver works on
 * requests and placement constraints only, and the apps are dealt back onto the nodes at the end.
 */
function groupShapes(pods: PodGroup[]): { shapes: Shape[]; demand: number[] } {
  const index = new Map<string, number>();
  const shapes: Shape[] = [];
  const demand: number[] = [];
  // each shape's apps by name: many groups of one shape must not be a quadratic scan
  const members: Array<Map<string, Shape["apps"][number]>> = [];
  for (const g of pods) {
    if (g.count <= 0) continue;
    const s = shapeOf(g);
    const key = JSON.stringify([s.cpuMillicores, s.memoryMiB, s.gpus, s.arch ?? "", s.zone ?? "", s.families ?? []]);
    let k = index.get(key);
    if (k === undefined) {
      k = shapes.length;
      index.set(key, k);
      shapes.push(s);
      demand.push(0);
      members.push(new Map());
    }
    demand[k]! += g.count;
    const member = members[k]!.get(g.app);
    if (member) member.count += g.count;
    else {
      const added = { app: g.app, count: g.count };
      shapes[k]!.apps.push(added);
      members[k]!.set(g.app, added);
    }
  }
  return { shapes, demand };
}

function toItem(s: Shape): CgItem {
  return { size: [s.cpuMillicores, s.memoryMiB, 1, s.gpus], arch: s.arch, zone: s.zone, families: s.families };
}

function unplacedReason(s: Shape, offers: Offer[]): string {
  if (offers.length === 0) return "no allowed instance type has a price for the requested capacity type";
  let pool = offers;
  if (s.arch) pool = pool.filter((o) => o.shape.arch === s.arch);
  if (pool.length === 0) return `requires arch ${s.arch}; no allowed instance type has it`;
  if (s.zone) pool = pool.filter((o) => o.zone === s.zone);
  if (pool.length === 0) return `pinned to zone ${s.zone}; no allowed offer there`;
  const families = s.families;
  if (families) pool = pool.filter((o) => families.some((f) => f === o.shape.family || f === o.shape.category));
  if (pool.length === 0) return `restricted to instance families ${families!.join(", ")}; no allowed offer is one`;
  const maxGpu = Math.max(...pool.map((o) => o.shape.gpu?.count ?? 0));
  if (s.gpus > maxGpu) return `needs ${s.gpus} GPU(s); allowed instance types have at most ${maxGpu}`;
  const a = pool.filter((o) => (o.shape.gpu?.count ?? 0) >= s.gpus).map((o) => o.shape.allocatable);
  const maxCpu = Math.max(...a.map((x) => x.cpuMillicores));
  const maxMem = Math.max(...a.map((x) => x.memoryMiB));
  return `needs ${s.cpuMillicores}m CPU and ${s.memoryMiB} MiB; no allowed instance type has both allocatable (largest: ${maxCpu}m CPU, ${maxMem} MiB)`;
}

function capacityTypes(policy: OptimizerPolicy): CapacityType[] {
  if (policy.capacity === "mixed") return ["spot", "on-demand"];
  return [policy.capacity];
}

interface Placed {
  nodes: Array<{ offer: Offer; node: PackedNode }>;
  unplaced: number[];
  /** column generation's patterns (offer = index into the offers packed onto) */
  patterns: PackedNode[];
  /** the packing met no deadline of its budget: a bigger budget packs the same */
  settled: boolean;
}

async function place(
  shapes: Shape[],
  demand: number[],
  offers: Offer[],
  opts: { budget: number; integerProgram?: boolean; startOnly?: boolean },
): Promise<Placed> {
  const res = await pack(shapes.map(toItem), demand, offers, opts);
  return {
    nodes: res.nodes.map((node) => ({ offer: offers[node.offer]!, node })),
    unplaced: res.unplaceable,
    patterns: res.patterns ?? [],
    settled: res.settled,
  };
}

/**
 * Spreads Spot nodes over at least `min` instance types: repeatedly moves one node of the most-used
 * type to the cheapest unused type that holds its pods (spreads interruption risk at a small cost).
 */
function diversify(placed: Placed, shapes: Shape[], spotOffers: Offer[], min: number): string | undefined {
  const items = shapes.map(toItem);
  for (;;) {
    const spot = placed.nodes.filter((n) => n.offer.capacityType === "spot");
    const byType = new Map<string, number>();
    for (const n of spot) byType.set(n.offer.shape.name, (byType.get(n.offer.shape.name) ?? 0) + 1);
    if (byType.size >= min || spot.length === 0) return undefined;
    const [busiest, count] = [...byType].sort((a, b) => b[1] - a[1])[0]!;
    if (count < 2) return `only ${spot.length} Spot node(s): cannot span ${min} instance types`;
    const victim = spot.find((n) => n.offer.shape.name === busiest)!;
    const alt = spotOffers
      .filter((o) => !byType.has(o.shape.name) && fits(items, victim.node, offerBin(o)))
      .sort((a, b) => a.weightUsdPerHour - b.weightUsdPerHour)[0];
    if (!alt)
      return `no further allowed Spot type holds the pods of a ${busiest} node: diversity ${byType.size} < ${min}`;
    victim.offer = alt;
  }
}

/** Deals a merged shape's pods back to its apps, in input order, as nodes take them. */
class AppDealer {
  private readonly left: Array<Array<{ app: string; count: number }>>;
  constructor(shapes: Shape[]) {
    this.left = shapes.map((s) => s.apps.map((a) => ({ ...a })));
  }

  take(shape: number, count: number): Array<{ app: string; count: number }> {
    const out: Array<{ app: string; count: number }> = [];
    const queue = this.left[shape]!;
    while (count > 0 && queue.length > 0) {
      const head = queue[0]!;
      const n = Math.min(count, head.count);
      out.push({ app: head.app, count: n });
      head.count -= n;
      count -= n;
      if (head.count === 0) queue.shift();
    }
    return out;
  }
}

function toPlannedNode(shapes: Shape[], dealer: AppDealer, { offer, node }: Placed["nodes"][number]): PlannedNode {
  const a = offer.shape.allocatable;
  return {
    instanceType: offer.shape.name,
    capacityType: offer.capacityType,
    zone: offer.zone,
    hourlyUsd: offer.price.usdPerHour,
    onDemandHourlyUsd: offer.onDemand.usdPerHour,
    priceSource: offer.price.source,
    priceAsOf: offer.price.asOf,
    allocatable: {
      cpuMillicores: a.cpuMillicores,
      memoryMiB: a.memoryMiB,
      pods: a.pods,
      gpus: offer.shape.gpu?.count ?? 0,
    },
    pods: node.items.flatMap((i, k) => {
      const s = shapes[i]!;
      return dealer.take(i, node.counts[k]!).map(({ app, count }) => ({
        app,
        cpuMillicores: s.cpuMillicores,
        memoryMiB: s.memoryMiB,
        gpus: s.gpus,
        count,
      }));
    }),
  };
}

/** With capacity "spot" and fallback on, pods no Spot offer holds are planned On-Demand; returns the extra offers used. */
async function spotFallback(
  ctx: { book: PriceBook; policy: OptimizerPolicy; pinned: Set<string>; budget: number; warnings: string[] },
  shapes: Shape[],
  demand: number[],
  placed: Placed,
): Promise<Offer[]> {
  const { warnings } = ctx;
  const { policy } = ctx;
  if (policy.capacity !== "spot" || !policy.spotFallback || placed.unplaced.length === 0) return [];
  const odOffers = buildOffers(ctx.book, policy, ["on-demand"], ctx.pinned);
  const rest = demand.map((b, i) => (placed.unplaced.includes(i) ? b : 0));
  const fallback = await place(shapes, rest, odOffers, { budget: ctx.budget });
  if (fallback.nodes.length > 0)
    warnings.push(`${fallback.nodes.length} node(s) fell back to On-Demand: no allowed Spot type holds their pods`);
  placed.nodes.push(...fallback.nodes);
  placed.unplaced = fallback.unplaced;
  placed.settled &&= fallback.settled;
  return odOffers;
}

/**
 * Plans nodes for the pods under the policy; see docs/optimizer.md for the method and the bound. A small input whose
 * plan is still more than RETRY_GAP above its proven bound is planned again with twice the plan's budget: the cheaper
 * plan is kept, with the higher of the two bounds (each is a bound on every plan). Not when the first packing settled
 * within its budget: the second pass would pack, bound and plan exactly the same.
 */
export async function optimize(input: OptimizeInput): Promise<OptimizeResult> {
  const { result: first, settled } = await onePass(input);
  if (!first.lowerBound || settled || podCount(input.pods) > RETRY_MAX_PODS) return first;
  if (first.hourlyCostUsd <= first.lowerBound.hourlyUsd * (1 + RETRY_GAP)) return first;
  const second = await planOnce({ ...input, planBudgetMs: 2 * (input.planBudgetMs ?? DEFAULT_PLAN_BUDGET_MS) });
  const plan = second.hourlyCostUsd < first.hourlyCostUsd ? second : first;
  const bound = second.lowerBound!.hourlyUsd > first.lowerBound.hourlyUsd ? second.lowerBound! : first.lowerBound;
  return { ...plan, lowerBound: bound };
}

/** Pods in the groups (each group counts its replicas). */
export function podCount(pods: ReadonlyArray<{ count: number }>): number {
  return pods.reduce((s, p) => s + p.count, 0);
}

/** Inputs of at most this many pods are planned again when far from their bound (small inputs plan quickly). */
const RETRY_MAX_PODS = 200;
/** ... when the plan is more than this above the proven bound (the planner's target gap). */
const RETRY_GAP = 0.03;

/** One pass of the planner (optimize without the second pass for small inputs far from their bound). */
export async function planOnce(input: OptimizeInput): Promise<OptimizeResult> {
  return (await onePass(input)).result;
}

/** One pass, and whether its packing settled within the plan's budget. */
async function onePass(input: OptimizeInput): Promise<{ result: OptimizeResult; settled: boolean }> {
  const { book, policy } = input;
  const { shapes, demand } = groupShapes(input.pods);
  checkPlanSize(podCount(input.pods), shapes.length);
  const pinned = new Set(shapes.flatMap((s) => (s.zone ? [s.zone] : [])));
  const budget = (input.planBudgetMs ?? DEFAULT_PLAN_BUDGET_MS) * WORK_PER_MS;
  const offers = buildOffers(book, policy, capacityTypes(policy), pinned);
  // Where the bound's integer program follows, it takes the place of the packing's: it searches the packing's patterns
  // and the bound's own, starting from the plan, so running both mostly repeated the same search.
  const improvedLater =
    input.lowerBound === true && sameObjective(offers, fallbackOffersNeeded(policy, shapes, demand, offers));
  const boundBudget = (input.lowerBoundBudgetMs ?? DEFAULT_BOUND_BUDGET_MS) * WORK_PER_MS;
  // started before the packing: it runs beside the steps that come before its own
  const job =
    improvedLater && input.threads !== false && cpusAvailable() >= 2
      ? startWholeNodeJob(shapes.map(toItem), demand, offers, boundBudget)
      : undefined;
  try {
    await getHighs();
    return await planWith(input, { shapes, demand, offers, pinned, budget, boundBudget, improvedLater, job });
  } finally {
    job?.cancel();
  }
}

async function planWith(
  input: OptimizeInput,
  ctx: {
    shapes: Shape[];
    demand: number[];
    offers: Offer[];
    pinned: Set<string>;
    budget: number;
    boundBudget: number;
    improvedLater: boolean;
    job?: WholeNodeJob;
  },
): Promise<{ result: OptimizeResult; settled: boolean }> {
  const { book, policy } = input;
  const { shapes, demand, offers, pinned, budget, improvedLater } = ctx;
  const placed = await place(shapes, demand, offers, {
    budget,
    integerProgram: !improvedLater,
    startOnly: improvedLater,
  });
  const warnings: string[] = [];
  const allOffers = [
    ...offers,
    ...(await spotFallback({ book, policy, pinned, budget, warnings }, shapes, demand, placed)),
  ];
  const lowerBound = input.lowerBound
    ? await boundAndImprove({ shapes, demand, offers, allOffers, placed, budget: ctx.boundBudget, job: ctx.job })
    : undefined;
  if (policy.minTypeDiversity > 1) {
    const w = diversify(
      placed,
      shapes,
      offers.filter((o) => o.capacityType === "spot"),
      policy.minTypeDiversity,
    );
    if (w) warnings.push(w);
  }
  const result = assemble(shapes, demand, { placed, allOffers, warnings });
  return { result: lowerBound ? { ...result, lowerBound } : result, settled: placed.settled };
}

function assemble(
  shapes: Shape[],
  demand: number[],
  { placed, allOffers, warnings }: { placed: Placed; allOffers: Offer[]; warnings: string[] },
): OptimizeResult {
  const dealer = new AppDealer(shapes);
  const nodes = placed.nodes.map((n) => toPlannedNode(shapes, dealer, n));
  const unplaced: UnplacedPods[] = placed.unplaced.flatMap((i) => {
    const s = shapes[i]!;
    const reason = unplacedReason(s, allOffers);
    return dealer.take(i, demand[i]!).map(({ app, count }) => ({
      app,
      cpuMillicores: s.cpuMillicores,
      memoryMiB: s.memoryMiB,
      gpus: s.gpus,
      count,
      reason,
    }));
  });
  const hourlyCostUsd = nodes.reduce((s, n) => s + n.hourlyUsd, 0);
  const baselineHourlyCostUsd = nodes.reduce((s, n) => s + n.onDemandHourlyUsd, 0);
  const savingsPct =
    baselineHourlyCostUsd > 0 ? (100 * (baselineHourlyCostUsd - hourlyCostUsd)) / baselineHourlyCostUsd : null;
  return { nodes, hourlyCostUsd, baselineHourlyCostUsd, savingsPct, unplaced, warnings };
}

/**
 * Whether the bound's integer program may replace the plan's nodes: the plan minimised real prices over the same offers
 * as the bound (none added for Spot's fallback, whose On-Demand nodes hold only what no Spot type does).
 */
function sameObjective(offers: Offer[], fallbackOffers: boolean): boolean {
  return !fallbackOffers && offers.every((o) => o.weightUsdPerHour === o.price.usdPerHour);
}

/** Whether spotFallback will add On-Demand offers: capacity Spot with fallback, and a shape pack leaves unplaced. */
function fallbackOffersNeeded(policy: OptimizerPolicy, shapes: Shape[], demand: number[], offers: Offer[]): boolean {
  if (policy.capacity !== "spot" || !policy.spotFallback) return false;
  return unplaceableShapes(shapes.map(toItem), demand, offers.map(offerBin)).length > 0;
}

/**
 * The proven lower bound (over every offer the plan could use, at real prices: a relaxation of the plan's
 * choices, hence valid). When the plan minimised real prices over those same offers (lowest-price, no
 * fallback offers), the bound's columns also feed an integer program that may replace the plan's nodes.
 */
async function boundAndImprove(ctx: {
  shapes: Shape[];
  demand: number[];
  offers: Offer[];
  allOffers: Offer[];
  placed: Placed;
  budget: number;
  job?: WholeNodeJob;
}): Promise<NonNullable<OptimizeResult["lowerBound"]>> {
  const { shapes, demand, offers, allOffers, placed } = ctx;
  const priced = allOffers.map((o) => ({ ...o, weightUsdPerHour: o.price.usdPerHour }));
  const placeableDemand = demand.map((b, i) => (placed.unplaced.includes(i) ? 0 : b));
  const index = new Map(allOffers.map((o, k) => [o, k]));
  const plan = sameObjective(offers, allOffers.length > offers.length)
    ? placed.nodes.map((n) => ({ offer: index.get(n.offer)!, items: n.node.items, counts: n.node.counts }))
    : undefined;
  // The plan's patterns warm-start the bound (same offer indices: `offers` is the prefix of `allOffers`).
  const res = await packingLowerBound(shapes.map(toItem), placeableDemand, priced, {
    budget: ctx.budget,
    seed: placed.patterns,
    plan,
    wholeNodeJob: ctx.job,
  });
  if (res.improved) placed.nodes = res.improved.map((node) => ({ offer: allOffers[node.offer]!, node }));
  return { hourlyUsd: res.hourlyUsd, converged: res.converged, iterations: res.iterations, method: res.method };
}
