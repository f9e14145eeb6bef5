// Packs pod shapes onto offers: column generation, LP-guided rounding (and, with few pods per node, an integer program over the patterns), then local repair.
import {
  columnGeneration,
  compatLists,
  dominancePairs,
  compatible,
  getHighs,
  initialColumns,
  KnapsackLps,
  MasterLp,
  undominatedBins,
  WorkMeter,
  WORK,
  type CgBin,
  type CgItem,
  type CgOptions,
  type CgProblem,
  type Column,
} from "./colgen.js";
import {
  fluidBound,
  fluidMilp,
  knapsackRow,
  resourceRows,
  cutLoop,
  wholeNodeBins,
  wholeNodeBound,
  type FluidBound,
  type FluidMilp,
} from "./fluid.js";
import { DIMS } from "./knapsack.js";
import { solveMasterMilp } from "./milp.js";
import type { Offer } from "./types.js";
import { solveWholeNode, WholeNodeJob, type WholeNodeRequest } from "./whole-node-job.js";

/** A node in the packing: which offer and how many pods of each shape (sparse). */
export interface PackedNode {
  offer: number;
  items: number[];
  counts: number[];
}

export interface PackingResult {
  nodes: PackedNode[];
  /** item indices no allowed offer can hold even one pod of */
  unplaceable: number[];
  /** the node patterns column generation found (offer = index into `offers`): a warm start for the lower bound */
  patterns?: PackedNode[];
  /**
   * The packing stopped short of every deadline its budget sets (it used less than CG_SHARE of it, with room for the
   * integer program): any bigger budget gives the same nodes.
   */
  settled: boolean;
}

export interface PackingOptions {
  /** work budget (WorkMeter units) for the whole packing: column generation, rounding, integer program, repair */
  budget: number;
  /** the meter to count on (default: a new one), so a caller can spend what the packing left */
  work?: WorkMeter;
  /**
   * Run the integer program over the patterns where rounding lost too much (default true). A caller whose own integer
   * program over a superset of the patterns follows (the lower bound's) leaves it out.
   */
  integerProgram?: boolean;
  /**
   * Only a start for the lower bound's steps, which follow (default false): on a wide input (see `wideProblem`) those
   * plan from whole nodes, so the packing then gets WIDE_PACKING_SHARE of its budget.
   */
  startOnly?: boolean;
}

/**
 * Shares of the work budget: column generation stops at 60 %, pricing during rounding at 70 %, the
 * integer program over the patterns at 90 %; the rest is for rounding's LP re-solves and the local repair.
 */
const CG_SHARE = 0.6;
const ROUNDING_SHARE = 0.7;
const MILP_SHARE = 0.9;
/**
 * The integer program runs for up to this many pods. On the 10 000-pod microservice mix it improved rounding
 * by 1.4 % (rounding then repair: 179.33 vs 179.19 $/h) but took 1.0–1.6 s of CPU where HiGHS's progress checks
 * come too seldom to stop it within the plan's budget.
 */
const MILP_MAX_PODS = 2500;
/** The integer program keeps at most this many columns (those of smallest reduced cost) besides the plan's own. */
const MILP_MAX_COLUMNS = 300;
/** Below this much work left the integer program is not worth starting. */
const MIN_MILP_WORK = 20_000;
/** The integer program runs only when rounding lost more than this against the LP. */
const MILP_MIN_GAP = 0.01;

export function offerBin(o: Offer): CgBin {
  const a = o.shape.allocatable;
  return {
    cap: [a.cpuMillicores, a.memoryMiB, a.pods, o.shape.gpu?.count ?? 0],
    weight: Math.max(o.weightUsdPerHour, 1e-9),
    arch: o.shape.arch,
    zone: o.zone,
    family: o.shape.family,
    category: o.shape.category,
  };
}

export function usage(items: CgItem[], node: { items: number[]; counts: number[] }): number[] {
  const u = [0, 0, 0, 0];
  node.items.forEach((i, k) => items[i]!.size.forEach((s, d) => (u[d]! += s * node.counts[k]!)));
  return u;
}

export function fits(items: CgItem[], node: { items: number[]; counts: number[] }, bin: CgBin): boolean {
  const u = usage(items, node);
  return u.every((v, d) => v <= bin.cap[d]! + 1e-9) && node.items.every((i) => compatible(items[i]!, bin));
}

export interface Ctx {
  p: CgProblem;
  /** p.bins[j] is offer keptOffer[j] */
  keptOffer: number[];
  /** work (p.work.units) after which rounding stops pricing new columns */
  deadline: number;
  /** few pods per node (fewPodsPerNode): exact pricing without LP starts, the integer program, node splits */
  few: boolean;
  /** work at which the whole packing's budget ends */
  end: number;
}

function takeColumn(ctx: Ctx, col: Column, residual: number[]): PackedNode | undefined {
  const items: number[] = [];
  const counts: number[] = [];
  col.items.forEach((i, k) => {
    const n = Math.min(col.counts[k]!, residual[i]!);
    if (n <= 0) return;
    items.push(i);
    counts.push(n);
    residual[i]! -= n;
  });
  return items.length > 0 ? { offer: col.bin, items, counts } : undefined;
}

/** Rounds the LP: take ⌊x⌋ copies of every column, re-solve on what is left, else round the largest x up. */
function roundLp(ctx: Ctx, demand: number[], master: MasterLp): PackedNode[] {
  const residual = demand.slice();
  const nodes: PackedNode[] = [];
  const columns = master.columns;
  while (residual.some((r) => r > 0)) {
    // Past the budget, rounding only re-solves the LP; before it, a few pricing rounds refine the residual.
    master.setDemand(residual);
    const lp =
      ctx.p.work.units < ctx.deadline
        ? columnGeneration(ctx.p, master, residual, {
            deadline: ctx.deadline,
            maxIterations: 5,
            exactPerIteration: 6,
            greedyPerIteration: 20,
            nodeLimit: 300,
            maxNodeLimit: 300,
            lpStart: !ctx.few,
          }).lp
        : master.solve();
    let taken = 0;
    lp.x.forEach((x, j) => {
      for (let c = 0; c < Math.floor(x + 1e-7); c++) {
        const node = takeColumn(ctx, columns[j]!, residual);
        if (!node) break;
        nodes.push(node);
        taken++;
      }
    });
    if (taken > 0) continue;
    const j = lp.x.reduce((bi, x, k) => (x > lp.x[bi]! ? k : bi), 0);
    const node = takeColumn(ctx, columns[j]!, residual);
    if (!node) throw new Error("rounding made no progress");
    nodes.push(node);
  }
  return nodes;
}

/**
 * Wide: at least this many pod shapes, and room for more than FEW_PODS_PER_NODE of them on some node. Pricing is then
 * a knapsack over hundreds of shapes that branch and bound cannot close, so column generation ends far from the LP
 * optimum within its budget (the bench's many-small and mixed-arch rows: its plans 8–19 % above, its bounds 6–17 %
 * below the final ones), and the plan and the bound come from the whole-node steps.
 */
const WIDE_SHAPES = 150;
/** The packing's share of its budget on a wide input whose bound follows: it only gives the whole-node steps a start. */
const WIDE_PACKING_SHARE = 0.2;
/** Column generation's share of the bound's budget on a wide input (BOUND_CG_SHARE elsewhere). */
const WIDE_BOUND_CG_SHARE = 0.15;

/** Whether column generation is no match for the input (see WIDE_SHAPES). */
export function wideProblem(p: Pick<CgProblem, "items" | "bins" | "compat">, demand: number[]): boolean {
  if (demand.filter((b) => b > 0).length < WIDE_SHAPES) return false;
  return p.bins.some((bin, j) => {
    let pods = 0;
    for (const i of p.compat[j]!) pods += Math.min(demand[i]!, fitAlone(p.items[i]!.size, bin.cap));
    return Math.min(pods, bin.cap[2]!) > FEW_PODS_PER_NODE;
  });
}

/** Up to this many pods of one shape per node, every knapsack is small enough to solve exactly without its LP start. */
const FEW_PODS_PER_NODE = 64;

/** No kept bin holds more than FEW_PODS_PER_NODE pods of any one shape (big pods, e.g. the trace's 8–32 vCPU). */
export function fewPodsPerNode(p: CgProblem, demand: number[]): boolean {
  return p.bins.every((bin, j) =>
    p.compat[j]!.every((i) => Math.min(demand[i]!, fitAlone(p.items[i]!.size, bin.cap)) <= FEW_PODS_PER_NODE),
  );
}

/** How many pods of `size` fit an empty node of capacity `cap`. */
function fitAlone(size: number[], cap: number[]): number {
  return Math.min(...cap.map((c, d) => (size[d]! > 0 ? Math.floor(c / size[d]!) : Infinity)));
}

function patternKey(bin: number, items: number[], counts: number[]): string {
  return `${bin}|${items
    .map((i, k) => `${i}:${counts[k]}`)
    .sort()
    .join(",")}`;
}

/**
 * The cheapest whole number of copies of the known patterns (column generation's columns plus the
 * rounded nodes, so the rounded plan is a feasible start and the result is never dearer) covering
 * the demand, within the work left before `deadline`. Returns the improved nodes, or undefined.
 */
