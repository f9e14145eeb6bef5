// The optimizer's entry point: pod groups + price book + policy -> nodes, cost, All-On-Demand baseline, savings, unplaced pods.
import type { PriceBook } from "../pricing/types.js";
import { cpuMs, getHighs, type CgItem } from "./colgen.js";
import { buildOffers } from "./offers.js";
import { fits, offerBin, pack, packingLowerBound, type PackedNode } from "./packing.js";
import type { CapacityType, Offer, OptimizerPolicy, Plan, PlannedNode, PodGroup, UnplacedPods } from "./types.js";

export interface OptimizeInput {
  pods: PodGroup[];
  book: PriceBook;
  policy: OptimizerPolicy;
  /** Also compute a proven lower bound on the optimal hourly cost */
  lowerBound?: boolean;
  /** CPU-time budget for the whole plan (default 1 s): the plan is complete whatever the budget, only less refined */
  planBudgetMs?: number;
  /** CPU-time budget for the lower bound (default 20 s); a bound stopped early is still valid, only weaker */
  lowerBoundBudgetMs?: number;
}

export interface OptimizeResult extends Plan {
  lowerBound?: { hourlyUsd: number; converged: boolean; iterations: number };
}

interface Shape {
  app: string;
  cpuMillicores: number;
  memoryMiB: number;
  gpus: number;
  arch?: PodGroup["arch"];
  zone?: string;
}

/** Identical pods become one shape with a summed count. */
function groupShapes(pods: PodGroup[]): { shapes: Shape[]; demand: number[] } {
  const index = new Map<string, number>();
  const shapes: Shape[] = [];
  const demand: number[] = [];
  for (const g of pods) {
    if (g.count <= 0) continue;
    const s: Shape = {
      app: g.app,
      cpuMillicores: g.cpuMillicores,
      memoryMiB: g.memoryMiB,
      gpus: g.gpus ?? 0,
      arch: g.arch,
      zone: g.zone,
    };
    const key = JSON.stringify([s.app, s.cpuMillicores, s.memoryMiB, s.gpus, s.arch ?? "", s.zone ?? ""]);
    const k = index.get(key);
    if (k !== undefined) demand[k]! += g.count;
    else {
      index.set(key, shapes.length);
      shapes.push(s);
      demand.push(g.count);
    }
  }
  return { shapes, demand };
}

function toItem(s: Shape): CgItem {
  return { size: [s.cpuMillicores, s.memoryMiB, 1, s.gpus], arch: s.arch, zone: s.zone };
}

function unplacedReason(s: Shape, offers: Offer[]): string {
  if (offers.length === 0) return "no allowed instance type has a price for the requested capacity type";
  let pool = offers;
  if (s.arch) pool = pool.filter((o) => o.shape.arch === s.arch);
  if (pool.length === 0) return `requires arch ${s.arch}; no allowed instance type has it`;
  if (s.zone) pool = pool.filter((o) => o.zone === s.zone);
  if (pool.length === 0) return `pinned to zone ${s.zone}; no allowed offer there`;
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
}

