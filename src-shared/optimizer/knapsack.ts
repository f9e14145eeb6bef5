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
  /** Proven upper bound on the optimum (equals value when exact) */
  upperBound: number;
  exact: boolean;
}

/**
 * Upper bound of the bounded knapsack: for each dimension alone, the fractional (LP) optimum
 * — items by value per unit of that dimension, last one split — and the smallest of those bounds.
 * Each single-dimension relaxation drops constraints, so each is a valid upper bound.
 */
export function fractionalBound(items: readonly KnapsackItem[], cap: readonly number[], order?: number[][], from = 0): number {
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
 * Exact branch and bound (depth-first, largest counts first, per-dimension fractional bounds).
 * Items must already be sorted by a good greedy order. Stops after `nodeLimit` nodes and then
 * reports the root bound as the (still valid) upper bound.
 */
export function solveKnapsack(items: readonly KnapsackItem[], cap: readonly number[], nodeLimit = 20_000): KnapsackResult {
  const n = items.length;
  const order = Array.from({ length: DIMS }, (_, d) => sortByDensity(items, d));
  const rootBound = fractionalBound(items, cap, order, 0);
  const counts = new Array<number>(n).fill(0);
  let bestCounts = counts.slice();
  let best = 0;
  let nodes = 0;
  let aborted = false;
  const rem = cap.slice();

  const maxFit = (k: number): number => {
    const it = items[k]!;
    let m = it.maxCount;
    for (let d = 0; d < DIMS; d++) {
      const s = it.size[d]!;
      if (s > 0) m = Math.min(m, Math.floor(rem[d]! / s + 1e-9));
    }
    return m;
  };

  const dfs = (k: number, value: number): void => {
    if (++nodes > nodeLimit) {
      aborted = true;
      return;
    }
    if (value > best) {
      best = value;
      bestCounts = counts.slice();
    }
    if (k === n || value + fractionalBound(items, rem, order, k) <= best * (1 + 1e-12) + 1e-12) return;
    const it = items[k]!;
    for (let c = maxFit(k); c >= 0 && !aborted; c--) {
      counts[k] = c;
      for (let d = 0; d < DIMS; d++) rem[d]! -= c * it.size[d]!;
      dfs(k + 1, value + c * it.value);
      for (let d = 0; d < DIMS; d++) rem[d]! += c * it.size[d]!;
    }
    counts[k] = 0;
  };
  dfs(0, 0);
  return { value: best, counts: bestCounts, upperBound: aborted ? Math.max(best, rootBound) : best, exact: !aborted };
}
