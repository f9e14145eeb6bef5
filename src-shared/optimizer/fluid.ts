// The fluid bounds: one LP where each node type's capacity is shared fractionally by the pods placed on it, and the same with whole nodes per type (a MILP).
import { WORK, type CgProblem } from "./colgen.js";
import { DIMS, lagrangianBound, solveKnapsack, type KnapsackItem } from "./knapsack.js";
import { runCounted } from "./milp.js";

export interface FluidBound {
  /** a proven lower bound on the configuration LP optimum, hence on every integer plan */
  value: number;
  /** dual values of the shapes, scaled so that no pattern of any bin is worth more than the bin costs */
  duals: number[];
  /** the LP's pods of each shape per bin (fractional, > 0 only) */
  assignment: Array<{ bin: number; shape: number; pods: number }>;
  /**
   * Per bin, a lower bound on what each of its nodes adds to a plan's cost above `value`: weight − (the most its
   * patterns are worth at `duals`), ≥ 0. A plan with a node of bin j costs at least value + reducedCosts[j].
   */
  reducedCosts: number[];
  /** Σ_j cap_j z_j ≥ value for every plan's nodes z_j per bin: cap_j bounds what a node of bin j is worth at `duals` */
  row: SurrogateRow;
}

/**
 * min Σ_j w_j z_j  s.t.  Σ_j x_ij ≥ b_i,  Σ_i s_id x_ij ≤ cap_jd z_j,  x, z ≥ 0 (x_ij only where bin j holds shape i).
 * Any plan gives a feasible point (z_j = nodes of type j, x_ij = their pods), so its optimum is a lower bound; it is the
 * configuration LP with each pattern's integrality dropped, hence weaker, but it is one LP instead of column
 * generation. With hundreds of shapes and many pods per node (where column generation converges slowly) it is within a
 * few tenths of a percent of the configuration LP. The value is not taken from HiGHS on trust: its shape duals y and
 * capacity duals π give, for every bin, the Lagrangian bound y·a ≤ π·cap + Σ max(0, y_i − π·s_i)·fit_i over all its
 * patterns, so y / max(1, ρ) is dual feasible for the configuration LP and y·b / max(1, ρ) a bound whatever the
 * solver's tolerances.
 */
export function fluidBound(p: CgProblem, demand: number[]): FluidBound | undefined {
  const model = p.highs.createModel();
  try {
    model.options.set({ output_flag: false });
    const { bins, by } = fluidBins(p);
    const rows = capacityRows(p, bins);
    const nRows = demand.length + rows.count;
    model.passModel(fluidModel(p, { demand, bins, rows, nRows }));
    model.run();
    p.work.add(WORK.lpSolve + WORK.fluidIteration * Number(model.info.get("simplex_iteration_count")));
    if (model.getModelStatus() !== p.highs.constants.modelStatus.optimal) return undefined;
    const { rowDual, colValue } = model.getSolution();
    const y = demand.map((b, i) => (b > 0 ? Math.max(0, rowDual[i]!) : 0));
    const ratios = p.bins.map((_, j) => binRatio(p, j, { y, demand, rowDual, rows, at: by[j]! }));
    const rho = Math.max(1, ...ratios);
    const scaled = y.map((v) => v / rho);
    const value = dualWorth(scaled, demand);
    return {
      value,
      duals: scaled,
      assignment: assignmentOf(p, { demand, bins, x: colValue }),
      reducedCosts: p.bins.map((bin, j) => Math.max(0, bin.weight * (1 - ratios[j]! / rho))),
      row: { need: value, cap: p.bins.map((bin, j) => (bin.weight * ratios[j]!) / rho) },
    };
  } finally {
    model.dispose();
  }
}

/** Row of bin j's capacity in dimension d (after the demand rows), or -1 where no shape it holds uses d. */
interface CapacityRows {
  row: Int32Array;
  count: number;
}

