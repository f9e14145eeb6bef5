import { describe, expect, it } from "vitest";
import type { ManagedCluster } from "../../../src-shared/crds/index.js";
import { billingStatus } from "../routes/billing.js";
import { clusterFigures } from "./fleet-view.js";
import { nodeKpi, nodesLeftOut } from "./node-totals.js";

function cluster(name: string, status: Record<string, unknown> | undefined): ManagedCluster {
  return {
    apiVersion: "spotoptimizer.io/v1alpha1",
    kind: "ManagedCluster",
    metadata: { name, namespace: "org-a" },
    spec: { mode: "remote" },
    ...(status ? { status } : {}),
  } as ManagedCluster;
}

const agent = (status: "True" | "False" | "Unknown", since: string): Record<string, unknown> => ({
  type: "AgentConnected",
  status,
  reason: status === "False" ? "HeartbeatMissed" : "HeartbeatReceived",
  message: "",
  lastTransitionTime: since,
});

describe("node totals over clusters whose agent is disconnected", () => {
  const since = "2026-06-01T10:00:00Z";
  const live = cluster("live", { nodeCount: 2, spotPercentage: 50, conditions: [agent("True", since)] });
  const quiet = cluster("quiet", { nodeCount: 3, spotPercentage: 0, conditions: [agent("False", since)] });
  const silent = cluster("silent", undefined);

  it("counts a disconnected cluster's last report and says so, and since when", () => {
    const kpi = nodeKpi([live, quiet].map((c) => clusterFigures(c, {})));
    expect(kpi.active_nodes).toBe(5);
    expect(kpi.active_nodes_reason).toBe(`as last reported, agent disconnected: quiet (since ${since})`);
  });

  it("names the clusters left out first, then the stale ones; nothing to say while every agent is connected", () => {
    const kpi = nodeKpi([live, quiet, silent].map((c) => clusterFigures(c, {})));
    expect(kpi.active_nodes_reason).toBe(
      `not included (not reported): silent; as last reported, agent disconnected: quiet (since ${since})`,
    );
    expect(nodeKpi([clusterFigures(live, {})]).active_nodes_reason).toBeNull();
  });
});

describe("billing's share over a disconnected agent's count", () => {
  it("is not called a lower bound when no cluster is left out, only its reason carried", () => {
    const since = "2026-06-01T10:00:00Z";
    const quiet = cluster("quiet", { nodeCount: 3, spotPercentage: 0, conditions: [agent("False", since)] });
    const figures = [clusterFigures(quiet, {})];
    const kpi = nodeKpi(figures);
    const status = billingStatus(
      "free",
      { free: 6 },
      {
        nodes: kpi.active_nodes,
        reason: kpi.active_nodes_reason,
        leftOut: nodesLeftOut(figures),
      },
    );
    expect(status.usage_percentage).toBe(50);
    expect(status.usage_percentage_reason).toBe(`as last reported, agent disconnected: quiet (since ${since})`);
    const silent = [clusterFigures(quiet, {}), clusterFigures(cluster("silent", undefined), {})];
    const partial = nodeKpi(silent);
    expect(
      billingStatus(
        "free",
        { free: 6 },
        { nodes: 3, reason: partial.active_nodes_reason, leftOut: nodesLeftOut(silent) },
      ).usage_percentage_reason,
    ).toMatch(/^at least this: not included \(not reported\): silent/);
  });
});
