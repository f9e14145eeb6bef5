// NodeTemplate controller against the local API server with Karpenter's real CRDs: create → NodePool + EC2NodeClass,
// edit → updated, a second pass writes nothing, delete → gone, one default per cluster, policies reshape, 409s, sweep.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestCluster } from "../support/cluster.js";
import type { LocalApiServer, WriteNotice } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { registerNodeTemplateController } from "../../operator/controllers/nodetemplate/controller.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { NODETEMPLATE_FINALIZER } from "../../operator/controllers/nodetemplate/reconciler.js";
import { designateLocalCluster } from "../support/local-cluster.js";

const NS = "org-a";
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" } as const;
const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" } as const;
const OP = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "OptimizationPolicy" } as const;
const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
const NC = { apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass" } as const;

let server: LocalApiServer;
let client: KubeClient;
let manager: ControllerManager | undefined;

async function startOperator(): Promise<void> {
  manager = new ControllerManager({ client });
  await registerNodeTemplateController({ manager, client });
  manager.start();
  await manager.waitForCacheSync();
}

async function stopOperator(): Promise<void> {
  await manager?.stop();
  manager = undefined;
}

async function retry<T>(write: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await write();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 409) throw err;
    }
  }
}

function template(name: string, spec: Record<string, unknown>, namespace = NS): KubeObject {
  return { ...NT, metadata: { name, namespace }, spec: { clusterRef: { name: "local" }, families: ["m5"], ...spec } };
}

async function get(ref: { apiVersion: string; kind: string }, name: string, namespace?: string): Promise<any> {
  return client.getIfExists({ ...ref, name, ...(namespace ? { namespace } : {}) });
}

function condition(t: any, type: string): any {
  return (t?.status?.conditions ?? []).find((c: any) => c.type === type);
}

async function applied(name: string, namespace = NS): Promise<any> {
  return eventually(
    async () => {
      const t = await get(NT, name, namespace);
      const c = condition(t, "Applied");
      return c?.status === "True" && c.observedGeneration === t.metadata.generation ? t : undefined;
    },
    15_000,
    `${namespace}/${name} Applied=True`,
  );
}

function requirement(pool: any, key: string): any {
  return pool.spec.template.spec.requirements.find((r: any) => r.key === key);
}

beforeAll(async () => {
  server = await startTestCluster({ crds: "all" });
  client = new KubeClient(server.kubeConfig);
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "org-b" } });
  await designateLocalCluster(client, { namespace: NS, name: "local", spec: { region: "us-east-1" } });
  await client.create({
    ...MC,
    metadata: { name: "far", namespace: "org-b" },
    spec: { mode: "remote", region: "us-east-1" },
  });
  await startOperator();
}, 30_000);

afterAll(async () => {
  await stopOperator();
  client?.close();
  await server?.stop();
});

// Fault injection never outlives the test that set it, even when that test fails.
afterEach(() => server?.faults.reset());

