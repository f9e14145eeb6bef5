// LP relaxation of the pricing knapsack (at most four capacity rows, bounded counts) by a small bounded-variable simplex.
import { DIMS, lagrangianBound, type KnapsackItem } from "./knapsack.js";

export interface KnapsackLpResult {
  /** LP optimum point (counts, fractional) */
  x: number[];
  /** row duals (one per dimension, 0 for rows left out), the multipliers behind upperBound */
  duals: number[];
  /** a proven upper bound on the LP optimum, hence on the knapsack: the Lagrangian bound at the final duals */
  upperBound: number;
  /** simplex iterations (the work done) */
  iterations: number;
}

const EPS = 1e-9;

/** Subtracts f × row c from row r (both of width w). */
function eliminate(a: number[][], r: number, c: number, w: number): void {
  const f = a[r]![c]!;
  if (f !== 0) for (let k = 0; k < w; k++) a[r]![k]! -= f * a[c]![k]!;
}

/** Inverts a small dense matrix (Gauss–Jordan with partial pivoting); undefined when singular. */
function invert(m: number[][]): number[][] | undefined {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[piv]![c]!)) piv = r;
    if (Math.abs(a[piv]![c]!) < 1e-12) return undefined;
    [a[c], a[piv]] = [a[piv]!, a[c]!];
    const inv = 1 / a[c]![c]!;
    for (let k = 0; k < 2 * n; k++) a[c]![k]! *= inv;
    for (let r = 0; r < n; r++) if (r !== c) eliminate(a, r, c, 2 * n);
  }
  return a.map((row) => row.slice(n));
}

interface Tableau {
  /** scaled constraint matrix by column (column j at j * rows): structurals 0..n-1, then one slack per row */
  a: Float64Array;
  cost: Float64Array;
  upper: Float64Array;
  rows: number;
  n: number;
}

/**
 * max Σ v_i x_i  s.t.  Σ s_id x_i ≤ cap_d,  0 ≤ x_i ≤ maxCount_i. Rows are scaled by their capacity; dimensions with
 * no item using them are left out. Dantzig pricing, Bland's rule after degenerate steps; the basis (≤ 4 × 4) is
 * re-inverted every iteration, so there is no drift to correct.
 */
export function solveKnapsackLp(items: readonly KnapsackItem[], cap: readonly number[]): KnapsackLpResult {
  const dims = Array.from({ length: DIMS }, (_, d) => d).filter(
    (d) => cap[d]! > 0 && items.some((it) => it.size[d]! > 0),
  );
  const n = items.length;
  const m = dims.length;
  const total = n + m;
  const t: Tableau = {
    rows: m,
    n,
    a: new Float64Array(total * m),
    cost: new Float64Array(total),
    upper: new Float64Array(total).fill(Infinity),
  };
  items.forEach((it, j) => {
    dims.forEach((d, r) => (t.a[j * m + r] = it.size[d]! / cap[d]!));
    t.cost[j] = it.value;
    t.upper[j] = it.maxCount;
  });
  for (let r = 0; r < m; r++) t.a[(n + r) * m + r] = 1;
  const { x, pi, iterations } = simplex(t);
  const duals = new Array<number>(DIMS).fill(0);
  dims.forEach((d, r) => (duals[d] = Math.max(0, pi[r]!) / cap[d]!));
  return { x: Array.from(x.subarray(0, n)), duals, upperBound: lagrangianBound(items, cap, duals), iterations };
}

interface State {
  x: Float64Array;
  atUpper: Uint8Array;
  basis: number[];
  inBasis: Int32Array;
}

/** Basic values from the nonbasic ones (each at 0 or at its upper bound), and the row duals, for basis inverse binv. */
function solveBasis(t: Tableau, st: State, binv: number[][]): number[] {
  const { a, cost, upper, rows: m } = t;
  const rhs = new Float64Array(m).fill(1);
  for (let j = 0; j < cost.length; j++) {
    if (!st.atUpper[j] || st.inBasis[j]! >= 0) continue;
    for (let r = 0; r < m; r++) rhs[r]! -= a[j * m + r]! * upper[j]!;
  }
  for (let r = 0; r < m; r++) st.x[st.basis[r]!] = binv[r]!.reduce((s, v, k) => s + v * rhs[k]!, 0);
  return Array.from({ length: m }, (_, k) => st.basis.reduce((s, j, r) => s + cost[j]! * binv[r]![k]!, 0));
}