/**
 * The bins worth a variable, and for each bin the kept bin whose capacity duals check it: a bin whose every shape
 * another bin also holds, with at least its capacity per dollar in every dimension, adds nothing a fractional node of
 * the other cannot do for the same money (and that bin's duals π satisfy π·cap ≤ weight for it too). On the bench's
 * instances this keeps 4–10 % of the bins. The final ratio check runs over every bin either way.
 */
function fluidBins(p: CgProblem): { bins: number[]; by: Int32Array } {
  const perUsd = p.bins.map((b) => b.cap.map((c) => c / b.weight));
  const kept: number[] = [];
  const by = new Int32Array(p.bins.length).fill(-1);
  const order = p.bins.map((_, j) => j).sort((a, b) => sumOf(perUsd[b]!) - sumOf(perUsd[a]!) || a - b);
  for (const j of order) {
    const k = kept.find((k) => {
      if (!perUsd[k]!.every((v, d) => v >= perUsd[j]![d]!)) return false;
      return p.compat[j]!.every((i) => p.compatMask[k]![i] === 1);
    });
    if (k === undefined) {
      kept.push(j);
      by[j] = j;
    } else by[j] = k;
  }
  return { bins: kept.sort((a, b) => a - b), by };
}

function sumOf(xs: number[]): number {
  return xs.reduce((s, v) => s + v, 0);
}

function capacityRows(p: CgProblem, bins: number[]): CapacityRows {
  const row = new Int32Array(p.bins.length * DIMS).fill(-1);
  let count = 0;
  bins.forEach((j) => {
    const bin = p.bins[j]!;
    for (let d = 0; d < DIMS; d++)
      if (bin.cap[d]! > 0 && p.compat[j]!.some((i) => p.items[i]!.size[d]! > 0)) row[j * DIMS + d] = count++;
  });
  return { row, count };
}

/** The LP in HiGHS's column-wise form: z_j first (one per bin), then x_ij for every compatible pair. */
function fluidModel(
  p: CgProblem,
  { demand, bins, rows, nRows }: { demand: number[]; bins: number[]; rows: CapacityRows; nRows: number },
): Parameters<ReturnType<CgProblem["highs"]["createModel"]>["passModel"]>[0] {
  const cost: number[] = [];
  const starts: number[] = [0];
  const indices: number[] = [];
  const values: number[] = [];
  const capRow = (j: number, d: number): number => rows.row[j * DIMS + d]!;
  bins.forEach((j) => {
    const bin = p.bins[j]!;
    cost.push(bin.weight);
    for (let d = 0; d < DIMS; d++) {
      if (capRow(j, d) < 0) continue;
      indices.push(demand.length + capRow(j, d));
      values.push(-bin.cap[d]!);
    }
    starts.push(indices.length);
  });
  bins.forEach((j) => {
    for (const i of p.compat[j]!) {
      if (demand[i]! <= 0) continue;
      cost.push(0);
      indices.push(i);
      values.push(1);
      for (let d = 0; d < DIMS; d++) {
        if (capRow(j, d) < 0 || p.items[i]!.size[d]! <= 0) continue;
        indices.push(demand.length + capRow(j, d));
        values.push(p.items[i]!.size[d]!);
      }
      starts.push(indices.length);
    }
  });
  const n = cost.length;
  const inf = p.highs.infinity;
  return {
    numCols: n,
    numRows: nRows,
    colCost: Float64Array.from(cost),
    colLower: new Float64Array(n),
    colUpper: new Float64Array(n).fill(inf),
    rowLower: Float64Array.from({ length: nRows }, (_, r) => (r < demand.length ? Math.max(0, demand[r]!) : -inf)),
    rowUpper: Float64Array.from({ length: nRows }, (_, r) => (r < demand.length ? inf : 0)),
    matrix: { format: "csc", numRows: nRows, numCols: n, starts, indices, values },
  };
}

/** The x_ij > 0 of the solution, in the column order fluidModel builds (after the bins' z_j). */
function assignmentOf(
  p: CgProblem,
  { demand, bins, x }: { demand: number[]; bins: number[]; x: ArrayLike<number> },
): FluidBound["assignment"] {
  const out: FluidBound["assignment"] = [];
  let col = bins.length;
  for (const j of bins)
    for (const i of p.compat[j]!) {
      if (demand[i]! <= 0) continue;
      const v = x[col++]!;
      if (v > 1e-9) out.push({ bin: j, shape: i, pods: v });
    }
  return out;
}

