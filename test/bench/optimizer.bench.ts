// Optimizer benchmark: plan cost vs a proven lower bound and vs a Karpenter-style provisioner, and plan time for 10 000 pods.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadPriceBookFromDataDir } from "../../src-shared/pricing/data-dir.js";
import type { InstanceShape, PriceBook } from "../../src-shared/pricing/types.js";
import { cpuMs } from "../../src-shared/optimizer/colgen.js";
import { optimize, type OptimizeResult } from "../../src-shared/optimizer/optimize.js";
import { buildOffers } from "../../src-shared/optimizer/offers.js";
import { parsePodsCsv } from "../../src-shared/optimizer/pods-csv.js";
import {
  DEFAULT_POLICY,
  type CapacityMode,
  type Offer,
  type OptimizerPolicy,
  type PodGroup,
} from "../../src-shared/optimizer/types.js";
import { rng } from "../support/rng.js";
import { FAMILIES } from "./workload-families.js";

export const title =
  "Optimizer: workload families cold (fresh spotctl plan) and warm, plan ÷ lower bound (≤ 1.03), plan ÷ Karpenter-style provisioning (≤ 0.75), plan time for 10 000 pods (≤ 1 s)";

const repo = resolve(import.meta.dirname, "../..");
const dataDir = resolve(repo, "../shared/data");

/**
 * Microservice-like mix, seed 42: 80 deployments. CPU request log-uniform 100–2000 m (rounded to 50 m);
 * memory = CPU × log-uniform 0.5–4 MiB per millicore, clamped to 128 MiB–4 GiB (rounded to 64 MiB);
 * 1 deployment in 10 is "heavy" (CPU 2000–4000 m, memory 4–8 GiB). Replicas follow a Zipf-like law
 * (∝ 1/rank^0.8) scaled so the total is `totalPods`.
 */
export function microserviceMix(totalPods: number, seed = 42): PodGroup[] {
  const r = rng(seed);
  const logUniform = (lo: number, hi: number): number => Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo)));
  const round = (v: number, step: number): number => Math.max(step, Math.round(v / step) * step);
  const deployments = 80;
  const weights = Array.from({ length: deployments }, (_, k) => 1 / (k + 1) ** 0.8);
  const wsum = weights.reduce((s, w) => s + w, 0);
  const counts = weights.map((w) => Math.max(1, Math.floor((w / wsum) * totalPods)));
  counts[0]! += totalPods - counts.reduce((s, c) => s + c, 0);
  return counts.map((count, k) => {
    const heavy = r() < 0.1;
    const cpu = heavy ? round(logUniform(2000, 4000), 50) : round(logUniform(100, 2000), 50);
    const mem = heavy
      ? round(logUniform(4096, 8192), 64)
      : round(Math.min(4096, Math.max(128, cpu * logUniform(0.5, 4))), 64);
    return { app: `svc-${String(k).padStart(3, "0")}`, cpuMillicores: cpu, memoryMiB: mem, count };
  });
}

/** Karpenter's default NodePool of the getting-started guide: categories c, m, r; generation ≥ 5; no metal, no GPU. */
function starterNodePool(s: InstanceShape): boolean {
  return ["c", "m", "r"].includes(s.category) && s.generation >= 5 && !s.bareMetal && s.gpu === null;
}

interface Claim {
  cpu: number;
  mem: number;
  pods: number;
  /** offers that still hold everything in the claim */
  options: Offer[];
}

/**
 * A first-fit model of Karpenter's provisioning: pods largest first (CPU, then memory);
 * each pod joins the first open node claim for which some instance type still holds all of its
 * pods, else opens a new claim; each claim launches the cheapest type that holds its pods.
 */
