// The operator's price book as state: one ConfigMap per region in the operator's namespace, written only by the
// price-book controller, read by every figure (controllers and facade) through storedRegionPrices.
import { isStale } from "./freshness.js";
import { snapshotSources, type BookSources, type RegionBook, type RegionPrices } from "./region-prices.js";
import { loadSnapshotPriceBook, readPriceSnapshot, SNAPSHOT_REGIONS } from "./snapshot/index.js";
import type { InstanceShape, Price, PriceBook, PriceSource, SpotAdvice } from "./types.js";

export type { BookPart, BookSources } from "./region-prices.js";

/** Label of the price-book ConfigMaps (value: the region). */
export const PRICE_BOOK_LABEL = "spotoptimizer.io/price-book";
/** The ConfigMap key holding the book (JSON, `StoredBook`). */
export const PRICE_BOOK_DATA_KEY = "book.json";
/** Zone key meaning "the same price in every zone of the book" (advisor-derived Spot prices). */
export const EVERY_ZONE = "*";

/** Name of the price-book ConfigMap of a region. */
export function priceBookConfigMapName(region: string): string {
  return `spot-optimizer-prices-${region}`;
}

export type StoredPrice = [usdPerHour: number, source: PriceSource, asOf: string];

/** The stored form of one region's book: prices with source and date; shapes and advice come from the snapshot. */
export interface StoredBook {
  region: string;
  zones: string[];
  sources: BookSources;
  onDemand: Record<string, StoredPrice>;
  /** type -> zone (or EVERY_ZONE) -> price */
  spot: Record<string, Record<string, StoredPrice>>;
}

const stored = (p: Price): StoredPrice => [p.usdPerHour, p.source, p.asOf];
const price = (s: StoredPrice): Price => ({ usdPerHour: s[0], source: s[1], asOf: s[2] });

function samePrice(a: Price, b: Price): boolean {
  return a.usdPerHour === b.usdPerHour && a.source === b.source && a.asOf === b.asOf;
}

/** One type's Spot prices, folded to EVERY_ZONE when every zone of the book has the same price. */
function storedZones(byZone: Map<string, Price>, zones: readonly string[]): Record<string, StoredPrice> {
  const first = byZone.values().next().value;
  const uniform =
    first !== undefined &&
    zones.length > 0 &&
    byZone.size === zones.length &&
    zones.every((z) => byZone.has(z) && samePrice(byZone.get(z)!, first));
  if (uniform) return { [EVERY_ZONE]: stored(first) };
  return Object.fromEntries([...byZone].sort(([a], [b]) => a.localeCompare(b)).map(([z, p]) => [z, stored(p)]));
}

/** The stored form of a book (keys sorted, so the same book always encodes to the same text). */
export function encodeBook(book: PriceBook, sources: BookSources): StoredBook {
  const types = (m: Map<string, unknown>): string[] => [...m.keys()].sort();
  return {
    region: book.region,
    zones: [...book.zones].sort(),
    sources,
    onDemand: Object.fromEntries(types(book.onDemand).map((t) => [t, stored(book.onDemand.get(t)!)])),
    spot: Object.fromEntries(types(book.spot).map((t) => [t, storedZones(book.spot.get(t)!, book.zones)])),
  };
}

/** Instance facts do not depend on the region: every book takes its shapes from the shipped snapshot. */
let snapshotShapes: Map<string, InstanceShape> | undefined;
export function bookShapes(): Map<string, InstanceShape> {
  snapshotShapes ??= loadSnapshotPriceBook(SNAPSHOT_REGIONS[0]!).instanceTypes;
  return snapshotShapes;
}

/** The Spot Instance Advisor data of a region the snapshot covers (the advisor is per region), with its date. */
export function bookAdvice(region: string): { advice: Map<string, SpotAdvice>; asOf: string } {
  if (!SNAPSHOT_REGIONS.includes(region)) return { advice: new Map(), asOf: "unknown" };
  return { advice: loadSnapshotPriceBook(region).advice, asOf: readPriceSnapshot(region)._meta.advisor.asOf };
}

