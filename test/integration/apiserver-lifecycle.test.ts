// Object lifecycle on the local API server: finalizers, ownerReference GC, namespace deletion, eviction with PDBs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppsV1Api, CoreV1Api, PolicyV1Api, type V1Pod } from "@kubernetes/client-node";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { eventually, startTestCluster } from "../support/cluster.js";

let server: LocalApiServer;
let core: CoreV1Api;
let apps: AppsV1Api;
let policy: PolicyV1Api;

async function failure(p: Promise<unknown>): Promise<{ code: number; reason: string; details?: any; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: number; body?: string };
    return { ...(JSON.parse(e.body ?? "{}") as { reason: string; message: string }), code: e.code ?? 0 };
  }
  throw new Error("expected the call to fail");
}

async function exists(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
}

function pod(name: string, labels: Record<string, string>): V1Pod {
  return { metadata: { name, labels }, spec: { containers: [{ name: "c", image: "nginx" }] } };
}

/** Marks a pod Running and Ready through the status subresource (what a kubelet would do). */
async function markReady(namespace: string, name: string): Promise<void> {
  const cur = await core.readNamespacedPod({ name, namespace });
  await core.replaceNamespacedPodStatus({
    name,
    namespace,
    body: { ...cur, status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } },
  });
}

beforeAll(async () => {
  // The simulated kubelet's stop takes 2 s here, not 100 ms, so "Terminating first" is read before the pod goes
  // even when the machine is slow between the delete and the read.
  server = await startTestCluster({ podTerminationMs: 2000 });
  core = server.kubeConfig.makeApiClient(CoreV1Api);
  apps = server.kubeConfig.makeApiClient(AppsV1Api);
  policy = server.kubeConfig.makeApiClient(PolicyV1Api);
  await core.createNamespace({ body: { metadata: { name: "life" } } });
});

afterAll(async () => {
  await server.stop();
});

describe("finalizers", () => {
  it("keep a deleted object (with deletionTimestamp) until the last finalizer is removed", async () => {
    await core.createNamespacedConfigMap({
      namespace: "life",
      body: { metadata: { name: "held", finalizers: ["example.com/cleanup"] } },
    });
    await core.deleteNamespacedConfigMap({ name: "held", namespace: "life" });
    const deleting = await core.readNamespacedConfigMap({ name: "held", namespace: "life" });
    expect(deleting.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    expect(deleting.metadata?.finalizers).toEqual(["example.com/cleanup"]);

    const added = await failure(
      core.replaceNamespacedConfigMap({
        name: "held",
        namespace: "life",
        body: {
          ...deleting,
          metadata: { ...deleting.metadata, finalizers: ["example.com/cleanup", "example.com/other"] },
        },
      }),
    );
    expect(added).toMatchObject({ code: 422, reason: "Invalid" });

    await core.replaceNamespacedConfigMap({
      name: "held",
      namespace: "life",
      body: { ...deleting, metadata: { ...deleting.metadata, finalizers: [] } },
    });
    expect(await exists(core.readNamespacedConfigMap({ name: "held", namespace: "life" }))).toBe(false);
  });
});

describe("garbage collection", () => {
  it("deletes dependents in the background once their owner is gone", async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: "life", body: { metadata: { name: "owner" } } });
    const ref = {
      apiVersion: "v1",
      kind: "ConfigMap",
      name: "owner",
      uid: owner.metadata!.uid!,
      controller: true,
      blockOwnerDeletion: true,
    };
    await core.createNamespacedSecret({
      namespace: "life",
      body: { metadata: { name: "dep-1", ownerReferences: [ref] } },
    });
    await core.createNamespacedSecret({
      namespace: "life",
      body: { metadata: { name: "dep-2", ownerReferences: [ref] } },
    });
    const other = await core.createNamespacedConfigMap({
      namespace: "life",
      body: { metadata: { name: "other-owner" } },
    });
    await core.createNamespacedSecret({
      namespace: "life",
      body: {
        metadata: {
          name: "shared",
          ownerReferences: [
            ref,
            { apiVersion: "v1", kind: "ConfigMap", name: "other-owner", uid: other.metadata!.uid! },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ name: "owner", namespace: "life" });
    await eventually(
      async () =>
        !(await exists(core.readNamespacedSecret({ name: "dep-1", namespace: "life" }))) &&
        !(await exists(core.readNamespacedSecret({ name: "dep-2", namespace: "life" }))),
    );
    const shared = await eventually(async () => {
      const s = await core.readNamespacedSecret({ name: "shared", namespace: "life" });
      return s.metadata?.ownerReferences?.length === 1 ? s : undefined;
    });
    expect(shared.metadata?.ownerReferences?.[0]?.name).toBe("other-owner");
  });

  it("orphans dependents with propagationPolicy=Orphan", async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: "life", body: { metadata: { name: "orphaner" } } });
    await core.createNamespacedSecret({
      namespace: "life",
      body: {
        metadata: {
          name: "orphan",
          ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "orphaner", uid: owner.metadata!.uid! }],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ name: "orphaner", namespace: "life", propagationPolicy: "Orphan" });
    await eventually(
      async () => !(await exists(core.readNamespacedConfigMap({ name: "orphaner", namespace: "life" }))),
    );
    const orphan = await core.readNamespacedSecret({ name: "orphan", namespace: "life" });
    expect(orphan.metadata?.ownerReferences ?? []).toEqual([]);
  });

  it("with propagationPolicy=Foreground keeps the owner until blocking dependents are gone", async () => {
    const owner = await apps.createNamespacedDeployment({
      namespace: "life",
      body: {
        metadata: { name: "fg" },
        spec: {
          selector: { matchLabels: { a: "fg" } },
          template: { metadata: { labels: { a: "fg" } }, spec: { containers: [{ name: "c", image: "x" }] } },
        },
      },
    });
    const ref = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "fg",
      uid: owner.metadata!.uid!,
      controller: true,
      blockOwnerDeletion: true,
    };
    await core.createNamespacedPod({
      namespace: "life",
      body: {
        ...pod("fg-pod", { a: "fg" }),
        metadata: { name: "fg-pod", finalizers: ["example.com/slow"], ownerReferences: [ref] },
      },
    });
    await apps.deleteNamespacedDeployment({ name: "fg", namespace: "life", propagationPolicy: "Foreground" });
    const dependent = await eventually(async () => {
      const p = await core.readNamespacedPod({ name: "fg-pod", namespace: "life" });
      return p.metadata?.deletionTimestamp ? p : undefined;
    });
    const held = await apps.readNamespacedDeployment({ name: "fg", namespace: "life" });
    expect(held.metadata?.finalizers).toContain("foregroundDeletion");
    await core.replaceNamespacedPod({
      name: "fg-pod",
      namespace: "life",
      body: { ...dependent, metadata: { ...dependent.metadata, finalizers: [] } },
    });
    await eventually(async () => !(await exists(apps.readNamespacedDeployment({ name: "fg", namespace: "life" }))));
  });

  it("deletes an object whose owner never existed", async () => {
    await core.createNamespacedSecret({
      namespace: "life",
      body: {
        metadata: {
          name: "dangling",
          ownerReferences: [
            { apiVersion: "v1", kind: "ConfigMap", name: "ghost", uid: "00000000-0000-0000-0000-000000000000" },
          ],
        },
      },
    });
    await eventually(async () => !(await exists(core.readNamespacedSecret({ name: "dangling", namespace: "life" }))));
  });
});

