// Price books by region for the figures: the one lookup every consumer prices with. The operator's price book
// (book.ts, ConfigMaps the price-book controller writes) in the running system; the shipped snapshot in tools and tests.
import type { PriceBook, PriceSource } from "./types.js";
import { loadSnapshotPriceBook, readPriceSnapshot, SNAPSHOT_REGIONS } from "./snapshot/index.js";

/** Where one part of a book (On-Demand, Spot) came from and how old it is. */
export interface BookPart {
  /** pricing-api / spot-history after a successful refresh, else snapshot (the shipped cold-start book). */
  source: PriceSource;
  /** The date of the part's prices ("unknown" when the source carries none). */
  asOf: string;
  /** When the part was last refreshed from AWS (absent for the snapshot). */
  refreshedAt?: string;
  /** The refresh that is failing, since when (the last good prices stay in service). */
  error?: { message: string; since: string };
}

export interface BookSources {
  onDemand: BookPart;
  spot: BookPart;
}

/** Where the shipped snapshot's parts came from: what a region's book is before its first refresh. */
export function snapshotSources(region: string): BookSources {
  const meta = readPriceSnapshot(region)._meta;
  return {
    onDemand: { source: "snapshot", asOf: meta.onDemand.asOf },
    spot: { source: "snapshot", asOf: meta.spot.asOf },
  };
}

/** The book for a region, whether it is older than the configured age, or why there is none. */
export interface RegionBook {
  book?: PriceBook;
  stale: boolean;
  /** Where each part of the book came from and when (absent when there is no book). */
  sources?: BookSources;
  /** Why there is no book (absent when there is one). */
  reason?: string;
}

export type RegionPrices = (region: string | undefined) => RegionBook;

/** The shipped snapshot's book per region (loaded once per region); no book for a region it does not cover. */
export function snapshotRegionPrices(): RegionPrices {
  const books = new Map<string, PriceBook>();
  return (region) => {
    if (region === undefined) return { stale: false, reason: "the cluster has no region (spec.region or node labels)" };
    if (!SNAPSHOT_REGIONS.includes(region))
      return {
        stale: false,
        reason: `no prices for region ${region} (the shipped snapshot covers ${SNAPSHOT_REGIONS.join(", ")})`,
      };
    let book = books.get(region);
    if (!book) {
      book = loadSnapshotPriceBook(region);
      books.set(region, book);
    }
    return { book, sources: snapshotSources(region), stale: false };
  };
}