/** Upper bound on y·a / w_j over every pattern a of bin j: the Lagrangian bound at the LP's capacity duals. */
function binRatio(
  p: CgProblem,
  j: number,
  {
    y,
    demand,
    rowDual,
    rows,
    at,
  }: { y: number[]; demand: number[]; rowDual: ArrayLike<number>; rows: CapacityRows; at: number },
): number {
  const bin = p.bins[j]!;
  const items: KnapsackItem[] = p.compat[j]!.flatMap((i) =>
    y[i]! > 0 && demand[i]! > 0 ? [{ value: y[i]!, size: p.items[i]!.size, maxCount: demand[i]! }] : [],
  );
  const lambda = Array.from({ length: DIMS }, (_, d) => {
    const r = rows.row[at * DIMS + d]!;
    return r < 0 ? 0 : Math.abs(rowDual[demand.length + r]!);
  });
  return lagrangianBound(items, bin.cap, lambda) / bin.weight;
}

export interface FluidMilp {
  /**
   * HiGHS's proven bound on the fluid model with whole nodes of `bins` only (0 if none yet, Infinity when some shape
   * has no holder among them): a lower bound on every plan whose nodes are all of those bins (wholeNodeBound: every plan),
   * as the MILP's optimum is the one without the bound on its node counts
   */
  bound: number;
  /** the best solution found, if any: nodes per bin and the (fractional) pods of each shape per bin */
  solution?: { nodes: Map<number, number>; assignment: FluidBound["assignment"] };
}

/**
 * The fluid LP over `bins` with a whole number of nodes per type (z_j ∈ ℤ≥0; pods stay fractional). Every plan over
 * those bins is a feasible point of it without the bound on each z_j (the nodes that hold every pod bin j can hold): a
 * plan of whole pods may need more, but some optimal solution of the MILP has no more, so the bound leaves its optimum
 * as it is and HiGHS's dual bound still bounds every plan; it is taken with a relative margin for the solver's
 * tolerances, like the knapsack MILP's. Where a plan needs only a few nodes of the cheapest types (Spot, pods
 * small against the biggest nodes) whole nodes are what the LPs miss: the configuration LP buys 0.6 of a node the plan
 * must buy whole. Interrupted once its simplex work passes `deadline` (counted, so the same on every run), or once a
 * solution costs less than `beat` (a bound already proven, which this one then cannot pass).
 */
export function fluidMilp(
  p: CgProblem,
  demand: number[],
  { deadline, bins, beat }: { deadline: number; bins: number[]; beat?: number },
): FluidMilp {
  // no plan over these bins at all when a shape has no holder among them
  const held = new Uint8Array(demand.length);
  bins.forEach((j) => p.compat[j]!.forEach((i) => (held[i] = 1)));
  if (demand.some((b, i) => b > 0 && held[i] === 0)) return { bound: Infinity };
  const model = p.highs.createModel();
  try {
    model.options.set({ output_flag: false, mip_rel_gap: FLUID_MILP_GAP } as never);
    const rows = capacityRows(p, bins);
    const lp = fluidModel(p, { demand, bins, rows, nRows: demand.length + rows.count });
    model.passModel(lp);
    model.changeColsIntegrality(
      { kind: "range", from: 0, to: bins.length - 1 },
      new Int32Array(bins.length).fill(p.highs.constants.variableType.integer),
    );
    // HiGHS runs up to 2·√(Σ log₂ of the integer columns' domains) cut rounds at the root, 10 bits for an unbounded
    // one: bounded by what no cheaper solution exceeds, the root takes seconds less on hundreds of shapes
    model.changeColsBounds(
      { kind: "range", from: 0, to: bins.length - 1 },
      new Float64Array(bins.length),
      Float64Array.from(bins, (j) => nodesForAllPods(p, j, demand)),
    );
    const perIteration = WORK.fluidMilpIteration + WORK.fluidMilpPerColumn * lp.numCols;
    const { iterations } = runCounted(p, model, {
      start: p.work.units + WORK.lpSolve,
      perIteration,
      perCall: 0,
      end: deadline,
      below: beat,
    });
    p.work.add(WORK.lpSolve + perIteration * iterations);
    const { bound, nodes, colValue } = wholeNodeResult(p, model, bins);
    const out: FluidMilp = { bound };
    if (nodes) out.solution = { nodes, assignment: assignmentOf(p, { demand, bins, x: colValue! }) };
    return out;
  } finally {
    model.dispose();
  }
}

