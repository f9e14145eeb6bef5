// Reads a price book from a --data DIR holding ec2-instance-types.json, spot-prices.json and spot-advisor.json (the formats of the public reference data set).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  withDerivedSpotPrices,
  type CpuArch,
  type InstanceShape,
  type InterruptionBucket,
  type Price,
  type PriceBook,
  type SpotAdvice,
} from "./types.js";

/** A data file is missing or malformed; the message names the file and the field. */
export class PriceDataError extends Error {
  override name = "PriceDataError";
}

type Json = unknown;

function readJson(file: string): Json {
  if (!existsSync(file)) throw new PriceDataError(`${file}: file not found`);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Json;
  } catch (err) {
    throw new PriceDataError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

function isRecord(v: Json): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function record(v: Json, where: string): Record<string, Json> {
  if (!isRecord(v)) throw new PriceDataError(`${where}: expected an object`);
  return v;
}

function num(v: Json, where: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
    throw new PriceDataError(`${where}: expected a non-negative number, got ${JSON.stringify(v)}`);
  return v;
}

function str(v: Json, where: string): string {
  if (typeof v !== "string" || v === "")
    throw new PriceDataError(`${where}: expected a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function parseGpu(v: Json, where: string): InstanceShape["gpu"] {
  if (v === null || v === undefined) return null;
  const g = record(v, where);
  return {
    count: num(g.count, `${where}.count`),
    name: str(g.name, `${where}.name`),
    memoryMiB: num(g.memoryMiB ?? 0, `${where}.memoryMiB`),
  };
}

function parseArch(v: Json, where: string): CpuArch {
  if (v !== "amd64" && v !== "arm64")
    throw new PriceDataError(`${where}: expected "amd64" or "arm64", got ${JSON.stringify(v)}`);
  return v;
}

function parseShape(name: string, v: Json, where: string): InstanceShape {
  const t = record(v, where);
  const alloc = record(t.allocatable, `${where}.allocatable`);
  return {
    name,
    family: str(t.family, `${where}.family`),
    category: str(t.category, `${where}.category`),
    generation: num(t.generation, `${where}.generation`),
    arch: parseArch(t.arch, `${where}.arch`),
    vcpu: num(t.vcpu, `${where}.vcpu`),
    memoryMiB: num(t.memoryMiB, `${where}.memoryMiB`),
    bareMetal: t.bareMetal === true,
    gpu: parseGpu(t.gpu, `${where}.gpu`),
    allocatable: {
      cpuMillicores: num(alloc.cpuMillicores, `${where}.allocatable.cpuMillicores`),
      memoryMiB: num(alloc.memoryMiB, `${where}.allocatable.memoryMiB`),
      pods: num(alloc.pods, `${where}.allocatable.pods`),
    },
  };
}

/** Instance shapes and On-Demand prices for `region` from ec2-instance-types.json. */
export function readInstanceTypes(
  file: string,
  region: string,
): { instanceTypes: Map<string, InstanceShape>; onDemand: Map<string, Price> } {
  const root = record(readJson(file), file);
  const meta = isRecord(root._meta) ? root._meta : {};
  const asOf = typeof meta.pricesGeneratedAt === "string" ? meta.pricesGeneratedAt : "unknown";
  const types = record(root.instanceTypes, `${file}: instanceTypes`);
  const instanceTypes = new Map<string, InstanceShape>();
  const onDemand = new Map<string, Price>();
  for (const [name, v] of Object.entries(types)) {
    const where = `${file}: instanceTypes["${name}"]`;
    instanceTypes.set(name, parseShape(name, v, where));
    const prices = (v as Record<string, Json>).onDemandLinuxUSDPerHour;
    if (prices === undefined || prices === null) continue;
    const p = record(prices, `${where}.onDemandLinuxUSDPerHour`)[region];
    if (p === undefined || p === null) continue;
    onDemand.set(name, {
      usdPerHour: num(p, `${where}.onDemandLinuxUSDPerHour["${region}"]`),
      source: "pricing-api",
      asOf,
    });
  }
  return { instanceTypes, onDemand };
}

function spotAsOf(metaFile: string): string {
  if (!existsSync(metaFile)) return "unknown";
  const meta = readJson(metaFile);
  const date = isRecord(meta) ? meta.snapshotDate : undefined;
  return typeof date === "string" && /^\d{4}-\d{2}-\d{2}/.test(date) ? date : "unknown";
}

/** Spot prices per type and AZ for `region` from spot-prices.json ({region: {type: {az: usd}}}). */
export function readSpotPrices(file: string, region: string): Map<string, Map<string, Price>> {
  const root = record(readJson(file), file);
  const asOf = spotAsOf(file.replace(/\.json$/, ".meta.json"));
  const spot = new Map<string, Map<string, Price>>();
  const regional = root[region];
  if (regional === undefined) return spot;
  for (const [type, zones] of Object.entries(record(regional, `${file}: ["${region}"]`))) {
    const byZone = new Map<string, Price>();
    for (const [zone, usd] of Object.entries(record(zones, `${file}: ["${region}"]["${type}"]`))) {
      byZone.set(zone, {
        usdPerHour: num(usd, `${file}: ["${region}"]["${type}"]["${zone}"]`),
        source: "spot-history",
        asOf,
      });
    }
    if (byZone.size > 0) spot.set(type, byZone);
  }
  return spot;
}

/** Savings % and interruption bucket per type for `region` (Linux) from spot-advisor.json. */
export function readSpotAdvisor(file: string, region: string): Map<string, SpotAdvice> {
  const root = record(readJson(file), file);
  const advisor = record(root.spot_advisor, `${file}: spot_advisor`);
  const advice = new Map<string, SpotAdvice>();
  const regional = advisor[region];
  if (regional === undefined) return advice;
  const linux = record(
    record(regional, `${file}: spot_advisor["${region}"]`).Linux,
    `${file}: spot_advisor["${region}"].Linux`,
  );
  for (const [type, v] of Object.entries(linux)) {
    const where = `${file}: spot_advisor["${region}"].Linux["${type}"]`;
    const a = record(v, where);
    const s = num(a.s, `${where}.s`);
    const r = num(a.r, `${where}.r`);
    if (s > 100 || !Number.isInteger(r) || r > 4)
      throw new PriceDataError(`${where}: s must be 0..100 and r an integer 0..4`);
    advice.set(type, { savingsPct: s, interruptionBucket: r as InterruptionBucket });
  }
  return advice;
}

/**
 * Loads the whole price book for a region from a data directory; Spot prices missing from history are derived from the
 * advisor, dated `adviceAsOf` at the latest (the feed itself carries no date: undated unless the caller knows it).
 */
export function loadPriceBookFromDataDir(dir: string, region: string, adviceAsOf = "unknown"): PriceBook {
  const { instanceTypes, onDemand } = readInstanceTypes(join(dir, "ec2-instance-types.json"), region);
  if (onDemand.size === 0)
    throw new PriceDataError(
      `${join(dir, "ec2-instance-types.json")}: no onDemandLinuxUSDPerHour["${region}"] prices for any type`,
    );
  const spot = readSpotPrices(join(dir, "spot-prices.json"), region);
  const advice = readSpotAdvisor(join(dir, "spot-advisor.json"), region);
  const zoneSet = new Set<string>();
  for (const byZone of spot.values()) for (const z of byZone.keys()) zoneSet.add(z);
  const zones = zoneSet.size > 0 ? [...zoneSet].sort() : [`${region}-any`];
  return withDerivedSpotPrices({ region, zones, instanceTypes, onDemand, spot, advice, adviceAsOf });
}