function improveByMilp(
  ctx: Ctx,
  {
    columns,
    rounded,
    demand,
    deadline,
    reducedCosts,
  }: { columns: Column[]; rounded: PackedNode[]; demand: number[]; deadline: number; reducedCosts: number[] },
): PackedNode[] | undefined {
  if (deadline - ctx.p.work.units < MIN_MILP_WORK) return undefined;
  // Price-and-branch keeps the columns an improving solution most likely uses: those with the smallest reduced costs.
  const all = columns
    .map((c, k) => ({ c, rc: reducedCosts[k] ?? Infinity, k }))
    .sort((a, b) => a.rc - b.rc || a.k - b.k)
    .slice(0, MILP_MAX_COLUMNS)
    .map((e) => e.c);
  const index = new Map(all.map((c, k) => [patternKey(c.bin, c.items, c.counts), k]));
  const incumbent = new Array<number>(all.length).fill(0);
  for (const n of rounded) {
    const key = patternKey(n.offer, n.items, n.counts);
    let k = index.get(key);
    if (k === undefined) {
      k = all.length;
      index.set(key, k);
      all.push({ bin: n.offer, items: n.items.slice(), counts: n.counts.slice() });
      incumbent.push(0);
    }
    incumbent[k]!++;
  }
  const res = solveMasterMilp(ctx.p, all, demand, { deadline, incumbent });
  if (!res || res.weight >= totalWeight(ctx.p, rounded) * (1 - 1e-9)) return undefined;
  // Patterns may over-cover: take each copy only up to what is still unplaced.
  const residual = demand.slice();
  const nodes: PackedNode[] = [];
  res.copies.forEach((n, k) => {
    for (let c = 0; c < n; c++) {
      const node = takeColumn(ctx, all[k]!, residual);
      if (node) nodes.push(node);
    }
  });
  return residual.every((r) => r <= 0) ? nodes : undefined;
}

/**
 * Local repair: empty the emptiest nodes into the others' room, then give each node the cheapest type
 * that holds its pods, then merge pairs of nodes where one node holds both for less. With few pods per node, also
 * the same after downsizing first, then splitting nodes in two where cheaper, keeping the cheaper result. Emptying into
 * a node can stop it from being downsized later (a small node freed at the price of keeping a big one
 * big); downsizing first keeps that saving, while emptying first has more room to empty nodes into.
 */
function repair(ctx: Ctx, nodes: PackedNode[]): PackedNode[] {
  const copy = (ns: PackedNode[]): PackedNode[] =>
    ns.map((n) => ({ offer: n.offer, items: n.items.slice(), counts: n.counts.slice() }));
  const emptied = emptyEmptiest(ctx, copy(nodes), 100);
  downsize(ctx, emptied);
  const emptyFirst = mergePairs(ctx, emptied);
  // The second order (and splitting) pays with few pods per node; with many it changed nothing in the
  // bench but took 40–70 ms of the 10 000-pod plan. It is optional work: skipped once the budget is spent.
  if (!ctx.few || ctx.p.work.units > ctx.end) return emptyFirst;
  const sizedFirst = copy(nodes);
  downsize(ctx, sizedFirst);
  let then = emptyEmptiest(ctx, sizedFirst, 100);
  downsize(ctx, then);
  then = splitNodes(ctx, then);
  return totalWeight(ctx.p, then) < totalWeight(ctx.p, emptyFirst) ? then : emptyFirst;
}

/**
 * Replaces two nodes by one of the cheapest type that holds both's pods, where that costs less than the two, best saving
 * first: two nodes each full in one dimension and half empty in another (pods pinned to some families) fit one node of
 * a type with the other balance. Optional work: stops once the budget is spent.
 */
export function mergePairs(ctx: Ctx, nodes: PackedNode[]): PackedNode[] {
  const { bins } = ctx.p;
  if (nodes.length > MERGE_MAX_NODES) return nodes;
  const byWeight = binsByWeight(bins);
  let current = nodes;
  for (let pass = 0; pass < MERGE_PASSES; pass++) {
    const found = mergeCandidates(ctx, current, byWeight);
    if (found.length === 0) return current;
    const taken = new Set<number>();
    const merged: PackedNode[] = [];
    for (const m of found) {
      if (taken.has(m.a) || taken.has(m.b)) continue;
      taken.add(m.a).add(m.b);
      merged.push({ offer: m.offer, ...mergedPods(current[m.a]!, current[m.b]!) });
    }
    current = [...current.filter((_, k) => !taken.has(k)), ...merged];
  }
  return current;
}

/** The largest capacity of any bin in each dimension. */
function largestCap(bins: CgBin[]): number[] {
  return Array.from({ length: DIMS }, (_, d) => Math.max(...bins.map((b) => b.cap[d]!)));
}

/** Every pair of nodes one cheaper node can hold, with that node's type, best saving first (none once out of budget). */
function mergeCandidates(
  ctx: Ctx,
  nodes: PackedNode[],
  byWeight: number[],
): Array<{ a: number; b: number; offer: number; saving: number }> {
  const { bins, items } = ctx.p;
  const maxCap = largestCap(bins);
  const use = nodes.map((n) => usage(items, n));
  const found: Array<{ a: number; b: number; offer: number; saving: number }> = [];
  for (let a = 0; a < nodes.length; a++) {
    for (let b = a + 1; b < nodes.length; b++) {
      const both = use[a]!.map((u, d) => u + use[b]![d]!);
      if (both.some((u, d) => u > maxCap[d]! + 1e-9)) continue;
      if (ctx.p.work.units > ctx.end) return [];
      const pair = bins[nodes[a]!.offer]!.weight + bins[nodes[b]!.offer]!.weight;
      // only types cheaper than the two are looked at
      const shapes = [...nodes[a]!.items, ...nodes[b]!.items];
      const { bin: offer, looked } = firstHolding(ctx, byWeight, { use: both, shapes, below: pair });
      ctx.p.work.add(WORK.repairStep * looked);
      if (offer >= 0) found.push({ a, b, offer, saving: pair - bins[offer]!.weight });
    }
  }
  return found.sort((x, y) => y.saving - x.saving || x.a - y.a || x.b - y.b);
}

/**
 * The first bin of `byWeight` that holds `use` and every shape, looking only at bins costing less than `below`; -1 if
 * none. `looked`: how many bins it checked (the work).
 */
function firstHolding(
  ctx: Ctx,
  byWeight: number[],
  { use, shapes, below = Infinity }: { use: number[]; shapes: number[]; below?: number },
): { bin: number; looked: number } {
  const { bins, compatMask } = ctx.p;
  for (let k = 0; k < byWeight.length; k++) {
    const j = byWeight[k]!;
    if (bins[j]!.weight >= below * (1 - 1e-9)) return { bin: -1, looked: k + 1 };
    if (bins[j]!.cap.every((c, d) => use[d]! <= c + 1e-9) && shapes.every((i) => compatMask[j]![i] === 1))
      return { bin: j, looked: k + 1 };
  }
  return { bin: -1, looked: byWeight.length };
}

/** Bin indices by increasing weight. */
function binsByWeight(bins: CgBin[]): number[] {
  return bins.map((_, j) => j).sort((a, b) => bins[a]!.weight - bins[b]!.weight);
}

/** Rounds of pair merging (each merges disjoint pairs, best saving first). */
const MERGE_PASSES = 3;
/** Pair merging is tried on plans of at most this many nodes (pairs grow with its square). */
const MERGE_MAX_NODES = 400;

function mergedPods(a: PackedNode, b: PackedNode): { items: number[]; counts: number[] } {
  const merged = { offer: a.offer, items: a.items.slice(), counts: a.counts.slice() };
  b.items.forEach((i, k) => addPods(merged, i, b.counts[k]!));
  return { items: merged.items, counts: merged.counts };
}

/** Splitting a node is tried when its pods can be divided in at most this many ways (few pods per node). */
const MAX_SPLIT_WAYS = 512;

/** The cheapest bin (index) that holds these pods, or -1. `byWeight` = bin indices by increasing weight. */
function cheapestBin(ctx: Ctx, byWeight: number[], node: { items: number[]; counts: number[] }): number {
  return firstHolding(ctx, byWeight, { use: usage(ctx.p.items, node), shapes: node.items }).bin;
}

/** The cheapest two nodes that together hold exactly this node's pods, if cheaper than the node; else undefined. */
function bestSplit(ctx: Ctx, byWeight: number[], node: PackedNode): PackedNode[] | undefined {
  if (node.counts.reduce((s, c) => s * (c + 1), 1) > MAX_SPLIT_WAYS) return undefined;
  let bestUsd = ctx.p.bins[node.offer]!.weight * (1 - 1e-9);
  let best: PackedNode[] | undefined;
  const first = node.counts.map(() => 0);
  // Mixed-radix count over every first part (0 ≤ first ≤ counts); each split is met twice, which is harmless.
  for (;;) {
    let k = 0;
    while (k < first.length && first[k] === node.counts[k]) first[k++] = 0;
    if (k === first.length) return best;
    first[k]!++;
    ctx.p.work.add(WORK.repairStep * byWeight.length);
    const rest = node.counts.map((c, q) => c - first[q]!);
    if (rest.every((c) => c === 0)) continue;
    const parts = [first, rest].map((counts) => {
      const items = node.items.filter((_, q) => counts[q]! > 0);
      const cs = counts.filter((c) => c > 0);
      return { offer: cheapestBin(ctx, byWeight, { items, counts: cs }), items, counts: cs };
    });
    if (parts.some((part) => part.offer < 0)) continue;
    const usd = parts.reduce((s, part) => s + ctx.p.bins[part.offer]!.weight, 0);
    if (usd < bestUsd) {
      bestUsd = usd;
      best = parts;
    }
  }
}