/**
 * The nodes of bin j that hold every pod it can hold, in every dimension: a solution with more buys nodes it cannot
 * fill, so none cheaper has more (at most demand b_i of each shape per bin is ever needed).
 */
function nodesForAllPods(p: CgProblem, j: number, demand: number[]): number {
  const bin = p.bins[j]!;
  let most = 0;
  for (let d = 0; d < DIMS; d++) {
    if (bin.cap[d]! <= 0) continue;
    let load = 0;
    for (const i of p.compat[j]!) load += Math.max(0, demand[i]!) * p.items[i]!.size[d]!;
    most = Math.max(most, Math.ceil(load / bin.cap[d]!));
  }
  return most;
}

/** The bins the fluid LP keeps (the others are dominated per dollar): a small whole-node model that plans well. */
export function fluidLpBins(p: CgProblem): number[] {
  return fluidBins(p).bins;
}

/**
 * The bins worth a whole-node model, cheapest reduced cost first, up to `maxPairs` (bin, shape) pairs and only those
 * that could beat `cutoff` (a plan's cost): a plan with a node of any other bin costs at least `others`. `pairs`: the
 * (bin, shape) pairs of those bins with pods to place, the size of a fluid model over them.
 */
export function wholeNodeBins(
  p: CgProblem,
  fluid: FluidBound,
  { demand, maxPairs, cutoff = Infinity }: { demand: number[]; maxPairs: number; cutoff?: number },
): { bins: number[]; others: number; pairs: number } {
  const order = p.bins.map((_, j) => j).sort((a, b) => fluid.reducedCosts[a]! - fluid.reducedCosts[b]! || a - b);
  const bins: number[] = [];
  let pairs = 0;
  for (const j of order) {
    const pairsOf = pairCount(p, j, demand);
    const floor = fluid.value + fluid.reducedCosts[j]!;
    if (floor >= cutoff || pairs + pairsOf > maxPairs)
      return { bins: bins.sort((a, b) => a - b), others: floor, pairs };
    bins.push(j);
    pairs += pairsOf;
  }
  return { bins: bins.sort((a, b) => a - b), others: Infinity, pairs };
}

/** The (bin, shape) pairs of bin j with pods to place. */
function pairCount(p: CgProblem, j: number, demand: number[]): number {
  return p.compat[j]!.filter((i) => demand[i]! > 0).length;
}

/**
 * A lower bound on every plan from a whole-node model over some bins: a plan with nodes of those bins only costs at
 * least its bound; one with a node of any other bin at least `others` (fluid value + that bin's reduced cost).
 */
export function wholeNodeBound(milp: FluidMilp, others: number): number {
  const bound = Math.min(milp.bound, others);
  // infinite only when no plan exists at all (no bin holds some shape), which callers rule out: report nothing then
  return Number.isFinite(bound) ? bound : 0;
}

/** The MILP stops once within this of its own bound: closer buys nothing a plan keeps after packing real nodes. */
const FLUID_MILP_GAP = 2e-3;
/** HiGHS's dual bound is taken this much lower (relative), for its feasibility and optimality tolerances. */
const FLUID_MILP_MARGIN = 1e-5;

/**
 * What a whole-node MILP solved (or interrupted) proved and found: HiGHS's dual bound with the margin (0 if none), and,
 * where it has a solution, its nodes per bin (its first columns are the whole nodes of `bins`, in that order) and the
 * column values.
 */
