// Pure price-book builder: the shipped snapshot overlaid with the prices last read from AWS and the ConfigMap that
// stores it (no I/O).
import {
  bookAdvice,
  bookShapes,
  encodeBook,
  PRICE_BOOK_DATA_KEY,
  PRICE_BOOK_LABEL,
} from "../../../src-shared/pricing/book.js";
import type { BookPart, BookSources } from "../../../src-shared/pricing/region-prices.js";
import { snapshotSources } from "../../../src-shared/pricing/region-prices.js";
import { loadSnapshotPriceBook, SNAPSHOT_REGIONS } from "../../../src-shared/pricing/snapshot/index.js";
import { derivedSpotPrice, type Price, type PriceBook } from "../../../src-shared/pricing/types.js";
import type { KubeObject } from "../../../src-shared/kube/index.js";

/** Prices read from AWS by the last successful refresh of each part, dated by that refresh. */
export interface LiveParts {
  onDemand?: { prices: Map<string, Price>; at: string };
  spot?: { prices: Map<string, Map<string, Price>>; at: string };
}

export type PartErrors = Partial<Record<keyof BookSources, { message: string; since: string }>>;

function snapshotOf(region: string): PriceBook | undefined {
  return SNAPSHOT_REGIONS.includes(region) ? loadSnapshotPriceBook(region) : undefined;
}

/** Observed (not derived) Spot prices of the snapshot. */
function observedSpot(snapshot: PriceBook | undefined): Map<string, Map<string, Price>> {
  const out = new Map<string, Map<string, Price>>();
  for (const [type, byZone] of snapshot?.spot ?? []) {
    if ([...byZone.values()].every((p) => p.source !== "derived")) out.set(type, byZone);
  }
  return out;
}

function zonesOf(live: LiveParts, snapshot: PriceBook | undefined): string[] {
  const liveZones = [...new Set([...(live.spot?.prices.values() ?? [])].flatMap((m) => [...m.keys()]))].sort();
  return liveZones.length > 0 ? liveZones : [...(snapshot?.zones ?? [])];
}

/** Types with On-Demand and advisor data but no Spot price get the derived price in every zone. */
function addDerived(
  spot: Map<string, Map<string, Price>>,
  book: { onDemand: Map<string, Price>; zones: string[]; region: string },
): void {
  const { advice, asOf } = bookAdvice(book.region);
  if (book.zones.length === 0) return;
  for (const [type, od] of book.onDemand) {
    const a = advice.get(type);
    if (spot.has(type) || !a) continue;
    const derived = derivedSpotPrice(od, a, asOf);
    spot.set(type, new Map(book.zones.map((z) => [z, derived])));
  }
}

/**
 * The region's book: On-Demand from the Pricing API where it answered, else the snapshot; Spot from the price history
 * where it answered, else the snapshot's observed prices, else On-Demand × (1 − advisor savings) labelled derived.
 * Undefined when nothing prices the region.
 */
export function mergedBook(region: string, live: LiveParts): PriceBook | undefined {
  const snapshot = snapshotOf(region);
  if (!snapshot && !live.onDemand && !live.spot) return undefined;
  return overlaid(region, snapshot, live);
}

function overlaid(region: string, snapshot: PriceBook | undefined, live: LiveParts): PriceBook {
  const onDemand = new Map(snapshot?.onDemand);
  for (const [type, p] of live.onDemand?.prices ?? []) onDemand.set(type, p);
  const zones = zonesOf(live, snapshot);
  const spot = observedSpot(snapshot);
  for (const [type, byZone] of live.spot?.prices ?? []) spot.set(type, byZone);
  addDerived(spot, { onDemand, zones, region });
  return { region, zones, instanceTypes: bookShapes(), onDemand, spot, advice: bookAdvice(region).advice };
}

/** Where each part came from: the last refresh from AWS, else the snapshot (or nothing known); failing refreshes named. */
export function bookSources(region: string, live: LiveParts, errors: PartErrors): BookSources {
  const fallback: BookSources = SNAPSHOT_REGIONS.includes(region)
    ? snapshotSources(region)
    : { onDemand: { source: "snapshot", asOf: "unknown" }, spot: { source: "snapshot", asOf: "unknown" } };
  const part = (name: keyof BookSources, source: "pricing-api" | "spot-history"): BookPart => {
    const at = live[name]?.at;
    const base: BookPart = at !== undefined ? { source, asOf: at, refreshedAt: at } : fallback[name];
    const error = errors[name];
    return error ? { ...base, error } : base;
  };
  return { onDemand: part("onDemand", "pricing-api"), spot: part("spot", "spot-history") };
}

/** The region's price-book ConfigMap as applied (its data is the whole book, keys sorted: same book, same text). */
export function desiredConfigMap(input: {
  namespace: string;
  name: string;
  region: string;
  book: PriceBook;
  sources: BookSources;
}): KubeObject & { data: Record<string, string> } {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: { [PRICE_BOOK_LABEL]: input.region, "app.kubernetes.io/managed-by": "spot-optimizer" },
    },
    data: { [PRICE_BOOK_DATA_KEY]: JSON.stringify(encodeBook(input.book, input.sources)) },
  };
}
