// Unit tests for the choice of price book: the configured (live) book for its region, else the shipped snapshot.
import { describe, it, expect } from "vitest";
import type { PriceBook } from "../../../src-shared/fleet/fleet-metrics.js";
import { priceBookFor } from "./shared.js";

const live: PriceBook = { region: "us-west-2", onDemand: new Map(), spot: new Map() };

describe("priceBookFor", () => {
  it("uses the configured book for its own region or a cluster without region", () => {
    expect(priceBookFor(live, "us-west-2")).toBe(live);
    expect(priceBookFor(live, undefined)).toBe(live);
  });

  it("falls back to the shipped snapshot where it has the region, and to nothing elsewhere", () => {
    const book = priceBookFor(live, "us-east-1");
    expect(book).not.toBe(live);
    const m5 = book?.onDemand.get("m5.large");
    expect(m5?.source).toBe("snapshot");
    expect(m5?.usdPerHour).toBeGreaterThan(0);
    expect(priceBookFor(undefined, "eu-west-9")).toBeUndefined();
    expect(priceBookFor(undefined, undefined)).toBeUndefined();
  });
});
