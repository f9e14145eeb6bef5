// Integer restricted master: the cheapest whole number of copies of known node patterns covering the demand (HiGHS MILP, time-limited).
import { WORK, type CgProblem, type Column } from "./colgen.js";

export interface MasterMilpResult {
  /** copies of each column (same order as the columns passed in) */
  copies: number[];
  /** Σ weight × copies */
  weight: number;
  /** HiGHS proved this the cheapest choice over these columns (not over all patterns) */
  optimal: boolean;
}

/**
 * min Σ_p w_p x_p  s.t.  Σ_p a_ip x_p ≥ b_i,  x_p ∈ ℤ≥0  over the given columns only. Rounding the
 * configuration LP loses a few percent when pods are big and nodes hold few of them; this integer
 * program over the columns column generation found closes most of that. `incumbent` (copies of each
 * column, e.g. the rounded plan) is handed to HiGHS as a starting solution to improve on (callers
 * still keep the cheaper of the two). HiGHS is interrupted (runCounted) once
 * the work meter plus its own simplex iterations pass `deadline`, or once its gap is below `gap`:
 * counted in iterations, not time, so the result is the same on every run. Returns the best solution
 * found so far, or undefined when HiGHS has none (or one that does not check out).
 */
export function solveMasterMilp(
  p: CgProblem,
  columns: Column[],
  demand: number[],
  { deadline, incumbent, gap = 1e-6 }: { deadline: number; incumbent?: number[]; gap?: number },
): MasterMilpResult | undefined {
  if (columns.length === 0 || p.work.units >= deadline) return undefined;
  const { highs } = p;
  const model = highs.createModel();
  const checkCost = WORK.milpCheck * columns.length * demand.length;
  try {
    model.options.set({ output_flag: false, mip_rel_gap: gap } as never);
    addCoveringProgram(p, model, columns, demand);
    if (incumbent && covers(columns, incumbent, demand)) model.setSolution({ colValue: Float64Array.from(incumbent) });
    const { iterations, calls } = runCounted(p, model, {
      start: p.work.units + WORK.lpSolve,
      perIteration: WORK.milpIteration,
      perCall: checkCost,
      end: deadline,
    });
    p.work.add(WORK.lpSolve + WORK.milpIteration * iterations + checkCost * calls);
    const { modelStatus } = highs.constants;
    const status = model.getModelStatus();
    if (status !== modelStatus.optimal && status !== modelStatus.interrupted) return undefined;
    const copies = Array.from(model.getSolution().colValue, (x) => Math.max(0, Math.round(x)));
    // Trust but verify: the rounded values must still cover every shape.
    if (!covers(columns, copies, demand)) return undefined;
    const weight = copies.reduce((s, n, k) => s + n * p.bins[columns[k]!.bin]!.weight, 0);
    return { copies, weight, optimal: status === modelStatus.optimal };
  } finally {
    model.dispose();
  }
}

/**
 * Runs a MILP, interrupting it from its MIP callback once `start + perIteration × LP iterations + perCall × calls`
 * passes `end`: counted, not timed, so the result is the same on every run. HiGHS calls back only between MIP steps
 * (its simplex callback does not fire inside a MIP), so the root LP runs to its end whatever the budget. Also
 * interrupted once a solution costs less than `below`: the optimum, hence every bound the MILP can prove, is then under it.
 */
export function runCounted(
  p: CgProblem,
  model: ReturnType<CgProblem["highs"]["createModel"]>,
  {
    start,
    perIteration,
    perCall,
    end,
    below = -Infinity,
  }: { start: number; perIteration: number; perCall: number; end: number; below?: number },
): { iterations: number; calls: number } {
  let iterations = 0;
  let calls = 0;
  const stop = (event: {
    interrupt(): void;
    data: { simplex_iteration_count?: number; mip_total_lp_iterations?: bigint; mip_primal_bound?: number };
  }): undefined => {
    calls++;
    const lp = event.data.mip_total_lp_iterations;
    iterations = Math.max(iterations, lp !== undefined ? Number(lp) : (event.data.simplex_iteration_count ?? 0));
    const spent = start + perIteration * iterations + perCall * calls > end;
    if (spent || (event.data.mip_primal_bound ?? Infinity) < below) event.interrupt();
    return undefined;
  };
  model.run({ [p.highs.constants.callbackType.mipInterrupt]: stop });
  return { iterations, calls };
}

/** Rows Σ_p a_ip x_p ≥ b_i, integer columns x_p with cost w_p. */
function addCoveringProgram(
  p: CgProblem,
  model: ReturnType<CgProblem["highs"]["createModel"]>,
  columns: Column[],
  demand: number[],
): void {
  const { highs } = p;
  for (const b of demand) model.addRow(Math.max(0, b), highs.infinity, { indices: [], values: [] });
  for (const c of columns) {
    const order = c.items.map((_, k) => k).sort((a, b) => c.items[a]! - c.items[b]!);
    // more copies of a pattern than its most demanded shape needs cover nothing more
    const upper = Math.max(0, ...c.items.map((i, k) => Math.ceil(Math.max(0, demand[i]!) / c.counts[k]!)));
    model.addCol(p.bins[c.bin]!.weight, 0, upper, {
      indices: order.map((k) => c.items[k]!),
      values: order.map((k) => c.counts[k]!),
    });
  }
  model.changeColsIntegrality(
    { kind: "range", from: 0, to: columns.length - 1 },
    new Int32Array(columns.length).fill(highs.constants.variableType.integer),
  );
}

/** Σ copies × counts ≥ demand for every shape. */
export function covers(columns: Column[], copies: number[], demand: number[]): boolean {
  if (copies.length !== columns.length) return false;
  const got = new Array<number>(demand.length).fill(0);
  columns.forEach((c, k) => c.items.forEach((i, q) => (got[i]! += c.counts[q]! * copies[k]!)));
  return demand.every((b, i) => got[i]! >= b);
}