/** The price book a stored book describes (shapes from the snapshot, advice of its region). */
export function decodeBook(s: StoredBook): PriceBook {
  const spot = new Map<string, Map<string, Price>>();
  for (const [type, byZone] of Object.entries(s.spot)) {
    const every = byZone[EVERY_ZONE];
    const entries: Array<[string, Price]> = every
      ? s.zones.map((z) => [z, price(every)])
      : Object.entries(byZone).map(([z, p]) => [z, price(p)]);
    spot.set(type, new Map(entries));
  }
  return {
    region: s.region,
    zones: [...s.zones],
    instanceTypes: bookShapes(),
    onDemand: new Map(Object.entries(s.onDemand).map(([t, p]) => [t, price(p)])),
    spot,
    advice: bookAdvice(s.region).advice,
  };
}

/**
 * Whether a book is older than the configured age: its On-Demand part (every figure's baseline) or a dated Spot part.
 * An undated Spot price is flagged where a figure uses it (the figures check each price's date as well).
 */
export function bookStale(sources: BookSources, nowMs: number, maxAgeMs: number): boolean {
  const spot = sources.spot.asOf !== "unknown" && isStale(sources.spot.asOf, nowMs, maxAgeMs);
  return spot || isStale(sources.onDemand.asOf, nowMs, maxAgeMs);
}

/** The part of a ConfigMap the reader needs. */
export interface PriceBookConfigMap {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

export interface StoredRegionPricesOptions {
  /** The price-book ConfigMaps (e.g. an informer's cache). */
  configMaps: () => readonly PriceBookConfigMap[];
  /** The operator's namespace: books elsewhere are not ours and are ignored. */
  namespace: string;
  maxAgeMs: number;
  now: () => Date;
}

/** Books from the ConfigMaps, decoded once per resourceVersion; the shipped snapshot until a region's book exists. */
export function storedRegionPrices(opts: StoredRegionPricesOptions): RegionPrices {
  const decoded = new Map<string, { rv: string; book: PriceBook; sources: BookSources }>();
  const snapshotBooks = new Map<string, PriceBook>();
  const fromConfigMap = (region: string): { book: PriceBook; sources: BookSources } | undefined => {
    const name = priceBookConfigMapName(region);
    const cm = opts.configMaps().find((c) => c.metadata?.namespace === opts.namespace && c.metadata?.name === name);
    const text = cm?.data?.[PRICE_BOOK_DATA_KEY];
    if (!cm || text === undefined) return undefined;
    const rv = cm.metadata?.resourceVersion ?? "";
    const hit = decoded.get(region);
    if (hit?.rv === rv) return hit;
    const s = JSON.parse(text) as StoredBook;
    const entry = { rv, book: decodeBook(s), sources: s.sources };
    decoded.set(region, entry);
    return entry;
  };
  return (region): RegionBook => {
    if (region === undefined) return { stale: false, reason: "the cluster has no region (spec.region or node labels)" };
    const nowMs = opts.now().getTime();
    const live = fromConfigMap(region);
    if (live) return { book: live.book, sources: live.sources, stale: bookStale(live.sources, nowMs, opts.maxAgeMs) };
    if (!SNAPSHOT_REGIONS.includes(region))
      return {
        stale: false,
        reason: `no prices for region ${region} (the operator's price book has none: no AWS prices, and the shipped snapshot covers ${SNAPSHOT_REGIONS.join(", ")})`,
      };
    let book = snapshotBooks.get(region);
    if (!book) snapshotBooks.set(region, (book = loadSnapshotPriceBook(region)));
    const sources = snapshotSources(region);
    return { book, sources, stale: bookStale(sources, nowMs, opts.maxAgeMs) };
  };
}