function wholeNodeResult(
  p: CgProblem,
  model: ReturnType<CgProblem["highs"]["createModel"]>,
  bins: number[],
): { bound: number; nodes?: Map<number, number>; colValue?: ArrayLike<number> } {
  const raw = Number(model.info.get("mip_dual_bound" as never));
  const bound = Number.isFinite(raw) && raw > 0 ? raw * (1 - FLUID_MILP_MARGIN) : 0;
  const { modelStatus } = p.highs.constants;
  const status = model.getModelStatus();
  if (status !== modelStatus.optimal && status !== modelStatus.interrupted) return { bound };
  const { colValue } = model.getSolution();
  const nodes = new Map<number, number>();
  bins.forEach((j, k) => {
    const n = Math.round(colValue[k] ?? 0);
    if (n > 0) nodes.set(j, n);
  });
  return nodes.size > 0 ? { bound, nodes, colValue } : { bound };
}

/** A valid inequality Σ_j cap_j z_j ≥ need on the nodes z_j of each bin of any plan. */
export interface SurrogateRow {
  /** per bin: at least the most one node of it can contribute */
  cap: number[];
  need: number;
}

/**
 * Rows from resources, per dimension: the nodes of the bins that hold some shape of a set must have room for all of its
 * pods. For every shape's set of holding bins C, the set is every shape held only by bins of C (and all shapes).
 */
export function resourceRows(p: CgProblem, demand: number[]): SurrogateRow[] {
  const holders: number[][] = demand.map(() => []);
  p.compat.forEach((c, j) => c.forEach((i) => holders[i]!.push(j)));
  const live = demand.flatMap((b, i) => (b > 0 ? [i] : []));
  const signatures = new Map<string, Uint8Array>();
  for (const i of live) {
    const key = holders[i]!.join(",");
    if (signatures.has(key)) continue;
    const mask = new Uint8Array(p.bins.length);
    holders[i]!.forEach((j) => (mask[j] = 1));
    signatures.set(key, mask);
  }
  const out: SurrogateRow[] = [];
  for (const inC of signatures.values()) {
    const set = live.filter((i) => holders[i]!.every((j) => inC[j] === 1));
    for (let d = 0; d < DIMS; d++) {
      const need = set.reduce((s, i) => s + demand[i]! * p.items[i]!.size[d]!, 0);
      if (need > 0) out.push({ need, cap: p.bins.map((bin, j) => (inC[j] === 1 ? bin.cap[d]! : 0)) });
    }
  }
  return out;
}

/**
 * min Σ w_j z_j over whole nodes z ∈ ℤ≥0 meeting every row: every plan's nodes meet them, so HiGHS's dual bound (with
 * the margin for its tolerances) is a lower bound on every plan. A few rows over the bins only, so it is small; its LP
 * relaxation is at least the best single row's bound (the fluid LP's value, with that LP's row), and whole nodes add
 * what rounding up the few nodes of the cheapest types costs. Interrupted at `deadline` (counted work). Also returns
 * its nodes per bin (the best solution found), which cutLoop checks.
 */
export function surrogateMilp(
  p: CgProblem,
  rows: SurrogateRow[],
  { deadline }: { deadline: number },
): { bound: number; nodes?: Map<number, number> } {
  const model = p.highs.createModel();
  try {
    model.options.set({ output_flag: false, mip_rel_gap: FLUID_MILP_GAP } as never);
    const n = p.bins.length;
    const starts = [0];
    const indices: number[] = [];
    const values: number[] = [];
    for (let j = 0; j < n; j++) {
      rows.forEach((r, k) => {
        if (r.cap[j]! > 0) {
          indices.push(k);
          values.push(r.cap[j]!);
        }
      });
      starts.push(indices.length);
    }
    const inf = p.highs.infinity;
    model.passModel({
      numCols: n,
      numRows: rows.length,
      colCost: Float64Array.from(p.bins.map((b) => b.weight)),
      colLower: new Float64Array(n),
      colUpper: new Float64Array(n).fill(inf),
      rowLower: Float64Array.from(rows.map((r) => r.need)),
      rowUpper: new Float64Array(rows.length).fill(inf),
      integrality: new Int32Array(n).fill(p.highs.constants.variableType.integer),
      matrix: { format: "csc", numRows: rows.length, numCols: n, starts, indices, values },
    });
    const perCall = WORK.milpCheck * indices.length;
    const { iterations, calls } = runCounted(p, model, {
      start: p.work.units + WORK.lpSolve,
      perIteration: WORK.milpIteration,
      perCall,
      end: deadline,
    });
    p.work.add(WORK.lpSolve + WORK.milpIteration * iterations + perCall * calls);
    const everyBin = p.bins.map((_, j) => j);
    const { bound, nodes } = wholeNodeResult(p, model, everyBin);
    return { bound, nodes };
  } finally {
    model.dispose();
  }
}

