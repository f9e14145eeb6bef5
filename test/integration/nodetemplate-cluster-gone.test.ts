// A NodeTemplate made with kubectl (no ownerReference to its ManagedCluster, so garbage collection leaves it) whose
// cluster is deleted or being deleted has its NodePool and EC2NodeClass removed and says why; the template itself
// stays, and applies again when the cluster is back.
import { describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { useTemplateCluster } from "../support/template-cluster.js";
import { designateLocalCluster } from "../support/local-cluster.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";

const NS = "org-a";
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" } as const;
const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" } as const;
const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
const NC = { apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass" } as const;
const HOLD = "example.com/hold";
/** The installer's local-cluster designation (what the chart's localCluster values write). */
const designation = {
  apiVersion: "v1",
  kind: "ConfigMap",
  namespace: "spot-optimizer-system",
  name: "spot-optimizer-local-cluster",
} as const;

const env = useTemplateCluster({ namespace: NS });

async function applied(name: string): Promise<any> {
  const t = await env.client.getIfExists<any>({ ...NT, namespace: NS, name });
  const c = (t?.status?.conditions ?? []).find((x: any) => x.type === "Applied");
  return c?.observedGeneration === t?.metadata.generation ? c : undefined;
}

async function objectsOf(name: string): Promise<unknown[]> {
  const pool = await env.client.getIfExists({ ...NP, name: karpenterName(NS, name) });
  const nodeClass = await env.client.getIfExists({ ...NC, name: karpenterName(NS, name) });
  return [pool, nodeClass].filter((o) => o !== undefined);
}

async function appliedWithObjects(name: string): Promise<void> {
  await eventually(async () => (await applied(name))?.status === "True", 15_000, `${name} Applied=True`);
  expect(await objectsOf(name)).toHaveLength(2);
}

/** Waits until the template has not been written for half a second (its controller has nothing left to do). */
async function settled(name: string): Promise<void> {
  const version = async (): Promise<string | undefined> =>
    (await env.client.getIfExists<any>({ ...NT, namespace: NS, name }))?.metadata.resourceVersion;
  await eventually(
    async () => {
      const before = await version();
      await new Promise((resolve) => setTimeout(resolve, 500));
      return before === (await version());
    },
    15_000,
    `${name} settled`,
  );
}

describe("nodetemplate controller: the template's ManagedCluster goes", () => {
  it("removes a kubectl template's objects when its cluster is deleted, keeps the template, and applies it again when the cluster is back", async () => {
    await env.client.create({
      ...NT,
      metadata: { name: "web", namespace: NS },
      spec: { clusterRef: { name: "local" }, families: ["m5"] },
    });
    await appliedWithObjects("web");

    await env.client.delete({ ...MC, namespace: NS, name: "local" });
    const gone = await eventually(
      async () => {
        const c = await applied("web");
        return c?.status === "False" && (await objectsOf("web")).length === 0 ? c : undefined;
      },
      15_000,
      "web's objects removed and Applied=False",
    );
    expect(gone.reason).toBe("ClusterNotFound");
    expect(gone.message).toContain("ManagedCluster local does not exist");
    expect(await env.client.getIfExists({ ...NT, namespace: NS, name: "web" })).toBeDefined();

    await designateLocalCluster(env.client, { namespace: NS, name: "local", spec: { region: "us-east-1" } });
    await appliedWithObjects("web");
  });

  it("removes them already while the cluster is being deleted", async () => {
    await env.client.create({
      ...NT,
      metadata: { name: "api", namespace: NS },
      spec: { clusterRef: { name: "local" }, families: ["c5"] },
    });
    await appliedWithObjects("api");
    // Another component's finalizer holds the cluster in deletion.
    await env.client.patch(
      { ...MC, namespace: NS, name: "local" },
      { metadata: { finalizers: [HOLD] } },
      { type: "merge" },
    );
    await env.client.delete({ ...MC, namespace: NS, name: "local" });
    try {
      const deleting = await eventually(
        async () => {
          const c = await applied("api");
          return c?.status === "False" && (await objectsOf("api")).length === 0 ? c : undefined;
        },
        15_000,
        "api's objects removed and Applied=False",
      );
      expect(deleting).toMatchObject({ reason: "ClusterNotFound" });
      expect(deleting.message).toContain("ManagedCluster local is being deleted");
      expect(await env.client.getIfExists({ ...NT, namespace: NS, name: "api" })).toBeDefined();
    } finally {
      await env.client.patch(
        { ...MC, namespace: NS, name: "local" },
        { metadata: { finalizers: null } },
        { type: "merge" },
      );
    }
  });

  it("keeps what was applied when the cluster is there but not designated the local one (a configuration slip)", async () => {
    await designateLocalCluster(env.client, { namespace: NS, name: "local", spec: { region: "us-east-1" } });
    await env.client.create({
      ...NT,
      metadata: { name: "batch", namespace: NS },
      spec: { clusterRef: { name: "local" }, families: ["r5"] },
    });
    await appliedWithObjects("batch");
    await env.client.delete(designation);
    await eventually(async () => (await applied("batch"))?.status === "False", 15_000, "batch Applied=False");
    expect((await applied("batch")).message).toContain("the local cluster belongs to another organisation or to none");
    expect(await objectsOf("batch")).toHaveLength(2);
  });

  it("follows a designation Helm installed (which carries Helm's managed-by label, not ours)", async () => {
    await designateLocalCluster(env.client, { namespace: NS, name: "local", spec: { region: "us-east-1" } });
    await env.client.patch(
      designation,
      { metadata: { labels: { "app.kubernetes.io/managed-by": "Helm" } } },
      {
        type: "merge",
      },
    );
    await env.client.create({
      ...NT,
      metadata: { name: "helm-designated", namespace: NS },
      spec: { clusterRef: { name: "local" }, families: ["r5"] },
    });
    await appliedWithObjects("helm-designated");
    // quiet first, so that only a watch of the designation can bring the change below to the controller
    await settled("helm-designated");
    // `helm upgrade --set localCluster.name=...` moves the designation to another cluster
    await env.client.patch(designation, { data: { namespace: NS, name: "elsewhere" } }, { type: "merge" });
    await eventually(
      async () => (await applied("helm-designated"))?.status === "False",
      15_000,
      "helm-designated Applied=False",
    );
  });
});
