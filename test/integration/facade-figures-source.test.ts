// One source for every figure, over real HTTP: what the facade shows for a cluster (detail, KPI, composition) is what
// the operator's ManagedCluster status controller wrote into ManagedCluster.status — for a local cluster with Spot and
// On-Demand nodes, and with an unpriced node (null with the Priced condition's reason) — and the facade follows the
// status, not the nodes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManagedCluster } from "../../src-shared/crds/index.js";
import type { KubeObject } from "../../src-shared/kube/index.js";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";
import { designateLocalCluster } from "../support/local-cluster.js";
import { startStatusController, type RunningStatusController } from "../support/status-controller.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };

function node(name: string, type: string, capacity: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "node.kubernetes.io/instance-type": type,
        "karpenter.sh/capacity-type": capacity,
        "topology.k8s.aws/zone-id": "use1-az1",
        "topology.kubernetes.io/zone": "us-east-1a",
      },
    },
  };
}

let f: ResourceFacade;
let controller: RunningStatusController | undefined;

async function addNode(name: string, type: string, capacity: string, ready = true): Promise<void> {
  await f.client.create(node(name, type, capacity));
  await f.client.patch(
    { apiVersion: "v1", kind: "Node", name },
    {
      status: {
        allocatable: { cpu: "2", memory: "8Gi", pods: "29" },
        conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
      },
    },
    { type: "merge", subresource: "status" },
  );
}

/** The ManagedCluster as the API server holds it once `holds` is true, and once the facade's cache holds that version. */
type Status = NonNullable<ManagedCluster["status"]>;

async function statusOnceSeen(holds: (s: Status) => boolean, what: string): Promise<Status> {
  const mc = await eventually(
    async () => {
      const c = await f.client.get<ManagedCluster>({ ...MC, namespace: f.orgA, name: "home" });
      return c.status && holds(c.status) ? c : undefined;
    },
    15_000,
    `ManagedCluster home's status: ${what}`,
  );
  await eventually(
    () => f.cache.cluster(f.orgA, "home")?.metadata.resourceVersion === mc.metadata.resourceVersion,
    10_000,
    `the facade's cache at home's resourceVersion ${mc.metadata.resourceVersion}`,
  );
  return mc.status!;
}

async function get(path: string): Promise<any> {
  const res = await f.call("GET", path, { token: f.token(f.orgA) });
  expect(res.status, `${path}: ${res.text}`).toBe(200);
  return res.body;
}

function condition(status: Status, type: string): { status: string; message?: string } {
  return status.conditions!.find((c) => c.type === type)!;
}

beforeAll(async () => {
  f = await startResourceFacade();
  await designateLocalCluster(f.client, { namespace: f.orgA, name: "home", spec: { region: "us-east-1" } });
  await addNode("n-spot", "m5.large", "spot");
  await addNode("n-od", "c5.large", "on-demand", false);
  await f.client.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "app", namespace: "default" },
    spec: {
      nodeName: "n-spot",
      containers: [{ name: "app", image: "busybox", resources: { requests: { cpu: "500m", memory: "1Gi" } } }],
    },
  } as KubeObject);
  await f.facade.facades[0]!.audit.record({
    namespace: f.orgA,
    actor: "system:agent",
    event: "Spot interruption notice",
    resource: "cluster/home/node/n-spot",
    outcome: "success",
  });
  controller = startStatusController(f.client);
});
afterAll(async () => {
  await controller?.stop();
  await f?.stop();
});

describe("the facade's figures are ManagedCluster.status", () => {
  it("for a local cluster with Spot and On-Demand nodes: detail, KPI and composition", async () => {
    const s = await statusOnceSeen(
      (x) => x.nodeCount === 2 && x.interruptions7d === 1 && (x.cpuUtilisation ?? 0) > 0,
      "2 nodes, the interruption and the pod measured",
    );
    // Not a comparison of two empty answers: the status holds real figures.
    expect(s).toMatchObject({ spotNodes: 1, onDemandNodes: 1, readyNodes: 1, interruptionRate: 1, unpricedNodes: 0 });
    expect(s.monthlyCostUsd).toBeGreaterThan(0);
    expect(s.baselineMonthlyCostUsd).toBeGreaterThan(s.monthlyCostUsd!);

    const detail = await get("/clusters/home");
    expect(detail).toMatchObject({
      node_count: s.nodeCount,
      spot_percentage: s.spotPercentage,
      monthly_cost: s.monthlyCostUsd,
      monthly_cost_reason: null,
      unpriced_nodes: s.unpricedNodes,
      efficiency_score_value: s.efficiencyScore,
      figures_source: "nodes",
      price_source: s.prices!.source,
      prices_as_of: s.prices!.asOf,
    });
    expect(detail.health_metrics).toMatchObject({
      fleet_health: s.fleetHealth,
      ready_nodes: s.readyNodes,
      spot_nodes: s.spotNodes,
      on_demand_nodes: s.onDemandNodes,
      cpu_utilisation: s.cpuUtilisation,
      memory_utilisation: s.memoryUtilisation,
      interruption_rate: s.interruptionRate,
    });

    const kpi = await get("/metrics/kpi?cluster_id=home");
    expect(kpi).toMatchObject({
      active_nodes: s.nodeCount,
      monthly_spend: s.monthlyCostUsd,
      net_savings: Math.round((s.baselineMonthlyCostUsd! - s.monthlyCostUsd!) * 100) / 100,
      fleet_health: s.fleetHealth,
      efficiency_score_value: s.efficiencyScore,
      not_in_totals: [],
    });

    const composition = await get("/metrics/composition?cluster_id=home");
    expect(composition.node_counts).toEqual({
      total: s.nodeCount,
      by_family: s.nodesByFamily,
      spot: s.spotNodes,
      on_demand: s.onDemandNodes,
      unknown: 0,
    });
  });

  it("for an unpriced node: no monthly cost, with the Priced condition's reason, in the detail and the KPI", async () => {
    await addNode("n-odd", "zz9.galactic", "on-demand");
    const s = await statusOnceSeen((x) => x.nodeCount === 3, "3 nodes measured");
    expect(s.monthlyCostUsd).toBeUndefined();
    expect(s.unpricedNodes).toBe(1);
    const priced = condition(s, "Priced");
    expect(priced.status).toBe("False");
    expect(priced.message).toContain("n-odd");

    const detail = await get("/clusters/home");
    expect(detail).toMatchObject({
      node_count: 3,
      monthly_cost: null,
      monthly_cost_reason: priced.message,
      unpriced_nodes: s.unpricedNodes,
    });
    const kpi = await get("/metrics/kpi?cluster_id=home");
    expect(kpi).toMatchObject({ monthly_spend: null, net_savings: null, unpriced_clusters: 1 });
    expect(kpi.not_in_totals).toEqual([{ cluster_id: "home", reason: priced.message }]);
  });

  it("follows the status, not the nodes: with the controller stopped, a status edit shows and a new node does not", async () => {
    await controller!.stop();
    controller = undefined;
    await addNode("n-late", "m5.large", "on-demand");
    await f.client.patch(
      { ...MC, namespace: f.orgA, name: "home" },
      { status: { nodeCount: 7 } },
      {
        type: "merge",
        subresource: "status",
      },
    );
    await statusOnceSeen((x) => x.nodeCount === 7, "nodeCount 7 as edited");
    expect(await get("/clusters/home")).toMatchObject({ node_count: 7 });
    expect(await get("/metrics/kpi?cluster_id=home")).toMatchObject({ active_nodes: 7 });
  });
});
