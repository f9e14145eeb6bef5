// Column generation over node patterns: the configuration LP (solved with HiGHS), its duals, and the Farley lower bound.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import highsModule from "highs";
import type { Highs } from "highs";
import {
  DIMS,
  lagrangianBound,
  lagrangianMultipliers,
  solveKnapsack,
  type KnapsackItem,
  type KnapsackResult,
} from "./knapsack.js";
import { solveKnapsackLp } from "./knapsack-lp.js";

type HighsLoader = (options?: { wasmModule?: WebAssembly.Module }) => Promise<Highs>;
// The package's types describe a CommonJS module, while Node's ESM resolution loads its ESM build: accept either shape.
const loadHighs: HighsLoader =
  (highsModule as unknown as { default?: HighsLoader }).default ?? (highsModule as unknown as HighsLoader);

let wasmPromise: Promise<WebAssembly.Module> | undefined;
/**
 * HiGHS's wasm, compiled once per process: a worker thread handed it (getHighs) compiles nothing, and the optimised code
 * the engine makes of its hot functions serves every thread.
 */
export function highsWasm(): Promise<WebAssembly.Module> {
  wasmPromise ??= readFile(createRequire(import.meta.url).resolve("highs/runtime")).then((bytes) =>
    WebAssembly.compile(bytes),
  );
  return wasmPromise;
}

let highsPromise: Promise<Highs> | undefined;
/** HiGHS is a wasm module; load it once per thread, from `wasm` where the thread was handed one. */
export function getHighs(wasm?: WebAssembly.Module): Promise<Highs> {
  highsPromise ??= (wasm ? Promise.resolve(wasm) : highsWasm()).then((wasmModule) => loadHighs({ wasmModule }));
  return highsPromise;
}

/**
 * CPU time of this process in ms: budgets are in CPU time so that a plan does not get worse
 * because other processes share the machine.
 */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** A pod shape to cover: size per pod [cpu, mem, 1, gpus] and compatibility keys. */
export interface CgItem {
  size: number[];
  arch?: string;
  zone?: string;
  /** instance families or categories the pod may run on (node selector); absent = any */
  families?: string[];
}

/** A node type one can buy: capacity [cpu, mem, pods, gpus] and its cost in the objective. */
export interface CgBin {
  cap: number[];
  weight: number;
  arch: string;
  zone: string;
  /** instance family ("m6i") and category ("m"), for pods restricted to some families */
  family?: string;
  category?: string;
}

/**
 * Deterministic measure of the work done (knapsack search nodes, simplex iterations, bounds computed):
 * budgets are counted in it rather than in time, so the same input always gives the same plan, on any
 * machine and under any load.
 */
/** Work units per operation, in proportion to their measured CPU cost (about 1 unit per microsecond). */
export const WORK = {
  /** one branch-and-bound node of a knapsack search */
  knapsackNode: 2,
  /** setting up one knapsack search (multipliers, bounds) */
  knapsackSearch: 20,
  /** one bin's bound in a pricing round, plus per shape with a positive dual */
  binBound: 3,
  binBoundPerShape: 0.05,
  /** a HiGHS solve call (setup, presolve) */
  lpSolve: 60,
  /** one simplex iteration of the master LP */
  simplexIteration: 25,
  /** one iteration of the small knapsack simplex (solveKnapsackLp), plus per shape */
  smallSimplexIteration: 2,
  smallSimplexPerItem: 0.06,
  /** one simplex iteration of a per-bin knapsack LP */
  knapsackLpIteration: 4,
  /** a knapsack MILP by HiGHS */
  knapsackMilp: 3000,
  /** one simplex iteration inside the integer program over the patterns */
  milpIteration: 25,
  /** one progress check of the integer program, per column × row (HiGHS's work between checks grows with both, measured) */
  milpCheck: 0.5,
  /** one simplex iteration of the fluid LP (fluid.ts) */
  fluidIteration: 100,
  /** one simplex iteration inside the fluid MILP (fluid.ts), plus per column of the model */
  fluidMilpIteration: 100,
  fluidMilpPerColumn: 0.015,
  /** one (node, pod shape) pair looked at by the local repair */
  repairStep: 0.2,
};

export class WorkMeter {
  units = 0;
  add(n: number): void {
    this.units += n;
  }
}

/** One node filled with `counts[k]` pods of shape `items[k]`. */
export interface Column {
  bin: number;
  items: number[];
  counts: number[];
}

