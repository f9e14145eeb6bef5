// `spotctl plan`: reads pod shapes from a CSV and prices, prints the cheapest node plan found as JSON (one entry per node).
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { UsageError, parseFlags, refuseStdin, type CliCommand, type CliIo } from "../command.js";
import { hasAwsCredentials } from "../../../src-shared/pricing/aws/credentials.js";
import { loadSnapshotPriceBook } from "../../../src-shared/pricing/snapshot/index.js";
import { loadPriceBookFromDataDir, PriceDataError } from "../../../src-shared/pricing/data-dir.js";
import type { CpuArch, PriceBook } from "../../../src-shared/pricing/types.js";
import { monthlyUsd, parseCpuArch } from "../../../src-shared/pricing/types.js";
import { moneyReplacer } from "../../../src-shared/pricing/rounding.js";
import { typeAllowed } from "../../../src-shared/optimizer/offers.js";
import {
  DEFAULT_BOUND_BUDGET_MS,
  DEFAULT_PLAN_BUDGET_MS,
  optimize,
  PlanInputError,
  podCount,
  type OptimizeResult,
} from "../../../src-shared/optimizer/optimize.js";
import { parsePodsCsv, PodsCsvError } from "../../../src-shared/optimizer/pods-csv.js";
import {
  DEFAULT_POLICY,
  type CapacityMode,
  type OptimizerPolicy,
  type PodGroup,
  type Strategy,
} from "../../../src-shared/optimizer/types.js";
import { isStale, oldestAsOf, priceMaxAgeMs } from "../../../src-shared/pricing/freshness.js";
import { planPriceDates } from "../../../src-shared/optimizer/provenance.js";

const STRATEGIES: Strategy[] = ["lowest-price", "capacity-optimized", "price-capacity-optimized"];
const CAPACITIES: CapacityMode[] = ["spot", "on-demand", "mixed"];
function cpuArch(value: string): CpuArch {
  const arch = parseCpuArch(value);
  if (!arch) throw new UsageError(`--arch must be one of x86_64 (or amd64), arm64, got ${JSON.stringify(value)}`);
  return arch;
}