/**
 * Replaces each node by the cheapest two nodes that hold its pods when that is cheaper (e.g. two pods
 * that each fit a small type but sit together on a big one). Worth its time only with few pods per node.
 */
function splitNodes(ctx: Ctx, nodes: PackedNode[]): PackedNode[] {
  const { bins } = ctx.p;
  if (ctx.p.work.units > ctx.end) return nodes;
  const byWeight = binsByWeight(bins);
  const cache = new Map<string, PackedNode[] | undefined>();
  return nodes.flatMap((node) => {
    const key = patternKey(node.offer, node.items, node.counts);
    // optional: once the budget is spent, nodes not yet looked at stay as they are
    if (!cache.has(key)) cache.set(key, ctx.p.work.units > ctx.end ? undefined : bestSplit(ctx, byWeight, node));
    const split = cache.get(key);
    return split ? split.map((n) => ({ offer: n.offer, items: n.items.slice(), counts: n.counts.slice() })) : [node];
  });
}

function totalWeight(p: CgProblem, nodes: PackedNode[]): number {
  return nodes.reduce((s, n) => s + p.bins[n.offer]!.weight, 0);
}

/** Moves every pod of the emptiest nodes into room left on other nodes; drops a node when that works out. */
function emptyEmptiest(ctx: Ctx, nodes: PackedNode[], tries: number): PackedNode[] {
  const { items, bins } = ctx.p;
  const rem = nodes.map((n) => {
    const u = usage(items, n);
    return bins[n.offer]!.cap.map((c, d) => c - u[d]!);
  });
  const fill = nodes.map((n, k) => Math.max(...bins[n.offer]!.cap.map((c, d) => (c > 0 ? (c - rem[k]![d]!) / c : 0))));
  const order = nodes.map((_, k) => k).sort((a, b) => fill[a]! - fill[b]!);
  const removed = new Set<number>();
  for (const victim of order.slice(0, tries)) {
    const moves = relocate(ctx, { nodes, rem, removed }, victim);
    if (!moves) continue;
    for (const [target, i, n] of moves) addPods(nodes[target]!, i, n);
    removed.add(victim);
  }
  return nodes.filter((_, k) => !removed.has(k));
}

function addPods(node: PackedNode, item: number, n: number): void {
  const k = node.items.indexOf(item);
  if (k >= 0) node.counts[k]! += n;
  else {
    node.items.push(item);
    node.counts.push(n);
  }
}

/** How many pods of `size` (at most `limit`) fit in the free room `room`. */
function fitCount(size: number[], room: number[], limit: number): number {
  let n = limit;
  for (let d = 0; d < size.length; d++) if (size[d]! > 0) n = Math.min(n, Math.floor(room[d]! / size[d]! + 1e-9));
  return n;
}

/** First-fit of one node's pods into the others' free room; returns the moves, or undefined (and no change to `rem`) if some pod does not fit. */
function relocate(
  ctx: Ctx,
  { nodes, rem, removed }: { nodes: PackedNode[]; rem: number[][]; removed: Set<number> },
  victim: number,
): Array<[number, number, number]> | undefined {
  const { items, bins } = ctx.p;
  // Moves are applied to `rem` as they are found and undone if the node cannot be emptied (cheaper than copying `rem`).
  const moves: Array<[number, number, number]> = [];
  const undo = (): undefined => {
    for (const [t, i, n] of moves) items[i]!.size.forEach((s, d) => (rem[t]![d]! += s * n));
    return undefined;
  };
  const v = nodes[victim]!;
  for (let k = 0; k < v.items.length; k++) {
    const i = v.items[k]!;
    const size = items[i]!.size;
    let left = v.counts[k]!;
    ctx.p.work.add(WORK.repairStep * nodes.length);
    for (let t = 0; t < nodes.length && left > 0; t++) {
      if (t === victim || removed.has(t)) continue;
      const r = rem[t]!;
      const n = fitCount(size, r, left);
      if (n <= 0 || !compatible(items[i]!, bins[nodes[t]!.offer]!)) continue;
      for (let d = 0; d < size.length; d++) r[d]! -= size[d]! * n;
      moves.push([t, i, n]);
      left -= n;
    }
    if (left > 0) return undo();
  }
  return moves;
}

/** Replaces each node's type by the cheapest kept bin that still holds its pods. */
function downsize(ctx: Ctx, nodes: PackedNode[]): void {
  const { items, bins } = ctx.p;
  const byWeight = binsByWeight(bins);
  const cache = new Map<string, number>();
  for (const node of nodes) {
    const key = node.items
      .map((i, k) => `${i}:${node.counts[k]}`)
      .sort()
      .join(",");
    let best = cache.get(key);
    if (best === undefined) {
      best = byWeight.find((j) => fits(items, node, bins[j]!)) ?? node.offer;
      if (bins[best]!.weight > bins[node.offer]!.weight) best = node.offer;
      cache.set(key, best);
    }
    node.offer = best;
  }
}

/**
 * Column generation, rounding and, where rounding lost too much, the integer program over the patterns: the nodes
 * (indices of kept bins) and every pattern the master LP holds. `budget`: work units from `start`.
 */
function solvePacking(
  ctx: Ctx,
  master: MasterLp,
  placeable: number[],
  budget: { start: number; units: number; integerProgram: boolean },
): { nodes: PackedNode[]; patterns: PackedNode[] } {
  const { p } = ctx;
  master.add(initialColumns(p, placeable));
  const cheap: CgOptions = {
    deadline: budget.start + CG_SHARE * budget.units,
    maxIterations: 1000,
    exactPerIteration: 6,
    greedyPerIteration: 60,
    nodeLimit: 300,
    maxNodeLimit: 3000,
  };
  // With few (big) pods per node the cheap pricing stalls short of the LP optimum (trace / starter /
  // On-Demand: 3 % above it): the bins its bounds rank first are not the ones holding the improving
  // patterns. There every knapsack is small, so when it stalls pricing solves more bins exactly, up
  // to all of them, and keeps doing so. Their branch and bound starts without the per-bin HiGHS LP,
  // which is what makes it affordable (and, early in a process, spares the solver's wasm warm-up).
  const { lp } = columnGeneration(
    p,
    master,
    placeable,
    ctx.few ? { ...cheap, lpStart: false, keepEffort: true, maxExactPerIteration: p.bins.length } : cheap,
  );
  const rounded = roundLp(ctx, placeable, master);
  // When rounding lost more than MILP_MIN_GAP against the LP, the integer program over the patterns
  // (price-and-branch) looks for what rounding missed, within its share of the work budget.
  const pods = placeable.reduce((s, b) => s + b, 0);
  const worthIt =
    budget.integerProgram && pods <= MILP_MAX_PODS && totalWeight(ctx.p, rounded) > lp.objective * (1 + MILP_MIN_GAP);
  const improved = worthIt
    ? improveByMilp(ctx, {
        columns: master.columns,
        rounded,
        demand: placeable,
        deadline: budget.start + MILP_SHARE * budget.units,
        reducedCosts: lp.reducedCosts,
      })
    : undefined;
  let nodes = repair(ctx, rounded);
  if (improved) {
    const fromMilp = repair(ctx, improved);
    if (totalWeight(ctx.p, fromMilp) < totalWeight(ctx.p, nodes)) nodes = fromMilp;
  }
  return {
    nodes,
    patterns: master.columns.map((c) => ({ offer: ctx.keptOffer[c.bin]!, items: c.items, counts: c.counts })),
  };
}

/** The shapes with pods to place that no bin can hold (no type allowed for them, or none big enough). */
export function unplaceableShapes(items: CgItem[], demand: number[], bins: CgBin[]): number[] {
  return items.flatMap((it, i) => (demand[i]! > 0 && !bins.some((b) => compatible(it, b)) ? [i] : []));
}

/** The shapes no bin holds, and the demand without them (what a packing and its bound are about). */
function placeableDemand(
  items: CgItem[],
  demand: number[],
  bins: CgBin[],
): { unplaceable: number[]; placeable: number[] } {
  const unplaceable = unplaceableShapes(items, demand, bins);
  return { unplaceable, placeable: demand.map((b, i) => (unplaceable.includes(i) ? 0 : b)) };
}

/**
 * Packs `demand[i]` pods of each shape onto the offers, minimising Σ weight. Returned nodes refer to
 * indices of `offers`; every pod of a placeable shape is on exactly one node.
 */
export async function pack(
  items: CgItem[],
  demand: number[],
  offers: Offer[],
  opts: PackingOptions,
): Promise<PackingResult> {
  const work = opts.work ?? new WorkMeter();
  const allBins = offers.map(offerBin);
  const { unplaceable, placeable } = placeableDemand(items, demand, allBins);
  if (placeable.every((b) => b <= 0)) return { nodes: [], unplaceable, settled: true };
  const start = work.units;
  const { nodes, patterns, budget } = packBins(await getHighs(), {
    items,
    demand: placeable,
    allBins,
    work,
    budget: opts.budget,
    integerProgram: opts.integerProgram,
    startOnly: opts.startOnly,
  });
  return { nodes, unplaceable, patterns, settled: settledWithin(budget, work.units - start) };
}

/**
 * Whether a packing that used `used` of `budget` met none of the budget's deadlines: every step stops on a deadline
 * (column generation at CG_SHARE, the others later) or, for the integer program, when less than MIN_MILP_WORK is left
 * before MILP_SHARE; below CG_SHARE with that much room, no step saw either, so a bigger budget changes nothing.
 */