export interface CgProblem {
  highs: Highs;
  items: CgItem[];
  bins: CgBin[];
  /** bin -> indices of items it can hold at least one of */
  compat: number[][];
  /** bin -> 1 for items it can hold (same as compat, for fast lookups) */
  compatMask: Uint8Array[];
  /** persistent per-bin knapsack LPs (faster than knapsackLpRound); the owner disposes them */
  knapsackLps?: KnapsackLps;
  /** work done so far, against which every deadline is set */
  work: WorkMeter;
}

export interface LpSolution {
  x: number[];
  duals: number[];
  /** reduced cost of each column */
  reducedCosts: number[];
  objective: number;
}

export interface CgResult {
  lp: LpSolution;
  /** Farley bound: valid lower bound on the LP optimum, hence on any integer plan */
  lowerBound: number;
  /** true when pricing proved no column has negative reduced cost (LP optimum reached) */
  converged: boolean;
  iterations: number;
}

export interface CgOptions {
  /** stop when the work meter (p.work.units) passes this */
  deadline: number;
  maxIterations: number;
  /** exact knapsacks per iteration at most (bins taken in decreasing bound order) */
  exactPerIteration: number;
  /** branch-and-bound node budget per knapsack at first */
  nodeLimit: number;
  /** budget it may grow to when pricing finds no column */
  maxNodeLimit: number;
  /** after the exact ones, this many more bins get a greedy dive for an improving column */
  greedyPerIteration?: number;
  /** first solve the knapsack LPs of this many bins (the most promising); the searches below only when that finds no column */
  lpPerIteration?: number;
  /** at most this many of those LP columns per round (highest ratio first) */
  lpColumns?: number;
  /** once pricing had to search harder, keep searching that hard (for bounds) */
  keepEffort?: boolean;
  /** also bound each bin with Lagrangian multipliers before choosing which to solve exactly */
  lagrangianScreening?: boolean;
  /** when the branch and bound hits its node limit, solve that knapsack exactly with the HiGHS MILP solver */
  milpFallback?: boolean;
  /** when pricing still finds nothing at the largest node budget, solve up to this many bins exactly per iteration */
  maxExactPerIteration?: number;
  /**
   * Start each exact knapsack from its LP relaxation (default true). Worth it when nodes hold many
   * pods (the rounded LP is then within a few pods of optimal); with few big pods per node the branch
   * and bound alone is exact and the per-bin HiGHS solves only cost time.
   */
  lpStart?: boolean;
  /**
   * Dual smoothing (Wentges) weight α in [0, 1): price at α·center + (1 − α)·master duals, where the center is
   * the dual point of the best bound so far scaled to be feasible. Damps the duals' oscillation that makes
   * a bound's column generation tail off; 0 (default) prices at the master's duals.
   */
  smoothing?: number;
  /** stop once the bound reaches this (e.g. close enough to a known plan's cost) */
  stopAt?: number;
}

export function compatible(item: CgItem, bin: CgBin): boolean {
  if (item.arch !== undefined && item.arch !== bin.arch) return false;
  if (item.zone !== undefined && item.zone !== bin.zone) return false;
  if (item.families && !item.families.some((f) => f === bin.family || f === bin.category)) return false;
  for (let d = 0; d < DIMS; d++) if (item.size[d]! > bin.cap[d]!) return false;
  return true;
}

/**
 * Drops bins that another bin with the same arch and zone (and family, when some pod is restricted to
 * families) beats on every capacity at no more cost: any node pattern on a dropped bin fits the
 * dominating one for less, so neither plans nor bounds get worse.
 */
export function undominatedBins(bins: CgBin[], items: CgItem[] = []): number[] {
  const byFamily = items.some((it) => it.families !== undefined);
  const order = bins.map((_, i) => i).sort((a, b) => bins[a]!.weight - bins[b]!.weight || a - b);
  const kept: number[] = [];
  for (const i of order) {
    const b = bins[i]!;
    const dominated = kept.some((k) => {
      const o = bins[k]!;
      if (byFamily && o.family !== b.family) return false;
      return o.arch === b.arch && o.zone === b.zone && o.cap.every((c, d) => c >= b.cap[d]!);
    });
    if (!dominated) kept.push(i);
  }
  return kept;
}

export function compatLists(items: CgItem[], bins: CgBin[]): { compat: number[][]; compatMask: Uint8Array[] } {
  const compat = bins.map((b) => items.flatMap((it, i) => (compatible(it, b) ? [i] : [])));
  const compatMask = compat.map((list) => {
    const m = new Uint8Array(items.length);
    for (const i of list) m[i] = 1;
    return m;
  });
  return { compat, compatMask };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(15);
}

/**
 * Master LP kept alive in HiGHS: minimise Σ weight·x over columns subject to Σ counts·x ≥ demand,
 * x ≥ 0. Adding columns or changing demands re-solves from the previous basis (a few pivots), which
 * is what makes column generation fast enough.
 */
