// Pricing subproblem of column generation: the most valuable set of pod shapes one node can hold (cpu, memory, pods, GPUs).

/** Dimensions in this order: cpu millicores, memory MiB, pod slots, GPUs. */
export const DIMS = 4;

export interface KnapsackItem {
  /** Dual price of one pod of this shape */
  value: number;
  /** Size per pod in each dimension [cpu, mem, 1, gpus] */
  size: readonly number[];
  /** At most this many (the shape's remaining demand) */
  maxCount: number;
}

export interface KnapsackResult {
  value: number;
  counts: number[];
  /** Proven upper bound on the optimum (equals value when exact, unless value is below the search's floor) */
  upperBound: number;
  /** the search ran to completion, so upperBound is the optimum or, when nothing beat the floor, the floor */
  exact: boolean;
  /** search nodes visited (the work done) */
  nodes: number;
}

/**
 * Upper bound of the bounded knapsack: for each dimension alone, the fractional (LP) optimum
 * — items by value per unit of that dimension, last one split — and the smallest of those bounds.
 * Each single-dimension relaxation drops constraints, so each is a valid upper bound.
 */
export function fractionalBound(
  items: readonly KnapsackItem[],
  cap: readonly number[],
  order?: number[][],
  from = 0,
): number {
  let best = Infinity;
  for (let d = 0; d < DIMS; d++) {
    const ord = order ? order[d]! : sortByDensity(items, d);
    let room = cap[d]!;
    let value = 0;
    for (const j of ord) {
      if (j < from) continue;
      const it = items[j]!;
      const s = it.size[d]!;
      if (s === 0) {
        value += it.value * it.maxCount;
        continue;
      }
      if (room <= 0) continue;
      const take = Math.min(it.maxCount, room / s);
      value += take * it.value;
      room -= take * s;
    }
    if (value < best) best = value;
  }
  return best;
}

function sortByDensity(items: readonly KnapsackItem[], d: number): number[] {
  const idx = items.map((_, j) => j);
  const density = (j: number): number => {
    const s = items[j]!.size[d]!;
    return s === 0 ? Infinity : items[j]!.value / s;
  };
  return idx.sort((a, b) => density(b) - density(a));
}

/**
 * Lagrangian bound: for any multipliers λ ≥ 0 on the capacity rows,
 * λ·cap + Σ_i maxCount_i · max(0, value_i − λ·size_i) bounds the knapsack from above (it is the LP
 * dual objective with λ and the best item-bound duals). Exact at the LP optimum's λ.
 */
export function lagrangianBound(
  items: readonly KnapsackItem[],
  cap: readonly number[],
  lambda: readonly number[],
  from = 0,
): number {
  let ub = 0;
  for (let d = 0; d < DIMS; d++) ub += lambda[d]! * cap[d]!;
  for (let j = from; j < items.length; j++) {
    const it = items[j]!;
    let reduced = it.value;
    for (let d = 0; d < DIMS; d++) reduced -= lambda[d]! * it.size[d]!;
    if (reduced <= 0) continue;
    // n_j ≤ what fits alone in the remaining room is a valid bound too, and much tighter than the demand
    let fit = it.maxCount;
    for (let d = 0; d < DIMS; d++) if (it.size[d]! > 0) fit = Math.min(fit, Math.floor(cap[d]! / it.size[d]! + 1e-9));
    ub += reduced * fit;
  }
  return ub;
}

/**
 * Multipliers by exact coordinate descent on the (convex, piecewise-linear) Lagrangian bound: along
 * one dimension the minimum sits where the capacity equals the size of the items still worth taking,
 * i.e. at a weighted median of the items' break points.
 */
export function lagrangianMultipliers(items: readonly KnapsackItem[], cap: readonly number[], rounds = 4): number[] {
  const lambda = new Array<number>(DIMS).fill(0);
  for (let round = 0; round < rounds; round++) {
    for (let d = 0; d < DIMS; d++) if (cap[d]! > 0) lambda[d] = coordinateMinimum(items, cap, lambda, d);
  }
  return lambda;
}

/** Best λ_d with the other multipliers fixed. */
function coordinateMinimum(
  items: readonly KnapsackItem[],
  cap: readonly number[],
  lambda: readonly number[],
  d: number,
): number {
  // break point of each item along λ_d (where its reduced value hits 0) and the room it would take
  const points: Array<[number, number]> = [];
  for (const it of items) {
    const s = it.size[d]!;
    if (s <= 0) continue;
    let rest = it.value;
    for (let e = 0; e < DIMS; e++) if (e !== d) rest -= lambda[e]! * it.size[e]!;
    if (rest > 0) points.push([rest / s, s * it.maxCount]);
  }
  points.sort((a, b) => b[0] - a[0]);
  let used = 0;
  for (const [at, weight] of points) {
    used += weight;
    if (used >= cap[d]!) return at;
  }
  return 0;
}

