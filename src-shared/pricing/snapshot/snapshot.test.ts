// The shipped price snapshot: its shape, its labels, and (with ../shared/data) that it is what the generator makes today.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { describeWithSharedData, sharedDataDir } from "../../../test/support/shared-data.js";
import { buildPriceSnapshot, serializeSnapshot } from "./build.js";
import { loadSnapshotPriceBook, readPriceSnapshot, snapshotFile } from "./index.js";

const DATE = /^\d{4}-\d{2}-\d{2}/;

describe("price snapshot (us-east-1)", () => {
  const snapshot = readPriceSnapshot("us-east-1");
  const book = loadSnapshotPriceBook("us-east-1");

  it("records where every part came from and when", () => {
    const meta = snapshot._meta;
    for (const part of [meta.shapes, meta.onDemand, meta.spot, meta.advisor]) {
      expect(part.from.length).toBeGreaterThan(10);
      expect(part.asOf === "unknown" || DATE.test(part.asOf)).toBe(true);
    }
    expect(meta.onDemand.asOf).toMatch(DATE);
    expect(meta.counts.types).toBe(Object.keys(snapshot.types).length);
    // The generator writes its own note on the observed Spot prices rather than copying the input's.
    expect(meta.spot.note).toMatch(/^latest Spot price per AZ as the source file holds it/);
  });

  it("is described by the README's NOTICE as its _meta records it: generator, commits, dates and counts", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    const notice = readme.slice(readme.indexOf("## NOTICE: price data"));
    const meta = snapshot._meta;
    expect(notice).toContain("npm run gen:prices -- --data DIR");
    for (const part of [meta.shapes, meta.spot]) {
      const commit = /@ ([0-9a-f]{8})/.exec(part.from)?.[1];
      expect(commit, part.from).toBeDefined();
      expect(notice).toContain(commit!);
    }
    expect(notice).toContain(meta.onDemand.asOf.slice(0, 10));
    expect(notice).toContain(meta.advisor.asOf);
    expect(notice).toContain(`${meta.counts.spotObserved} types`);
    expect(notice).toContain(`${meta.counts.spotDerived} types`);
    expect(notice).toContain(meta.spot.asOf === "unknown" ? '`asOf: "unknown"`' : meta.spot.asOf.slice(0, 10));
  });

  it("has every shape field of every type, and prices only where they are known", () => {
    const types = Object.entries(snapshot.types);
    expect(types.length).toBeGreaterThan(1000);
    for (const [name, t] of types) {
      expect(name).toMatch(/^[a-z0-9-]+\.[a-z0-9-]+$/);
      expect(t.family, name).toBe(name.split(".")[0]);
      expect(["amd64", "arm64"]).toContain(t.arch);
      expect(t.vcpu, name).toBeGreaterThan(0);
      expect(t.allocatable.cpuMillicores, name).toBeLessThan(t.vcpu * 1000);
      expect(t.allocatable.memoryMiB, name).toBeLessThan(t.memoryMiB);
      expect(t.allocatable.pods, name).toBeGreaterThan(0);
      // Observed and derived Spot exclude each other; a derived price needs an On-Demand price and advisor data.
      expect(t.spotUsdByZone !== null && t.derivedSpotUsd !== null, name).toBe(false);
      if (t.derivedSpotUsd !== null) {
        expect(
          Math.abs(t.derivedSpotUsd - t.onDemandUsd! * (1 - t.advisor!.savingsPct / 100)),
          name,
        ).toBeLessThanOrEqual(5.1e-7);
      }
    }
    expect(types.filter(([, t]) => t.gpu !== null).length).toBeGreaterThan(10);
    expect(types.filter(([, t]) => t.arch === "arm64").length).toBeGreaterThan(100);
  });

  it("labels On-Demand and observed Spot `snapshot`, advisor-derived Spot `derived`, each with a date", () => {
    expect(book.onDemand.get("m5.large")).toEqual({
      usdPerHour: 0.096,
      source: "snapshot",
      asOf: snapshot._meta.onDemand.asOf,
    });
    for (const [type, byZone] of book.spot) {
      const t = snapshot.types[type]!;
      for (const price of byZone.values()) {
        expect(price.source).toBe(t.spotUsdByZone ? "snapshot" : "derived");
        expect(price.asOf === "unknown" || DATE.test(price.asOf)).toBe(true);
      }
    }
    const derived = book.spot.get("m5.large")!;
    expect([...derived.keys()]).toEqual(snapshot.zones);
    expect(derived.get("use1-az1")).toMatchObject({ source: "derived", asOf: snapshot._meta.advisor.asOf });
  });

  it("refuses regions it has no snapshot for, saying which it has", () => {
    expect(() => loadSnapshotPriceBook("eu-west-1")).toThrow(/only covers us-east-1/);
  });
});

describeWithSharedData("price snapshot is current", () => {
  it("equals what `npm run gen:prices -- --data ../shared/data` writes today", () => {
    const committed = readPriceSnapshot("us-east-1");
    const fresh = buildPriceSnapshot({
      dir: sharedDataDir,
      region: "us-east-1",
      advisorAsOf: committed._meta.advisor.asOf,
    });
    expect(serializeSnapshot(fresh)).toBe(readFileSync(snapshotFile("us-east-1"), "utf8"));
  });
});
