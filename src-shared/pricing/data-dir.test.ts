// Data-dir readers: real ../shared/data parses with sources and dates; bad files fail naming the file and field.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPriceBookFromDataDir, PriceDataError } from "./data-dir.js";
import { monthlyUsd } from "./types.js";
import { describeWithSharedData, sharedDataDir } from "../../test/support/shared-data.js";

const dataDir = sharedDataDir;
const readJson = (f: string): any => JSON.parse(readFileSync(join(dataDir, f), "utf8"));

describeWithSharedData("loadPriceBookFromDataDir on ../shared/data", () => {
  const book = loadPriceBookFromDataDir(dataDir, "us-east-1");
  const types = readJson("ec2-instance-types.json");
  const spot = readJson("spot-prices.json")["us-east-1"];
  const advisor = readJson("spot-advisor.json").spot_advisor["us-east-1"].Linux;

  it("reads shapes with Karpenter's allocatable and On-Demand prices from the Pricing API snapshot", () => {
    const m5 = book.instanceTypes.get("m5.large")!;
    expect(m5).toMatchObject({ family: "m5", category: "m", generation: 5, arch: "amd64", gpu: null });
    expect(m5.allocatable).toEqual({
      cpuMillicores: types.instanceTypes["m5.large"].allocatable.cpuMillicores,
      memoryMiB: types.instanceTypes["m5.large"].allocatable.memoryMiB,
      pods: types.instanceTypes["m5.large"].allocatable.pods,
    });
    expect(book.onDemand.get("m5.large")).toEqual({
      usdPerHour: types.instanceTypes["m5.large"].onDemandLinuxUSDPerHour["us-east-1"],
      source: "pricing-api",
      asOf: types._meta.pricesGeneratedAt,
    });
    expect(book.instanceTypes.get("g4ad.16xlarge")!.gpu!.count).toBe(4);
  });

  it("keeps Spot history per AZ and derives the rest from the advisor, labelled derived", () => {
    const c7a = book.spot.get("c7a.large")!;
    for (const [zone, usd] of Object.entries(spot["c7a.large"] as Record<string, number>)) {
      expect(c7a.get(zone)).toMatchObject({ usdPerHour: usd, source: "spot-history" });
    }
    const type = Object.keys(advisor).find(
      (t) => !(t in spot) && types.instanceTypes[t]?.onDemandLinuxUSDPerHour?.["us-east-1"],
    )!;
    const od = types.instanceTypes[type].onDemandLinuxUSDPerHour["us-east-1"];
    const derived = book.spot.get(type)!;
    expect(derived.size).toBe(book.zones.length);
    for (const p of derived.values()) {
      expect(p.source).toBe("derived");
      expect(p.usdPerHour).toBeCloseTo(od * (1 - advisor[type].s / 100), 12);
      // the advisor feed carries no date: a price derived from it is as undated as its oldest input
      expect(p.asOf).toBe("unknown");
    }
    expect(book.advice.get(type)!.interruptionBucket).toBe(advisor[type].r);
    // dated by the caller who knows the feed's date: the older of it and the On-Demand price's
    const dated = loadPriceBookFromDataDir(dataDir, "us-east-1", "2025-06-28");
    expect([...dated.spot.get(type)!.values()][0]!.asOf).toBe("2025-06-28");
    const newer = loadPriceBookFromDataDir(dataDir, "us-east-1", "2099-01-01");
    expect([...newer.spot.get(type)!.values()][0]!.asOf).toBe(book.onDemand.get(type)!.asOf);
  });

  it("monthly is hourly × 730", () => {
    expect(monthlyUsd(0.1)).toBeCloseTo(73, 12);
  });
});

describe("bad data files", () => {
  function dirWith(files: Record<string, unknown>): string {
    const dir = mkdtempSync(join(tmpdir(), "pricing-"));
    for (const [name, content] of Object.entries(files))
      writeFileSync(join(dir, name), typeof content === "string" ? content : JSON.stringify(content));
    return dir;
  }
  const goodType = {
    family: "m5",
    category: "m",
    generation: 5,
    arch: "amd64",
    vcpu: 2,
    memoryMiB: 8192,
    bareMetal: false,
    gpu: null,
    allocatable: { cpuMillicores: 1930, memoryMiB: 7000, pods: 29 },
    onDemandLinuxUSDPerHour: { "us-east-1": 0.096 },
  };
  const good = {
    "ec2-instance-types.json": { instanceTypes: { "m5.large": goodType } },
    "spot-prices.json": { "us-east-1": { "m5.large": { "use1-az1": 0.04 } } },
    "spot-advisor.json": { spot_advisor: { "us-east-1": { Linux: { "m5.large": { s: 60, r: 1 } } } } },
  };

  it("accepts a minimal valid directory", () => {
    expect(loadPriceBookFromDataDir(dirWith(good), "us-east-1").spot.get("m5.large")!.get("use1-az1")!.usdPerHour).toBe(
      0.04,
    );
  });

  it.each([
    ["a missing file", { ...good, "spot-advisor.json": undefined }, /spot-advisor\.json: file not found/],
    ["invalid JSON", { ...good, "spot-prices.json": "{nope" }, /spot-prices\.json: not valid JSON/],
    [
      "a bad allocatable field",
      {
        ...good,
        "ec2-instance-types.json": {
          instanceTypes: { "m5.large": { ...goodType, allocatable: { cpuMillicores: "lots", memoryMiB: 1, pods: 1 } } },
        },
      },
      /ec2-instance-types\.json: instanceTypes\["m5\.large"\]\.allocatable\.cpuMillicores: expected a non-negative number/,
    ],
    [
      "a bad arch",
      { ...good, "ec2-instance-types.json": { instanceTypes: { "m5.large": { ...goodType, arch: "sparc" } } } },
      /\.arch: expected "amd64" or "arm64"/,
    ],
    [
      "a negative Spot price",
      { ...good, "spot-prices.json": { "us-east-1": { "m5.large": { "use1-az1": -1 } } } },
      /spot-prices\.json: \["us-east-1"\]\["m5\.large"\]\["use1-az1"\]/,
    ],
    [
      "a bad interruption bucket",
      { ...good, "spot-advisor.json": { spot_advisor: { "us-east-1": { Linux: { "m5.large": { s: 60, r: 9 } } } } } },
      /Linux\["m5\.large"\]: s must be 0\.\.100 and r an integer 0\.\.4/,
    ],
  ])("rejects %s naming the file and field", (_name, files, message) => {
    const present = Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined));
    expect(() => loadPriceBookFromDataDir(dirWith(present), "us-east-1")).toThrow(PriceDataError);
    expect(() => loadPriceBookFromDataDir(dirWith(present), "us-east-1")).toThrow(message);
  });

  it("rejects a region without On-Demand prices", () => {
    expect(() => loadPriceBookFromDataDir(dirWith(good), "eu-west-9")).toThrow(
      /no onDemandLinuxUSDPerHour\["eu-west-9"\]/,
    );
  });
});