async function place(
  shapes: Shape[],
  demand: number[],
  offers: Offer[],
  budget: { budgetMs: number; startMs?: number },
): Promise<Placed> {
  const res = await pack(shapes.map(toItem), demand, offers, budget);
  return {
    nodes: res.nodes.map((node) => ({ offer: offers[node.offer]!, node })),
    unplaced: res.unplaceable,
    patterns: res.patterns ?? [],
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

function toPlannedNode(shapes: Shape[], { offer, node }: Placed["nodes"][number]): PlannedNode {
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
    pods: node.items.map((i, k) => {
      const s = shapes[i]!;
      return {
        app: s.app,
        cpuMillicores: s.cpuMillicores,
        memoryMiB: s.memoryMiB,
        gpus: s.gpus,
        count: node.counts[k]!,
      };
    }),
  };
}

/** With capacity "spot" and fallback on, pods no Spot offer holds are planned On-Demand; returns the extra offers used. */
async function spotFallback(
  ctx: { book: PriceBook; policy: OptimizerPolicy; pinned: Set<string>; budgetMs: number; warnings: string[] },
  shapes: Shape[],
  demand: number[],
  placed: Placed,
): Promise<Offer[]> {
  const { warnings } = ctx;
  const { policy } = ctx;
  if (policy.capacity !== "spot" || !policy.spotFallback || placed.unplaced.length === 0) return [];
  const odOffers = buildOffers(ctx.book, policy, ["on-demand"], ctx.pinned);
  const rest = demand.map((b, i) => (placed.unplaced.includes(i) ? b : 0));
  const fallback = await place(shapes, rest, odOffers, { budgetMs: ctx.budgetMs });
  if (fallback.nodes.length > 0)
    warnings.push(`${fallback.nodes.length} node(s) fell back to On-Demand: no allowed Spot type holds their pods`);
  placed.nodes.push(...fallback.nodes);
  placed.unplaced = fallback.unplaced;
  return odOffers;
}

/** Plans nodes for the pods under the policy; see docs/optimizer.md for the method and the bound. */
export async function optimize(input: OptimizeInput): Promise<OptimizeResult> {
  // The plan budget counts from here (after the one-time load of the HiGHS wasm module): grouping and
  // offer building are part of the plan's time.
  await getHighs();
  const startMs = cpuMs();
  const { book, policy } = input;
  const { shapes, demand } = groupShapes(input.pods);
  const pinned = new Set(shapes.flatMap((s) => (s.zone ? [s.zone] : [])));
  const budgetMs = input.planBudgetMs ?? 1000;
  const offers = buildOffers(book, policy, capacityTypes(policy), pinned);
  const placed = await place(shapes, demand, offers, { budgetMs, startMs });
  const warnings: string[] = [];
  const allOffers = [
    ...offers,
    ...(await spotFallback({ book, policy, pinned, budgetMs, warnings }, shapes, demand, placed)),
  ];
  if (policy.minTypeDiversity > 1) {
    const w = diversify(
      placed,
      shapes,
      offers.filter((o) => o.capacityType === "spot"),
      policy.minTypeDiversity,
    );
    if (w) warnings.push(w);
  }
  const nodes = placed.nodes.map((n) => toPlannedNode(shapes, n));
  const unplaced: UnplacedPods[] = placed.unplaced.map((i) => {
    const s = shapes[i]!;
    return {
      app: s.app,
      cpuMillicores: s.cpuMillicores,
      memoryMiB: s.memoryMiB,
      gpus: s.gpus,
      count: demand[i]!,
      reason: unplacedReason(s, allOffers),
    };
  });
  const hourlyCostUsd = nodes.reduce((s, n) => s + n.hourlyUsd, 0);
  const baselineHourlyCostUsd = nodes.reduce((s, n) => s + n.onDemandHourlyUsd, 0);
  const savingsPct =
    baselineHourlyCostUsd > 0 ? (100 * (baselineHourlyCostUsd - hourlyCostUsd)) / baselineHourlyCostUsd : 0;
  const result: OptimizeResult = { nodes, hourlyCostUsd, baselineHourlyCostUsd, savingsPct, unplaced, warnings };
  if (input.lowerBound) {
    // Bound on the true price (not the strategy's weights), over every offer the plan could use: a relaxation, hence valid.
    const priced = allOffers.map((o) => ({ ...o, weightUsdPerHour: o.price.usdPerHour }));
    const placeableDemand = demand.map((b, i) => (placed.unplaced.includes(i) ? 0 : b));
    // The plan's patterns warm-start the bound (same offer indices: `offers` is the prefix of `allOffers`).
    result.lowerBound = await packingLowerBound(shapes.map(toItem), placeableDemand, priced, {
      budgetMs: input.lowerBoundBudgetMs ?? 20_000,
      seed: placed.patterns,
    });
  }
  return result;
}
