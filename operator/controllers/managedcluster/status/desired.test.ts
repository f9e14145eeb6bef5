// Unit tests of the pure ManagedCluster status builder: tenancy rule, figures, pricing, AgentConnected.
import { describe, expect, it } from "vitest";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { efficiencyScore, figuresFromStatus } from "../../../../src-shared/fleet/fleet-metrics.js";
import { roundTo } from "../../../../src-shared/pricing/rounding.js";
import type { RegionPrices } from "../../../../src-shared/pricing/region-prices.js";
import type { Price, PriceBook } from "../../../../src-shared/pricing/types.js";
import {
  HEARTBEAT_FRESH_MS,
  RESYNC_MS,
  desiredClusterStatus,
  interruptions7d,
  measuredFigures,
  ownsLocalNodes,
  type ClusterView,
} from "./desired.js";

const NOW = new Date("2026-11-23T12:00:00Z");
/** A made-up price book for us-east-1 only: the builder must use exactly what it says. */
const p = (usdPerHour: number): Price => ({ usdPerHour, source: "snapshot", asOf: "2026-07-20" });
const BOOK: PriceBook = {
  region: "us-east-1",
  zones: ["use1-az1"],
  instanceTypes: new Map(),
  onDemand: new Map([
    ["m5.large", p(0.1)],
    ["c5.xlarge", p(0.2)],
  ]),
  spot: new Map([
    ["m5.large", new Map([["use1-az1", p(0.04)]])],
    ["c5.xlarge", new Map([["use1-az1", p(0.07)]])],
  ]),
  advice: new Map(),
};
const prices: RegionPrices = (region) =>
  region === "us-east-1" ? { book: BOOK, stale: false } : { stale: false, reason: `no prices for region ${region}` };

function cluster(name: string, mode: "local" | "remote", extra: Partial<ClusterView> = {}): ClusterView {
  return { metadata: { name, namespace: `org-${name}`, generation: 3 }, spec: { mode, region: "us-east-1" }, ...extra };
}

function node(name: string, instanceType: string, capacityType?: string): V1Node {
  const labels: Record<string, string> = { "node.kubernetes.io/instance-type": instanceType };
  if (capacityType) labels["karpenter.sh/capacity-type"] = capacityType;
  return {
    metadata: { name, labels },
    status: { allocatable: { cpu: "2", memory: "8Gi" }, conditions: [{ type: "Ready", status: "True" }] },
  };
}

function pod(nodeName: string, cpu: string, memory: string): V1Pod {
  return {
    metadata: { name: `p-${nodeName}-${cpu}`, namespace: "default" },
    spec: { nodeName, containers: [{ name: "c", resources: { requests: { cpu, memory } } }] },
    status: { phase: "Running" },
  };
}

const designated = (c: ClusterView): { namespace: string; name: string } => ({
  namespace: c.metadata.namespace ?? "",
  name: c.metadata.name ?? "",
});

/** Plans `c`, by default as the designated local cluster; `local` names another designation (or none). */
function plan(
  c: ClusterView,
  opts: { local?: { namespace: string; name: string } | null; nodes?: V1Node[]; pods?: V1Pod[] } = {},
): ReturnType<typeof desiredClusterStatus> {
  return desiredClusterStatus({
    cluster: c,
    localCluster: opts.local === null ? undefined : (opts.local ?? designated(c)),
    nodes: opts.nodes ?? [],
    pods: opts.pods ?? [],
    auditEntries: [],
    prices,
    now: NOW,
  });
}

