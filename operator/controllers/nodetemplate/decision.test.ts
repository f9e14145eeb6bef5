// A NodePool change's decision: its cost-CSV figure projects the change for the pool's nodes, and only where they
// were counted and both sides are priced.
import { describe, expect, it } from "vitest";
import { poolDecision } from "./decision.js";
import { decisionAfter } from "../../../src-shared/audit/decisions.js";
import { decisionOf } from "../../facade/services/decisions.js";
import type { KubeObject } from "../../../src-shared/kube/index.js";
import type { PriceBook } from "../../../src-shared/pricing/types.js";

const price = (usdPerHour: number) => ({ usdPerHour, source: "test book", asOf: "2026-12-01" });
const book = {
  onDemand: new Map([
    ["m5.large", price(0.096)],
    ["c5.large", price(0.085)],
  ]),
  spot: new Map(),
} as unknown as PriceBook;

function pool(types: string[]): KubeObject {
  const requirements = [
    { key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] },
    { key: "node.kubernetes.io/instance-type", operator: "In", values: types },
  ];
  return { metadata: { name: "p" }, spec: { template: { spec: { requirements } } } };
}

function decision(nodes: number | undefined, to = ["c5.large"]) {
  return poolDecision({
    namespace: "org",
    template: { name: "t", uid: "u" },
    cluster: "c",
    previous: { pool: pool(["m5.large"]), version: "1" },
    desired: pool(to),
    book,
    narrowToSpot: false,
    nodes,
  })!;
}

function projected(nodes: number | undefined): number | undefined {
  const after = decisionAfter(decision(nodes));
  return decisionOf({ id: "1", timestamp: "", actor: "", event: "", resource: "", outcome: "", after })?.projectedUsd;
}

describe("poolDecision", () => {
  it("dates the entry by its older price, or unknown when one of its prices is undated", () => {
    const d = decision(1);
    expect(decisionAfter(d).pricesAsOf).toBe("2026-12-01");
    expect(decisionAfter({ ...d, new: { ...d.new, asOf: "unknown" } }).pricesAsOf).toBe("unknown");
    expect(decisionAfter({ ...d, old: { ...d.old, asOf: "2025-06-28" } }).pricesAsOf).toBe("2025-06-28");
  });

  it("projects the per-node difference for each of the pool's nodes, 730 h", () => {
    expect(projected(4)).toBe(Math.round(0.011 * 4 * 730 * 100) / 100);
    expect(projected(0)).toBe(0);
  });

  it("projects nothing where the nodes were not counted, or a side is unpriced", () => {
    expect(projected(undefined)).toBeUndefined();
    expect(decision(undefined).period).toEqual({ baseline: expect.stringMatching(/could not be counted/) });
    expect(decision(4, ["x9.large"]).period).toBeUndefined();
  });
});