function settledWithin(budget: number, used: number): boolean {
  return used < CG_SHARE * budget && (MILP_SHARE - CG_SHARE) * budget >= MIN_MILP_WORK;
}

/** pack() once HiGHS is loaded and every shape is placeable: nodes and patterns refer to indices of `allBins`. */
function packBins(
  highs: CgProblem["highs"],
  {
    items,
    demand,
    allBins,
    work,
    budget,
    integerProgram = true,
    startOnly = false,
  }: {
    items: CgItem[];
    demand: number[];
    allBins: CgBin[];
    work: WorkMeter;
    budget: number;
    integerProgram?: boolean;
    startOnly?: boolean;
  },
): { nodes: PackedNode[]; patterns: PackedNode[]; budget: number } {
  const start = work.units;
  const keptOffer = undominatedBins(allBins, items);
  const bins = keptOffer.map((j) => allBins[j]!);
  const p: CgProblem = { highs, items, bins, ...compatLists(items, bins), work };
  if (startOnly && wideProblem(p, demand)) budget *= WIDE_PACKING_SHARE;
  p.knapsackLps = new KnapsackLps(p);
  const ctx: Ctx = {
    p,
    keptOffer,
    deadline: start + ROUNDING_SHARE * budget,
    few: fewPodsPerNode(p, demand),
    end: start + budget,
  };
  const master = new MasterLp(p, demand);
  try {
    const { nodes, patterns } = solvePacking(ctx, master, demand, { start, units: budget, integerProgram });
    // solvePacking's patterns already name offers (allBins indices); its nodes name kept bins
    return { nodes: nodes.map((n) => ({ ...n, offer: keptOffer[n.offer]! })), patterns, budget };
  } finally {
    master.dispose();
    p.knapsackLps.dispose();
  }
}

/** Which bound the value is: the configuration LP's (Farley), the whole-node fluid MILP's, or the fluid LP's. */
export type BoundMethod = "configuration-lp" | "whole-nodes" | "fluid-lp";

export interface LowerBoundResult {
  hourlyUsd: number;
  /** the configuration LP's optimum was proven (no improving column left); the bound is then at least that */
  converged: boolean;
  method: BoundMethod;
  iterations: number;
  /** a cheaper plan found by the integer program over the bound's columns (offer = index into `offers`), if any */
  improved?: PackedNode[];
}

/**
 * Dual smoothing weight of the bound's column generation (see CgOptions.smoothing): on the bench's micro mix it
 * cut the time to the LP optimum of starter / Spot from 38 s to 29 s CPU, and all priced / Spot converged in 20 s
 * instead of stopping at 45 s; 0.3 and 0.8 were slower.
 */
const BOUND_SMOOTHING = 0.5;
/** At most this many columns (those of the highest ratio) enter the bound's master per round of knapsack LPs. */
const BOUND_LP_COLUMNS = 50;
/** The bound's column generation stops once the plan is within this of it: proving more buys nothing the user sees. */
const BOUND_STOP_GAP = 0.005;
/**
 * The integer program over the bound's columns runs when the plan is more than this above the bound: wherever the bound
 * stopped short of the plan. It takes the place of the packing's own (left out when the bound follows), which ran
 * whenever rounding lost more than 1 % against the packing's LP, even where repair then left the plan closer than 1 %.
 */
const IMPROVE_GAP = BOUND_STOP_GAP;
/** The whole-node fluid MILP runs while the plan is more than this above the bound (the target gap). */
const WHOLE_GAP = 0.03;
/**
 * The whole-node fluid MILP for a bound runs where the types it needs hold at most this many (bin, shape) pairs: on
 * bigger models (many-small and mixed-arch families, 20 000+ pairs) its root LP alone took its budget, and its bound
 * never beat the few-row MILP's.
 */
const WHOLE_MAX_PAIRS = 15_000;
/** Work for each whole-node fluid MILP, as a share of the bound's budget, on top of it. */
const WHOLE_SHARE = 1;
/** Work for the whole-node MILPs over a few rows and the rows they gain (cutLoop), as a share of the bound's budget. */
const CUT_SHARE = 4;
/** Work for each of those MILPs, as a share of the bound's budget: one that needs more ends the loop. */
const MASTER_SHARE = 0.25;
/** Search nodes per bin for the rows the loop adds: their Lagrangian bounds at the check's duals do most of the work. */
const CUT_ROW_NODES = 10;
/**
 * Search nodes per bin for the few-row MILP's row at the fluid LP's duals: enough to close the knapsacks of big pods
 * (where whole pods per node matter), few enough to cost little where hundreds of shapes keep it from closing.
 */
const ROW_KNAPSACK_NODES = 200;
/** Share of the bound's work budget its column generation may use; the integer program and repair get the rest. */
const BOUND_CG_SHARE = 0.75;

export interface LowerBoundOptions {
  /** work budget (WorkMeter units) */
  budget: number;
  /** the meter to count on (default: a new one) */
  work?: WorkMeter;
  /** patterns that warm-start the master (offer = index into `offers`), e.g. the plan's */
  seed?: PackedNode[];
  /**
   * The plan to beat (offer = index into `offers`, whose weights must be the plan's objective): the bound stops once
   * within BOUND_STOP_GAP of it, and when still more than IMPROVE_GAP below it, the integer program over the bound's
   * columns (the plan's nodes as its start) looks for a cheaper plan.
   */
  plan?: PackedNode[];
  /** the plan-only whole-node MILP, started early on the same items, offers and demand (startWholeNodeJob) */
  wholeNodeJob?: WholeNodeJob;
}

/** The bound's problem: its placeable demand, and the offers it keeps (undominated) with their compatibility. */
function boundProblem(
  items: CgItem[],
  demand: number[],
  allBins: CgBin[],
): { placeable: number[]; kept: number[]; bins: CgBin[]; compat: number[][]; compatMask: Uint8Array[] } {
  const { placeable } = placeableDemand(items, demand, allBins);
  const kept = undominatedBins(allBins, items);
  const bins = kept.map((j) => allBins[j]!);
  return { placeable, kept, bins, ...compatLists(items, bins) };
}

/**
 * Starts, in a worker thread, the plan-only whole-node MILP that packingLowerBound(items, demand, offers, { budget })
 * would run, where it is likely to: on wide inputs (see wideProblem), where the whole-node steps plan. Undefined
 * elsewhere.
 */
export function startWholeNodeJob(
  items: CgItem[],
  demand: number[],
  offers: Offer[],
  budget: number,
): WholeNodeJob | undefined {
  const { placeable, bins, compat } = boundProblem(items, demand, offers.map(offerBin));
  if (placeable.every((b) => b <= 0) || !wideProblem({ items, bins, compat }, placeable)) return undefined;
  return new WholeNodeJob({ items, bins, demand: placeable, budget: WHOLE_SHARE * budget });
}

/**
 * Proven lower bound on Σ weight of any packing of `demand` onto `offers` (configuration LP via column generation, Farley bound).
 * `seed` only warm-starts the master: any feasible pattern may be a column, and the bound's validity rests on pricing over all
 * patterns, so seeding changes how fast it converges, not what it proves.
 */
export async function packingLowerBound(
  items: CgItem[],
  demand: number[],
  offers: Offer[],
  { budget, work = new WorkMeter(), seed = [], plan, wholeNodeJob }: LowerBoundOptions,
): Promise<LowerBoundResult> {
  const allBins = offers.map(offerBin);
  const { placeable, kept, bins, compat, compatMask } = boundProblem(items, demand, allBins);
  if (placeable.every((b) => b <= 0))
    return { hourlyUsd: 0, converged: true, iterations: 0, method: "configuration-lp" };
  const p: CgProblem = { highs: await getHighs(), items, bins, compat, compatMask, work };
  p.knapsackLps = new KnapsackLps(p);
  const pairs = dominancePairs(p);
  const master = new MasterLp(p, placeable, pairs);
  const start = work.units;
  const planCost = plan?.reduce((s, n) => s + allBins[n.offer]!.weight, 0);
  try {
    master.add(initialColumns(p, placeable));
    master.add(seedColumns(p, kept, seed, placeable));
    const cgShare = wideProblem(p, placeable) ? WIDE_BOUND_CG_SHARE : BOUND_CG_SHARE;
    const res = columnGeneration(p, master, placeable, boundOptions(p, { end: start + budget, planCost, cgShare }));
    const ctx = { kept, master, pairs, plan, planCost, demand: placeable, cg: res, start, budget };
    return await beyondTheLp(p, { ...ctx, job: wholeNodeJob });
  } finally {
    master.dispose();
    p.knapsackLps.dispose();
  }
}

/**
 * After column generation: the whole-node bound and plan where the plan is still far from the bound, the plan's
 * improvement over the bound's columns, and the fluid LP's bound while column generation has not converged.
 */