function karpenterStyleCostUsd(pods: PodGroup[], offers: Offer[]): number {
  const fits = (o: Offer, c: { cpu: number; mem: number; pods: number }): boolean =>
    o.shape.allocatable.cpuMillicores >= c.cpu &&
    o.shape.allocatable.memoryMiB >= c.mem &&
    o.shape.allocatable.pods >= c.pods;
  const sorted = [...pods].sort((a, b) => b.cpuMillicores - a.cpuMillicores || b.memoryMiB - a.memoryMiB);
  const claims: Claim[] = [];
  for (const g of sorted) {
    for (let n = 0; n < g.count; n++) {
      let placed = false;
      for (const c of claims) {
        const next = { cpu: c.cpu + g.cpuMillicores, mem: c.mem + g.memoryMiB, pods: c.pods + 1 };
        const options = c.options.filter((o) => fits(o, next));
        if (options.length === 0) continue;
        Object.assign(c, next, { options });
        placed = true;
        break;
      }
      if (placed) continue;
      const first = { cpu: g.cpuMillicores, mem: g.memoryMiB, pods: 1 };
      const options = offers.filter((o) => fits(o, first));
      if (options.length === 0) throw new Error(`no type holds ${g.app}`);
      claims.push({ ...first, options });
    }
  }
  return claims.reduce((s, c) => s + Math.min(...c.options.map((o) => o.price.usdPerHour)), 0);
}

interface Row {
  workload: string;
  types: string;
  capacity: string;
  pods: number;
  nodes: number;
  planUsd: number;
  lowerBoundUsd: number;
  karpenterUsd: number;
  planMs: number;
  /** the bound reached the configuration LP optimum (else it stopped at its budget: valid, but looser) */
  lbConverged: boolean;
  /** CPU time of the bound's run (its plan, then the bound's column generation), against LOWER_BOUND_BUDGET_MS */
  lbMs: number;
}

/**
 * CPU budget of each lower bound. Rows whose column generation converges stop early; the others use
 * it all, and a bound stopped early is valid but looser, which only makes plan ÷ LB worse. With dual
 * smoothing the micro-mix bounds that converge took 18–40 s of the earlier 45 s: 60 s leaves margin,
 * and only micro / starter / On-Demand (which does not converge) pays for it (bench ≈ 2.5 min).
 */
const LOWER_BOUND_BUDGET_MS = 60_000;

interface Case {
  workload: string;
  pods: PodGroup[];
  set: { name: string; allow?: (s: InstanceShape) => boolean };
  capacity: CapacityMode;
}

async function measure(book: PriceBook, { workload, pods, set, capacity }: Case): Promise<Row> {
  const policy: OptimizerPolicy = { ...DEFAULT_POLICY, capacity, spotFallback: false, allowType: set.allow };
  const t0 = cpuMs();
  const plan = await optimize({ pods, book, policy });
  const planMs = cpuMs() - t0;
  const t1 = cpuMs();
  const lb = await optimize({ pods, book, policy, lowerBound: true, lowerBoundBudgetMs: LOWER_BOUND_BUDGET_MS });
  const lbMs = cpuMs() - t1;
  const offers = buildOffers(book, policy, [capacity === "spot" ? "spot" : "on-demand"], new Set());
  if (plan.unplaced.length > 0) throw new Error(`${workload}: ${plan.unplaced.length} shapes unplaced`);
  return {
    workload,
    types: set.name,
    capacity,
    pods: pods.reduce((s, p) => s + p.count, 0),
    nodes: plan.nodes.length,
    // the plan at default settings comes with its bound, whose columns may improve it
    planUsd: lb.hourlyCostUsd,
    lowerBoundUsd: lb.lowerBound!.hourlyUsd,
    karpenterUsd: karpenterStyleCostUsd(pods, offers),
    planMs,
    lbConverged: lb.lowerBound!.converged,
    lbMs,
  };
}

