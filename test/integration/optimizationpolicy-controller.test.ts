// OptimizationPolicy controller against the local API server: exactly one policy per cluster is in force (the oldest);
// a second is Ready=False Duplicate naming it, with an Event; deleting the first puts the second in force.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestCluster } from "../support/cluster.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient } from "../../src-shared/kube/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { registerNodeTemplateController } from "../../operator/controllers/nodetemplate/controller.js";
import { registerOptimizationPolicyController } from "../../operator/controllers/optimizationpolicy/controller.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { designateLocalCluster } from "../support/local-cluster.js";

const NS = "org-p";
const OP = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "OptimizationPolicy" } as const;
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" } as const;

let server: LocalApiServer;
let client: KubeClient;
let manager: ControllerManager;

beforeAll(async () => {
  server = await startTestCluster({ crds: "all" });
  client = new KubeClient(server.kubeConfig);
  await designateLocalCluster(client, { namespace: NS, name: "local", spec: { region: "us-east-1" } });
  manager = new ControllerManager({ client });
  await registerNodeTemplateController({ manager, client });
  registerOptimizationPolicyController({ manager, client });
  manager.start();
  await manager.waitForCacheSync();
}, 30_000);

afterAll(async () => {
  await manager?.stop();
  client?.close();
  await server?.stop();
});

async function ready(name: string): Promise<any> {
  const p: any = await client.getIfExists({ ...OP, namespace: NS, name });
  return p?.status?.conditions?.find((c: any) => c.type === "Ready");
}

describe("optimizationpolicy controller", () => {
  it("keeps the oldest policy in force and marks a second Duplicate naming it, with an Event", async () => {
    await client.create({
      ...NT,
      metadata: { name: "web", namespace: NS },
      spec: { clusterRef: { name: "local" }, families: ["m5"] },
    });
    await client.create({
      ...OP,
      metadata: { name: "first", namespace: NS },
      spec: { clusterRef: { name: "local" }, binpack: { aggressiveness: 0 } },
    });
    await eventually(async () => (await ready("first"))?.reason === "InForce", 15_000, "first in force");
    // Created a second later, so it is younger whatever the names.
    await new Promise((r) => setTimeout(r, 1100));
    await client.create({
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
        const first: any = await client.get({ ...OP, namespace: NS, name: "first" });
        return first.status?.applied?.nodePools?.includes(pool);
      },
      15_000,
      "first reports the NodePool it shapes",
    );
    expect(
      ((await client.get({ apiVersion: "karpenter.sh/v1", kind: "NodePool", name: pool })).spec as any).disruption
        .consolidateAfter,
    ).toBe("Never");
    const events = await client.list<any>({ apiVersion: "v1", kind: "Event", namespace: NS });
    expect(
      events.items.some((e) => e.involvedObject.name === "another" && e.reason === "Duplicate" && e.type === "Warning"),
    ).toBe(true);
  });

  it("puts the next oldest in force when the first is deleted, and the NodePools follow it", async () => {
    await client.delete({ ...OP, namespace: NS, name: "first" });
    await eventually(async () => (await ready("another"))?.reason === "InForce", 15_000, "second in force");
    const pool = karpenterName(NS, "web");
    await eventually(
      async () =>
        ((await client.get({ apiVersion: "karpenter.sh/v1", kind: "NodePool", name: pool })).spec as any).disruption
          .consolidateAfter === "0s",
      15_000,
      "pool reshaped",
    );
  });

  it("protects the pods of excluded namespaces with karpenter.sh/do-not-disrupt and releases only its own", async () => {
    const pod = (namespace: string, name: string, annotations?: Record<string, string>): any => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
      spec: { containers: [{ name: "app", image: "nginx" }] },
    });
    const annotationsOf = async (namespace: string, name: string): Promise<Record<string, string>> =>
      ((await client.get<any>({ apiVersion: "v1", kind: "Pod", namespace, name })).metadata.annotations ?? {}) as any;
    await client.create(pod(NS, "db-0"));
    await client.create(pod(NS, "pinned", { "karpenter.sh/do-not-disrupt": "true" }));
    await client.create({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "org-other", labels: { "spotoptimizer.io/organisation": "x" } },
    });
    await client.create(pod("org-other", "theirs"));
    const inForce = (await client.list<any>({ ...OP, namespace: NS })).items.find(
      (p: any) => p.status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True",
    );
    await client.patch(
      { ...OP, namespace: NS, name: inForce.metadata.name },
      { spec: { exclusions: { namespaces: [NS, "org-other"] } } },
      { type: "merge" },
    );
    await eventually(async () => (await annotationsOf(NS, "db-0"))["karpenter.sh/do-not-disrupt"] === "true");
    // A pod created later in the namespace is protected too.
    await client.create(pod(NS, "db-1"));
    await eventually(async () => (await annotationsOf(NS, "db-1"))["karpenter.sh/do-not-disrupt"] === "true");
    // Another organisation's namespace is never touched, even when a policy names it.
    expect(await annotationsOf("org-other", "theirs")).toEqual({});
    await client.patch(
      { ...OP, namespace: NS, name: inForce.metadata.name },
      { spec: { exclusions: { namespaces: [] } } },
      { type: "merge" },
    );
    await eventually(async () => (await annotationsOf(NS, "db-0"))["karpenter.sh/do-not-disrupt"] === undefined);
    await eventually(async () => (await annotationsOf(NS, "db-1"))["karpenter.sh/do-not-disrupt"] === undefined);
    // The annotation someone else set stays.
    expect((await annotationsOf(NS, "pinned"))["karpenter.sh/do-not-disrupt"]).toBe("true");
  });
});