describe("nodetemplate controller", () => {
  it("creates a valid NodePool and EC2NodeClass for a template and reports Applied with the resolved types", async () => {
    await client.create(template("general", { families: ["m5", "c5"], strategy: "SPOT", diskSize: 40 }));
    const t = await applied("general");
    const name = karpenterName(NS, "general");
    const pool = await get(NP, name);
    const nodeClass = await get(NC, name);
    expect(requirement(pool, "karpenter.k8s.aws/instance-family").values).toEqual(["c5", "m5"]);
    expect(requirement(pool, "karpenter.sh/capacity-type").values).toEqual(["spot"]);
    expect(pool.metadata.labels).toMatchObject({
      "spotoptimizer.io/template": "general",
      "spotoptimizer.io/template-namespace": NS,
    });
    expect(nodeClass.spec.blockDeviceMappings[0].ebs).toMatchObject({ volumeSize: "40Gi", volumeType: "gp3" });
    expect(t.metadata.finalizers).toContain(NODETEMPLATE_FINALIZER);
    expect(condition(t, "Valid")).toMatchObject({ status: "True" });
    expect(t.status.instanceTypes.source).toMatch(/^(derived|snapshot)(,(derived|snapshot))?$/);
    expect(t.status.instanceTypes.count).toBe(requirement(pool, "node.kubernetes.io/instance-type").values.length);
    expect(t.status.instanceTypes.cheapest.hourlyUsd).toBeLessThanOrEqual(t.status.instanceTypes.dearest.hourlyUsd);
    // One Applied Event, said once: the reconcile the NodePool's watch starts right after the status write must not
    // announce the same change again from an informer that has not seen that write yet.
    const appliedEvents = async (): Promise<KubeObject[]> =>
      (
        await client.list(
          { apiVersion: "v1", kind: "Event", namespace: NS },
          { fieldSelector: "involvedObject.name=general" },
        )
      ).items.filter((e: any) => e.reason === "Applied");
    await eventually(async () => (await appliedEvents()).length > 0, 5_000, "the Applied Event");
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await appliedEvents()).map((e: any) => e.count ?? 1)).toEqual([1]);
  });

  it("follows an edit, and a restarted operator's full pass writes nothing", async () => {
    await client.patch(
      { ...NT, namespace: NS, name: "general" },
      { spec: { families: ["m5", "r5"], diskSize: 60 } },
      { type: "merge" },
    );
    await applied("general");
    const name = karpenterName(NS, "general");
    await eventually(async () => (await get(NC, name)).spec.blockDeviceMappings[0].ebs.volumeSize === "60Gi");
    expect(requirement(await get(NP, name), "karpenter.k8s.aws/instance-family").values).toEqual(["m5", "r5"]);
    await manager!.idle();
    await stopOperator();
    const writes: WriteNotice[] = [];
    server.faults.onWrite((w) => writes.push(w));
    await startOperator();
    await manager!.idle();
    server.faults.onWrite(undefined);
    expect(writes).toEqual([]);
  });

  it("holds one default per cluster: of two isDefault templates the oldest wins and gets the higher weight", async () => {
    await client.create(template("second", { isDefault: true }));
    await client.create(template("third", { isDefault: true }));
    await eventually(
      async () => (await get(MC, "local", NS)).spec.defaultTemplate === "second",
      15_000,
      "default held",
    );
    await eventually(async () => (await get(NT, "third", NS)).spec.isDefault === false, 15_000, "loser cleared");
    await applied("third");
    expect((await get(NP, karpenterName(NS, "second"))).spec.weight).toBe(100);
    expect((await get(NP, karpenterName(NS, "third"))).spec.weight).toBe(10);
    // The ManagedCluster's spec.defaultTemplate decides between two isDefault templates (a facade moving the default).
    await client.patch(
      { ...MC, namespace: NS, name: "local" },
      { spec: { defaultTemplate: "third" } },
      { type: "merge" },
    );
    await client.patch({ ...NT, namespace: NS, name: "third" }, { spec: { isDefault: true } }, { type: "merge" });
    await eventually(async () => (await get(NT, "second", NS)).spec.isDefault === false, 15_000, "old default cleared");
    await eventually(
      async () => (await get(NP, karpenterName(NS, "third"))).spec.weight === 100,
      15_000,
      "weight moved",
    );
    await eventually(
      async () => (await get(NP, karpenterName(NS, "second"))).spec.weight === 10,
      15_000,
      "weight dropped",
    );
  });

  it("reshapes existing NodePools when the cluster's policy changes", async () => {
    const name = karpenterName(NS, "general");
    await client.create({
      ...OP,
      metadata: { name: "local", namespace: NS },
      spec: { clusterRef: { name: "local" }, karpenter: { enabled: false }, binpack: { aggressiveness: 0 } },
    });
    await eventually(async () => (await get(NP, name)).spec.limits?.cpu === "0", 15_000, "limits zero");
    expect((await get(NP, name)).spec.disruption).toMatchObject({
      consolidationPolicy: "WhenEmpty",
      consolidateAfter: "Never",
    });
    await client.patch(
      { ...OP, namespace: NS, name: "local" },
      { spec: { karpenter: { enabled: true }, binpack: { aggressiveness: 100 }, azSpread: { enabled: true } } },
      { type: "merge" },
    );
    await eventually(async () => (await get(NP, name)).spec.limits === undefined, 15_000, "limits removed");
    const pool = await get(NP, name);
    expect(pool.spec.disruption).toMatchObject({
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: "0s",
    });
    expect(requirement(pool, "topology.k8s.aws/zone-id").minValues).toBe(2);
    await client.delete({ ...OP, namespace: NS, name: "local" });
  });

  it("refuses an invalid template with Valid=False and applies nothing; a missing or remote cluster is a condition", async () => {
    await client.create(template("bad", { families: ["m99"] }));
    const bad = await eventually(
      async () => condition(await get(NT, "bad", NS), "Valid")?.status === "False" && get(NT, "bad", NS),
    );
    expect(condition(bad, "Valid").message).toMatch(/m99 is not in the instance catalog of us-east-1/);
    expect(bad.status.warnings.join()).toMatch(/m99/);
    expect(await get(NP, karpenterName(NS, "bad"))).toBeUndefined();
    await client.create(template("orphan", { clusterRef: { name: "nope" } }));
    await eventually(async () => condition(await get(NT, "orphan", NS), "Applied")?.reason === "ClusterNotFound");
    await client.create({ ...template("remote", { clusterRef: { name: "far" } }, "org-b") });
    // A remote cluster's objects are handed to its agent (which never reports here): nothing is written locally.
    const remote = await eventually(async () => {
      const t = await get(NT, "remote", "org-b");
      return condition(t, "Applied")?.reason === "AgentActionPending" && t;
    });
    expect(condition(remote, "Applied").status).toBe("False");
    expect(remote.status.instanceTypes.count).toBeGreaterThan(0);
    expect(await get(NP, karpenterName("org-b", "remote"))).toBeUndefined();
    expect(await get(NC, karpenterName("org-b", "remote"))).toBeUndefined();
    const actions = (
      await client.listAll({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "AgentAction", namespace: "org-b" })
    ).items as any[];
    expect(actions.map((a) => `${a.spec.clusterRef.name} ${a.spec.type} ${a.spec.target.kind}`).sort()).toEqual([
      "far apply EC2NodeClass",
      "far apply NodePool",
    ]);
  });

  it("writes no NodePool for a `mode: local` cluster that is not the designated local cluster", async () => {
    await client.create({ ...MC, metadata: { name: "claimed", namespace: "org-b" }, spec: { mode: "local" } });
    await client.create(template("grab", { clusterRef: { name: "claimed" } }, "org-b"));
    const grab = await eventually(async () => {
      const t = await get(NT, "grab", "org-b");
      return condition(t, "Applied")?.reason === "ClusterNotFound" && t;
    });
    expect(condition(grab, "Applied").message).toMatch(/belongs to another organisation or to none/);
    expect(await get(NP, karpenterName("org-b", "grab"))).toBeUndefined();
    expect(await get(NC, karpenterName("org-b", "grab"))).toBeUndefined();
  });

  it("deletes the objects with the template (finalizer), and sweeps those of a template deleted while it was down", async () => {
    const name = karpenterName(NS, "general");
    await client.delete({ ...NT, namespace: NS, name: "general" });
    await eventually(async () => (await get(NT, "general", NS)) === undefined, 15_000, "template gone");
    expect(await get(NP, name)).toBeUndefined();
    expect(await get(NC, name)).toBeUndefined();
    await stopOperator();
    await client.patch({ ...NT, namespace: NS, name: "second" }, { metadata: { finalizers: null } }, { type: "merge" });
    await client.delete({ ...NT, namespace: NS, name: "second" });
    expect(await get(NP, karpenterName(NS, "second"))).toBeDefined();
    await startOperator();
    // The sweep deletes the NodePool, then the EC2NodeClass: the second may still be there when the first is gone.
    await eventually(async () => (await get(NP, karpenterName(NS, "second"))) === undefined, 15_000, "orphan swept");
    await eventually(async () => (await get(NC, karpenterName(NS, "second"))) === undefined, 15_000, "class swept");
  });

  it("converges under 20 % injected 409s", async () => {
    server.faults.setConflictRate(0.2);
    const names = Array.from({ length: 12 }, (_, i) => `busy-${i}`);
    for (const n of names) await retry(() => client.create(template(n, { families: ["c5", "m5"] })));
    for (const n of names) await applied(n);
    server.faults.setConflictRate(0);
    for (const n of names) expect(await get(NP, karpenterName(NS, n))).toBeDefined();
  }, 60_000);
});