/** Moves along the entering column by the ratio test's step; returns the step length. */
function pivot(t: Tableau, st: State, { enter, binv }: { enter: number; binv: number[][] }): number {
  const { a, upper, rows: m } = t;
  const { x, atUpper, basis, inBasis } = st;
  const dir = atUpper[enter] ? -1 : 1;
  const alpha = binv.map((row) => row.reduce((s, v, k) => s + v * a[enter * m + k]!, 0) * dir);
  const step = ratioTest(t, { x, basis, alpha, bound: upper[enter]! });
  for (let r = 0; r < m; r++) x[basis[r]!]! -= step.t * alpha[r]!;
  x[enter]! += dir * step.t;
  if (step.leave < 0) {
    atUpper[enter] = atUpper[enter] ? 0 : 1; // bound flip
    return step.t;
  }
  const out = basis[step.leave]!;
  atUpper[out] = step.toUpper ? 1 : 0;
  x[out] = step.toUpper ? upper[out]! : 0;
  inBasis[out] = -1;
  basis[step.leave] = enter;
  inBasis[enter] = step.leave;
  atUpper[enter] = 0;
  return step.t;
}

function simplex(t: Tableau): { x: Float64Array; pi: number[]; iterations: number } {
  const { n, rows: m, a } = t;
  const total = n + m;
  const st: State = {
    x: new Float64Array(total),
    atUpper: new Uint8Array(total),
    basis: Array.from({ length: m }, (_, r) => n + r),
    inBasis: new Int32Array(total).fill(-1),
  };
  st.basis.forEach((j, r) => (st.inBasis[j] = r));
  let pi = new Array<number>(m).fill(0);
  let iterations = 0;
  let degenerate = 0;
  // every structural is bounded, so the LP is bounded; the limit only guards against cycling
  for (const maxIterations = 50 * (total + 1); iterations < maxIterations; iterations++) {
    const binv = invert(st.basis.map((_, r) => st.basis.map((j) => a[j * m + r]!)));
    if (!binv) break;
    pi = solveBasis(t, st, binv);
    const enter = chooseEntering(t, { pi, inBasis: st.inBasis, atUpper: st.atUpper, bland: degenerate > 10 });
    if (enter < 0) break;
    degenerate = pivot(t, st, { enter, binv }) < EPS ? degenerate + 1 : 0;
  }
  return { x: st.x, pi, iterations };
}

function chooseEntering(
  t: Tableau,
  { pi, inBasis, atUpper, bland }: { pi: number[]; inBasis: Int32Array; atUpper: Uint8Array; bland: boolean },
): number {
  const { a, cost, upper, rows: m } = t;
  let best = -1;
  let bestGain = EPS;
  for (let j = 0; j < cost.length; j++) {
    if (inBasis[j]! >= 0 || upper[j]! <= 0) continue;
    let d = cost[j]!;
    for (let r = 0; r < m; r++) d -= pi[r]! * a[j * m + r]!;
    const gain = atUpper[j] ? -d : d;
    if (gain <= EPS) continue;
    if (bland) return j;
    if (gain > bestGain) {
      bestGain = gain;
      best = j;
    }
  }
  return best;
}

/** Largest step along the entering direction: a basic variable hits a bound (leave = its row), or the entering one flips (leave = -1). */
function ratioTest(
  t: Tableau,
  { x, basis, alpha, bound }: { x: Float64Array; basis: number[]; alpha: number[]; bound: number },
): { t: number; leave: number; toUpper: boolean } {
  let best = { t: bound, leave: -1, toUpper: false };
  for (let r = 0; r < basis.length; r++) {
    const al = alpha[r]!;
    const j = basis[r]!;
    if (al > EPS) {
      const s = Math.max(0, x[j]!) / al;
      if (s < best.t) best = { t: s, leave: r, toUpper: false };
    } else if (al < -EPS && t.upper[j]! < Infinity) {
      const s = Math.max(0, t.upper[j]! - x[j]!) / -al;
      if (s < best.t) best = { t: s, leave: r, toUpper: true };
    }
  }
  return best;
}
