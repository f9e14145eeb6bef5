// Price books by region for the figures: the one lookup the ManagedCluster status controller (and others) price nodes
// with, the shipped snapshot by default, a live book where the operator's price book has refreshed one.
import type { PriceBook } from "./types.js";
import { loadSnapshotPriceBook, SNAPSHOT_REGIONS } from "./snapshot/index.js";

/** The book for a region, whether it is older than the configured age, or why there is none. */
export interface RegionBook {
  book?: PriceBook;
  stale: boolean;
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
    return { book, stale: false };
  };
}