describe("namespace deletion", () => {
  it("refuses to delete default, kube-system and kube-public (403)", async () => {
    for (const name of ["default", "kube-system", "kube-public"]) {
      const refused = await failure(core.deleteNamespace({ name }));
      expect(refused).toMatchObject({ code: 403, reason: "Forbidden" });
    }
    expect((await core.readNamespace({ name: "default" })).status?.phase).toBe("Active");
  });

  it("goes Terminating, refuses new content, deletes the contents, then disappears", async () => {
    await core.createNamespace({ body: { metadata: { name: "doomed" } } });
    await core.createNamespacedConfigMap({ namespace: "doomed", body: { metadata: { name: "a" } } });
    await core.createNamespacedConfigMap({
      namespace: "doomed",
      body: { metadata: { name: "slow", finalizers: ["example.com/x"] } },
    });
    await core.deleteNamespace({ name: "doomed" });
    const terminating = await core.readNamespace({ name: "doomed" });
    expect(terminating.status?.phase).toBe("Terminating");
    const refused = await failure(
      core.createNamespacedConfigMap({ namespace: "doomed", body: { metadata: { name: "late" } } }),
    );
    expect(refused.code).toBe(403);
    expect(refused.message).toContain("because it is being terminated");
    await eventually(async () => !(await exists(core.readNamespacedConfigMap({ name: "a", namespace: "doomed" }))));
    expect(await exists(core.readNamespace({ name: "doomed" }))).toBe(true);
    // what blocks the deletion, in kube-controller-manager's words (kubectl describe ns shows these)
    const condition = async (type: string): Promise<Record<string, unknown> | undefined> =>
      (await core.readNamespace({ name: "doomed" })).status?.conditions?.find((c) => c.type === type) as never;
    await eventually(async () => (await condition("NamespaceFinalizersRemaining"))?.status === "True");
    expect(await condition("NamespaceFinalizersRemaining")).toMatchObject({
      reason: "SomeFinalizersRemain",
      message: "Some content in the namespace has finalizers remaining: example.com/x in 1 resource instances",
    });
    expect(await condition("NamespaceContentRemaining")).toMatchObject({
      status: "True",
      reason: "SomeResourcesRemain",
      message: "Some resources are remaining: configmaps. has 1 resource instances",
    });
    expect(await condition("NamespaceDeletionContentFailure")).toMatchObject({
      status: "False",
      reason: "ContentDeleted",
    });
    const slow = await core.readNamespacedConfigMap({ name: "slow", namespace: "doomed" });
    await core.replaceNamespacedConfigMap({
      name: "slow",
      namespace: "doomed",
      body: { ...slow, metadata: { ...slow.metadata, finalizers: [] } },
    });
    await eventually(async () => !(await exists(core.readNamespace({ name: "doomed" }))));
  });
});

