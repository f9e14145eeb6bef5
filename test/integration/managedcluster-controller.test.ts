// ManagedCluster status controller against the local API server: node figures priced from the catalog, no-op reconciles, tenancy.
import { localClusterConfigMap, localClusterFromConfigMap } from "../../src-shared/tenancy/cluster-target.js";
import { afterEach, describe, expect, it } from "vitest";
import { eventually, startTestCluster } from "../support/cluster.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { ControllerManager, type KindRef } from "../../src-shared/runtime/index.js";
import { loadCatalogPriceBook } from "../../src-shared/pricing/catalog/index.js";
import { registerManagedClusterController } from "../../operator/controllers/managedcluster/status/controller.js";
import { createManagedClusterReconciler } from "../../operator/controllers/managedcluster/status/reconciler.js";
import { snapshotRegionPrices } from "../../src-shared/pricing/region-prices.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" } as const;
const REGION = "us-east-1";

interface ClusterStatus {
  nodeCount?: number;
  spotPercentage?: number;
  monthlyCostUsd?: number;
  baselineMonthlyCostUsd?: number;
  unpricedNodes?: number;
  efficiencyScore?: number;
  conditions?: Array<{ type: string; status: string; reason: string; message: string; observedGeneration?: number }>;
}
type ClusterObject = KubeObject & { status?: ClusterStatus };

let server: LocalApiServer | undefined;
let manager: ControllerManager | undefined;
let client: KubeClient | undefined;

afterEach(async () => {
  await manager?.stop();
  client?.close();
  await server?.stop();
  manager = undefined;
  client = undefined;
  server = undefined;
});

/** [name, instance type, capacity type, allocatable cpu, allocatable memory] */
type NodeSpec = [string, string, "spot" | "on-demand", string, string];

function node([name, instanceType, capacityType, cpu, memory]: NodeSpec): KubeObject {
  const quantities = { cpu, memory, pods: "58" };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "node.kubernetes.io/instance-type": instanceType,
        "karpenter.sh/capacity-type": capacityType,
        "topology.kubernetes.io/region": REGION,
        "topology.k8s.aws/zone-id": "use1-az1",
      },
    },
    status: { capacity: quantities, allocatable: quantities, conditions: [{ type: "Ready", status: "True" }] },
  };
}

function pod(name: string, nodeName: string, cpu: string, memory: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "apps" },
    spec: {
      nodeName,
      containers: [{ name: "main", image: "registry.example/app:1", resources: { requests: { cpu, memory } } }],
    },
    status: { phase: "Running" },
  };
}

function managedCluster(namespace: string, name: string, mode: "local" | "remote"): KubeObject {
  return { ...MC, metadata: { name, namespace }, spec: { mode, region: REGION } };
}

/** The installer's designation of `namespace/name` as the local cluster (local mode's seed and the chart write it). */
function designation(namespace: string, name: string): KubeObject {
  return localClusterConfigMap({ namespace, name }) as KubeObject;
}

async function start(objects: KubeObject[]): Promise<{ client: KubeClient; manager: ControllerManager }> {
  server = await startTestCluster({ crds: "project" });
  client = new KubeClient(server.kubeConfig);
  const namespaces = new Set([
    "apps",
    ...objects.map((o) => o.metadata?.namespace).filter((n): n is string => n !== undefined),
  ]);
  for (const name of namespaces) await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  for (const object of objects) await client.create(object);
  manager = new ControllerManager({ client });
  registerManagedClusterController({ manager, client });
  manager.start();
  await manager.waitForCacheSync();
  return { client, manager };
}

async function status(namespace: string, name: string): Promise<ClusterObject> {
  return client!.get<ClusterObject>({ ...MC, namespace, name });
}

function condition(object: ClusterObject, type: string): NonNullable<ClusterStatus["conditions"]>[number] | undefined {
  return object.status?.conditions?.find((c) => c.type === type);
}