export class MasterLp {
  readonly columns: Column[] = [];
  private readonly model: ReturnType<Highs["createModel"]>;
  private demand: number[];

  /** exchange columns (dual-optimal inequalities) come first in HiGHS's columns; solutions leave them out */
  private readonly exchanges: number;

  constructor(
    private readonly p: CgProblem,
    demand: number[],
    exchanges: Array<[number, number]> = [],
  ) {
    this.model = p.highs.createModel();
    this.model.options.set({ output_flag: false });
    this.demand = demand.slice();
    for (const b of demand) this.model.addRow(Math.max(0, b), p.highs.infinity, { indices: [], values: [] });
    // A pod of shape k's slot may hold a pod of a shape i it dominates: +1 on row i, −1 on row k, at no cost.
    for (const [i, k] of exchanges) {
      const [lo, hi] =
        i < k
          ? [
              [i, 1],
              [k, -1],
            ]
          : [
              [k, -1],
              [i, 1],
            ];
      this.model.addCol(0, 0, p.highs.infinity, { indices: [lo![0]!, hi![0]!], values: [lo![1]!, hi![1]!] });
    }
    this.exchanges = exchanges.length;
  }

  add(columns: Column[]): void {
    for (const c of columns) {
      const order = c.items.map((_, k) => k).sort((a, b) => c.items[a]! - c.items[b]!);
      this.model.addCol(this.p.bins[c.bin]!.weight, 0, this.p.highs.infinity, {
        indices: order.map((k) => c.items[k]!),
        values: order.map((k) => c.counts[k]!),
      });
      this.columns.push(c);
    }
  }

  setDemand(demand: number[]): void {
    demand.forEach((b, i) => {
      if (b !== this.demand[i]) this.model.changeRowBounds(i, Math.max(0, b), this.p.highs.infinity);
    });
    this.demand = demand.slice();
  }