function printTable(rows: Row[]): void {
  const head = [
    "workload",
    "types",
    "capacity",
    "pods",
    "nodes",
    "plan $/h",
    "LB $/h",
    "LB=LP opt",
    "plan÷LB",
    "karp $/h",
    "plan÷karp",
    "LB÷karp",
    "plan cpu ms",
    "LB cpu s",
  ];
  const cells = rows.map((r) => [
    r.workload,
    r.types,
    r.capacity,
    String(r.pods),
    String(r.nodes),
    r.planUsd.toFixed(3),
    r.lowerBoundUsd.toFixed(3),
    r.lbConverged ? "yes" : "no",
    (r.planUsd / r.lowerBoundUsd).toFixed(4),
    r.karpenterUsd.toFixed(3),
    (r.planUsd / r.karpenterUsd).toFixed(4),
    (r.lowerBoundUsd / r.karpenterUsd).toFixed(4),
    r.planMs.toFixed(0),
    (r.lbMs / 1000).toFixed(1),
  ]);
  const width = head.map((h, k) => Math.max(h.length, ...cells.map((c) => c[k]!.length)));
  for (const line of [head, ...cells]) console.log(line.map((c, k) => c.padStart(width[k]!)).join("  "));
}

/** Time for 10 000 pods over every priced type, repeated (after the warm-up: warm, as a long-running operator plans). */
async function planTime10k(book: PriceBook, mix: PodGroup[]): Promise<void> {
  // CPU time is what "≤ 1 s on one core" means; wall time is shown too because the machine may be shared.
  for (const capacity of ["on-demand", "spot"] as const) {
    const times: string[] = [];
    let usd = 0;
    for (let k = 0; k < 3; k++) {
      const [w0, c0] = [performance.now(), cpuMs()];
      usd = (await optimize({ pods: mix, book, policy: { ...DEFAULT_POLICY, capacity, spotFallback: false } }))
        .hourlyCostUsd;
      times.push(`${(cpuMs() - c0).toFixed(0)} cpu/${(performance.now() - w0).toFixed(0)} wall`);
    }
    console.log(
      `plan time, 10 000 pods (${mix.length} shapes), every priced type, ${capacity}, no bound: ${times.join(", ")} ms (runs 1/2/3; target ≤ 1000), ${usd.toFixed(3)} $/h, load ${loadavg()[0]!.toFixed(1)}`,
    );
  }
}

/** Karpenter's starter NodePool as a --families list (categories c, m, r of generation ≥ 5), so a CLI run can use it. */
function starterFamilies(book: PriceBook): string[] {
  const families = new Set<string>();
  for (const s of book.instanceTypes.values())
    if (["c", "m", "r"].includes(s.category) && s.generation >= 5 && s.gpu === null) families.add(s.family);
  return [...families].sort();
}

/** The pods as a spotctl CSV (arch and families columns for the node selectors). */
function podsCsv(pods: PodGroup[]): string {
  const rows = pods.map(
    (p) => `${p.app},${p.cpuMillicores},${p.memoryMiB},${p.count},${p.arch ?? ""},${(p.families ?? []).join("|")}`,
  );
  return ["app,cpu_millicores,memory_mib,count,arch,families", ...rows].join("\n") + "\n";
}

interface FamilyRow {
  family: string;
  types: string;
  capacity: string;
  pods: number;
  shapes: number;
  cold: { planUsd: number; lbUsd: number; lbOpt: boolean; method: string; wallMs: number; cpuMs: number };
  warm: { planUsd: number; lbUsd: number; cpuMs: number };
}

