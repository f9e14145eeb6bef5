// `spotctl plan` as a subprocess: every node's pods fit its real allocatable, every pod is placed or listed, bad input exits 2.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadCatalogPriceBook } from "../../src-shared/pricing/catalog/index.js";
import { loadPriceBookFromDataDir } from "../../src-shared/pricing/data-dir.js";
import { describeWithSharedData, hasSharedData, sharedDataDir } from "../support/shared-data.js";

const repo = resolve(import.meta.dirname, "../..");
const bin = join(repo, "bin/spotctl.mjs");
const dataDir = sharedDataDir;
const catalog = (
  hasSharedData ? JSON.parse(readFileSync(join(dataDir, "ec2-instance-types.json"), "utf8")).instanceTypes : {}
) as Record<
  string,
  {
    arch: string;
    family: string;
    category: string;
    gpu: { count: number } | null;
    allocatable: { cpuMillicores: number; memoryMiB: number; pods: number };
  }
>;

/** Without AWS credentials in the environment, so runs without --data use the shipped price snapshot. */
const envWithoutAws = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_")));

function spotctl(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spotctlWith({}, ...args);
}

function spotctlWith(
  env: Record<string, string>,
  ...args: string[]
): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    cwd: repo,
    env: { ...envWithoutAws, ...env },
    maxBuffer: 256 * 1024 * 1024,
  });
}

function csvFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "plan-")), "pods.csv");
  writeFileSync(file, text);
  return file;
}

interface PodOut {
  app: string;
  cpu_millicores: number;
  memory_mib: number;
  num_gpu?: number;
  count: number;
}
interface PlanOut {
  nodes: Array<{
    instanceType: string;
    capacityType: string;
    zone: string;
    hourlyUsd: number;
    priceSource: string;
    priceAsOf: string;
    pods: PodOut[];
  }>;
  hourlyCostUsd: number;
  baselineHourlyCostUsd: number;
  savingsPct: number;
  unplaced: Array<PodOut & { reason: string }>;
  lowerBoundHourlyUsd?: number;
  prices: { source: string; asOf: string; bySource: Record<string, string>; stale: boolean };
}

/** Checks against the data file, not the plan's own numbers: fit per node, and pods in = pods out. */
function checkPlan(csv: string, plan: PlanOut, types: typeof catalog = catalog): void {
  for (const n of plan.nodes) {
    const t = types[n.instanceType]!;
    const total = (f: (p: PodOut) => number): number => n.pods.reduce((s, p) => s + f(p) * p.count, 0);
    expect(total((p) => p.cpu_millicores)).toBeLessThanOrEqual(t.allocatable.cpuMillicores);
    expect(total((p) => p.memory_mib)).toBeLessThanOrEqual(t.allocatable.memoryMiB);
    expect(total(() => 1)).toBeLessThanOrEqual(t.allocatable.pods);
    expect(total((p) => p.num_gpu ?? 0)).toBeLessThanOrEqual(t.gpu?.count ?? 0);
  }
  const key = (app: string, cpu: number, mem: number): string => `${app}|${cpu}|${mem}`;
  const want = new Map<string, number>();
  for (const line of csv.trim().split("\n").slice(1)) {
    const [app, cpu, mem, count] = line.split(",");
    const k = key(app!, Number(cpu), Number(mem));
    want.set(k, (want.get(k) ?? 0) + Number(count));
  }
  const got = new Map<string, number>();
  for (const p of [...plan.nodes.flatMap((n) => n.pods), ...plan.unplaced]) {
    const k = key(p.app, p.cpu_millicores, p.memory_mib);
    got.set(k, (got.get(k) ?? 0) + p.count);
  }
  expect(got).toEqual(want);
  // Hourly figures are printed to 4 decimals, so the total matches the sum of the printed node prices to within
  // half a unit in the last place per figure.
  const printedSum = plan.nodes.reduce((s, n) => s + n.hourlyUsd, 0);
  expect(Math.abs(plan.hourlyCostUsd - printedSum)).toBeLessThanOrEqual(0.00005 * (plan.nodes.length + 1) + 1e-12);
  for (const figure of [plan.hourlyCostUsd, plan.baselineHourlyCostUsd, ...plan.nodes.map((n) => n.hourlyUsd)])
    expect(Math.round(figure * 1e4) / 1e4).toBe(figure);
  expect(Math.round(plan.savingsPct * 100) / 100).toBe(plan.savingsPct);
}