/**
 * A row at dual values y that are feasible for the configuration LP (no pattern of bin j worth more than `upper[j]` ≤
 * its cost): each bin's cap is the optimum of its integer knapsack at y (or the search's upper bound where its node
 * limit stops it), at most `upper[j]`. Whole pods per node, which the fluid LP splits.
 */
export function knapsackRow(
  p: CgProblem,
  { duals, upper, demand, nodeLimit }: { duals: number[]; upper: number[]; demand: number[]; nodeLimit: number },
): SurrogateRow {
  const cap = p.bins.map((bin, j) => {
    const items: KnapsackItem[] = p.compat[j]!.flatMap((i) =>
      duals[i]! > 0 && demand[i]! > 0 ? [{ value: duals[i]!, size: p.items[i]!.size, maxCount: demand[i]! }] : [],
    );
    if (items.length === 0) return 0;
    const res = solveKnapsack(items, bin.cap, nodeLimit);
    p.work.add(WORK.knapsackSearch + WORK.knapsackNode * res.nodes * (1 + items.length / 32));
    return Math.min(upper[j]!, res.upperBound * (1 + 1e-9));
  });
  return { need: dualWorth(duals, demand), cap };
}

/** y·b: what the demand is worth at dual values y (a lower bound on every plan when y is dual feasible). */
function dualWorth(duals: number[], demand: number[]): number {
  return duals.reduce((s, v, i) => s + v * Math.max(0, demand[i]!), 0);
}

export interface CutLoop {
  /** the best of the few-row MILPs' bounds: a lower bound on every plan */
  bound: number;
  /** nodes per bin whose capacity holds every pod (fractionally), when the loop found one */
  solution?: NonNullable<FluidMilp["solution"]>;
}

/**
 * The few-row MILP, then, while it is below `enough` and work is left: its nodes per bin are checked by the fluid LP
 * that must buy at least those nodes (Completion). Where that LP must buy more, its shape duals y give a new row at y
 * (each bin's integer knapsack at y, at most the Lagrangian bound with the LP's capacity duals), which the MILP's nodes
 * break by at least that cost, and the MILP runs again with it. Every row holds for every plan whatever y is, so each
 * MILP's bound is a lower bound. It ends when the nodes hold every pod (the solution), when a row no longer cuts them
 * off, when one MILP uses its whole `masterWork` (more rows would only slow it), or at `deadline` (counted work).
 */
export function cutLoop(
  p: CgProblem,
  demand: number[],
  {
    rows,
    deadline,
    masterWork,
    enough,
    nodeLimit,
  }: { rows: SurrogateRow[]; deadline: number; masterWork: number; enough: number; nodeLimit: number },
): CutLoop {
  const all = rows.slice();
  const out: CutLoop = { bound: 0 };
  const completion = lazyCompletion(p, demand, fluidBins(p));
  // nodes the MILP gave before: within its tolerances a row may not move it, and the same nodes give the same row
  const seen = new Set<string>();
  try {
    for (;;) {
      const stop = Math.min(deadline, p.work.units + masterWork);
      const master = surrogateMilp(p, all, { deadline: stop });
      out.bound = Math.max(out.bound, master.bound);
      if (!master.nodes || out.bound >= enough || p.work.units >= stop) return out;
      const key = [...master.nodes].join(";");
      if (seen.has(key)) return out;
      seen.add(key);
      const next = cutOff(p, demand, { nodes: master.nodes, completion: completion.get(), nodeLimit });
      if (next.solution) return { ...out, solution: next.solution };
      if (!next.row) return out;
      all.push(next.row);
    }
  } finally {
    completion.dispose();
  }
}

