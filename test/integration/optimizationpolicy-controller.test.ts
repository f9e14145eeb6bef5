// OptimizationPolicy controller against the local API server: exactly one policy per cluster is in force (the oldest);
// a second is Ready=False Duplicate naming it, with an Event; deleting the first puts the second in force; excluded
// namespaces the organisation may not act on are named in the status, not dropped silently.
import { describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { registerOptimizationPolicyController } from "../../operator/controllers/optimizationpolicy/controller.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { karpenterName, labelValue } from "../../src-shared/karpenter/labels.js";
import { POLICY_ACTION_LABEL } from "../../operator/controllers/optimizationpolicy/remote-exclusions.js";
import { SNAPSHOT_KEY, SNAPSHOT_LABEL, snapshotConfigMapName } from "../../src-shared/agent/snapshot.js";
import { agentObjectMarks } from "../../src-shared/agent/placement.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";
import { NODE_TEMPLATE as NT, OPTIMIZATION_POLICY as OP, useTemplateCluster } from "../support/template-cluster.js";

const NS = "org-p";

const env = useTemplateCluster({ namespace: NS, policies: true });

async function ready(name: string): Promise<any> {
  const p: any = await env.client.getIfExists({ ...OP, namespace: NS, name });
  return p?.status?.conditions?.find((c: any) => c.type === "Ready");
}

function pod(namespace: string, name: string, annotations?: Record<string, string>): any {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: "app", image: "nginx" }] },
  };
}

async function annotationsOf(namespace: string, name: string): Promise<Record<string, string>> {
  return ((await env.client.get<any>({ apiVersion: "v1", kind: "Pod", namespace, name })).metadata.annotations ??
    {}) as Record<string, string>;
}

/** A remote ManagedCluster whose agent reported one pod in `podNamespace` (its heartbeat snapshot, as the facade writes it). */
async function remoteClusterRunning(name: string, podNamespace: string): Promise<void> {
  await env.client.create({
    apiVersion: "spotoptimizer.io/v1alpha1",
    kind: "ManagedCluster",
    metadata: { name, namespace: NS },
    spec: { mode: "remote" },
  } as never);
  const report = {
    receivedAt: new Date().toISOString(),
    agentVersion: "0.1.0",
    k8sVersion: "v1.31.2",
    heartbeatIntervalSeconds: 15,
    nodes: [],
    pods: [{ namespace: podNamespace, cpu_millicores: 100, memory_mib: 128, count: 1 }],
    objects: [],
  };
  const marks = agentObjectMarks({ namespace: NS, cluster: name });
  await env.client.create({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: snapshotConfigMapName(NS, name),
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      labels: { [SNAPSHOT_LABEL]: "true", ...marks.labels },
      annotations: marks.annotations,
    },
    data: { [SNAPSHOT_KEY]: JSON.stringify(report) },
  } as never);
}

/** The AgentAction the named policy hands its remote cluster's agent, once the controller has made it. */
async function policyAction(policy: string): Promise<any> {
  return eventually(
    async () => {
      const items = (
        await env.client.listAll({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "AgentAction", namespace: NS })
      ).items as any[];
      return items.find((a) => a.metadata.annotations?.[POLICY_ACTION_LABEL] === policy);
    },
    15_000,
    "the policy's annotate action",
  );
}

