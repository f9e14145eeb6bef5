// The fluid bounds: one LP where each node type's capacity is shared fractionally by the pods placed on it, and the same with whole nodes per type (a MILP).
import { WORK, type CgProblem } from "./colgen.js";
import { DIMS, lagrangianBound, type KnapsackItem } from "./knapsack.js";
import { runCounted } from "./milp.js";

export interface FluidBound {
  /** a proven lower bound on the configuration LP optimum, hence on every integer plan */
  value: number;
  /** dual values of the shapes, scaled so that no pattern of any bin is worth more than the bin costs */
  duals: number[];
  /** the LP's pods of each shape per bin (fractional, > 0 only) */
  assignment: Array<{ bin: number; shape: number; pods: number }>;
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
    const rho = Math.max(1, ...p.bins.map((bin, j) => binRatio(p, j, { y, demand, rowDual, rows, at: by[j]! })));
    const scaled = y.map((v) => v / rho);
    return {
      value: scaled.reduce((s, v, i) => s + v * Math.max(0, demand[i]!), 0),
      duals: scaled,
      assignment: assignmentOf(p, { demand, bins, x: colValue }),
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
  /** HiGHS's proven bound on the fluid model with whole nodes per type (a lower bound on every plan), or 0 */
  bound: number;
  /** the best solution found, if any: nodes per bin and the (fractional) pods of each shape per bin */
  solution?: { nodes: Map<number, number>; assignment: FluidBound["assignment"] };
}

/**
 * The fluid LP with a whole number of nodes per type (z_j ∈ ℤ≥0; pods stay fractional). Every plan is still a feasible
 * point, so HiGHS's dual bound is a lower bound on every plan; it is taken with a relative margin for the solver's
 * tolerances, like the knapsack MILP's. Where a plan needs only a few nodes of the cheapest types (Spot, pods small
 * against the biggest nodes) whole nodes are what the LPs miss: the configuration LP buys 0.6 of a node the plan
 * must buy whole. Interrupted once its simplex work passes `deadline` (counted, so the same on every run).
 * `cheapBins`: only the types the fluid LP keeps (a much smaller model, for a solution); then there is no bound (0),
 * as the types left out could only be replaced fractionally.
 */
export function fluidMilp(
  p: CgProblem,
  demand: number[],
  { deadline, cheapBins = false }: { deadline: number; cheapBins?: boolean },
): FluidMilp {
  const model = p.highs.createModel();
  try {
    model.options.set({ output_flag: false, mip_rel_gap: FLUID_MILP_GAP } as never);
    const bins = cheapBins ? fluidBins(p).bins : p.bins.map((_, j) => j);
    const rows = capacityRows(p, bins);
    const lp = fluidModel(p, { demand, bins, rows, nRows: demand.length + rows.count });
    model.passModel(lp);
    model.changeColsIntegrality(
      { kind: "range", from: 0, to: bins.length - 1 },
      new Int32Array(bins.length).fill(p.highs.constants.variableType.integer),
    );
    const perIteration = WORK.fluidMilpIteration + WORK.fluidMilpPerColumn * lp.numCols;
    const { iterations } = runCounted(p, model, {
      start: p.work.units + WORK.lpSolve,
      perIteration,
      perCall: 0,
      end: deadline,
    });
    p.work.add(WORK.lpSolve + perIteration * iterations);
    const bound = cheapBins ? 0 : Number(model.info.get("mip_dual_bound" as never));
    const out: FluidMilp = { bound: Number.isFinite(bound) && bound > 0 ? bound * (1 - FLUID_MILP_MARGIN) : 0 };
    const { modelStatus } = p.highs.constants;
    const status = model.getModelStatus();
    if (status !== modelStatus.optimal && status !== modelStatus.interrupted) return out;
    const { colValue } = model.getSolution();
    const nodes = new Map<number, number>();
    bins.forEach((j, k) => {
      const n = Math.round(colValue[k] ?? 0);
      if (n > 0) nodes.set(j, n);
    });
    if (nodes.size > 0) out.solution = { nodes, assignment: assignmentOf(p, { demand, bins, x: colValue }) };
    return out;
  } finally {
    model.dispose();
  }
}

/** The MILP stops once within this of its own bound: closer buys nothing a plan keeps after packing real nodes. */
const FLUID_MILP_GAP = 2e-3;
/** HiGHS's dual bound is taken this much lower (relative), for its feasibility and optimality tolerances. */
const FLUID_MILP_MARGIN = 1e-5;
