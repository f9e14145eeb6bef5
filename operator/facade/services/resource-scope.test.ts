// Unit tests for the choice of price book: the operator's book for the region, else the shipped snapshot, else none.
import { describe, it, expect } from "vitest";
import { encodeBook, PRICE_BOOK_DATA_KEY, storedRegionPrices } from "../../../src-shared/pricing/book.js";
import { snapshotSources } from "../../../src-shared/pricing/region-prices.js";
import { loadSnapshotPriceBook } from "../../../src-shared/pricing/snapshot/index.js";
import { priceBookFor } from "./resource-scope.js";

const NS = "spot-optimizer-system";

function bookConfigMap(region: string, usd: number): { metadata: object; data: Record<string, string> } {
  const book = { ...loadSnapshotPriceBook("us-east-1"), region };
  book.onDemand = new Map([
    ["m5.large", { usdPerHour: usd, source: "pricing-api" as const, asOf: "2026-12-01T00:00:00Z" }],
  ]);
  const sources = {
    ...snapshotSources("us-east-1"),
    onDemand: { source: "pricing-api" as const, asOf: "2026-12-01T00:00:00Z" },
  };
  return {
    metadata: { namespace: NS, name: `spot-optimizer-prices-${region}`, resourceVersion: "1" },
    data: { [PRICE_BOOK_DATA_KEY]: JSON.stringify(encodeBook(book, sources)) },
  };
}

describe("priceBookFor", () => {
  it("uses the operator's book of the cluster's region", () => {
    const prices = storedRegionPrices({
      configMaps: () => [bookConfigMap("us-west-2", 0.1)],
      namespace: NS,
      maxAgeMs: 3_600_000,
      now: () => new Date("2026-12-01T00:30:00Z"),
    });
    expect(priceBookFor(prices, "us-west-2")?.onDemand.get("m5.large")).toEqual({
      usdPerHour: 0.1,
      source: "pricing-api",
      asOf: "2026-12-01T00:00:00Z",
    });
  });

  it("falls back to the shipped snapshot where it has the region, and to nothing elsewhere", () => {
    const prices = storedRegionPrices({ configMaps: () => [], namespace: NS, maxAgeMs: 1, now: () => new Date() });
    const m5 = priceBookFor(prices, "us-east-1")?.onDemand.get("m5.large");
    expect(m5?.source).toBe("snapshot");
    expect(m5?.usdPerHour).toBeGreaterThan(0);
    expect(priceBookFor(prices, "eu-west-9")).toBeUndefined();
    expect(priceBookFor(prices, undefined)).toBeUndefined();
  });
});
