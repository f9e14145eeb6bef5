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

function projected(nodes: number | undefined, to = ["c5.large"]): number | undefined {
  const d = poolDecision({
    namespace: "org",
    template: { name: "t", uid: "u" },
    cluster: "c",
    previous: { pool: pool(["m5.large"]), version: "1" },
    desired: pool(to),
    book,
    narrowToSpot: false,
    nodes,
  })!;
  const after = decisionAfter(d);
  return decisionOf({ id: "1", timestamp: "", actor: "", event: "", resource: "", outcome: "", after })?.projectedUsd;
}

describe("poolDecision", () => {
  it("projects the per-node difference for each of the pool's nodes, 730 h", () => {
    expect(projected(4)).toBe(Math.round(0.011 * 4 * 730 * 100) / 100);
    expect(projected(0)).toBe(0);
  });

  it("projects nothing where the nodes were not counted, or a side is unpriced", () => {
    expect(projected(undefined)).toBeUndefined();
    expect(projected(4, ["x9.large"])).toBeUndefined();
  });
});