const HEADER = "app,cpu_millicores,memory_mib,count\n";

describeWithSharedData("spotctl plan", () => {
  it("plans a small CSV with a lower bound below the plan cost", () => {
    const csv = HEADER + "web,250,512,40\napi,1000,2048,12\ncache,500,8192,6\n";
    const res = spotctl("plan", "--pods", csvFile(csv), "--region", "us-east-1", "--data", dataDir, "--lower-bound");
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    const plan = JSON.parse(res.stdout) as PlanOut;
    checkPlan(csv, plan);
    expect(plan.unplaced).toEqual([]);
    expect(plan.lowerBoundHourlyUsd).toBeGreaterThan(0);
    expect(plan.lowerBoundHourlyUsd!).toBeLessThanOrEqual(plan.hourlyCostUsd + 1e-9);
    expect(plan.nodes.every((n) => n.capacityType === "spot")).toBe(true);
    expect(plan.savingsPct).toBeGreaterThan(0);
    expect(plan.prices.source).toMatch(/spot-history|derived/);
    // the baseline's On-Demand prices are named too, and one undated source leaves the figures undated
    const book = loadPriceBookFromDataDir(dataDir, "us-east-1");
    const od = book.onDemand.get(plan.nodes[0]!.instanceType)!;
    expect(plan.prices.bySource[od.source]).toBeDefined();
    const dates = Object.values(plan.prices.bySource);
    const undated = dates.some((d) => !Number.isFinite(Date.parse(d)));
    const oldest = dates.sort((a, b) => Date.parse(a) - Date.parse(b))[0];
    expect(plan.prices.asOf).toBe(undated ? "unknown" : oldest);
  });

  it("prints the proven bound and the gap by default, and neither with --no-bound", { timeout: 600_000 }, () => {
    const csv = HEADER + "web,250,512,40\napi,1000,2048,12\ncache,500,8192,6\n";
    const plan = JSON.parse(spotctl("plan", "--pods", csvFile(csv), "--data", dataDir).stdout) as PlanOut & {
      gapPct: number;
      lowerBoundMethod: string;
      lowerBoundIsLpOptimum: boolean;
    };
    checkPlan(csv, plan);
    expect(["configuration-lp", "whole-nodes", "fluid-lp"]).toContain(plan.lowerBoundMethod);
    // only the configuration LP's own bound can be its optimum
    if (plan.lowerBoundIsLpOptimum) expect(plan.lowerBoundMethod).toBe("configuration-lp");
    expect(plan.lowerBoundHourlyUsd!).toBeGreaterThan(0);
    expect(plan.lowerBoundHourlyUsd!).toBeLessThanOrEqual(plan.hourlyCostUsd + 1e-9);
    // printed figures are rounded (money to 1/10 000 $, percentages to 1/100)
    expect(plan.gapPct).toBeCloseTo(
      (100 * (plan.hourlyCostUsd - plan.lowerBoundHourlyUsd!)) / plan.lowerBoundHourlyUsd!,
      1,
    );
    const again = JSON.parse(spotctl("plan", "--pods", csvFile(csv), "--data", dataDir).stdout) as PlanOut;
    // budgets count work, not time: a second process plans exactly the same nodes
    expect(again).toEqual(plan);
    const bare = JSON.parse(spotctl("plan", "--pods", csvFile(csv), "--data", dataDir, "--no-bound").stdout) as Record<
      string,
      unknown
    >;
    expect(bare).not.toHaveProperty("lowerBoundHourlyUsd");
    expect(bare).not.toHaveProperty("gapPct");
    expect(bare).not.toHaveProperty("lowerBoundMethod");
  });

  it("plans every pod with any --budget-ms, and a bound from a tiny --bound-budget-ms stays below the plan", () => {
    const csv = HEADER + "web,250,512,40\napi,1000,2048,12\ncache,500,8192,6\n";
    const res = spotctl(
      "plan",
      "--pods",
      csvFile(csv),
      "--data",
      dataDir,
      "--budget-ms",
      "1",
      "--lower-bound",
      "--bound-budget-ms",
      "1",
    );
    expect(res.status).toBe(0);
    const plan = JSON.parse(res.stdout) as PlanOut;
    checkPlan(csv, plan);
    expect(plan.unplaced).toEqual([]);
    expect(plan.lowerBoundHourlyUsd!).toBeLessThanOrEqual(plan.hourlyCostUsd + 1e-9);
  });

  // Every run also proves its lower bound (the default): slow on a loaded machine, hence the longer timeout.
  it(
    "plans all of ../shared/data/workload-pods.csv (GPU pods included) with every pod accounted for",
    { timeout: 600_000 },
    () => {
      const file = join(dataDir, "workload-pods.csv");
      const res = spotctl(
        "plan",
        "--pods",
        file,
        "--region",
        "us-east-1",
        "--data",
        dataDir,
        "--capacity",
        "on-demand",
      );
      expect(res.status).toBe(0);
      const plan = JSON.parse(res.stdout) as PlanOut;
      checkPlan(readFileSync(file, "utf8"), plan);
      expect(plan.nodes.every((n) => n.capacityType === "on-demand")).toBe(true);
      expect(plan.baselineHourlyCostUsd).toBeCloseTo(plan.hourlyCostUsd, 6);
      expect(plan.savingsPct).toBeCloseTo(0, 9);
    },
  );

  it("respects --arch and --families and lists what cannot fit with a reason", () => {
    const csv = HEADER + "svc,500,1024,10\nmonster,500000,1024,2\n";
    const res = spotctl("plan", "--pods", csvFile(csv), "--data", dataDir, "--arch", "arm64", "--families", "m,c");
    expect(res.status).toBe(0);
    const plan = JSON.parse(res.stdout) as PlanOut;
    checkPlan(csv, plan);
    for (const n of plan.nodes) {
      expect(catalog[n.instanceType]!.arch).toBe("arm64");
      expect(["m", "c"]).toContain(catalog[n.instanceType]!.category);
    }
    expect(plan.unplaced).toEqual([
      expect.objectContaining({ app: "monster", count: 2, reason: expect.stringMatching(/500000m CPU/) }),
    ]);
  });

  // Every run also proves its lower bound (the default): slow on a loaded machine, hence the longer timeout.
  it("fits random small workloads (property)", { timeout: 600_000 }, () => {
    const row = fc.tuple(
      fc.integer({ min: 1, max: 16000 }),
      fc.integer({ min: 1, max: 64000 }),
      fc.integer({ min: 1, max: 30 }),
    );
    fc.assert(
      fc.property(
        fc.array(row, { minLength: 1, maxLength: 5 }),
        fc.constantFrom("spot", "on-demand", "mixed"),
        (rows, capacity) => {
          const csv = HEADER + rows.map(([c, m, n], k) => `app${k},${c},${m},${n}`).join("\n") + "\n";
          const res = spotctl("plan", "--pods", csvFile(csv), "--data", dataDir, "--capacity", capacity);
          expect(res.status).toBe(0);
          checkPlan(csv, JSON.parse(res.stdout) as PlanOut);
        },
      ),
      { numRuns: 6, seed: 7 },
    );
  });

  it("dates prices derived from the advisor file only when told its date (--advisor-as-of), else leaves them undated", () => {
    // a type with no Spot history in the data: its Spot price is derived from the advisor
    const csv = HEADER + "web,250,512,3\n";
    const plan = (...extra: string[]) => {
      const res = spotctl(
        "plan",
        "--pods",
        csvFile(csv),
        "--data",
        dataDir,
        "--families",
        "t3a",
        "--no-bound",
        ...extra,
      );
      expect(res.stderr).toBe("");
      expect(res.status).toBe(0);
      return JSON.parse(res.stdout) as PlanOut;
    };
    const undated = plan();
    expect(undated.nodes.every((n) => n.priceSource === "derived" && n.priceAsOf === "unknown")).toBe(true);
    expect(undated.prices.asOf).toBe("unknown");
    const dated = plan("--advisor-as-of", "2025-06-28");
    expect(dated.nodes.every((n) => n.priceSource === "derived" && n.priceAsOf === "2025-06-28")).toBe(true);
    for (const bad of [
      ["--advisor-as-of", "June"],
      ["--advisor-as-of", "2025-13-45"],
      ["--advisor-as-of", "2025-02-30"],
    ]) {
      const res = spotctl("plan", "--pods", csvFile(csv), "--data", dataDir, ...bad);
      expect(res.status).toBe(2);
      expect(res.stderr).toMatch(/--advisor-as-of .*: not a date \(YYYY-MM-DD\)/);
    }
    const noData = spotctl("plan", "--pods", csvFile(csv), "--advisor-as-of", "2025-06-28");
    expect(noData.status).toBe(2);
    expect(noData.stderr).toContain("give --data");
  });

  it("uses the shipped snapshot without --data, labelled snapshot/derived with its date", () => {
    const csv = HEADER + "web,250,512,40\napi,1000,2048,12\n";
    const res = spotctl("plan", "--pods", csvFile(csv), "--capacity", "mixed");
    expect(res.status).toBe(0);
    const plan = JSON.parse(res.stdout) as PlanOut;
    const offline = loadCatalogPriceBook("us-east-1").instanceTypes;
    checkPlan(csv, plan, Object.fromEntries([...offline].map(([k, v]) => [k, { ...v, gpu: v.gpu }])));
    // the nodes' sources and the baseline's On-Demand one (the snapshot's), comma-separated
    expect(plan.prices.source).toMatch(/^(derived,)?snapshot$/);
    // Stale = some price older than SPOTOPT_PRICE_MAX_AGE_HOURS (or undated), judged against the dates it prints.
    const oldestMs = Math.min(...Object.values(plan.prices.bySource).map((d) => Date.parse(d)));
    const undated = Object.values(plan.prices.bySource).some((d) => !Number.isFinite(Date.parse(d)));
    expect(plan.prices.asOf).toMatch(undated ? /^unknown$/ : /^\d{4}-\d{2}-\d{2}/);
    expect(plan.prices.stale).toBe(undated || Date.now() - oldestMs > 168 * 3_600_000);
    const hoursSinceOldest = Math.ceil((Date.now() - oldestMs) / 3_600_000) + 24;
    const lenient = spotctlWith(
      { SPOTOPT_PRICE_MAX_AGE_HOURS: String(hoursSinceOldest) },
      "plan",
      "--pods",
      csvFile(csv),
      "--capacity",
      "mixed",
    );
    expect((JSON.parse(lenient.stdout) as PlanOut).prices.stale).toBe(undated);
    // a node on one of the snapshot's observed (undated) Spot prices leaves its source, which also dates the
    // baseline's On-Demand prices, undated
    const withBig = csv + "big,30000,120000,2\n";
    const mixed = JSON.parse(spotctl("plan", "--pods", csvFile(withBig), "--capacity", "mixed").stdout) as PlanOut;
    const book = loadCatalogPriceBook("us-east-1");
    const undatedNodes = mixed.nodes.filter((n) => {
      const price =
        n.capacityType === "spot" ? book.spot.get(n.instanceType)?.get(n.zone) : book.onDemand.get(n.instanceType);
      return !Number.isFinite(Date.parse(price!.asOf));
    });
    expect(undatedNodes.length).toBeGreaterThan(0);
    for (const n of undatedNodes) expect(mixed.prices.bySource[n.priceSource]).toBe("unknown");
    for (const n of mixed.nodes) {
      const price =
        n.capacityType === "spot" ? book.spot.get(n.instanceType)?.get(n.zone) : book.onDemand.get(n.instanceType);
      expect(n.priceAsOf).toBe(price!.asOf);
    }
    expect(mixed.prices.asOf).toBe("unknown");
    const other = spotctl("plan", "--pods", csvFile(csv), "--region", "eu-west-1");
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(
      /price snapshot only covers us-east-1; got region eu-west-1 \(give AWS credentials or --data DIR\)$/m,
    );
  });

  it("plans with the families that exist and warns about the ones that name no instance type", () => {
    const csv = HEADER + "web,250,512,4\n";
    const res = spotctl("plan", "--pods", csvFile(csv), "--data", dataDir, "--families", "m5,zz9");
    expect(res.status).toBe(0);
    expect(res.stderr).toMatch(/warning: --families zz9 match no instance type/);
    const plan = JSON.parse(res.stdout) as PlanOut;
    checkPlan(csv, plan);
    for (const n of plan.nodes) expect(catalog[n.instanceType]!.family).toBe("m5");
  });

  it("takes --arch as the NodeTemplate CRD spells it (x86_64) and plans only x86-64 types", () => {
    const csv = HEADER + "web,250,512,6\n";
    const res = spotctl("plan", "--pods", csvFile(csv), "--data", dataDir, "--arch", "x86_64", "--no-bound");
    expect(res.status).toBe(0);
    const plan = JSON.parse(res.stdout) as PlanOut;
    checkPlan(csv, plan);
    expect(plan.nodes.length).toBeGreaterThan(0);
    for (const n of plan.nodes) expect(catalog[n.instanceType]!.arch).toBe("amd64");
  });

  it("exits 1 with a warning when no pod at all can be placed", () => {
    const csv = HEADER + "monster,900000,1024,3\n";
    const res = spotctl("plan", "--pods", csvFile(csv), "--data", dataDir);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/warning: 3 of 3 pods could not be placed/);
    expect((JSON.parse(res.stdout) as PlanOut).unplaced).toEqual([
      expect.objectContaining({ app: "monster", count: 3 }),
    ]);
  });

  it.each([
    [["--pods", "CSV", "--data", "DATA"], HEADER + "web,250,lots,3\n", /pods\.csv line 2: field memory_mib/],
    [["--pods", "CSV", "--data", "DATA"], "app,cpu\nweb,1\n", /pods\.csv line 1: header must be/],
    [
      ["--pods", "CSV", "--data", "DATA", "--strategy", "cheapest"],
      HEADER + "web,1,1,1\n",
      /--strategy must be one of lowest-price/,
    ],
    [
      ["--pods", "CSV", "--data", "DATA", "--capacity", "reserved"],
      HEADER + "web,1,1,1\n",
      /--capacity must be one of spot, on-demand, mixed/,
    ],
    [
      ["--pods", "CSV", "--data", "DATA", "--arch", "x86"],
      HEADER + "web,1,1,1\n",
      /--arch must be one of x86_64 \(or amd64\), arm64, got "x86"/,
    ],
    [
      ["--pods", "CSV", "--data", "/nonexistent"],
      HEADER + "web,1,1,1\n",
      /\/nonexistent\/ec2-instance-types\.json: file not found/,
    ],
    [["--pods", "/nonexistent.csv", "--data", "DATA"], HEADER, /--pods \/nonexistent\.csv: cannot read \(ENOENT\)/],
    [["--data", "DATA"], HEADER, /--pods FILE\.csv is required/],
    [
      ["--pods", "CSV", "--data", "DATA", "--min-types", "two"],
      HEADER + "web,1,1,1\n",
      /--min-types must be a non-negative integer/,
    ],
    [["--pods", "CSV", "--data", "DATA", "--frobnicate"], HEADER + "web,1,1,1\n", /unknown flag --frobnicate/],
    [
      ["--pods", "CSV", "--data", "DATA", "--budget-ms", "0"],
      HEADER + "web,1,1,1\n",
      /--budget-ms must be a whole number of milliseconds from 1 to 600000, got "0"/,
    ],
    [
      ["--pods", "CSV", "--data", "DATA", "--families", "zz9"],
      HEADER + "web,1,1,1\n",
      /--families zz9: no instance type in the us-east-1 price book has this family or category/,
    ],
    [
      ["--pods", "CSV", "--data", "DATA", "--families", "g4dn", "--arch", "arm64"],
      HEADER + "web,1,1,1\n",
      /--families g4dn with --arch arm64: no instance type matches both/,
    ],
    [
      ["--pods", "CSV", "--data", "DATA"],
      "app,cpu_millicores,memory_mib,count,num_gpu,gpu_milli,qos\nweb,1,1,1,0,0,Gold\n",
      /pods\.csv line 2: field qos: must be one of/,
    ],
    [
      ["--pods", "CSV", "--data", "DATA", "--capacity", "mixed", "--no-spot-fallback"],
      HEADER + "web,1,1,1\n",
      /--no-spot-fallback applies to --capacity spot only, got --capacity mixed/,
    ],
    [
      ["--pods", "CSV", "--data", "DATA", "--bound-budget-ms", "1.5s"],
      HEADER + "web,1,1,1\n",
      /--bound-budget-ms must be a whole number of milliseconds/,
    ],
  ])("exits 2 with one line for %j", (args, csv, message) => {
    const file = csvFile(csv);
    const res = spotctl("plan", ...args.map((a) => (a === "CSV" ? file : a === "DATA" ? dataDir : a)));
    expect(res.status).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).toMatch(message);
  });

  it("refuses an input bigger than one plan takes, before planning it: exit 2, one line", () => {
    const tooMany = csvFile(HEADER + "web,100,100,250000\n");
    const tooVaried = csvFile(HEADER + Array.from({ length: 5_001 }, (_, k) => `app-${k},${k + 1},100,1\n`).join(""));
    for (const [file, message] of [
      [tooMany, /250000 pods to plan: more than the 200000 one plan takes/],
      [tooVaried, /5001 distinct pod shapes .* more than the 5000 one plan takes/],
    ] as const) {
      const res = spotctl("plan", "--pods", file, "--data", dataDir);
      expect(res.status).toBe(2);
      expect(res.stdout).toBe("");
      expect(res.stderr.trim().split("\n")).toHaveLength(1);
      expect(res.stderr).toMatch(message);
    }
  });

  it("documents every flag it accepts in --help", () => {
    const res = spotctl("plan", "--help");
    expect(res.status).toBe(0);
    for (const flag of [
      "--pods",
      "--data",
      "--region",
      "--strategy",
      "--capacity",
      "--families",
      "--arch",
      "--min-types",
      "--no-spot-fallback",
      "--lower-bound",
      "--no-bound",
      "--budget-ms",
      "--bound-budget-ms",
    ]) {
      expect(res.stdout).toContain(flag);
    }
  });
});

describe("spotctl plan on the README's example", () => {
  it("plans every pod of docs/examples/pods.csv from the shipped snapshot, within each node's allocatable", () => {
    const file = join(repo, "docs/examples/pods.csv");
    const res = spotctl("plan", "--pods", file, "--region", "us-east-1");
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
    const plan = JSON.parse(res.stdout) as PlanOut;
    const offline = loadCatalogPriceBook("us-east-1").instanceTypes;
    checkPlan(readFileSync(file, "utf8"), plan, Object.fromEntries(offline));
    expect(plan.unplaced).toEqual([]);
  });
});