/** The state of one branch-and-bound search (the counts and remaining capacity move as it dives). */
interface Search {
  items: readonly KnapsackItem[];
  lambda: ReturnType<typeof lagrangianMultipliers>;
  order: Array<ReturnType<typeof sortByDensity>>;
  nodeLimit: number;
  floor: number;
  rem: number[];
  counts: number[];
  best: number;
  bestCounts: number[];
  nodes: number;
  aborted: boolean;
}

/** How many of item k still fit the remaining capacity. */
function maxFit(s: Search, k: number): number {
  const it = s.items[k]!;
  let m = it.maxCount;
  for (let d = 0; d < DIMS; d++) {
    const size = it.size[d]!;
    if (size > 0) m = Math.min(m, Math.floor(s.rem[d]! / size + 1e-9));
  }
  return m;
}

function nodeBound(s: Search, k: number): number {
  return Math.min(lagrangianBound(s.items, s.rem, s.lambda, k), fractionalBound(s.items, s.rem, s.order, k));
}

function dfs(s: Search, k: number, value: number): void {
  if (++s.nodes > s.nodeLimit) {
    s.aborted = true;
    return;
  }
  if (value > s.best) {
    s.best = value;
    s.bestCounts = s.counts.slice();
  }
  const target = Math.max(s.best, s.floor);
  if (k === s.items.length || value + nodeBound(s, k) <= target * (1 + 1e-12) + 1e-12) return;
  const it = s.items[k]!;
  for (let c = maxFit(s, k); c >= 0 && !s.aborted; c--) {
    s.counts[k] = c;
    for (let d = 0; d < DIMS; d++) s.rem[d]! -= c * it.size[d]!;
    dfs(s, k + 1, value + c * it.value);
    for (let d = 0; d < DIMS; d++) s.rem[d]! += c * it.size[d]!;
  }
  s.counts[k] = 0;
}

/**
 * Exact branch and bound (depth-first, largest counts first) with the smaller of the Lagrangian
 * bound (multipliers fixed at the root) and the single-dimension bounds at every node. Stops after `nodeLimit` nodes and then reports the root
 * bound as the (still valid) upper bound.
 *
 * `floor`: only packings worth more than this are of interest (pricing: the node's cost). Subtrees
 * whose bound is ≤ floor are pruned, so when nothing beats it the search ends sooner, returns the
 * best packing it met (possibly below the true optimum) and reports `floor` as the upper bound:
 * the search then proved optimum ≤ floor.
 */
export function solveKnapsack(
  given: readonly KnapsackItem[],
  cap: readonly number[],
  nodeLimit = 20_000,
  {
    start,
    floor = 0,
  }: {
    /** a known packing (e.g. the rounded LP) to start from: prunes more and is returned if nothing beats it */
    start?: { counts: number[]; value: number };
    floor?: number;
  } = {},
): KnapsackResult {
  const input = given.map((it) => ({
    ...it,
    maxCount: Math.min(it.maxCount, ...it.size.map((s, d) => (s > 0 ? Math.floor(cap[d]! / s + 1e-9) : Infinity))),
  }));
  const lambda = lagrangianMultipliers(input, cap);
  const rootBound = Math.min(lagrangianBound(input, cap, lambda), fractionalBound(input, cap));
  // Branch in the caller's order (a good greedy order): the first dive is the greedy packing.
  const counts = new Array<number>(input.length).fill(0);
  const search: Search = {
    items: input,
    lambda,
    order: Array.from({ length: DIMS }, (_, d) => sortByDensity(input, d)),
    nodeLimit,
    floor,
    rem: cap.slice(),
    counts,
    best: start ? start.value : 0,
    bestCounts: start ? start.counts.slice() : counts.slice(),
    nodes: 0,
    aborted: false,
  };
  dfs(search, 0, 0);
  const { best, bestCounts, aborted, nodes } = search;
  // Exact search: the optimum is best, or at most floor when nothing beat it (those subtrees were pruned at floor).
  const proven = Math.max(best, Math.min(floor, rootBound));
  return {
    value: best,
    counts: bestCounts,
    upperBound: aborted ? Math.max(best, rootBound) : proven,
    exact: !aborted,
    nodes: Math.min(nodes, nodeLimit),
  };
}