async function beyondTheLp(
  p: CgProblem,
  ctx: {
    kept: number[];
    master: MasterLp;
    pairs: Array<[number, number]>;
    plan?: PackedNode[];
    planCost?: number;
    demand: number[];
    cg: ReturnType<typeof columnGeneration>;
    start: number;
    budget: number;
    job?: WholeNodeJob;
  },
): Promise<LowerBoundResult> {
  const { plan, planCost, demand, cg } = ctx;
  const result: LowerBoundResult = {
    hourlyUsd: cg.lowerBound,
    converged: cg.converged,
    iterations: cg.iterations,
    method: "configuration-lp",
  };
  const raise = (value: number, method: BoundMethod): void => {
    if (value > result.hourlyUsd) Object.assign(result, { hourlyUsd: value, method });
  };
  // Whole nodes per type, where the plan is still far from the bound: its own share of the budget, on top.
  const fluid = lazy(() => fluidBound(p, demand));
  const budget = WHOLE_SHARE * ctx.budget;
  const whole = await wholeNodes(p, { demand, planCost, bound: cg.lowerBound, budget, fluid, job: ctx.job });
  raise(whole?.bound ?? 0, "whole-nodes");
  const end = ctx.start + ctx.budget + (whole?.work ?? 0);
  if (plan && planCost! > result.hourlyUsd * (1 + IMPROVE_GAP))
    result.improved = improveOverColumns(p, { ...ctx, plan, end, fluid, whole, reducedCosts: cg.lp.reducedCosts });
  // Both bounds are valid; column generation's is the tighter once it converges, the fluid one while it has not.
  if (!cg.converged) raise(fluid()?.value ?? 0, "fluid-lp");
  return result;
}

/**
 * Plans from the bound's columns: its LP rounded (roundDive) and repaired, then the integer program over the columns
 * (price-and-branch; the best plan so far added as columns and as its start) and repaired; returns the cheapest result
 * (offer indices) when cheaper than the plan.
 */
function improveOverColumns(
  p: CgProblem,
  {
    kept,
    master,
    plan,
    demand,
    end,
    reducedCosts,
    pairs,
    fluid,
    whole,
  }: {
    kept: number[];
    master: MasterLp;
    plan: PackedNode[];
    demand: number[];
    end: number;
    reducedCosts: number[];
    pairs: Array<[number, number]>;
    fluid: () => FluidBound | undefined;
    whole?: { plans: PackedNode[][]; solutions: Array<NonNullable<FluidMilp["solution"]>> };
  },
): PackedNode[] | undefined {
  const binOf = new Map(kept.map((offer, j) => [offer, j]));
  if (plan.some((n) => !binOf.has(n.offer))) return undefined;
  const start = plan.map((n) => ({ offer: binOf.get(n.offer)!, items: n.items.slice(), counts: n.counts.slice() }));
  const ctx: Ctx = { p, keptOffer: kept, deadline: end, few: fewPodsPerNode(p, demand), end };
  let best = start;
  const roundAt = p.work.units + ROUND_SHARE * (end - p.work.units);
  const rounded = roundDive(ctx, { master, demand, pairs, deadline: roundAt });
  if (rounded) best = cheaper(ctx, best, repair(ctx, rounded));
  const deadline = p.work.units + MILP_SHARE * (end - p.work.units);
  const milp = improveByMilp(ctx, { columns: master.columns, rounded: best, demand, deadline, reducedCosts });
  if (milp) best = cheaper(ctx, best, repair(ctx, milp));
  // last, so that it takes no work from the steps above: they plan the same with or without it
  const fromFluid = fluid();
  if (fromFluid) best = cheaper(ctx, best, repair(ctx, fluidPlan(p, fromFluid, demand)));
  for (const nodes of wholeNodeCandidates(p, whole, demand)) best = cheaper(ctx, best, repair(ctx, nodes));
  if (best === start) return undefined;
  return best.map((n) => ({ ...n, offer: kept[n.offer]! }));
}

/** The whole-node plans: the row loop's, then each fluid MILP solution's spread both ways, one at a time. */
function* wholeNodeCandidates(
  p: CgProblem,
  whole: { plans: PackedNode[][]; solutions: Array<NonNullable<FluidMilp["solution"]>> } | undefined,
  demand: number[],
): Generator<PackedNode[]> {
  yield* whole?.plans ?? [];
  for (const sol of whole?.solutions ?? []) yield* wholeNodePlans(p, sol, demand);
}

/**
 * The whole-node bounds, plans (the row loop's nodes, spread both ways) and solutions (the fluid MILPs', spread later)
 * and the work they took, when the plan (if any) is more than WHOLE_GAP above the bound so far: first the MILP over a
 * few rows (one column per type, cheap), with rows added while its nodes cannot hold the pods and the plan is still that
 * far above (cutLoop: a bound, and nodes that hold every pod once it finds them); if the plan — or the loop's nodes,
 * spread — is still that far above, the fluid MILP over the types of lowest reduced cost (a bound with the others'
 * reduced costs, and a solution; not where the loop's nodes held every pod, which proves that bound over every type)
 * and over the types the fluid LP keeps (a solution only), which stays small and plans well (many-small / starter /
 * Spot: 1.64 $/h before repair vs 2.01 from every type's model).
 */
async function wholeNodes(
  p: CgProblem,
  {
    demand,
    planCost,
    bound,
    budget,
    fluid,
    job,
  }: {
    demand: number[];
    planCost?: number;
    bound: number;
    budget: number;
    fluid: () => FluidBound | undefined;
    job?: WholeNodeJob;
  },
): Promise<
  | { bound: number; plans: PackedNode[][]; solutions: Array<NonNullable<FluidMilp["solution"]>>; work: number }
  | undefined
> {
  // a worker solving the plan-only MILP ahead is stopped as soon as it is known to be of no use: it shares the machine
  if (planCost !== undefined && planCost <= bound * (1 + WHOLE_GAP)) {
    job?.cancel();
    return undefined;
  }
  const before = p.work.units;
  const lp = fluid();
  const rows = resourceRows(p, demand);
  if (lp) rows.push(knapsackRow(p, { duals: lp.duals, upper: lp.row.cap, demand, nodeLimit: ROW_KNAPSACK_NODES }));
  // rows until the plan is within the gap; a bound asked for without a plan gets the first MILP's alone
  const enough = planCost === undefined ? 0 : planCost / (1 + WHOLE_GAP);
  const cuts = cutLoop(p, demand, {
    rows,
    deadline: p.work.units + CUT_SHARE * budget,
    enough,
    masterWork: MASTER_SHARE * budget,
    nodeLimit: CUT_ROW_NODES,
  });
  const surrogate = cuts.bound;
  const loop = cuts.solution;
  const plans = loop ? wholeNodePlans(p, loop, demand) : [];
  // the loop's nodes, spread, may already be the plan within the gap: the MILPs below would look for a better one
  const best = Math.min(planCost ?? Infinity, ...plans.map((nodes) => totalWeight(p, nodes)));
  if (best <= Math.max(bound, surrogate) * (1 + WHOLE_GAP)) {
    job?.cancel();
    return { bound: surrogate, plans, solutions: [], work: p.work.units - before };
  }
  const { restricted, solutions } = await wholeNodeMilps(p, lp, {
    demand,
    planCost,
    budget,
    job,
    beat: Math.max(bound, surrogate),
    // nodes that hold every pod solve the whole-node fluid MILP over every type: its bound over fewer is no higher
    forBound: !loop,
  });
  return { bound: Math.max(surrogate, restricted), plans, solutions, work: p.work.units - before };
}

/**
 * The fluid MILP over the types of lowest reduced cost (a bound and a solution; with `forBound`, and where small enough
 * to get past its root LP) and over the types the fluid LP keeps (a solution only), each with `budget` work. The first
 * stops once its solution costs less than `beat`, the bound so far: it runs for its bound, which could then not pass
 * `beat`.
 */
async function wholeNodeMilps(
  p: CgProblem,
  lp: FluidBound | undefined,
  {
    demand,
    planCost,
    budget,
    job,
    beat,
    forBound,
  }: { demand: number[]; planCost?: number; budget: number; job?: WholeNodeJob; beat: number; forBound: boolean },
): Promise<{ restricted: number; solutions: Array<NonNullable<FluidMilp["solution"]>> }> {
  const chosen = forBound && lp ? wholeNodeBins(p, lp, { demand, maxPairs: Infinity, cutoff: planCost }) : undefined;
  const full =
    chosen && chosen.pairs <= WHOLE_MAX_PAIRS
      ? fluidMilp(p, demand, { deadline: p.work.units + budget, bins: chosen.bins, beat })
      : undefined;
  const cheap = await planOnlyMilp(p, { items: p.items, bins: p.bins, demand, budget }, job);
  return {
    restricted: full ? wholeNodeBound(full, chosen!.others) : 0,
    solutions: [full?.solution, cheap].filter((s) => s !== undefined),
  };
}

/** The plan-only whole-node MILP's solution: the job's answer where it was started for this request, else solved here. */
async function planOnlyMilp(
  p: CgProblem,
  request: WholeNodeRequest,
  job: WholeNodeJob | undefined,
): Promise<FluidMilp["solution"]> {
  const started = job?.matches(request) ? job : undefined;
  if (job !== started) job?.cancel();
  const answer = started ? await started.answer(p.highs) : solveWholeNode(p.highs, request);
  p.work.add(answer.work);
  return answer.solution;
}

/**
 * A plan from a solution with whole nodes per type: each shape's pods dealt to the types as the solution has them, each
 * type's pods spread biggest first over its nodes (OpenNodes.spread: first fit would fill a node's CPU with big pods and
 * strand pods the aggregate room holds), what does not fit there into any node with room, room made for what then fits
 * nowhere by moving or swapping pods, and the rest (the solution's pods were fractional) packed on its own by packBins;
 * then spread again up to RESPREADS times with what fitted nowhere first, the cheapest plan kept.
 */