/** A fresh `spotctl plan` process at default settings (bound on): its plan, bound, wall time and CPU time (user + system). */
function coldPlan(args: string[]): FamilyRow["cold"] {
  const bin = resolve(repo, "bin/spotctl.mjs");
  const t0 = performance.now();
  // bash's `time` reports the child's CPU time, which Node cannot read for a finished child.
  const res = spawnSync("bash", ["-c", 'TIMEFORMAT="%U %S"; time "$0" "$@"', process.execPath, bin, "plan", ...args], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const wallMs = performance.now() - t0;
  if (res.status !== 0) throw new Error(`spotctl plan failed: ${res.stderr}`);
  const [user, sys] = res.stderr.trim().split("\n").at(-1)!.split(" ").map(Number);
  const out = JSON.parse(res.stdout) as {
    hourlyCostUsd: number;
    lowerBoundHourlyUsd: number;
    lowerBoundIsLpOptimum: boolean;
    lowerBoundMethod: string;
  };
  return {
    planUsd: out.hourlyCostUsd,
    lbUsd: out.lowerBoundHourlyUsd,
    lbOpt: out.lowerBoundIsLpOptimum,
    method: out.lowerBoundMethod,
    wallMs,
    cpuMs: 1000 * (user! + sys!),
  };
}

/** Every generated family × {starter, all priced} × {On-Demand, Spot}: cold (a fresh process) and warm (this process). */
async function familyRows(book: PriceBook): Promise<FamilyRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "optimizer-bench-"));
  // After a source change the first spotctl process rebuilds its cached bundle: not part of any row's time.
  spawnSync(process.execPath, [resolve(repo, "bin/spotctl.mjs"), "version"], { stdio: "ignore" });
  const starter = starterFamilies(book);
  const rows: FamilyRow[] = [];
  for (const f of FAMILIES) {
    const pods = f.pods();
    const file = join(dir, `${f.name}.csv`);
    writeFileSync(file, podsCsv(pods));
    for (const types of ["starter", "all-priced"] as const)
      for (const capacity of ["on-demand", "spot"] as const) {
        const families = types === "starter" ? starter : [];
        const args = ["--pods", file, "--data", dataDir, "--capacity", capacity];
        if (families.length > 0) args.push("--families", families.join(","));
        const cold = coldPlan(args);
        // The CLI's policy for these flags: defaults plus capacity and families.
        const policy: OptimizerPolicy = { ...DEFAULT_POLICY, capacity, families };
        const c0 = cpuMs();
        const warm: OptimizeResult = await optimize({ pods, book, policy, lowerBound: true });
        const shapes = new Set(pods.map((p) => JSON.stringify([p.cpuMillicores, p.memoryMiB, p.arch, p.families])))
          .size;
        rows.push({
          family: f.name,
          types,
          capacity,
          pods: pods.reduce((s, p) => s + p.count, 0),
          shapes,
          cold,
          warm: { planUsd: warm.hourlyCostUsd, lbUsd: warm.lowerBound!.hourlyUsd, cpuMs: cpuMs() - c0 },
        });
        printFamilyRow(rows.at(-1)!);
      }
  }
  return rows;
}

function printFamilyRow(r: FamilyRow): void {
  const gap = (plan: number, lb: number): string => (lb > 0 ? (plan / lb).toFixed(4) : "n/a");
  console.log(
    [
      `${r.family}/${r.types}/${r.capacity}`.padEnd(34),
      `${r.pods} pods ${r.shapes} shapes`.padEnd(20),
      `cold: plan ${r.cold.planUsd.toFixed(3)} LB ${r.cold.lbUsd.toFixed(3)}${r.cold.lbOpt ? "*" : " "} (${r.cold.method}) ÷ ${gap(r.cold.planUsd, r.cold.lbUsd)}`,
      `${(r.cold.wallMs / 1000).toFixed(1)} s wall ${(r.cold.cpuMs / 1000).toFixed(1)} s cpu`.padEnd(24),
      `warm: plan ${r.warm.planUsd.toFixed(3)} LB ${r.warm.lbUsd.toFixed(3)} ÷ ${gap(r.warm.planUsd, r.warm.lbUsd)} ${(r.warm.cpuMs / 1000).toFixed(1)} s cpu`,
      // the CLI prints money rounded to 1/10 000 $
      Math.abs(r.cold.planUsd - r.warm.planUsd) < 1e-4 ? "same plan" : "PLANS DIFFER",
      `load ${loadavg()[0]!.toFixed(1)}`,
    ].join("  "),
  );
}