describe("optimizationpolicy controller", () => {
  it("keeps the oldest policy in force and marks a second Duplicate naming it, with an Event", async () => {
    await env.client.create({
      ...NT,
      metadata: { name: "web", namespace: NS },
      spec: { clusterRef: { name: "local" }, families: ["m5"] },
    });
    await env.client.create({
      ...OP,
      metadata: { name: "first", namespace: NS },
      spec: { clusterRef: { name: "local" }, binpack: { aggressiveness: 0 } },
    });
    await eventually(async () => (await ready("first"))?.reason === "InForce", 15_000, "first in force");
    // Created a second later, so it is younger whatever the names.
    await new Promise((r) => setTimeout(r, 1100));
    await env.client.create({
      ...OP,
      metadata: { name: "another", namespace: NS },
      spec: { clusterRef: { name: "local" }, binpack: { aggressiveness: 100 } },
    });
    const dup = await eventually(
      async () => {
        const c = await ready("another");
        return c?.reason === "Duplicate" ? c : undefined;
      },
      15_000,
      "duplicate marked",
    );
    expect(dup).toMatchObject({ status: "False" });
    expect(dup.message).toContain("OptimizationPolicy first is in force");
    const pool = karpenterName(NS, "web");
    await eventually(
      async () => {
        const first: any = await env.client.get({ ...OP, namespace: NS, name: "first" });
        return first.status?.applied?.nodePools?.includes(pool);
      },
      15_000,
      "first reports the NodePool it shapes",
    );
    expect(
      ((await env.client.get({ apiVersion: "karpenter.sh/v1", kind: "NodePool", name: pool })).spec as any).disruption
        .consolidateAfter,
    ).toBe("Never");
    const events = await env.client.list<any>({ apiVersion: "v1", kind: "Event", namespace: NS });
    expect(
      events.items.some((e) => e.involvedObject.name === "another" && e.reason === "Duplicate" && e.type === "Warning"),
    ).toBe(true);
    // in force once, said once: not again as the count of the pools it shapes moves
    const inForce = events.items.filter((e) => e.involvedObject.name === "first" && e.reason === "InForce");
    expect(inForce.map((e) => e.count ?? 1)).toEqual([1]);
  });

  it("puts the next oldest in force when the first is deleted, and the NodePools follow it", async () => {
    await env.client.delete({ ...OP, namespace: NS, name: "first" });
    await eventually(async () => (await ready("another"))?.reason === "InForce", 15_000, "second in force");
    const pool = karpenterName(NS, "web");
    await eventually(
      async () =>
        ((await env.client.get({ apiVersion: "karpenter.sh/v1", kind: "NodePool", name: pool })).spec as any).disruption
          .consolidateAfter === "0s",
      15_000,
      "pool reshaped",
    );
  });

  it("protects the pods of excluded namespaces with karpenter.sh/do-not-disrupt and releases only its own", async () => {
    await env.client.create(pod(NS, "db-0"));
    await env.client.create(pod(NS, "pinned", { "karpenter.sh/do-not-disrupt": "true" }));
    await env.client.create({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "org-other", labels: { "spotoptimizer.io/organisation": "x" } },
    });
    await env.client.create(pod("org-other", "theirs"));
    const inForce = (await env.client.list<any>({ ...OP, namespace: NS })).items.find(
      (p: any) => p.status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True",
    );
    await env.client.patch(
      { ...OP, namespace: NS, name: inForce.metadata.name },
      { spec: { exclusions: { namespaces: [NS, "org-other"] } } },
      { type: "merge" },
    );
    await eventually(async () => (await annotationsOf(NS, "db-0"))["karpenter.sh/do-not-disrupt"] === "true");
    // A pod created later in the namespace is protected too.
    await env.client.create(pod(NS, "db-1"));
    await eventually(async () => (await annotationsOf(NS, "db-1"))["karpenter.sh/do-not-disrupt"] === "true");
    // Another organisation's namespace is never touched, even when a policy names it, and the status says so.
    expect(await annotationsOf("org-other", "theirs")).toEqual({});
    const refused = await eventually(async () => {
      const p: any = await env.client.get({ ...OP, namespace: NS, name: inForce.metadata.name });
      return p.status?.conditions?.find((c: any) => c.type === "ExclusionsApplied" && c.status === "False");
    });
    expect(refused).toMatchObject({
      reason: "NamespacesNotAllowed",
      message:
        "exclusions.namespaces not protected: org-other (not a namespace this organisation may act on: its own, or " +
        "one of its cluster's workloadNamespaces)",
    });
    const readyNow = await ready(inForce.metadata.name);
    expect(readyNow).toMatchObject({ status: "True", reason: "InForce" });
    expect(readyNow.message).toContain("not protected: org-other");
    await env.client.patch(
      { ...OP, namespace: NS, name: inForce.metadata.name },
      { spec: { exclusions: { namespaces: [] } } },
      { type: "merge" },
    );
    await eventually(async () => (await annotationsOf(NS, "db-0"))["karpenter.sh/do-not-disrupt"] === undefined);
    await eventually(async () => (await annotationsOf(NS, "db-1"))["karpenter.sh/do-not-disrupt"] === undefined);
    expect(await ready(inForce.metadata.name)).toMatchObject({ message: expect.not.stringContaining("not protected") });
    const applied = (await env.client.get<any>({ ...OP, namespace: NS, name: inForce.metadata.name })).status
      .conditions;
    expect(applied.find((c: any) => c.type === "ExclusionsApplied")).toMatchObject({ status: "True" });
    // The annotation someone else set stays.
    expect((await annotationsOf(NS, "pinned"))["karpenter.sh/do-not-disrupt"]).toBe("true");
  });

  it("leaves this cluster's pods alone for a policy of a remote cluster, whatever namespaces it excludes", async () => {
    await env.client.create({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "ManagedCluster",
      metadata: { name: "edge", namespace: NS },
      spec: { mode: "remote" },
    } as never);
    await env.client.create(pod(NS, "api-0"));
    await env.client.create({
      ...OP,
      metadata: { name: "edge-policy", namespace: NS },
      spec: { clusterRef: { name: "edge" }, exclusions: { namespaces: [NS, "kube-system", "default"] } },
    } as never);
    // the reconciler annotates pods before it writes the status, so by Ready=True it would have
    await eventually(async () => (await ready("edge-policy"))?.status === "True");
    expect((await annotationsOf(NS, "api-0"))["karpenter.sh/do-not-disrupt"]).toBeUndefined();
  });

  it("hands a remote cluster's exclusions to its agent for a policy whose name outgrows a label value", async () => {
    // Object names reach 253 characters, label values 63: the action names the policy in full beside its label.
    const LONG = `p${"o".repeat(251)}l`;
    await remoteClusterRunning("yonder", "shop");
    await env.client.create({
      ...OP,
      metadata: { name: LONG, namespace: NS },
      spec: { clusterRef: { name: "yonder" }, exclusions: { namespaces: ["shop"] } },
    } as never);
    const action = await policyAction(LONG);
    expect(action.metadata.labels[POLICY_ACTION_LABEL]).toBe(labelValue(LONG));
    expect(action.spec).toMatchObject({ type: "annotate", target: { kind: "Namespace", name: "shop" } });
  });

  it("hands the exclusions to the agent of a remote cluster whose name outgrows a label value, by its full name", async () => {
    // The snapshot's label holds a value standing for the name; the action must name the cluster itself.
    const FAR = `far-${"r".repeat(92)}-end`;
    await remoteClusterRunning(FAR, "depot");
    await env.client.create({
      ...OP,
      metadata: { name: "far-policy", namespace: NS },
      spec: { clusterRef: { name: FAR }, exclusions: { namespaces: ["depot"] } },
    } as never);
    const action = await policyAction("far-policy");
    expect(action.spec).toMatchObject({
      clusterRef: { name: FAR },
      type: "annotate",
      target: { kind: "Namespace", name: "depot" },
    });
  });

  it("releases the pods of a policy deleted while no operator ran, once one starts", async () => {
    await env.client.create(pod(NS, "cache-0"));
    const protectedBy = async (): Promise<string | undefined> =>
      (await annotationsOf(NS, "cache-0"))["karpenter.sh/do-not-disrupt"];
    const inForce = (await env.client.list<any>({ ...OP, namespace: NS })).items.find(
      (p: any) =>
        p.spec.clusterRef.name === "local" &&
        p.status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True",
    );
    await env.client.patch(
      { ...OP, namespace: NS, name: inForce.metadata.name },
      { spec: { exclusions: { namespaces: [NS] } } },
      { type: "merge" },
    );
    await eventually(async () => (await protectedBy()) === "true");
    await env.manager.stop();
    await env.client.delete({ ...OP, namespace: NS, name: inForce.metadata.name });
    const manager = new ControllerManager({ client: env.client });
    await registerOptimizationPolicyController({ manager, client: env.client });
    manager.start();
    try {
      await eventually(async () => (await protectedBy()) === undefined, 10_000, "released");
    } finally {
      await manager.stop();
    }
  });
});