export function wholeNodePlan(
  p: CgProblem,
  sol: NonNullable<FluidMilp["solution"]>,
  demand: number[],
  fit: Fit = "aligned",
): PackedNode[] {
  return respread(p, { sol, demand, fit }, spreadOnce(p, { sol, demand, fit }, new Map()));
}

/**
 * A plan per way of spreading (FITS, in that order) from a whole-node solution: each spread once, and spread again
 * (see RESPREADS) where its plan is the cheapest of them, so that the spreads again cost the time of one, not of each.
 */
export function wholeNodePlans(
  p: CgProblem,
  sol: NonNullable<FluidMilp["solution"]>,
  demand: number[],
): PackedNode[][] {
  const first = FITS.map((fit) => spreadOnce(p, { sol, demand, fit }, new Map()));
  const costs = first.map((f) => totalWeight(p, f.plan));
  const cheapest = Math.min(...costs);
  return first.map((f, k) =>
    costs[k]! <= cheapest * (1 + 1e-9) ? respread(p, { sol, demand, fit: FITS[k]! }, f) : f.plan,
  );
}

interface Spreading {
  sol: NonNullable<FluidMilp["solution"]>;
  demand: number[];
  fit: Fit;
}

/** One spread (spreadSolution) with what it leaves packed (packResidual): the plan, and what fitted on no spread node. */
function spreadOnce(
  p: CgProblem,
  { sol, demand, fit }: Spreading,
  leftOver: Map<number, number>,
): { plan: PackedNode[]; residual: number[] } {
  const { set, residual } = spreadSolution(p, sol, demand, { fit, leftOver });
  const plan = residual.every((r) => r <= 0)
    ? set.nodes.filter((n) => n.items.length > 0)
    : packResidual(p, set, residual);
  return { plan, residual };
}

/** The cheapest of `first` and up to RESPREADS more spreads, each with the shapes left over before first. */
function respread(p: CgProblem, spreading: Spreading, first: { plan: PackedNode[]; residual: number[] }): PackedNode[] {
  // shape -> the spread after which it first fitted nowhere: spread first next time, earliest first
  const leftOver = new Map<number, number>();
  let best = first.plan;
  let residual = first.residual;
  for (let round = 1; round <= RESPREADS && residual.some((r) => r > 0); round++) {
    residual.forEach((r, i) => {
      if (r > 0 && !leftOver.has(i)) leftOver.set(i, round - 1);
    });
    const next = spreadOnce(p, spreading, leftOver);
    if (totalWeight(p, next.plan) < totalWeight(p, best) * (1 - 1e-9)) best = next.plan;
    residual = next.residual;
  }
  return best;
}

/**
 * Spreads after the first: each puts first, in each type's spread, the shapes some pods of which fitted nowhere in the
 * spreads before (squeaky wheel). Those are pods only a few of the solution's nodes hold (pinned to an arch or to
 * families, or big): spread last, they find those nodes filled by pods that fit anywhere. The cheapest plan is kept.
 */
const RESPREADS = 2;

/**
 * A whole-node solution's nodes with the pods dealt to them spread (see wholeNodePlan), and what fits on none of them
 * (`residual`, pods per shape). Within each type the shapes of `leftOver` come first (the earliest left over first),
 * then the others, biggest first each.
 */
function spreadSolution(
  p: CgProblem,
  sol: NonNullable<FluidMilp["solution"]>,
  demand: number[],
  { fit, leftOver }: { fit: Fit; leftOver: Map<number, number> },
): { set: OpenNodes; residual: number[] } {
  const set = openNodes(p);
  const left: Array<[number, number]> = [];
  const firstOf = (i: number): number => leftOver.get(i) ?? Infinity;
  for (const [j, pods] of [...dealPods(sol.assignment, demand)].sort((a, b) => a[0] - b[0])) {
    const ks = Array.from({ length: sol.nodes.get(j) ?? 0 }, () => set.open(j));
    const bigFirst = biggestFirst(p, p.bins[j]!.cap, [...pods.keys()]);
    const rank = new Map(bigFirst.map((i, k) => [i, k]));
    for (const i of bigFirst.sort((a, b) => firstOf(a) - firstOf(b) || rank.get(a)! - rank.get(b)!)) {
      const rest = set.spread(i, pods.get(i)!, ks, fit);
      p.work.add(WORK.repairStep * ks.length * pods.get(i)!);
      if (rest > 0) left.push([i, rest]);
    }
  }
  const all = set.all();
  const residual = demand.map(() => 0);
  for (const [i, n] of left) {
    residual[i]! += set.spread(i, n, all, fit);
    p.work.add(WORK.repairStep * all.length * n);
  }
  // what still fits nowhere, biggest first, where moving one other pod makes room for it
  const until = p.work.units + ROOM_MAKING_WORK;
  for (const i of biggestFirst(p, largestCap(p.bins), leftOverShapes(residual)))
    residual[i] = set.makeRoom(i, residual[i]!, until);
  // then where a pod of it swaps with a pod of another node (CPU-full nodes with free memory and memory-full nodes with
  // free CPU trade pods until one of them holds it)
  const swapUntil = p.work.units + SWAP_WORK;
  for (const i of biggestFirst(p, largestCap(p.bins), leftOverShapes(residual)))
    residual[i] = set.swapRoom(i, residual[i]!, swapUntil);
  return { set, residual };
}

/**
 * The spread nodes and what fits on none of them packed on its own (few pods), on whatever types suit it best: a packing
 * of its shapes only (half the time of one over every shape, whose pricing carries the others along).
 */
function packResidual(p: CgProblem, set: OpenNodes, residual: number[]): PackedNode[] {
  const shapes = leftOverShapes(residual);
  const rest = packBins(p.highs, {
    items: shapes.map((i) => p.items[i]!),
    demand: shapes.map((i) => residual[i]!),
    allBins: p.bins,
    work: p.work,
    budget: RESIDUAL_WORK,
  });
  const nodes = rest.nodes.map((n) => ({ ...n, items: n.items.map((k) => shapes[k]!) }));
  return emptyNewNodes(p, set, nodes);
}

/** The shapes some pods of which are still to place. */
function leftOverShapes(residual: number[]): number[] {
  return residual.flatMap((r, i) => (r > 0 ? [i] : []));
}

/** Work for packing what a whole-node solution's nodes do not hold. */
const RESIDUAL_WORK = 100_000;
/** Work for making room in those nodes for it first, by moving one pod out. */
const ROOM_MAKING_WORK = 100_000;
/** Work for making room by swapping two pods, after that. */
const SWAP_WORK = 300_000;
/** Work for emptying the nodes the residual was packed on into the others. */
const EMPTY_NEW_WORK = 100_000;

/**
 * The spread nodes plus the nodes what fit nowhere was packed on (`fresh`), with each fresh node emptied, emptiest
 * first, where every one of its pods finds a place on the other nodes: their free room, room one pod moved out makes, or
 * room a swap makes. The fresh nodes have free room of their own (packed on their own, few pods each), and what their
 * pods left for them now fits with a pod moved into that room.
 */
function emptyNewNodes(p: CgProblem, set: OpenNodes, fresh: PackedNode[]): PackedNode[] {
  let current = set.copy();
  const added = fresh.map((n) => current.adopt(n));
  // how full each fresh node is (its fullest dimension), once: the order they are tried in
  const fill = new Map(
    added.map((k) => {
      const node = current.nodes[k]!;
      const u = usage(p.items, node);
      return [k, Math.max(...p.bins[node.offer]!.cap.map((c, d) => (c > 0 ? u[d]! / c : 0)))];
    }),
  );
  const until = p.work.units + EMPTY_NEW_WORK;
  const maxCap = largestCap(p.bins);
  for (const victim of added.sort((a, b) => fill.get(a)! - fill.get(b)! || a - b)) {
    const trial = current.copy();
    const pods = trial.close(victim);
    const all = trial.all();
    const placed = biggestFirst(p, maxCap, pods.items.slice()).every((i) => {
      let n = pods.counts[pods.items.indexOf(i)]!;
      n = trial.spread(i, n, all);
      n = trial.makeRoom(i, n, until);
      return trial.swapRoom(i, n, until) === 0;
    });
    if (placed) current = trial;
  }
  return current.nodes.filter((n) => n.items.length > 0);
}

/** Shapes by their largest share of `cap`, biggest first. */
function biggestFirst(p: CgProblem, cap: number[], shapes: number[]): number[] {
  const big = (i: number): number => Math.max(...p.items[i]!.size.map((s, d) => (cap[d]! > 0 ? s / cap[d]! : 0)));
  return shapes.sort((a, b) => big(b) - big(a) || a - b);
}