describe("ManagedCluster status controller", () => {
  it("writes the sole local cluster's figures from its nodes and pods, then makes no write when nothing changed", async () => {
    const book = loadCatalogPriceBook(REGION);
    const onDemand = (type: string): number => book.onDemand.get(type)!.usdPerHour;
    const spot = (type: string): number => book.spot.get(type)!.get("use1-az1")!.usdPerHour;
    const { client: c, manager: m } = await start([
      managedCluster("acme", "prod", "local"),
      designation("acme", "prod"),
      managedCluster("globex", "edge", "remote"),
      node(["n-od", "m5.large", "on-demand", "2", "8Gi"]),
      node(["n-spot", "c5.large", "spot", "2", "4Gi"]),
      node(["n-unpriced", "zz9.galactic", "on-demand", "4", "4Gi"]),
      pod("web-0", "n-od", "1", "2Gi"),
      pod("web-1", "n-spot", "500m", "1Gi"),
    ]);
    const done = await eventually(
      async () => ((await status("acme", "prod")).status?.nodeCount === 3 ? status("acme", "prod") : undefined),
      10_000,
      "figures",
    );
    await m.idle();
    const mc = await status("acme", "prod");
    expect(mc.status?.nodeCount).toBe(3);
    expect(mc.status?.spotPercentage).toBeCloseTo(100 / 3, 1);
    // One unpriced node: no cost at all (a partial sum would pass for the bill), the node counted and named.
    expect(mc.status?.monthlyCostUsd).toBeUndefined();
    expect(mc.status?.unpricedNodes).toBe(1);
    expect(condition(mc, "Priced")).toMatchObject({ status: "False", reason: "UnpricedNodes" });
    expect(condition(mc, "Priced")?.message).toContain("n-unpriced");
    // efficiency = round(100 × (0.5·U + 0.3·s + 0.2·(1 − I))): requested 1.5 of 8 cores, 3 of 16 GiB, 1 of 3 nodes
    // Spot; nothing has recorded interruptions for this cluster, so I is unknown and its term earns no points.
    const utilisation = (1.5 / 8 + 3 / 16) / 2;
    expect(mc.status?.efficiencyScore).toBe(Math.round(100 * (0.5 * utilisation + 0.3 * (1 / 3))));
    expect(condition(mc, "AgentConnected")).toMatchObject({
      status: "True",
      reason: "LocalMode",
      observedGeneration: mc.metadata?.generation,
    });
    expect(done.metadata?.name).toBe("prod");

    const remote = await status("globex", "edge");
    expect(condition(remote, "AgentConnected")).toMatchObject({ status: "Unknown", reason: "NoHeartbeat" });
    expect(remote.status?.nodeCount).toBeUndefined();

    // A second reconcile with nothing changed writes nothing.
    const before = [mc.metadata?.resourceVersion, remote.metadata?.resourceVersion];
    let patchRequests = 0;
    const countingClient = Object.create(c) as KubeClient;
    countingClient.patch = ((...args: Parameters<KubeClient["patch"]>) => {
      patchRequests += 1;
      return c.patch(...args);
    }) as KubeClient["patch"];
    const reconcile = createManagedClusterReconciler({
      client: countingClient,
      clusters: m.informer(MC),
      nodes: m.informer({ apiVersion: "v1", kind: "Node" }),
      pods: m.informer({ apiVersion: "v1", kind: "Pod" }),
      auditEntries: m.informer({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "AuditEntry" } as KindRef),
      prices: snapshotRegionPrices(),
      localCluster: localClusterFromConfigMap((ref) => c.getIfExists(ref)),
    });
    await reconcile("acme/prod");
    await reconcile("globex/edge");
    // The API server skips identical writes itself, so also count the requests: none may be sent.
    expect(patchRequests).toBe(0);
    expect([
      (await status("acme", "prod")).metadata?.resourceVersion,
      (await status("globex", "edge")).metadata?.resourceVersion,
    ]).toEqual(before);

    // The unpriced node goes, a new Spot node comes: every node is priced, so the cost appears.
    await c.delete({ apiVersion: "v1", kind: "Node", name: "n-unpriced" });
    await c.create(node(["n-spot-2", "c5.large", "spot", "2", "4Gi"]));
    const after = await eventually(
      async () => {
        const o = await status("acme", "prod");
        return o.status?.monthlyCostUsd !== undefined && o.status.nodeCount === 3 ? o : undefined;
      },
      10_000,
      "every node priced",
    );
    expect(after.status?.nodeCount).toBe(3);
    expect(after.status?.unpricedNodes).toBe(0);
    expect(after.status?.monthlyCostUsd).toBeCloseTo((onDemand("m5.large") + 2 * spot("c5.large")) * 730, 2);
    expect(after.status?.baselineMonthlyCostUsd).toBeCloseTo(
      (onDemand("m5.large") + 2 * onDemand("c5.large")) * 730,
      2,
    );
    expect(condition(after, "Priced")).toMatchObject({ status: "True", reason: "AllNodesPriced" });
  }, 20_000);

  it("measures only the designated local cluster: another organisation's mode-local cluster gets no node figures and takes none away", async () => {
    const { manager: m } = await start([
      managedCluster("acme", "one", "local"),
      managedCluster("globex", "two", "local"),
      designation("acme", "one"),
      node(["n-od", "m5.large", "on-demand", "2", "8Gi"]),
    ]);
    for (const [ns, name] of [
      ["acme", "one"],
      ["globex", "two"],
    ] as const) {
      await eventually(async () => condition(await status(ns, name), "Measured"), 10_000, `${name} measured`);
    }
    await m.idle();
    const owner = await status("acme", "one");
    expect(condition(owner, "Measured")).toMatchObject({ status: "True" });
    expect(owner.status?.nodeCount).toBe(1);
    const outsider = await status("globex", "two");
    expect(condition(outsider, "Measured")).toMatchObject({ status: "False", reason: "NotDesignatedLocalCluster" });
    // The operator is the agent of the designated cluster only: no agent acts for this one.
    expect(condition(outsider, "AgentConnected")).toMatchObject({
      status: "False",
      reason: "NotDesignatedLocalCluster",
    });
    expect(condition(owner, "AgentConnected")).toMatchObject({ status: "True", reason: "LocalMode" });
    expect(outsider.status?.nodeCount).toBeUndefined();
    expect(outsider.status?.spotPercentage).toBeUndefined();
    expect(outsider.status?.monthlyCostUsd).toBeUndefined();
    expect(outsider.status?.efficiencyScore).toBeUndefined();
  }, 20_000);
});