describe("eviction", () => {
  it("is refused with 429 when a PodDisruptionBudget allows no disruption, and allowed otherwise", async () => {
    await core.createNamespace({ body: { metadata: { name: "evict" } } });
    for (const name of ["web-1", "web-2"]) {
      await core.createNamespacedPod({ namespace: "evict", body: pod(name, { app: "web" }) });
      await markReady("evict", name);
    }
    await policy.createNamespacedPodDisruptionBudget({
      namespace: "evict",
      body: { metadata: { name: "web-pdb" }, spec: { minAvailable: 2, selector: { matchLabels: { app: "web" } } } },
    });
    const pdb = await eventually(async () => {
      const p = await policy.readNamespacedPodDisruptionBudget({ name: "web-pdb", namespace: "evict" });
      return p.status?.expectedPods === 2 ? p : undefined;
    });
    expect(pdb.status).toMatchObject({ currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0 });

    const refused = await failure(
      core.createNamespacedPodEviction({
        name: "web-1",
        namespace: "evict",
        body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "web-1", namespace: "evict" } },
      }),
    );
    expect(refused.code).toBe(429);
    expect(refused.reason).toBe("TooManyRequests");
    expect(refused.message).toContain("disruption budget");
    expect(await exists(core.readNamespacedPod({ name: "web-1", namespace: "evict" }))).toBe(true);

    await policy.patchNamespacedPodDisruptionBudget({
      name: "web-pdb",
      namespace: "evict",
      body: [{ op: "replace", path: "/spec/minAvailable", value: "50%" }],
    });
    await eventually(
      async () =>
        (await policy.readNamespacedPodDisruptionBudget({ name: "web-pdb", namespace: "evict" })).status
          ?.disruptionsAllowed === 1,
    );
    await core.createNamespacedPodEviction({
      name: "web-1",
      namespace: "evict",
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "web-1", namespace: "evict" } },
    });
    await eventually(async () => !(await exists(core.readNamespacedPod({ name: "web-1", namespace: "evict" }))));
    const second = await failure(
      core.createNamespacedPodEviction({
        name: "web-2",
        namespace: "evict",
        body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "web-2", namespace: "evict" } },
      }),
    );
    expect(second.code).toBe(429);
  });

  it("evicts a pod no PDB covers", async () => {
    await core.createNamespacedPod({ namespace: "evict", body: pod("loner", { app: "solo" }) });
    await markReady("evict", "loner");
    await core.createNamespacedPodEviction({
      name: "loner",
      namespace: "evict",
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "loner", namespace: "evict" } },
    });
    await eventually(async () => !(await exists(core.readNamespacedPod({ name: "loner", namespace: "evict" }))));
  });
});

describe("pod deletion", () => {
  it("is graceful for a scheduled pod (Terminating first, then gone) and immediate with gracePeriodSeconds=0", async () => {
    await core.createNamespacedPod({
      namespace: "life",
      body: { ...pod("bound", {}), spec: { nodeName: "n1", containers: [{ name: "c", image: "x" }] } },
    });
    const deleted = await core.deleteNamespacedPod({ name: "bound", namespace: "life" });
    expect(deleted.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    expect(deleted.metadata?.deletionGracePeriodSeconds).toBe(30);
    const terminating = await core.readNamespacedPod({ name: "bound", namespace: "life" });
    expect(terminating.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    await eventually(async () => !(await exists(core.readNamespacedPod({ name: "bound", namespace: "life" }))));

    await core.createNamespacedPod({
      namespace: "life",
      body: { ...pod("forced", {}), spec: { nodeName: "n1", containers: [{ name: "c", image: "x" }] } },
    });
    await core.deleteNamespacedPod({ name: "forced", namespace: "life", gracePeriodSeconds: 0 });
    expect(await exists(core.readNamespacedPod({ name: "forced", namespace: "life" }))).toBe(false);

    await core.createNamespacedPod({ namespace: "life", body: pod("unscheduled", {}) });
    await core.deleteNamespacedPod({ name: "unscheduled", namespace: "life" });
    expect(await exists(core.readNamespacedPod({ name: "unscheduled", namespace: "life" }))).toBe(false);
  });
});