describe("ownsLocalNodes", () => {
  it("holds only for the mode-local cluster the installer designated", () => {
    const a = cluster("a", "local");
    const b = cluster("b", "local");
    const r = cluster("r", "remote");
    expect(ownsLocalNodes(a, designated(a))).toBe(true);
    expect(ownsLocalNodes(b, designated(a))).toBe(false);
    expect(ownsLocalNodes(a, undefined)).toBe(false);
    expect(ownsLocalNodes(r, designated(r))).toBe(false);
    // Same name in another organisation's namespace is not the designated one.
    expect(ownsLocalNodes({ ...a, metadata: { ...a.metadata, namespace: "org-other" } }, designated(a))).toBe(false);
    expect(ownsLocalNodes({ metadata: { name: "d", namespace: "n" }, spec: {} }, { namespace: "n", name: "d" })).toBe(
      true,
    );
  });
});

describe("desiredClusterStatus for the sole local cluster", () => {
  const nodes = [
    node("n1", "m5.large", "on-demand"),
    node("n2", "m5.large", "spot"),
    node("n3", "c5.xlarge", "spot"),
    node("n4", "m5.large", "on-demand"),
  ];
  const pods = [pod("n1", "1", "4Gi"), pod("n2", "500m", "2Gi")];

  it("counts nodes, spot share, cost of every priced node and the facade's efficiency score", () => {
    const { status, requeueAfterMs } = plan(cluster("a", "local"), { nodes, pods });
    expect(status.nodeCount).toBe(4);
    expect(status.spotPercentage).toBe(50);
    expect(status.monthlyCostUsd).toBeCloseTo((0.1 + 0.04 + 0.07 + 0.1) * 730, 2);
    expect(status.baselineMonthlyCostUsd).toBeCloseTo((0.1 + 0.1 + 0.2 + 0.1) * 730, 2);
    expect(status.unpricedNodes).toBe(0);
    // Prices of 2026-07-20 are four months old on 2026-11-23: older than the default week, so flagged.
    expect(status.prices).toEqual({ source: "snapshot", asOf: "2026-07-20", stale: true });
    expect(status.conditions.find((c) => c.type === "Priced")?.message).toContain(
      "older than the configured maximum age",
    );
    const lenient = desiredClusterStatus({
      cluster: cluster("a", "local"),
      localCluster: designated(cluster("a", "local")),
      nodes,
      pods,
      auditEntries: [],
      prices,
      priceMaxAgeMs: 200 * 86_400_000,
      now: NOW,
    }).status;
    expect(lenient.prices).toEqual({ source: "snapshot", asOf: "2026-07-20" });
    // requested 1.5 of 8 cores, 6 of 32 GiB; 2 of 4 nodes Spot; nothing reports interruptions: that term earns nothing
    expect(status.efficiencyScore).toBe(efficiencyScore({ cpu: 1.5 / 8, memory: 6 / 32 }, 0.5, null));
    expect(status.efficiencyScore).toBe(Math.round(100 * (0.5 * ((1.5 / 8 + 6 / 32) / 2) + 0.3 * 0.5)));
    const byType = Object.fromEntries(status.conditions.map((c) => [c.type, c]));
    expect(byType.AgentConnected).toMatchObject({ status: "True", reason: "LocalMode", observedGeneration: 3 });
    expect(byType.Measured).toMatchObject({ status: "True", observedGeneration: 3 });
    expect(byType.Priced).toMatchObject({ status: "True", reason: "AllNodesPriced" });
    expect(requeueAfterMs).toBe(RESYNC_MS);
  });

  it("holds every figure the facade shows, and reading the status back gives the measured figures", () => {
    const input = {
      cluster: cluster("a", "local"),
      localCluster: designated(cluster("a", "local")),
      nodes,
      pods,
      auditEntries: [
        { spec: { event: "Spot interruption", resource: "cluster/a/node/n2", timestamp: NOW.toISOString() } },
      ],
      prices,
      now: NOW,
    };
    const { status } = desiredClusterStatus(input);
    expect(status).toMatchObject({
      spotNodes: 2,
      onDemandNodes: 2,
      readyNodes: 4,
      nodesByFamily: { m5: 3, c5: 1 },
      cpuUtilisation: 1.5 / 8,
      memoryUtilisation: 6 / 32,
      interruptions7d: 1,
      interruptionRate: 0.5,
      fleetHealth: 50,
    });
    const measured = measuredFigures(input, {
      nodes,
      requested: { millicores: 1500, mib: 6 * 1024 },
      agentReported: false,
    });
    // Money is held in cents; every other figure exactly as measured.
    const { monthlyCostUsd, baselineMonthlyUsd, ...rest } = measured;
    expect(figuresFromStatus(status)).toMatchObject({ ...rest, source: "nodes" });
    expect(figuresFromStatus(status).monthlyCostUsd).toBe(roundTo(monthlyCostUsd!, 2));
    expect(figuresFromStatus(status).baselineMonthlyUsd).toBe(roundTo(baselineMonthlyUsd!, 2));
  });

  it("leaves out what is unknown (interruptions nothing reports), rather than writing 0", () => {
    const { status } = plan(cluster("a", "local"), { nodes, pods });
    for (const field of ["interruptions7d", "interruptionRate", "fleetHealth"])
      expect(status).not.toHaveProperty(field);
    expect(figuresFromStatus(status)).toMatchObject({
      interruptions7d: null,
      interruptionRate: null,
      fleetHealth: null,
    });
  });

  it("reports no cost at all (not a partial sum) and names nodes without a price or capacity type", () => {
    const { status } = plan(cluster("a", "local"), {
      nodes: [...nodes, node("odd", "x9.huge", "on-demand"), node("nolabel", "m5.large")],
    });
    expect(status.nodeCount).toBe(6);
    expect(status.monthlyCostUsd).toBeUndefined();
    expect(status.baselineMonthlyCostUsd).toBeUndefined();
    expect(status.unpricedNodes).toBe(2);
    const priced = status.conditions.find((c) => c.type === "Priced");
    expect(priced).toMatchObject({ status: "False", reason: "UnpricedNodes" });
    expect(priced?.message).toContain("nolabel, odd");
    expect(priced?.message).toContain("2 of 6");
  });

  it("reports no cost for a region without prices, and says so", () => {
    const c = { ...cluster("a", "local"), spec: { mode: "local" as const, region: "ap-south-2" } };
    const { status } = plan(c, { nodes, pods });
    expect(status.monthlyCostUsd).toBeUndefined();
    expect(status.unpricedNodes).toBe(4);
    expect(status.conditions.find((x) => x.type === "Priced")?.message).toContain("no prices for region ap-south-2");
  });

  it("has no efficiency score and zero figures without nodes", () => {
    const { status } = plan(cluster("a", "local"));
    expect(status).toMatchObject({ nodeCount: 0, spotPercentage: 0, monthlyCostUsd: 0 });
    expect(status.efficiencyScore).toBeUndefined();
  });

  it("is stable: planning again from its own output changes nothing", () => {
    const c = cluster("a", "local");
    const first = plan(c, { nodes, pods }).status;
    const again = desiredClusterStatus({
      cluster: { ...c, status: { conditions: first.conditions } },
      localCluster: designated(c),
      nodes,
      pods,
      auditEntries: [],
      prices,
      now: new Date(NOW.getTime() + 3_600_000),
    }).status;
    expect(again).toEqual(first);
  });
});