  solve(): LpSolution {
    this.model.run();
    this.p.work.add(WORK.lpSolve + WORK.simplexIteration * Number(this.model.info.get("simplex_iteration_count")));
    if (this.model.getModelStatus() !== this.p.highs.constants.modelStatus.optimal) {
      throw new Error(`master LP not solved (HiGHS model status ${this.model.getModelStatus()})`);
    }
    const sol = this.model.getSolution();
    return {
      x: Array.from(sol.colValue).slice(this.exchanges),
      duals: Array.from(sol.rowDual, (y) => Math.max(0, y)),
      reducedCosts: Array.from(sol.colDual ?? []).slice(this.exchanges),
      objective: this.model.getObjectiveValue(),
    };
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * Pairs [i, k] where shape k dominates shape i: at least as big in every dimension, and every bin that holds k holds i.
 * Some optimal dual then has y_i ≤ y_k (a k-pod's room always fits an i-pod), and stating that in the master (exchange
 * columns) stops the duals of near-identical shapes from oscillating. For each i only its `per` least dominating
 * shapes (smallest total size relative to the largest bin), enough to chain the order.
 */
export function dominancePairs(p: CgProblem, per = 3): Array<[number, number]> {
  const n = p.items.length;
  const maxCap = [0, 1, 2, 3].map((d) => Math.max(1e-9, ...p.bins.map((b) => b.cap[d]!)));
  const norm = p.items.map((it) => it.size.reduce((s, v, d) => s + v / maxCap[d]!, 0));
  const holds = p.items.map((_, i) => p.bins.flatMap((_, j) => (p.compatMask[j]![i] === 1 ? [j] : [])));
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const si = p.items[i]!.size;
    const doms: number[] = [];
    for (let k = 0; k < n; k++) {
      if (k === i) continue;
      const sk = p.items[k]!.size;
      if (!sk.every((v, d) => v >= si[d]!) || sk.every((v, d) => v === si[d]!)) continue;
      if (holds[k]!.every((j) => p.compatMask[j]![i] === 1)) doms.push(k);
    }
    doms.sort((a, b) => norm[a]! - norm[b]! || a - b);
    for (const k of doms.slice(0, per)) pairs.push([i, k]);
  }
  return pairs;
}

/** The best single-shape node for every shape: a starting set of columns that covers any demand. */
export function initialColumns(p: CgProblem, demand: number[]): Column[] {
  const cols: Column[] = [];
  demand.forEach((b, i) => {
    if (b <= 0) return;
    let best: Column | undefined;
    let bestPerPod = Infinity;
    p.bins.forEach((bin, j) => {
      if (!compatible(p.items[i]!, bin)) return;
      const n = Math.min(
        b,
        ...bin.cap.map((c, d) => (p.items[i]!.size[d]! > 0 ? Math.floor(c / p.items[i]!.size[d]!) : Infinity)),
      );
      if (n >= 1 && bin.weight / n < bestPerPod) {
        bestPerPod = bin.weight / n;
        best = { bin: j, items: [i], counts: [n] };
      }
    });
    if (best) cols.push(best);
  });
  return cols;
}

/**
 * Knapsack LP relaxation by HiGHS, rounded down and topped up greedily: with ≤ 4 capacity rows at
 * most 4 items are fractional at an LP vertex, so on big nodes this is within a few pods of optimal.
 * Returns the packing and the LP optimum (an upper bound, up to solver tolerance).
 */
export function knapsackLpRound(
  highs: Highs,
  items: KnapsackItem[],
  cap: readonly number[],
): { counts: number[]; value: number; lpBound: number } | undefined {
  const lines = ["Maximize", " obj:", ...items.map((it, k) => ` + ${fmt(it.value)} n${k}`), "Subject To"];
  for (let d = 0; d < DIMS; d++) {
    if (items.every((it) => it.size[d] === 0)) continue;
    lines.push(
      ` c${d}:`,
      ...items.flatMap((it, k) => (it.size[d]! > 0 ? [` + ${fmt(it.size[d]!)} n${k}`] : [])),
      ` <= ${fmt(cap[d]!)}`,
    );
  }
  lines.push("Bounds", ...items.map((it, k) => ` 0 <= n${k} <= ${it.maxCount}`), "End");
  const res = highs.solve(lines.join("\n"), { output_flag: false } as never);
  if (res.Status !== "Optimal") return undefined;
  return roundLpPacking(
    items,
    cap,
    items.map((_, k) => res.Columns[`n${k}`]?.Primal ?? 0),
    res.ObjectiveValue,
  );
}

/** Rounds a knapsack LP solution down, then tops it up greedily; undefined if the LP point was infeasible beyond tolerance. */
function roundLpPacking(
  items: KnapsackItem[],
  cap: readonly number[],
  primal: number[],
  lpBound: number,
): { counts: number[]; value: number; lpBound: number } | undefined {
  const counts = primal.map((x) => Math.floor(x + 1e-9));
  const rem = cap.map((c, d) => c - counts.reduce((s, n, k) => s + n * items[k]!.size[d]!, 0));
  items.forEach((it, k) => {
    const more = Math.min(
      it.maxCount - counts[k]!,
      ...it.size.map((sz, d) => (sz > 0 ? Math.floor(rem[d]! / sz + 1e-9) : Infinity)),
    );
    if (more <= 0) return;
    counts[k]! += more;
    it.size.forEach((sz, d) => (rem[d]! -= sz * more));
  });
  if (rem.some((r) => r < -1e-6)) return undefined;
  return { counts, value: counts.reduce((s, n, k) => s + n * items[k]!.value, 0), lpBound };
}

/**
 * One knapsack LP per bin kept alive in HiGHS (columns = the bin's compatible shapes): pricing only
 * changes the values (duals) and the bounds (demands) and re-solves from the previous basis. Same LP
 * as knapsackLpRound, without building and parsing LP text for every knapsack, which dominated plan time.
 */
export class KnapsackLps {
  private readonly models = new Map<number, { model: ReturnType<Highs["createModel"]>; pos: Int32Array }>();

  constructor(private readonly p: CgProblem) {}

  private modelFor(bin: number): { model: ReturnType<Highs["createModel"]>; pos: Int32Array } {
    let m = this.models.get(bin);
    if (m) return m;
    const { highs, items } = this.p;
    const compat = this.p.compat[bin]!;
    const cap = this.p.bins[bin]!.cap;
    const model = highs.createModel();
    model.options.set({ output_flag: false });
    model.changeObjectiveSense(highs.constants.objectiveSense.maximize);
    for (let d = 0; d < DIMS; d++) model.addRow(-highs.infinity, cap[d]!, { indices: [], values: [] });
    const pos = new Int32Array(items.length).fill(-1);
    compat.forEach((i, c) => {
      pos[i] = c;
      const size = items[i]!.size;
      const rows = [0, 1, 2, 3].filter((d) => size[d]! > 0);
      model.addCol(0, 0, 0, { indices: rows, values: rows.map((d) => size[d]!) });
    });
    m = { model, pos };
    this.models.set(bin, m);
    return m;
  }