/** Nodes being filled, with their free room: open one of a bin, first-fit pods into some of them. */
interface OpenNodes {
  nodes: PackedNode[];
  /** index of a new, empty node of bin j */
  open(j: number): number;
  /** every node's index, in order */
  all(): number[];
  /** first fit of n pods of shape i into the nodes `ks` that can hold it; returns how many did not fit */
  place(i: number, n: number, ks: number[]): number;
  /**
   * n pods of shape i, one at a time, each into the node of `ks` with room that `fit` scores best for it (by default
   * the one whose free room lines up best with the pod, see Fit); returns how many did not fit
   */
  spread(i: number, n: number, ks: number[], fit?: Fit): number;
  /**
   * n pods of shape i that fit no node's free room, each placed where a pod of another shape leaves for another node's
   * free room and the room it frees holds it, until `until` (counted work); returns how many found no place
   */
  makeRoom(i: number, n: number, until: number): number;
  /**
   * n pods of shape i that fit no node's free room, each placed on the first node X that holds it once one of its pods
   * (a) trades places with a pod (b) of another node Y: X's room plus a less b holds the pod, Y's room plus b less a
   * holds a; until `until` (counted work). Returns how many found no place.
   */
  swapRoom(i: number, n: number, until: number): number;
  /** adds a node with its pods; returns its index */
  adopt(node: PackedNode): number;
  /** takes every pod off node k and closes it (nothing fits into it any more); returns what it held */
  close(k: number): PackedNode;
  /** a copy of the nodes and their free room, to be changed on its own */
  copy(): OpenNodes;
}

/** The OpenNodes operations that copy, add, close and swap on `nodes` with their free room `rooms`. */
function reshaping(
  p: CgProblem,
  nodes: PackedNode[],
  rooms: number[][],
): Pick<OpenNodes, "copy" | "adopt" | "close" | "swapRoom"> {
  return {
    copy: () =>
      openNodes(
        p,
        nodes.map((n) => ({ offer: n.offer, items: n.items.slice(), counts: n.counts.slice() })),
        rooms.map((r) => r.slice()),
      ),
    adopt(node) {
      const u = usage(p.items, node);
      nodes.push({ offer: node.offer, items: node.items.slice(), counts: node.counts.slice() });
      rooms.push(p.bins[node.offer]!.cap.map((c, d) => c - u[d]!));
      return nodes.length - 1;
    },
    close(k) {
      const node = nodes[k]!;
      nodes[k] = { offer: node.offer, items: [], counts: [] };
      rooms[k] = rooms[k]!.map(() => -Infinity);
      return node;
    },
    swapRoom(i, n, until) {
      for (; n > 0 && p.work.units < until; n--) {
        const swap = swapMaking(p, i, { nodes, rooms });
        if (!swap) return n;
        const { x, a, y, b } = swap;
        const [size, sa, sb] = [p.items[i]!.size, p.items[a]!.size, p.items[b]!.size];
        takePod(nodes[x]!, a);
        takePod(nodes[y]!, b);
        addPods(nodes[x]!, b, 1);
        addPods(nodes[x]!, i, 1);
        addPods(nodes[y]!, a, 1);
        size.forEach((s, d) => {
          rooms[x]![d]! += sa[d]! - sb[d]! - s;
          rooms[y]![d]! += sb[d]! - sa[d]!;
        });
      }
      return n;
    },
  };
}

function openNodes(p: CgProblem, nodes: PackedNode[] = [], rooms: number[][] = []): OpenNodes {
  return {
    nodes,
    ...reshaping(p, nodes, rooms),
    open(j) {
      nodes.push({ offer: j, items: [], counts: [] });
      rooms.push(p.bins[j]!.cap.slice());
      return nodes.length - 1;
    },
    all: () => nodes.map((_, k) => k),
    place(i, n, ks) {
      const size = p.items[i]!.size;
      for (const k of ks) {
        if (n <= 0) break;
        const m = p.compatMask[nodes[k]!.offer]![i] === 1 ? fitCount(size, rooms[k]!, n) : 0;
        if (m <= 0) continue;
        addPods(nodes[k]!, i, m);
        size.forEach((s, d) => (rooms[k]![d]! -= s * m));
        n -= m;
      }
      return n;
    },
    spread(i, n, ks, fit = "aligned") {
      const size = p.items[i]!.size;
      for (; n > 0; n--) {
        const k = bestRoom(p, i, { ks, nodes, rooms, fit });
        if (k < 0) return n;
        addPods(nodes[k]!, i, 1);
        size.forEach((s, d) => (rooms[k]![d]! -= s));
      }
      return 0;
    },
    makeRoom(i, n, until) {
      for (; n > 0 && p.work.units < until; n--) {
        const move = roomMaking(p, i, { nodes, rooms });
        if (!move) return n;
        const [gone, come] = [p.items[move.out]!.size, p.items[i]!.size];
        takePod(nodes[move.from]!, move.out);
        addPods(nodes[move.to]!, move.out, 1);
        addPods(nodes[move.from]!, i, 1);
        gone.forEach((s, d) => {
          rooms[move.from]![d]! += s - come[d]!;
          rooms[move.to]![d]! -= s;
        });
      }
      return n;
    },
  };
}

/**
 * The first node that holds shape i once one pod of another shape (`out`) leaves it, with another node whose free room
 * holds that pod (`to`): after a spread the free room is split among the nodes in pieces each too small for the pod,
 * and a smaller pod moving out joins two pieces.
 */
function roomMaking(
  p: CgProblem,
  i: number,
  { nodes, rooms }: { nodes: PackedNode[]; rooms: number[][] },
): { from: number; out: number; to: number } | undefined {
  const size = p.items[i]!.size;
  for (let from = 0; from < nodes.length; from++) {
    if (p.compatMask[nodes[from]!.offer]![i] !== 1) continue;
    for (const out of nodes[from]!.items) {
      const freed = p.items[out]!.size;
      if (out === i || size.some((s, d) => s > rooms[from]![d]! + freed[d]! + 1e-9)) continue;
      p.work.add(WORK.repairStep * nodes.length);
      const to = nodes.findIndex(
        (node, k) => k !== from && p.compatMask[node.offer]![out] === 1 && fitCount(freed, rooms[k]!, 1) === 1,
      );
      if (to >= 0) return { from, out, to };
    }
  }
  return undefined;
}

/**
 * The first node x that holds shape i once one of its pods (a) trades places with a pod (b) of another node y, if any:
 * where the free room is in CPU on some nodes and in memory on others, neither a pod nor a single move fits, but a
 * memory-heavy pod leaving a node for a CPU-heavy one frees the room for both.
 */
function swapMaking(
  p: CgProblem,
  i: number,
  state: { nodes: PackedNode[]; rooms: number[][] },
): { x: number; a: number; y: number; b: number } | undefined {
  const size = p.items[i]!.size;
  for (let x = 0; x < state.nodes.length; x++) {
    if (p.compatMask[state.nodes[x]!.offer]![i] !== 1) continue;
    for (const a of state.nodes[x]!.items) {
      const sa = p.items[a]!.size;
      // the most b may take on x
      const most = state.rooms[x]!.map((r, d) => r + sa[d]! - size[d]!);
      if (a === i || most.some((m) => m < -1e-9)) continue;
      const partner = tradePartner(p, state, { x, a, most });
      if (partner) return { x, a, ...partner };
    }
  }
  return undefined;
}

/** The first pod (b) of another node (y) that a pod (a) of node x can trade places with, b taking at most `most` on x. */
function tradePartner(
  p: CgProblem,
  { nodes, rooms }: { nodes: PackedNode[]; rooms: number[][] },
  { x, a, most }: { x: number; a: number; most: number[] },
): { y: number; b: number } | undefined {
  const sa = p.items[a]!.size;
  const xBin = nodes[x]!.offer;
  let looked = nodes.length;
  let found: { y: number; b: number } | undefined;
  for (let y = 0; y < nodes.length && !found; y++) {
    if (y === x || p.compatMask[nodes[y]!.offer]![a] !== 1) continue;
    const room = rooms[y]!;
    looked += nodes[y]!.items.length;
    const b = nodes[y]!.items.find(
      (b) =>
        b !== a &&
        p.compatMask[xBin]![b] === 1 &&
        p.items[b]!.size.every((s, d) => s <= most[d]! + 1e-9 && room[d]! + s - sa[d]! >= -1e-9),
    );
    if (b !== undefined) found = { y, b };
  }
  p.work.add(WORK.repairStep * looked);
  return found;
}

/** One pod of shape `item` off the node. */
function takePod(node: PackedNode, item: number): void {
  const k = node.items.indexOf(item);
  if (--node.counts[k]! > 0) return;
  node.items.splice(k, 1);
  node.counts.splice(k, 1);
}

/** Which node of `ks` (free room `rooms[k]`) with room for a pod of shape i `fit` scores best for it, or -1. */
function bestRoom(
  p: CgProblem,
  i: number,
  { ks, nodes, rooms, fit }: { ks: number[]; nodes: PackedNode[]; rooms: number[][]; fit: Fit },
): number {
  const size = p.items[i]!.size;
  let best = -1;
  let bestScore = -Infinity;
  for (const k of ks) {
    const bin = nodes[k]!.offer;
    if (p.compatMask[bin]![i] !== 1 || fitCount(size, rooms[k]!, 1) < 1) continue;
    const score = FIT_SCORES[fit](size, rooms[k]!, p.bins[bin]!.cap);
    if (score > bestScore) [best, bestScore] = [k, score];
  }
  return best;
}

/**
 * How a spread picks a pod's node: `aligned`, the most free room where the pod is big (Σ_d pod share × free share);
 * `evened`, the same less EVEN_WEIGHT × how unevenly the node's CPU and memory are then used. Neither packs every
 * solution best (before repair, mixed-arch all priced On-Demand: aligned 57.89, evened 57.71 $/h; many-small all priced
 * On-Demand: 5.50 and 5.69), so plans are drawn with both.
 */