describe("desiredClusterStatus for other clusters", () => {
  it("gives a mode-local cluster that is not the designated one no node figures", () => {
    const a = cluster("a", "local");
    const b = cluster("b", "local");
    for (const local of [designated(b), null]) {
      const { status } = plan(a, { local, nodes: [node("n1", "m5.large", "spot")] });
      expect(status.nodeCount).toBeUndefined();
      expect(status.monthlyCostUsd).toBeUndefined();
      expect(status.conditions.find((c) => c.type === "Measured")).toMatchObject({
        status: "False",
        reason: "NotDesignatedLocalCluster",
      });
    }
  });

  it("judges a remote cluster's agent by heartbeat age; without a snapshot it has no figures (NotReported)", () => {
    const at = (ageMs: number): string => new Date(NOW.getTime() - ageMs).toISOString().replace(/\.\d{3}Z$/, "Z");
    const remote = (lastSeen?: string): ClusterView =>
      cluster("r", "remote", lastSeen ? { status: { agent: { lastSeen } } } : {});
    const none = plan(remote(), { nodes: [node("n1", "m5.large", "spot")] });
    // The local nodes are not a remote cluster's: no figures at all until its agent reports.
    expect(Object.keys(none.status)).toEqual(["conditions"]);
    expect(none.status.conditions).toHaveLength(2);
    expect(none.status.conditions[1]).toMatchObject({ type: "Measured", status: "False", reason: "NotReported" });
    expect(none.status.conditions[0]).toMatchObject({
      type: "AgentConnected",
      status: "Unknown",
      reason: "NoHeartbeat",
    });
    const fresh = plan(remote(at(30_000)));
    expect(fresh.status.conditions[0]).toMatchObject({ status: "True", reason: "HeartbeatReceived" });
    // comes back once the heartbeat turns stale
    expect(fresh.requeueAfterMs).toBeLessThanOrEqual(HEARTBEAT_FRESH_MS - 30_000 + 1000);
    expect(plan(remote(at(HEARTBEAT_FRESH_MS + 1000))).status.conditions[0]).toMatchObject({
      status: "False",
      reason: "HeartbeatMissed",
    });
  });

  it("keeps lastTransitionTime while the status holds", () => {
    const c = cluster("r", "remote", {
      status: {
        agent: {},
        conditions: [
          {
            type: "AgentConnected",
            status: "Unknown",
            reason: "NoHeartbeat",
            message: "x",
            lastTransitionTime: "2026-01-01T00:00:00Z",
          },
        ],
      },
    });
    expect(plan(c).status.conditions[0]?.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
  });
});

describe("interruptions7d", () => {
  it("counts interruption entries naming the cluster within 7 days", () => {
    const e = (
      event: string,
      resource: string,
      timestamp: string,
    ): { spec: { event: string; resource: string; timestamp: string } } => ({ spec: { event, resource, timestamp } });
    const entries = [
      e("Spot interruption", "cluster/a", "2026-11-22T00:00:00Z"),
      e("Spot Interrupted", "a", "2026-11-20T00:00:00Z"),
      e("Spot interruption", "cluster/b", "2026-11-22T00:00:00Z"),
      // Exact names only: another cluster whose name starts with this one's is not this one.
      e("Spot interruption", "cluster/ab/node/n1", "2026-11-22T00:00:00Z"),
      e("Spot interruption", "cluster/a/node/n1", "2026-11-22T00:00:00Z"),
      e("Spot interruption", "cluster/a", "2026-11-01T00:00:00Z"),
      e("Modified policy", "cluster/a", "2026-11-22T00:00:00Z"),
    ];
    expect(interruptions7d(entries, "a", NOW.getTime())).toBe(3);
  });

  it("counts a notice by its own time (after.at), not by when it was recorded", () => {
    const recordedNow = NOW.toISOString();
    const notice = (at: string, timestamp = recordedNow) => ({
      spec: { event: "spot.interruption", resource: "cluster/a/node/n1", timestamp, after: { at } },
    });
    const minutes = (m: number): string => new Date(NOW.getTime() + m * 60_000).toISOString();
    // recorded just now, but the interruption happened in 2019: not one of the last 7 days
    expect(interruptions7d([notice("2019-03-01T00:00:00Z")], "a", NOW.getTime())).toBe(0);
    // recorded 8 days ago (an entry's time), dated 2 days ago by the notice: counted by the latter
    expect(interruptions7d([notice(minutes(-2 * 1440), minutes(-8 * 1440))], "a", NOW.getTime())).toBe(1);
    // a termination two minutes out counts; one dated an hour ahead is not believed
    expect(interruptions7d([notice(minutes(2)), notice(minutes(60))], "a", NOW.getTime())).toBe(1);
  });
});