const usage = `spotctl plan --pods FILE.csv [--data DIR] [--region REGION] [--strategy S] [--capacity C]
             [--families a,b] [--arch x86_64|arm64] [--min-types N] [--no-spot-fallback] [--no-bound]
             [--budget-ms N] [--bound-budget-ms N] [--advisor-as-of YYYY-MM-DD]

Plans the cheapest set of nodes for the pods in FILE.csv and prints it as JSON, one entry per node
with the pods placed on it, so each node can be checked against its allocatable CPU, memory and pods.

  --pods FILE.csv     columns app,cpu_millicores,memory_mib,count then any of
                      num_gpu,gpu_milli,qos,arch,families (GPU pods request num_gpu whole GPUs;
                      arch amd64|arm64 and families such as m7g|c7g are the pods' node selectors)
  --data DIR          reads DIR/ec2-instance-types.json, DIR/spot-prices.json, DIR/spot-advisor.json;
                      a Spot price missing from spot-prices.json is derived as
                      On-Demand × (1 − savings%/100) from the advisor and labelled "derived",
                      undated (the feed carries no date) unless --advisor-as-of gives its date
  --advisor-as-of D   the date (YYYY-MM-DD) of DIR/spot-advisor.json: derived prices are dated by
                      the older of it and the On-Demand price's date
                      Without --data: live prices from AWS (DescribeInstanceTypes, Spot price
                      history, Pricing API) when AWS credentials are in the environment
                      (AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity or container credentials),
                      otherwise the price snapshot shipped with spotctl (every type with
                      known facts, us-east-1 only; On-Demand and observed Spot labelled
                      "snapshot", advisor-derived Spot "derived", each with its date)
  --region REGION     default us-east-1
  --strategy S        lowest-price (default) | capacity-optimized | price-capacity-optimized
  --capacity C        spot (default) | on-demand | mixed
  --families a,b      allowed instance families (m6i) or categories (m); default all
  --arch A            x86_64 (also amd64) | arm64, as the NodeTemplate CRD spells them; default both
  --min-types N       Spot nodes span at least N instance types; default 0 (no constraint)
  --no-spot-fallback  with --capacity spot, list pods no Spot type holds as unplaced instead of
                      planning them On-Demand
  --no-bound          skip the proven lower bound (by default the plan comes with lowerBoundHourlyUsd,
                      a proven lower bound on the optimal hourly cost, and gapPct, how far above it
                      the plan is at most; its columns also improve the plan; docs/optimizer.md)
  --lower-bound       accepted for compatibility: the bound is computed by default
  --budget-ms N       work the plan may spend refining (default 1000), in units of about 1 ms of CPU,
                      counted in work done rather than time: the same input and flags always give the
                      same plan, on any machine; the plan is complete with any budget
  --bound-budget-ms N work for the bound and the integer program over its columns (default 1000),
                      same units, and as much again for each whole-node MILP where the plan is still
                      over 3 % above the bound; a bound stopped early is valid, only weaker
                      (lowerBoundIsLpOptimum says whether it is the configuration LP's optimum;
                      lowerBoundMethod names the bound: configuration-lp, whole-nodes or fluid-lp)

Output: {nodes, hourlyCostUsd, monthlyCostUsd, baselineHourlyCostUsd (same nodes, all On-Demand),
savingsPct, unplaced (with reason), lowerBoundHourlyUsd, lowerBoundMethod, lowerBoundIsLpOptimum, gapPct
(absent with --no-bound), prices {source, asOf, bySource, stale}, warnings}; stale is true when a price is
older than SPOTOPT_PRICE_MAX_AGE_HOURS (default 168) or of unknown date.
Exit codes: 0 planned (unplaced pods are listed, and counted in a warning on stderr), 1 no pod could be placed,
2 bad flags or bad input files (including --families that name no instance type).`;

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T))
    throw new UsageError(`--${flag} must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
  return value as T;
}

const MAX_BUDGET_MS = 600_000;

/** A positive whole number of milliseconds (at most ten minutes), or the default when the flag is absent. */
function budgetMs(flags: Map<string, string[]>, name: string, fallback: number): number {
  const raw = single(flags, name);
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= 1 && value <= MAX_BUDGET_MS))
    throw new UsageError(
      `--${name} must be a whole number of milliseconds from 1 to ${MAX_BUDGET_MS}, got ${JSON.stringify(raw)}`,
    );
  return value;
}

function single(flags: Map<string, string[]>, name: string): string | undefined {
  const v = flags.get(name);
  if (v && v.length > 1) throw new UsageError(`--${name} given more than once`);
  return v?.[0];
}

function policyFrom(flags: Map<string, string[]>): OptimizerPolicy {
  const arch = single(flags, "arch");
  const families = (single(flags, "families") ?? "")
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f !== "");
  const minTypes = single(flags, "min-types") ?? "0";
  if (!/^\d+$/.test(minTypes))
    throw new UsageError(`--min-types must be a non-negative integer, got ${JSON.stringify(minTypes)}`);
  const capacity = oneOf("capacity", single(flags, "capacity"), CAPACITIES, DEFAULT_POLICY.capacity);
  // Silently ignored, it would read as a plan without fallback that is none.
  if (flags.has("no-spot-fallback") && capacity !== "spot")
    throw new UsageError(`--no-spot-fallback applies to --capacity spot only, got --capacity ${capacity}`);
  return {
    ...DEFAULT_POLICY,
    strategy: oneOf("strategy", single(flags, "strategy"), STRATEGIES, DEFAULT_POLICY.strategy),
    capacity,
    spotFallback: !flags.has("no-spot-fallback"),
    families,
    arch: arch === undefined ? [] : [cpuArch(arch)],
    minTypeDiversity: Number(minTypes),
  };
}

function readText(file: string): string {
  refuseStdin("--pods", file);
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(
      `--pods ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

/** --advisor-as-of: the date of DIR/spot-advisor.json (the feed carries none), given only with --data. */
function advisorDate(flags: Map<string, string[]>, dataDir: string | undefined): string | undefined {
  const date = single(flags, "advisor-as-of");
  if (date === undefined) return undefined;
  if (dataDir === undefined) throw new UsageError("--advisor-as-of dates the advisor file of --data DIR: give --data");
  // a day that exists: Date.parse would roll 2025-02-30 over into March
  const day = new Date(`${date}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== date)
    throw new UsageError(`--advisor-as-of ${date}: not a date (YYYY-MM-DD)`);
  return date;
}

function loadBook(dir: string | undefined, region: string, adviceAsOf?: string): PriceBook {
  try {
    return dir === undefined ? loadSnapshotPriceBook(region) : loadPriceBookFromDataDir(dir, region, adviceAsOf);
  } catch (err) {
    if (dir === undefined) throw new UsageError(`${(err as Error).message} (give AWS credentials or --data DIR)`);
    if (err instanceof PriceDataError) throw new UsageError((err as Error).message);
    throw err;
  }
}

/** Live AWS prices when credentials are present (falling back to the snapshot, said on stderr), else the shipped snapshot. */
async function liveOrCatalog(region: string, io: CliIo): Promise<PriceBook> {
  if (!hasAwsCredentials(process.env)) return loadBook(undefined, region);
  // Loaded here only: the AWS SDK is most of a cold start's module loading, and plans from files never need it.
  const { livePriceBook } = await import("./plan-live.js");
  const live = await livePriceBook(region);
  if ("book" in live) return live.book;
  io.stderr(`spotctl plan: AWS prices unavailable (${live.error}); using the shipped price snapshot\n`);
  return loadBook(undefined, region);
}

/**
 * The price sources behind the plan's figures — the nodes' prices and, for the baseline, their On-Demand prices — and
 * the oldest snapshot date among them.
 */
function priceProvenance(
  result: OptimizeResult,
  book: PriceBook,
): {
  source: string;
  asOf: string;
  bySource: Record<string, string>;
  stale: boolean;
} {
  const bySource = Object.fromEntries(planPriceDates(result, book));
  const dates = Object.values(bySource);
  const maxAgeMs = priceMaxAgeMs();
  // Older than SPOTOPT_PRICE_MAX_AGE_HOURS (or of unknown date): said in the output, next to the date.
  const stale = dates.some((asOf) => isStale(asOf, Date.now(), maxAgeMs));
  return {
    source: Object.keys(bySource).sort().join(",") || "none",
    asOf: oldestAsOf(dates) ?? "unknown",
    bySource,
    stale,
  };
}

/** How far the plan is above the proven lower bound, in % of the bound (null when the bound is 0: nothing to place). */
function gapPct(result: OptimizeResult): number | null {
  const lb = result.lowerBound?.hourlyUsd ?? 0;
  return lb > 0 ? (100 * (result.hourlyCostUsd - lb)) / lb : null;
}

function render(result: OptimizeResult, book: PriceBook): unknown {
  const pods = (p: {
    app: string;
    cpuMillicores: number;
    memoryMiB: number;
    gpus: number;
    count: number;
  }): Record<string, unknown> => ({
    app: p.app,
    cpu_millicores: p.cpuMillicores,
    memory_mib: p.memoryMiB,
    ...(p.gpus > 0 ? { num_gpu: p.gpus } : {}),
    count: p.count,
  });
  return {
    nodes: result.nodes.map((n) => ({
      instanceType: n.instanceType,
      capacityType: n.capacityType,
      zone: n.zone,
      hourlyUsd: n.hourlyUsd,
      onDemandHourlyUsd: n.onDemandHourlyUsd,
      priceSource: n.priceSource,
      priceAsOf: n.priceAsOf,
      allocatable: n.allocatable,
      pods: n.pods.map(pods),
    })),
    hourlyCostUsd: result.hourlyCostUsd,
    monthlyCostUsd: monthlyUsd(result.hourlyCostUsd),
    baseline: "all On-Demand, same nodes",
    baselineHourlyCostUsd: result.baselineHourlyCostUsd,
    baselineMonthlyCostUsd: monthlyUsd(result.baselineHourlyCostUsd),
    savingsPct: result.savingsPct,
    unplaced: result.unplaced.map((u) => ({ ...pods(u), reason: u.reason })),
    ...(result.lowerBound
      ? {
          lowerBoundHourlyUsd: result.lowerBound.hourlyUsd,
          lowerBoundMethod: result.lowerBound.method,
          lowerBoundIsLpOptimum: result.lowerBound.converged && result.lowerBound.method === "configuration-lp",
          gapPct: gapPct(result),
        }
      : {}),
    prices: priceProvenance(result, book),
    warnings: result.warnings,
  };
}

/** Families that name no type, or filters that leave no type at all, are the user's mistake: say so before planning. */
function checkTypeFilters(policy: OptimizerPolicy, book: PriceBook, io: CliIo): void {
  const shapes = [...book.instanceTypes.values()];
  const unknown = policy.families.filter((f) => !shapes.some((s) => s.family === f || s.category === f));
  if (unknown.length > 0 && unknown.length === policy.families.length)
    throw new UsageError(
      `--families ${unknown.join(",")}: no instance type in the ${book.region} price book has this family or category`,
    );
  if (unknown.length > 0)
    io.stderr(`spotctl plan: warning: --families ${unknown.join(",")} match no instance type; planning without them\n`);
  if (!shapes.some((s) => typeAllowed(s, policy)))
    throw new UsageError(
      `--families ${policy.families.join(",") || "(all)"} with --arch ${policy.arch.join(",") || "(any)"}: no instance type matches both`,
    );
}

/** Unplaced pods are never silent: a warning on stderr, and exit 1 when no pod at all could be placed. */
function reportUnplaced(result: OptimizeResult, pods: PodGroup[], io: CliIo): number {
  const unplaced = result.unplaced.reduce((n, u) => n + u.count, 0);
  if (unplaced === 0) return 0;
  const total = pods.reduce((n, p) => n + p.count, 0);
  io.stderr(`spotctl plan: warning: ${unplaced} of ${total} pods could not be placed (see "unplaced" for reasons)\n`);
  return unplaced === total ? 1 : 0;
}

export const planCommand: CliCommand = {
  usage,
  run: async (args, io) => {
    const { flags, positional } = parseFlags(args, {
      values: [
        "pods",
        "data",
        "region",
        "strategy",
        "capacity",
        "families",
        "arch",
        "min-types",
        "budget-ms",
        "bound-budget-ms",
        "advisor-as-of",
      ],
      // --lower-bound is the default now; still accepted so existing scripts keep working
      booleans: ["lower-bound", "no-bound", "no-spot-fallback"],
    });
    if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
    const podsFile = single(flags, "pods");
    if (!podsFile) throw new UsageError("--pods FILE.csv is required");
    const dataDir = single(flags, "data");
    const policy = policyFrom(flags);
    const planBudgetMs = budgetMs(flags, "budget-ms", DEFAULT_PLAN_BUDGET_MS);
    const lowerBoundBudgetMs = budgetMs(flags, "bound-budget-ms", DEFAULT_BOUND_BUDGET_MS);
    if (flags.has("no-bound") && flags.has("lower-bound"))
      throw new UsageError("--no-bound and --lower-bound contradict each other");
    let pods;
    try {
      pods = parsePodsCsv(readText(podsFile), podsFile);
    } catch (err) {
      if (err instanceof PodsCsvError) throw new UsageError(err.message);
      throw err;
    }
    const region = single(flags, "region") ?? "us-east-1";
    const adviceAsOf = advisorDate(flags, dataDir);
    const book = dataDir === undefined ? await liveOrCatalog(region, io) : loadBook(dataDir, region, adviceAsOf);
    checkTypeFilters(policy, book, io);
    optimisingTierFor(pods);
    const result = await optimize({
      pods,
      book,
      policy,
      lowerBound: !flags.has("no-bound"),
      planBudgetMs,
      lowerBoundBudgetMs,
    }).catch((err: unknown) => {
      throw err instanceof PlanInputError ? new UsageError(err.message) : err;
    });
    io.stdout(JSON.stringify(render(result, book), moneyReplacer, 2) + "\n");
    return reportUnplaced(result, pods, io);
  },
};

/**
 * From this many pods a plan solves for seconds, long enough for the engine's optimising wasm compiler (recompiling the
 * solver's hot functions on another core) to save more than it costs; a smaller plan is over before it pays, so it
 * stays on the baseline code the launcher starts with.
 */
const OPTIMISING_TIER_PODS = 100;

/**
 * A wasm function is optimised once it has run about this much (the engine's estimate of bytes executed; far above its
 * default): a one-shot plan gains only from the few functions that run for seconds (the simplex's), while optimising
 * every function that gets warm costs more compile time on the second core than it saves in a plan of a few seconds.
 */
const OPTIMISING_TIER_BUDGET = 1_000_000_000;

/** Lets the engine optimise HiGHS's wasm for a big input; set before the solver's module is compiled (on the first plan). */
function optimisingTierFor(pods: Array<{ count: number }>): void {
  if (podCount(pods) < OPTIMISING_TIER_PODS) return;
  setFlagsFromString("--wasm-dynamic-tiering");
  setFlagsFromString("--wasm-tier-up");
  setFlagsFromString(`--wasm-tiering-budget=${OPTIMISING_TIER_BUDGET}`);
}
