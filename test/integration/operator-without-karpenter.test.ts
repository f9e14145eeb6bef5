// The operator in a cluster that serves no Karpenter kinds (Cluster Autoscaler, managed node groups, EKS Auto Mode):
// it starts and reconciles what needs no Karpenter, and a NodeTemplate of that cluster says why it has no NodePool.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOperator, type RunningOperator } from "../../operator/main.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";
import { eventually, startTestCluster } from "../support/cluster.js";
import { designateLocalCluster } from "../support/local-cluster.js";

const NS = "org-a";
type WithConditions = KubeObject & {
  status?: {
    nodeCount?: number;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
};

let server: LocalApiServer;
let client: KubeClient;
let operator: RunningOperator | undefined;

beforeAll(async () => {
  // Our CRDs only: karpenter.sh and karpenter.k8s.aws are not served.
  server = await startTestCluster({ crds: "project" });
  client = new KubeClient(server.kubeConfig);
  await designateLocalCluster(client, { namespace: NS, spec: { region: "us-east-1" } });
  await client.create({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "node-1", labels: { "node.kubernetes.io/instance-type": "m5.large" } },
    status: {
      capacity: { cpu: "2", memory: "8Gi", pods: "29" },
      allocatable: { cpu: "2", memory: "8Gi", pods: "29" },
      conditions: [{ type: "Ready", status: "True" }],
    },
  });
  await client.create({
    apiVersion: "spotoptimizer.io/v1alpha1",
    kind: "NodeTemplate",
    metadata: { name: "general", namespace: NS },
    spec: { clusterRef: { name: "local" }, families: ["m5"] },
  });
}, 60_000);

afterAll(async () => {
  await operator?.stop();
  client?.close();
  await server?.stop();
});

describe("an operator in a cluster without Karpenter", () => {
  it("starts (its caches sync) and writes the cluster's status", async () => {
    const started = startOperator({ kubeConfig: server.kubeConfig, systemNamespace: DEFAULT_SYSTEM_NAMESPACE });
    // an operator that starts after the wait is stopped all the same (afterAll)
    void started.then((o) => (operator = o));
    const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 20_000).unref());
    expect(await Promise.race([started, timeout])).not.toBe("timeout");
    const cluster = await eventually(
      async () => {
        const mc = await client.get<WithConditions>({
          apiVersion: "spotoptimizer.io/v1alpha1",
          kind: "ManagedCluster",
          namespace: NS,
          name: "local",
        });
        return mc.status?.nodeCount === 1 ? mc : undefined;
      },
      20_000,
      "the ManagedCluster's status",
    );
    expect(cluster.status?.nodeCount).toBe(1);
  }, 60_000);

  it("says on the NodeTemplate that this cluster serves no Karpenter NodePool", async () => {
    const template = await eventually(
      async () => {
        const nt = await client.get<WithConditions>({
          apiVersion: "spotoptimizer.io/v1alpha1",
          kind: "NodeTemplate",
          namespace: NS,
          name: "general",
        });
        const c = nt.status?.conditions?.find((x) => x.type === "Applied");
        return c?.status === "False" ? c : undefined;
      },
      20_000,
      "Applied=False on the NodeTemplate",
    );
    expect(template.reason).toBe("KarpenterNotServed");
    expect(template.message).toMatch(/Karpenter v1 NodePool/);
  });

  it("lets the NodeTemplate be deleted (its finalizer has nothing to remove)", async () => {
    const ref = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate", namespace: NS, name: "general" };
    expect((await client.get(ref)).metadata?.finalizers?.length).toBeGreaterThan(0);
    await client.delete(ref);
    await eventually(async () => (await client.getIfExists(ref)) === undefined, 20_000, "the NodeTemplate gone");
  });
});
