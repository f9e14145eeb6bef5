// Builds the shipped price snapshot (one region) from a public price-data directory; pure apart from reading DIR.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readInstanceTypes, readSpotAdvisor, readSpotPrices } from "../data-dir.js";
import type { InstanceShape, SpotAdvice } from "../types.js";

/** One instance type in the snapshot: its shape and what is known of its prices (null = not known). */
export interface SnapshotType extends Omit<InstanceShape, "name"> {
  onDemandUsd: number | null;
  /** Observed Spot prices by AZ id, when the data has them. */
  spotUsdByZone: Record<string, number> | null;
  /** onDemand × (1 − advisor savings), when no Spot price was observed; the same in every zone of `zones`. */
  derivedSpotUsd: number | null;
  advisor: SpotAdvice | null;
}

export interface SnapshotSource {
  from: string;
  asOf: string;
}

export interface PriceSnapshot {
  _meta: {
    description: string;
    region: string;
    generator: string;
    shapes: SnapshotSource;
    onDemand: SnapshotSource;
    spot: SnapshotSource & { note: string };
    advisor: SnapshotSource;
    derivedSpot: string;
    counts: { types: number; onDemand: number; spotObserved: number; spotDerived: number };
  };
  /** AZ ids the Spot prices are keyed by. */
  zones: string[];
  types: Record<string, SnapshotType>;
}

export interface BuildOptions {
  dir: string;
  region: string;
  /** Date of the Spot Instance Advisor feed in DIR (the feed itself carries none); "unknown" when not given. */
  advisorAsOf?: string;
}

function readMeta(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  const root = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const meta = root._meta ?? root;
  return typeof meta === "object" && meta !== null ? (meta as Record<string, unknown>) : {};
}

function text(v: unknown, fallback: string): string {
  return typeof v === "string" && v !== "" ? v : fallback;
}

/** Rounds to 6 decimals so a derived price is written the same on every machine. */
function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** The generator's own account of the observed Spot prices: copied per AZ from the source at its commit. */
function spotNote(asOf: string): string {
  const when = asOf === "unknown" ? "the source records no collection date, so asOf is unknown" : `collected ${asOf}`;
  return `latest Spot price per AZ as the source file holds it at that commit, copied unchanged; ${when}`;
}

function sources(opts: BuildOptions, onDemandAsOf: string, spotAsOf: string): Omit<PriceSnapshot["_meta"], "counts"> {
  const types = readMeta(join(opts.dir, "ec2-instance-types.json"));
  const spot = readMeta(join(opts.dir, "spot-prices.meta.json"));
  const spotSource = (spot.source ?? {}) as Record<string, unknown>;
  return {
    description: `EC2 instance shapes and Linux prices for ${opts.region}: public price facts, generated, do not edit`,
    region: opts.region,
    generator: "npm run gen:prices -- --data DIR",
    shapes: {
      from: `${text(types.source, "unknown")}: ${text(types.specsFrom, "")} @ ${text(types.snapshotCommit, "?")} (${text(types.license, "?")})`,
      asOf: onDemandAsOf,
    },
    onDemand: { from: text(types.pricesFrom, "AWS Pricing API"), asOf: onDemandAsOf },
    spot: {
      from: `${text(spotSource.repo, "unknown")} ${text(spotSource.path, "")} @ ${text(spotSource.indexedVersionCommit, "?")}: ${text(spotSource.upstreamOrigin, "EC2 Spot price history")}`,
      asOf: spotAsOf,
      note: spotNote(spotAsOf),
    },
    advisor: { from: "AWS Spot Instance Advisor feed (spot-advisor.json)", asOf: opts.advisorAsOf ?? "unknown" },
    derivedSpot: "types without an observed Spot price: onDemand x (1 - advisor savings / 100), labelled derived",
  };
}

function entry(
  shape: InstanceShape,
  prices: { onDemand?: number; spot?: Map<string, { usdPerHour: number }>; advice?: SpotAdvice },
): SnapshotType {
  const { name: _name, ...rest } = shape;
  const spotUsdByZone = prices.spot
    ? Object.fromEntries([...prices.spot].sort(([a], [b]) => a.localeCompare(b)).map(([z, p]) => [z, p.usdPerHour]))
    : null;
  const derivedSpotUsd =
    spotUsdByZone === null && prices.onDemand !== undefined && prices.advice
      ? round6(prices.onDemand * (1 - prices.advice.savingsPct / 100))
      : null;
  return {
    ...rest,
    onDemandUsd: prices.onDemand ?? null,
    spotUsdByZone,
    derivedSpotUsd,
    advisor: prices.advice ?? null,
  };
}

/** Every type DIR has facts for, with its On-Demand price, observed or derived Spot price and advisor data. */
export function buildPriceSnapshot(opts: BuildOptions): PriceSnapshot {
  const { instanceTypes, onDemand } = readInstanceTypes(join(opts.dir, "ec2-instance-types.json"), opts.region);
  const spot = readSpotPrices(join(opts.dir, "spot-prices.json"), opts.region);
  const advice = readSpotAdvisor(join(opts.dir, "spot-advisor.json"), opts.region);
  const onDemandAsOf = [...onDemand.values()][0]?.asOf ?? "unknown";
  const spotAsOf = [...spot.values()][0]?.values().next().value?.asOf ?? "unknown";
  const zones = [...new Set([...spot.values()].flatMap((m) => [...m.keys()]))].sort();
  const types: Record<string, SnapshotType> = {};
  for (const name of [...instanceTypes.keys()].sort()) {
    types[name] = entry(instanceTypes.get(name)!, {
      onDemand: onDemand.get(name)?.usdPerHour,
      spot: spot.get(name),
      advice: advice.get(name),
    });
  }
  const all = Object.values(types);
  return {
    _meta: {
      ...sources(opts, onDemandAsOf, spotAsOf),
      counts: {
        types: all.length,
        onDemand: all.filter((t) => t.onDemandUsd !== null).length,
        spotObserved: all.filter((t) => t.spotUsdByZone !== null).length,
        spotDerived: all.filter((t) => t.derivedSpotUsd !== null).length,
      },
    },
    zones,
    types,
  };
}

/** The file text: metadata pretty-printed, one line per type so a price change is a one-line diff. */
export function serializeSnapshot(snapshot: PriceSnapshot): string {
  const lines = Object.entries(snapshot.types).map(([name, t]) => `    ${JSON.stringify(name)}: ${JSON.stringify(t)}`);
  const meta = JSON.stringify(snapshot._meta, null, 2).replace(/\n/g, "\n  ");
  return `{\n  "_meta": ${meta},\n  "zones": ${JSON.stringify(snapshot.zones)},\n  "types": {\n${lines.join(",\n")}\n  }\n}\n`;
}