export async function run(): Promise<void> {
  const book = loadPriceBookFromDataDir(dataDir, "us-east-1");
  if (process.env.OPTIMIZER_BENCH !== "classic") {
    console.log("workload families (LB* = the LP optimum; ÷ = plan ÷ proven lower bound, target ≤ 1.03):");
    const fam = await familyRows(book);
    const miss = fam.filter((r) => r.cold.planUsd > 1.03 * r.cold.lbUsd);
    console.log(
      `cold rows above 1.03 × their proven bound: ${miss.map((r) => `${r.family}/${r.types}/${r.capacity} (proven gap ≤ ${(100 * (r.cold.planUsd / r.cold.lbUsd - 1)).toFixed(1)} %)`).join(", ") || "none"}`,
    );
    const slow = fam.filter((r) => r.pods <= 2_000 && r.cold.wallMs > 5_000);
    console.log(
      `cold rows of up to 2 000 pods over 5 s wall: ${slow.length} of ${fam.length}${slow.map((r, k) => `${k ? "," : ":"} ${r.family}/${r.types}/${r.capacity} ${(r.cold.wallMs / 1000).toFixed(1)} s`).join("")}`,
    );
  }
  const mix = microserviceMix(10_000);
  if (process.env.OPTIMIZER_BENCH === "families") {
    await planTime10k(book, mix);
    return;
  }
  const cpuOnly = parsePodsCsv(readFileSync(resolve(dataDir, "workload-pods.csv"), "utf8"), "workload-pods.csv").filter(
    (p) => !p.gpus,
  );
  const sets = [
    { name: "starter", allow: starterNodePool },
    { name: "all-priced", allow: undefined },
  ];
  // The process's first plan pays for JIT and wasm compilation: the same plan (budgets count work), more CPU time.
  // Plan the first row twice before measuring, so that every row's time is measured warm; both are printed.
  const coldPolicy: OptimizerPolicy = {
    ...DEFAULT_POLICY,
    capacity: "on-demand",
    spotFallback: false,
    allowType: starterNodePool,
  };
  for (const label of ["first (cold)", "second"]) {
    const [coldWallMs, coldCpuMs] = [performance.now(), cpuMs()];
    const cold = await optimize({ pods: cpuOnly, book, policy: coldPolicy });
    console.log(
      `warm-up, the process's ${label} plan: trace-cpu / starter / on-demand ${cold.hourlyCostUsd.toFixed(3)} $/h, ${(cpuMs() - coldCpuMs).toFixed(0)} cpu/${(performance.now() - coldWallMs).toFixed(0)} wall ms (not in the table)`,
    );
  }
  const rows: Row[] = [];
  for (const [name, pods] of [
    ["trace-cpu", cpuOnly],
    ["micro-mix", mix],
  ] as const) {
    for (const set of sets)
      for (const capacity of ["on-demand", "spot"] as const)
        rows.push(await measure(book, { workload: name, pods, set, capacity }));
  }
  printTable(rows);
  await planTime10k(book, mix);
  const worstLb = Math.max(...rows.map((r) => r.planUsd / r.lowerBoundUsd));
  const worstKarp = Math.max(...rows.map((r) => r.planUsd / r.karpenterUsd));
  console.log(
    `worst plan÷LB ${worstLb.toFixed(4)} (target ≤ 1.03), worst plan÷Karpenter-style ${worstKarp.toFixed(4)} (target ≤ 0.75)`,
  );
  // No plan can beat the lower bound, so where LB÷karp > 0.75 the 0.75 target is out of reach for any optimizer.
  const unreachable = rows
    .filter((r) => r.lowerBoundUsd / r.karpenterUsd > 0.75)
    .map((r) => `${r.workload}/${r.types}/${r.capacity}`);
  console.log(`rows where even the lower bound is above 0.75 × Karpenter-style: ${unreachable.join(", ") || "none"}`);
}