/** The MILP's nodes as a solution when they hold every pod, else a row at the completion LP's duals that they break. */
function cutOff(
  p: CgProblem,
  demand: number[],
  { nodes, completion, nodeLimit }: { nodes: Map<number, number>; completion: Completion; nodeLimit: number },
): { solution?: NonNullable<FluidMilp["solution"]>; row?: SurrogateRow } {
  const check = completion.check(nodes);
  if (!check) return {};
  let cost = 0;
  nodes.forEach((count, j) => (cost += count * p.bins[j]!.weight));
  if (check.cost - cost <= COMPLETION_TOLERANCE * cost) return { solution: { nodes, assignment: check.assignment } };
  const row = knapsackRow(p, { duals: check.duals, upper: check.upper, demand, nodeLimit });
  let held = 0;
  nodes.forEach((count, j) => (held += count * row.cap[j]!));
  // broken by more than the MILP's feasibility tolerance, or the MILP could keep the same nodes
  return held < row.need - ROW_MARGIN * Math.max(1, row.need) ? { row } : {};
}

/** How much a new row must be broken by (relative, at least absolute for small rows) to be added. */
const ROW_MARGIN = 1e-6;

/** A completion cost this small (relative to the nodes' cost) counts as none: the nodes hold every pod. */
const COMPLETION_TOLERANCE = 1e-7;

interface CompletionCheck {
  /** what the nodes and their completion cost at least (the nodes' own cost: they hold every pod, fractionally) */
  cost: number;
  /** the LP's shape duals */
  duals: number[];
  /** per bin, at most what one node of it is worth at `duals` (Infinity where the LP gives no bound) */
  upper: number[];
  assignment: FluidBound["assignment"];
}

/**
 * The fluid LP over the kept bins and every bin some MILP solution used, with at least that solution's nodes: what
 * those nodes and their completion cost at least, buying more fractionally (the nodes' own cost when they hold every
 * pod). One model for the whole
 * loop, re-solved from its last basis: a new solution changes the nodes' lower bounds (and adds a bin's variables the
 * first time it is used). Its shape duals, and per bin the Lagrangian bound at them with the LP's capacity duals (of its
 * dominating kept bin where it has no variable), are what a row at those duals needs.
 */
class Completion {
  private readonly model: ReturnType<CgProblem["highs"]["createModel"]>;
  private readonly rows: CapacityRows;
  /** the model's z column of each bin in it */
  private readonly zCol = new Map<number, number>();
  /** the x columns, in order after the bins' z columns of the initial model, then per added bin */
  private readonly xCols: Array<{ col: number; bin: number; shape: number }> = [];
  private numCols = 0;
  private numRows: number;

  constructor(
    private readonly p: CgProblem,
    private readonly demand: number[],
    private readonly fluid: { bins: number[]; by: Int32Array },
  ) {
    this.rows = capacityRows(p, fluid.bins);
    this.numRows = demand.length + this.rows.count;
    this.model = p.highs.createModel();
    this.model.options.set({ output_flag: false });
    const lp = fluidModel(p, { demand, bins: fluid.bins, rows: this.rows, nRows: this.numRows });
    this.model.passModel(lp);
    fluid.bins.forEach((j, k) => this.zCol.set(j, k));
    let col = fluid.bins.length;
    for (const j of fluid.bins)
      for (const i of p.compat[j]!) if (demand[i]! > 0) this.xCols.push({ col: col++, bin: j, shape: i });
    this.numCols = col;
  }

  dispose(): void {
    this.model.dispose();
  }