  /** The rounded LP of bin `bin`'s knapsack over shapes `ids` (items[q] is shape ids[q]). */
  solve(
    bin: number,
    ids: number[],
    items: KnapsackItem[],
  ): { counts: number[]; value: number; lpBound: number } | undefined {
    const n = this.p.compat[bin]!.length;
    if (n === 0 || ids.length === 0) return undefined;
    const { model, pos } = this.modelFor(bin);
    const cost = new Float64Array(n);
    const upper = new Float64Array(n);
    ids.forEach((i, q) => {
      cost[pos[i]!] = items[q]!.value;
      upper[pos[i]!] = items[q]!.maxCount;
    });
    const all = { kind: "range", from: 0, to: n - 1 } as const;
    model.changeColsCost(all, cost);
    model.changeColsBounds(all, new Float64Array(n), upper);
    model.run();
    this.p.work.add(WORK.lpSolve + WORK.knapsackLpIteration * Number(model.info.get("simplex_iteration_count")));
    if (model.getModelStatus() !== this.p.highs.constants.modelStatus.optimal) return undefined;
    const x = model.getSolution().colValue;
    return roundLpPacking(
      items,
      this.p.bins[bin]!.cap,
      ids.map((i) => x[pos[i]!]!),
      model.getObjectiveValue(),
    );
  }

