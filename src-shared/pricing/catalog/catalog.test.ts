// Offline catalog: enough types of each kind, sane prices with source and date, allocatable matching Karpenter's own table.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCatalogPriceBook } from "./index.js";
import { CATALOG_ROWS } from "./us-east-1.js";

describe("offline catalog", () => {
  const book = loadCatalogPriceBook("us-east-1");

  it("has ≥ 40 types: x86, arm64 and a few GPU, with a snapshot date on every price", () => {
    const shapes = [...book.instanceTypes.values()];
    expect(shapes.length).toBeGreaterThanOrEqual(40);
    expect(shapes.filter((s) => s.arch === "arm64").length).toBeGreaterThanOrEqual(10);
    expect(shapes.filter((s) => s.arch === "amd64").length).toBeGreaterThanOrEqual(10);
    expect(shapes.filter((s) => s.gpu).length).toBeGreaterThanOrEqual(2);
    for (const [type, od] of book.onDemand) {
      expect(od).toMatchObject({ source: "catalog-snapshot", asOf: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
      for (const sp of book.spot.get(type)!.values()) {
        expect(sp.source).toBe("catalog-snapshot");
        expect(sp.usdPerHour).toBeGreaterThan(0);
        expect(sp.usdPerHour).toBeLessThan(od.usdPerHour);
      }
    }
    expect(new Set(CATALOG_ROWS.map((r) => r.type)).size).toBe(CATALOG_ROWS.length);
  });

  it("computes allocatable as Karpenter does (checked against ../shared/data/ec2-instance-types.json)", () => {
    const reference = JSON.parse(
      readFileSync(resolve(import.meta.dirname, "../../../../shared/data/ec2-instance-types.json"), "utf8"),
    ).instanceTypes;
    for (const [type, s] of book.instanceTypes) {
      const ref = reference[type].allocatable;
      expect(s.allocatable.cpuMillicores, type).toBe(ref.cpuMillicores);
      expect(s.allocatable.pods, type).toBe(ref.pods);
      expect(Math.abs(s.allocatable.memoryMiB - ref.memoryMiB), type).toBeLessThanOrEqual(1);
    }
  });

  it("refuses other regions with a clear message", () => {
    expect(() => loadCatalogPriceBook("eu-west-1")).toThrow(/only covers us-east-1/);
  });
});