  check(nodes: Map<number, number>): CompletionCheck | undefined {
    const { p, demand, model } = this;
    for (const j of nodes.keys()) if (!this.zCol.has(j)) this.addBin(j);
    const cols = [...this.zCol].sort((a, b) => a[1] - b[1]);
    model.changeColsBounds(
      { kind: "set", indices: Int32Array.from(cols.map(([, c]) => c)) },
      Float64Array.from(cols.map(([j]) => nodes.get(j) ?? 0)),
      new Float64Array(cols.length).fill(p.highs.infinity),
    );
    model.run();
    p.work.add(WORK.lpSolve + WORK.fluidIteration * Number(model.info.get("simplex_iteration_count")));
    if (model.getModelStatus() !== p.highs.constants.modelStatus.optimal) return undefined;
    const { rowDual, colValue } = model.getSolution();
    const y = demand.map((b, i) => (b > 0 ? Math.max(0, rowDual[i]!) : 0));
    const upper = p.bins.map((bin, j) => {
      const at = this.zCol.has(j) ? j : this.fluid.by[j]!;
      if (at < 0 || !this.zCol.has(at)) return Infinity;
      return bin.weight * binRatio(p, j, { y, demand, rowDual, rows: this.rows, at }) * (1 + 1e-9);
    });
    // only the nodes' pods: where they hold every pod, another bin gets no more than the LP's tolerances
    const assignment: FluidBound["assignment"] = [];
    for (const { col, bin, shape } of this.xCols) {
      const v = colValue[col]!;
      if (v > 1e-9 && nodes.has(bin)) assignment.push({ bin, shape, pods: v });
    }
    return { cost: Number(model.info.get("objective_function_value")), duals: y, upper, assignment };
  }

  /** Bin j's z column, its capacity rows and its x columns, appended to the model. */
  private addBin(j: number): void {
    const { p, demand, model } = this;
    const bin = p.bins[j]!;
    const inf = p.highs.infinity;
    const z = this.numCols++;
    model.addCols({
      cost: Float64Array.of(bin.weight),
      lower: Float64Array.of(0),
      upper: Float64Array.of(inf),
      matrix: {
        format: "csc",
        numRows: this.numRows,
        numCols: 1,
        starts: Int32Array.of(0, 0),
        indices: new Int32Array(0),
        values: new Float64Array(0),
      },
    });
    this.zCol.set(j, z);
    const shapes = p.compat[j]!.filter((i) => demand[i]! > 0);
    for (let d = 0; d < DIMS; d++) {
      if (bin.cap[d]! <= 0 || !shapes.some((i) => p.items[i]!.size[d]! > 0)) continue;
      model.addRow(-inf, 0, { indices: [z], values: [-bin.cap[d]!] });
      this.rows.row[j * DIMS + d] = this.rows.count++;
      this.numRows++;
    }
    const starts = [0];
    const indices: number[] = [];
    const values: number[] = [];
    for (const i of shapes) {
      indices.push(i);
      values.push(1);
      for (let d = 0; d < DIMS; d++) {
        const r = this.rows.row[j * DIMS + d]!;
        if (r < 0 || p.items[i]!.size[d]! <= 0) continue;
        indices.push(demand.length + r);
        values.push(p.items[i]!.size[d]!);
      }
      starts.push(indices.length);
      this.xCols.push({ col: this.numCols++, bin: j, shape: i });
    }
    const n = shapes.length;
    model.addCols({
      cost: new Float64Array(n),
      lower: new Float64Array(n),
      upper: new Float64Array(n).fill(inf),
      matrix: {
        format: "csc",
        numRows: this.numRows,
        numCols: n,
        starts: Int32Array.from(starts),
        indices: Int32Array.from(indices),
        values: Float64Array.from(values),
      },
    });
  }
}

/** The completion LP, built on first use (a loop whose first MILP settles it needs none). */
function lazyCompletion(
  p: CgProblem,
  demand: number[],
  fluid: { bins: number[]; by: Int32Array },
): { get(): Completion; dispose(): void } {
  let made: Completion | undefined;
  return {
    get: () => (made ??= new Completion(p, demand, fluid)),
    dispose: () => made?.dispose(),
  };
}