  dispose(): void {
    for (const { model } of this.models.values()) model.dispose();
    this.models.clear();
  }
}

/**
 * The same knapsack as a MILP for HiGHS (relative gap 0). HiGHS proves optimality up to its absolute
 * gap tolerance, so the upper bound adds that tolerance; returns undefined if HiGHS stops early.
 */
export function solveKnapsackMilp(
  highs: Highs,
  items: KnapsackItem[],
  cap: readonly number[],
): KnapsackResult | undefined {
  const lines = ["Maximize", " obj:", ...items.map((it, k) => ` + ${fmt(it.value)} n${k}`), "Subject To"];
  for (let d = 0; d < DIMS; d++) {
    if (items.every((it) => it.size[d] === 0)) continue;
    lines.push(
      ` c${d}:`,
      ...items.flatMap((it, k) => (it.size[d]! > 0 ? [` + ${fmt(it.size[d]!)} n${k}`] : [])),
      ` <= ${fmt(cap[d]!)}`,
    );
  }
  lines.push(
    "Bounds",
    ...items.map((it, k) => ` 0 <= n${k} <= ${it.maxCount}`),
    "General",
    ...items.map((_, k) => ` n${k}`),
    "End",
  );
  const absGap = 1e-9;
  const res = highs.solve(lines.join("\n"), {
    output_flag: false,
    mip_rel_gap: 0,
    mip_abs_gap: absGap,
    time_limit: 10,
  } as never);
  if (res.Status !== "Optimal") return undefined;
  const counts = items.map((_, k) => Math.round(res.Columns[`n${k}`]?.Primal ?? 0));
  const value = counts.reduce((s, c, k) => s + c * items[k]!.value, 0);
  return { value, counts, upperBound: Math.max(value, res.ObjectiveValue) + 2 * absGap, exact: true, nodes: 0 };
}

interface Priced {
  columns: Column[];
  /** upper bound on max over all patterns of (dual value / weight) */
  maxRatio: number;
}

function knapsackItems(
  p: CgProblem,
  bin: number,
  duals: number[],
  demand: number[],
): { items: KnapsackItem[]; ids: number[] } {
  const ids = p.compat[bin]!.filter((i) => duals[i]! > 1e-12 && demand[i]! > 0);
  const cap = p.bins[bin]!.cap;
  const norm = (i: number): number => p.items[i]!.size.reduce((s, v, d) => s + (cap[d]! > 0 ? v / cap[d]! : 0), 0);
  ids.sort((a, b) => duals[b]! / norm(b) - duals[a]! / norm(a));
  return { items: ids.map((i) => ({ value: duals[i]!, size: p.items[i]!.size, maxCount: demand[i]! })), ids };
}

/** Fills what room a pattern leaves with shapes whose dual is zero: free for the LP, useful when rounding. */
function topUp(p: CgProblem, col: Column, demand: number[]): Column {
  const rem = p.bins[col.bin]!.cap.slice();
  col.items.forEach((i, k) => p.items[i]!.size.forEach((s, d) => (rem[d]! -= s * col.counts[k]!)));
  const items = col.items.slice();
  const counts = col.counts.slice();
  for (const i of p.compat[col.bin]!) {
    if (items.includes(i) || demand[i]! <= 0) continue;
    const size = p.items[i]!.size;
    const n = Math.min(demand[i]!, ...size.map((s, d) => (s > 0 ? Math.floor(rem[d]! / s + 1e-9) : Infinity)));
    if (n <= 0) continue;
    items.push(i);
    counts.push(n);
    size.forEach((s, d) => (rem[d]! -= s * n));
  }
  return { bin: col.bin, items, counts };
}

/** Per dimension, shapes by dual value per unit of that dimension (zero-size first): shared by every bin's bound. */
function densityOrders(p: CgProblem, duals: number[], demand: number[]): number[][] {
  const live = p.items.map((_, i) => i).filter((i) => duals[i]! > 1e-12 && demand[i]! > 0);
  return Array.from({ length: DIMS }, (_, d) => {
    const density = live.map((i) => (p.items[i]!.size[d]! === 0 ? Infinity : duals[i]! / p.items[i]!.size[d]!));
    return live
      .map((i, k) => [i, k])
      .sort((a, b) => density[b[1]!]! - density[a[1]!]!)
      .map((e) => e[0]!);
  });
}

/** Fractional knapsack bound of one bin (min over single-dimension relaxations), see knapsack.ts. */
function binBound(
  p: CgProblem,
  bin: number,
  { duals, demand, orders }: { duals: number[]; demand: number[]; orders: number[][] },
): number {
  const mask = p.compatMask[bin]!;
  const cap = p.bins[bin]!.cap;
  let best = Infinity;
  for (let d = 0; d < DIMS; d++) {
    let room = cap[d]!;
    let value = 0;
    for (const i of orders[d]!) {
      if (mask[i] === 0) continue;
      const s = p.items[i]!.size[d]!;
      if (s === 0) {
        value += demand[i]! * duals[i]!;
        continue;
      }
      // zero-size shapes sort first, so once the room is gone nothing else can add value
      if (room <= 0) break;
      const take = Math.min(demand[i]!, room / s);
      value += take * duals[i]!;
      room -= take * s;
    }
    if (value < best) best = value;
  }
  return best;
}

/**
 * A search that stopped at its node limit without an improving column while its upper bound is above
 * the cost: only then is the MILP worth it. If the search found an improving column, that column is
 * what pricing needs (and its upper bound stays valid for ρ); an upper bound ≤ the cost already proves
 * ratio ≤ 1, all the bound needs from that bin.
 */
function unsettled(res: KnapsackResult, weight: number): boolean {
  return !res.exact && res.value <= weight * (1 + 1e-9) && res.upperBound > weight * (1 + 1e-9);
}

/** The knapsack's LP relaxation, rounded: a start for the branch and bound (unless opts.lpStart is false). */
function lpStart(
  p: CgProblem,
  j: number,
  { ids, items, opts }: { ids: number[]; items: KnapsackItem[]; opts: CgOptions },
): ReturnType<typeof knapsackLpRound> {
  if (opts.lpStart === false) return undefined;
  return p.knapsackLps ? p.knapsackLps.solve(j, ids, items) : knapsackLpRound(p.highs, items, p.bins[j]!.cap);
}

/** Knapsacks over more shapes than this are not handed to the MILP solver: their LP relaxation bounds them instead. */
const MILP_KNAPSACK_MAX_ITEMS = 40;

/** Best pattern found for one bin: exact turn = rounded LP start + branch and bound (+ MILP if allowed), else a greedy dive. */
function solveCandidate(
  p: CgProblem,
  j: number,
  { duals, demand, opts, exactTurn }: { duals: number[]; demand: number[]; opts: CgOptions; exactTurn: boolean },
): KnapsackResult & { column: Column } {
  const { items, ids } = knapsackItems(p, j, duals, demand);
  const cap = p.bins[j]!.cap;
  const start = exactTurn ? lpStart(p, j, { ids, items, opts }) : undefined;
  // Only packings worth more than the node's cost make a column: the search prunes everything else.
  let res = solveKnapsack(items, cap, exactTurn ? opts.nodeLimit : items.length + 1, {
    start,
    floor: p.bins[j]!.weight,
  });
  // a search node's bounds walk the shapes not yet branched on
  p.work.add(WORK.knapsackSearch + WORK.knapsackNode * res.nodes * (1 + items.length / 32));
  // The knapsack's LP optimum bounds it too (with a margin for HiGHS's 1e-7 tolerances) and is usually far tighter.
  if (!res.exact && start)
    res = { ...res, upperBound: Math.min(res.upperBound, Math.max(res.value, start.lpBound * (1 + 1e-6) + 1e-12)) };
  // HiGHS's MILP is not metered (it reports no work done), so it only gets knapsacks small enough to be quick.
  if (exactTurn && opts.milpFallback && items.length <= MILP_KNAPSACK_MAX_ITEMS && unsettled(res, p.bins[j]!.weight)) {
    p.work.add(WORK.knapsackMilp);
    res = solveKnapsackMilp(p.highs, items, cap) ?? res;
  }
  const used = ids.flatMap((i, q) => (res.counts[q]! > 0 ? [[i, res.counts[q]!]] : []));
  return {
    ...res,
    column: topUp(p, { bin: j, items: used.map((u) => u[0]!), counts: used.map((u) => u[1]!) }, demand),
  };
}

/**
 * Many exact knapsacks per iteration (escalated pricing) must not overrun the work budget. Checked
 * every 16 bins; the bins left unsolved are bounded by candidates[k]'s bound, so stopping keeps ρ valid.
 */
function pastDeadline(p: CgProblem, k: number, opts: CgOptions): boolean {
  return k > 0 && (k & 15) === 0 && p.work.units > opts.deadline;
}

/**
 * The knapsack LP (solveKnapsackLp) of each of the `limit` most promising bins with ratio > 1, rounded: improving
 * columns from many bins for a small simplex each, best ratio first, and each bin's ratio tightened to its LP bound (the
 * Lagrangian bound at the LP's duals, a valid upper bound whatever the simplex's rounding errors).
 */
function lpPricing(
  p: CgProblem,
  candidates: Array<{ j: number; ratio: number }>,
  { duals, demand, limit }: { duals: number[]; demand: number[]; limit: number },
): Column[] {
  const found: Array<{ column: Column; ratio: number }> = [];
  for (let k = 0; k < candidates.length && k < limit; k++) {
    const c = candidates[k]!;
    if (c.ratio <= 1) break;
    const { items, ids } = knapsackItems(p, c.j, duals, demand);
    const cap = p.bins[c.j]!.cap;
    const lp = solveKnapsackLp(items, cap);
    p.work.add(
      WORK.knapsackSearch + lp.iterations * (WORK.smallSimplexIteration + WORK.smallSimplexPerItem * items.length),
    );
    const w = p.bins[c.j]!.weight;
    c.ratio = Math.min(c.ratio, lp.upperBound / w);
    const res = roundLpPacking(items, cap, lp.x, lp.upperBound);
    if (!res || res.value / w <= 1 + 1e-9) continue;
    const used = ids.flatMap((i, q) => (res.counts[q]! > 0 ? [[i, res.counts[q]!]] : []));
    const column = topUp(p, { bin: c.j, items: used.map((u) => u[0]!), counts: used.map((u) => u[1]!) }, demand);
    found.push({ column, ratio: res.value / w });
  }
  return found.sort((a, b) => b.ratio - a.ratio).map((f) => f.column);
}

function price(p: CgProblem, duals: number[], demand: number[], opts: CgOptions): Priced {
  const orders = densityOrders(p, duals, demand);
  const candidates = p.bins.map((bin, j) => {
    let bound = binBound(p, j, { duals, demand, orders });
    if (opts.lagrangianScreening && bound > bin.weight) {
      // a second, often much tighter, valid bound before paying for an exact solve
      const { items } = knapsackItems(p, j, duals, demand);
      bound = Math.min(bound, lagrangianBound(items, bin.cap, lagrangianMultipliers(items, bin.cap)));
    }
    return { j, ratio: bound / bin.weight };
  });
  // each bound walks the live shapes; the Lagrangian screening also sorts them
  p.work.add(
    p.bins.length * (WORK.binBound + WORK.binBoundPerShape * orders[0]!.length * (opts.lagrangianScreening ? 6 : 1)),
  );
  candidates.sort((a, b) => b.ratio - a.ratio);
  if (opts.lpPerIteration) {
    const found = lpPricing(p, candidates, { duals, demand, limit: opts.lpPerIteration });
    candidates.sort((a, b) => b.ratio - a.ratio);
    // ρ: every bin's bound, LP-tightened where its LP was solved
    if (found.length > 0) return { columns: found.slice(0, opts.lpColumns), maxRatio: candidates[0]!.ratio };
  }
  return searchCandidates(p, candidates, { duals, demand, opts });
}

/** Exact searches of the first candidates, greedy dives of the next ones, while a bin may still beat the best found. */
function searchCandidates(
  p: CgProblem,
  candidates: Array<{ j: number; ratio: number }>,
  { duals, demand, opts }: { duals: number[]; demand: number[]; opts: CgOptions },
): Priced {
  const columns: Column[] = [];
  let bestExact = 0;
  let maxRatio = 0;
  let k = 0;
  // Solve the most promising bins with the full node budget; keep going down the list with cheap
  // greedy dives while bins may still hold an improving column (loose bounds hide good bins).
  const greedyLimit = opts.exactPerIteration + (opts.greedyPerIteration ?? 0);
  for (; k < candidates.length && k < greedyLimit; k++) {
    const { j, ratio } = candidates[k]!;
    // A bin bounded at ≤ 1 holds no improving column, and ρ ≤ 1 from it cannot change max(1, ρ) in the bound.
    if (ratio <= Math.max(bestExact, 1) || pastDeadline(p, k, opts)) break;
    const res = solveCandidate(p, j, { duals, demand, opts, exactTurn: k < opts.exactPerIteration });
    const w = p.bins[j]!.weight;
    bestExact = Math.max(bestExact, res.value / w);
    maxRatio = Math.max(maxRatio, res.upperBound / w);
    if (res.value / w > 1 + 1e-9) columns.push(res.column);
  }
  // Bins not solved are bounded by their upper bound, the largest of which is the next candidate's.
  if (k < candidates.length) maxRatio = Math.max(maxRatio, candidates[k]!.ratio);
  return { columns, maxRatio };
}

/**
 * Column generation from the master's columns (extended in place). Lower bound (Farley): with master duals y ≥ 0
 * and ρ ≥ max over every pattern of y·a/weight, y/max(1,ρ) is feasible for the dual of the full
 * configuration LP, so y·b/max(1,ρ) ≤ LP optimum ≤ any integer plan's cost.
 */
export function columnGeneration(p: CgProblem, master: MasterLp, demand: number[], opts: CgOptions): CgResult {
  master.setDemand(demand);
  let lp = master.solve();
  let lowerBound = 0;
  let converged = false;
  let iterations = 0;
  // Cheap pricing first (small branch-and-bound budgets); search harder only when it finds nothing.
  let effort: CgOptions = { ...opts, milpFallback: false };
  const alpha = opts.smoothing ?? 0;
  // Wentges smoothing: a dual point feasible for the full configuration LP (every pattern's ratio ≤ 1), the best bound so far.
  let center: number[] | undefined;
  for (;;) {
    const sep = center && alpha > 0 ? lp.duals.map((y, i) => alpha * center![i]! + (1 - alpha) * y) : lp.duals;
    const priced = price(p, sep, demand, effort);
    const yb = lp.duals.reduce((s, y, i) => s + y * Math.max(0, demand[i]!), 0);
    const scale = Math.max(1, priced.maxRatio);
    const sepBound = sep.reduce((s, y, i) => s + y * Math.max(0, demand[i]!), 0) / scale;
    if (sepBound > lowerBound) {
      lowerBound = sepBound;
      if (alpha > 0) center = sep.map((y) => y / scale);
    }
    // The bound is within 1e-6 of the master's objective, hence of the LP optimum (without smoothing: ρ ≤ 1 + 1e-6 at the master's duals).
    if (lowerBound * (1 + 1e-6) >= yb) {
      converged = true;
      break;
    }
    if (outOfBudget(p, opts, { iterations, lowerBound })) break;
    iterations++;
    if (priced.columns.length === 0) {
      // Smoothed point proven feasible (ρ ≤ 1): the center moved to it, the next point is nearer the master's duals.
      if (sep !== lp.duals && priced.maxRatio <= 1 + 1e-6) continue;
      const harder = escalate(effort, opts);
      if (!harder) break;
      effort = harder;
      continue;
    }
    master.add(priced.columns);
    lp = master.solve();
    // Plans go back to cheap pricing after a find; bounds keep the effort that proves more.
    if (!opts.keepEffort) effort = { ...opts, milpFallback: false };
  }
  return { lp, lowerBound, converged, iterations };
}

/** The iteration limit or the work budget is reached, or the bound reached opts.stopAt. */
function outOfBudget(p: CgProblem, opts: CgOptions, at: { iterations: number; lowerBound: number }): boolean {
  if (at.iterations >= opts.maxIterations || p.work.units > opts.deadline) return true;
  return opts.stopAt !== undefined && at.lowerBound >= opts.stopAt;
}

/** Next search effort after pricing found no column: larger node budgets, then (if allowed) MILP and more bins solved exactly. */
function escalate(effort: CgOptions, opts: CgOptions): CgOptions | undefined {
  if (effort.nodeLimit < opts.maxNodeLimit)
    return { ...effort, nodeLimit: Math.min(opts.maxNodeLimit, effort.nodeLimit * 10) };
  if (opts.milpFallback && !effort.milpFallback)
    return { ...effort, milpFallback: true, exactPerIteration: Math.max(effort.exactPerIteration, 40) };
  if (opts.maxExactPerIteration !== undefined && effort.exactPerIteration < opts.maxExactPerIteration) {
    return { ...effort, exactPerIteration: Math.min(opts.maxExactPerIteration, effort.exactPerIteration * 4) };
  }
  // Last resort: branch and bound alone could not find a column; its LP-relaxation start may.
  if (effort.lpStart === false) return { ...effort, lpStart: true };
  return undefined;
}