type Fit = "aligned" | "evened";
const FITS: Fit[] = ["aligned", "evened"];
const EVEN_WEIGHT = 0.1;
const FIT_SCORES: Record<Fit, (size: number[], room: number[], cap: number[]) => number> = {
  aligned: (size, room, cap) => {
    let score = 0;
    for (let d = 0; d < size.length; d++) if (cap[d]! > 0) score += (size[d]! / cap[d]!) * (room[d]! / cap[d]!);
    return score;
  },
  evened: (size, room, cap) =>
    FIT_SCORES.aligned(size, room, cap) -
    EVEN_WEIGHT * Math.abs((room[0]! - size[0]!) / cap[0]! - (room[1]! - size[1]!) / cap[1]!),
};

/** Each shape's pods dealt to the bins in proportion to a fractional assignment (largest remainders): bin → shape → pods. */
function dealPods(assignment: FluidBound["assignment"], demand: number[]): Map<number, Map<number, number>> {
  const perBin = new Map<number, Map<number, number>>();
  const byShape = new Map<number, Array<{ bin: number; pods: number }>>();
  for (const a of assignment) byShape.set(a.shape, [...(byShape.get(a.shape) ?? []), a]);
  byShape.forEach((parts, i) => {
    const counts = parts.map((a) => Math.floor(a.pods + 1e-9));
    let left = demand[i]! - counts.reduce((s, c) => s + c, 0);
    const order = parts.map((_, k) => k).sort((a, b) => fracOf(parts[b]!.pods) - fracOf(parts[a]!.pods) || a - b);
    for (let k = 0; left > 0; k = (k + 1) % order.length, left--) counts[order[k]!]!++;
    // the covering rows are ≥: a solution may hold more pods than there are; take the surplus from the parts of smallest fraction
    for (let k = order.length - 1; left < 0; k = (k + order.length - 1) % order.length) {
      if (counts[order[k]!]! <= 0) continue;
      counts[order[k]!]!--;
      left++;
    }
    parts.forEach((a, k) => {
      if (counts[k]! <= 0) return;
      const m = perBin.get(a.bin) ?? new Map<number, number>();
      m.set(i, (m.get(i) ?? 0) + counts[k]!);
      perBin.set(a.bin, m);
    });
  });
  return perBin;
}

/**
 * A plan from the fluid LP: each shape's pods dealt to the node types in proportion to the LP (largest remainders),
 * then each type's pods packed biggest first onto as many nodes of that type as they need (typeNodes). With many
 * small pods per node this is within a node or so per type of the fluid bound.
 */
export function fluidPlan(p: CgProblem, fluid: FluidBound, demand: number[]): PackedNode[] {
  return [...dealPods(fluid.assignment, demand)]
    .sort((a, b) => a[0] - b[0])
    .flatMap(([j, pods]) => typeNodes(p, j, pods));
}

function fracOf(v: number): number {
  return v - Math.floor(v + 1e-9);
}

/**
 * Pods (shape -> count) packed onto nodes of bin j, biggest shapes first: spread over as many nodes as their load needs
 * at least (see OpenNodes.spread), what does not fit there first fit onto more nodes.
 */
function typeNodes(p: CgProblem, j: number, pods: Map<number, number>): PackedNode[] {
  const set = openNodes(p);
  const cap = p.bins[j]!.cap;
  const load = cap.map((_, d) => [...pods].reduce((s, [i, n]) => s + p.items[i]!.size[d]! * n, 0));
  const need = Math.max(1, ...load.map((l, d) => (cap[d]! > 0 ? Math.ceil(l / cap[d]! - 1e-9) : 0)));
  const ks = Array.from({ length: need }, () => set.open(j));
  for (const i of biggestFirst(p, cap, [...pods.keys()])) {
    let left = set.place(i, set.spread(i, pods.get(i)!, ks), set.all());
    while (left > 0) left = set.place(i, left, [set.open(j)]);
    p.work.add(WORK.repairStep * set.nodes.length * pods.get(i)!);
  }
  return set.nodes.filter((n) => n.items.length > 0);
}

/** The bound's column generation: exact pricing escalating to MILP, smoothing, LP pricing first; it stops near the plan's cost. */
function boundOptions(
  p: CgProblem,
  { end, planCost, cgShare }: { end: number; planCost?: number; cgShare: number },
): CgOptions {
  const budget = end - p.work.units;
  return {
    deadline: p.work.units + (planCost !== undefined ? cgShare : 1) * budget,
    maxIterations: 100_000,
    exactPerIteration: 6,
    nodeLimit: 300,
    maxNodeLimit: 30_000,
    milpFallback: true,
    lagrangianScreening: true,
    keepEffort: true,
    smoothing: BOUND_SMOOTHING,
    ...(planCost !== undefined ? { stopAt: planCost / (1 + BOUND_STOP_GAP) } : {}),
    lpPerIteration: p.bins.length,
    lpColumns: BOUND_LP_COLUMNS,
  };
}

/** f's result, computed on the first call only. */
function lazy<T>(f: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = f();
      done = true;
    }
    return value;
  };
}

/** Share of what the bound left for rounding its LP (the integer program gets MILP_SHARE of the rest). */
const ROUND_SHARE = 0.4;
/** Rounding takes a pattern's LP value up from this fraction. */
const ROUND_UP_AT = 0.6;

function cheaper(ctx: Ctx, a: PackedNode[], b: PackedNode[]): PackedNode[] {
  return totalWeight(ctx.p, b) < totalWeight(ctx.p, a) * (1 - 1e-9) ? b : a;
}

/**
 * Rounds the bound's LP (whose patterns may hold a dominated shape's pod in a bigger shape's room, see dominancePairs):
 * takes every pattern whose value rounds up from ROUND_UP_AT, filling each copy with what is still unplaced (a bigger
 * shape's room with a smaller one where the bigger is used up), re-solves on the rest and repeats.
 */
function roundDive(
  ctx: Ctx,
  {
    master,
    demand,
    pairs,
    deadline,
  }: { master: MasterLp; demand: number[]; pairs: Array<[number, number]>; deadline: number },
): PackedNode[] | undefined {
  const smaller = new Map<number, number[]>();
  for (const [i, k] of pairs) smaller.set(k, [...(smaller.get(k) ?? []), i]);
  const residual = demand.slice();
  const nodes: PackedNode[] = [];
  while (residual.some((r) => r > 0)) {
    if (ctx.p.work.units > deadline) return undefined;
    master.setDemand(residual);
    const lp = master.solve();
    const order = byValue(lp.x);
    const take = (j: number): boolean => {
      const node = takeWithRoom(master.columns[j]!, residual, smaller);
      if (node) nodes.push(node);
      return node !== undefined;
    };
    let taken = 0;
    for (const [x, j] of order) for (let c = 0; c < roundedCopies(x) && take(j); c++) taken++;
    // nothing rounds up: the largest value that still places a pod
    if (taken > 0 || order.some(([, j]) => take(j))) continue;
    // What the patterns cannot take (room held through a chain of smaller shapes): one best single-shape node each.
    nodes.push(...singleShapeNodes(ctx, residual));
  }
  return nodes;
}

/** Columns with a positive LP value, largest first: [value, column]. */
function byValue(x: number[]): Array<readonly [number, number]> {
  return x
    .map((v, j) => [v, j] as const)
    .filter(([v]) => v > 1e-9)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
}

/** ⌊x⌋, or ⌈x⌉ when the fraction is at least ROUND_UP_AT. */
function roundedCopies(x: number): number {
  return Math.max(Math.floor(x + 1e-7), x - Math.floor(x) >= ROUND_UP_AT ? Math.ceil(x) : 0);
}

/** Every pod of `residual` on best single-shape nodes (initialColumns), which always exist for placeable shapes. */
function singleShapeNodes(ctx: Ctx, residual: number[]): PackedNode[] {
  const nodes: PackedNode[] = [];
  for (const col of initialColumns(ctx.p, residual))
    for (let n = takeColumn(ctx, col, residual); n; n = takeColumn(ctx, col, residual)) nodes.push(n);
  return nodes;
}

/** One copy of a pattern filled from `residual`: each shape's room with that shape, what is left with shapes it dominates. */
function takeWithRoom(col: Column, residual: number[], smaller: Map<number, number[]>): PackedNode | undefined {
  const got = new Map<number, number>();
  const take = (i: number, n: number): number => {
    const m = Math.min(n, residual[i]!);
    if (m <= 0) return 0;
    residual[i]! -= m;
    got.set(i, (got.get(i) ?? 0) + m);
    return m;
  };
  col.items.forEach((k, q) => {
    let room = col.counts[q]! - take(k, col.counts[q]!);
    for (const i of smaller.get(k) ?? []) if (room > 0) room -= take(i, room);
  });
  if (got.size === 0) return undefined;
  return { offer: col.bin, items: [...got.keys()], counts: [...got.values()] };
}

/** Seed patterns that are valid columns here: a kept bin, every shape compatible, counts ≤ demand, within capacity. */
function seedColumns(p: CgProblem, kept: number[], seed: PackedNode[], demand: number[]): Column[] {
  const binOf = new Map(kept.map((offer, j) => [offer, j]));
  return seed.flatMap((s) => {
    const bin = binOf.get(s.offer);
    if (bin === undefined || s.items.length === 0) return [];
    const ok = s.items.every((i, k) => p.compatMask[bin]![i] === 1 && s.counts[k]! >= 1 && s.counts[k]! <= demand[i]!);
    return ok && fits(p.items, s, p.bins[bin]!) ? [{ bin, items: s.items.slice(), counts: s.counts.slice() }] : [];
  });
}
