// A deleted NodeTemplate removes only the NodePool / EC2NodeClass still marked as its own: one that took over the name
// while the operator was down (a NodePool someone else created after ours was deleted) is left where it is, and the
// template still goes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestCluster } from "../support/cluster.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { registerNodeTemplateController } from "../../operator/controllers/nodetemplate/controller.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { designateLocalCluster } from "../support/local-cluster.js";

const NS = "org-a";
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" } as const;
const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
const NC = { apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass" } as const;

let server: LocalApiServer;
let client: KubeClient;

async function startOperator(): Promise<ControllerManager> {
  const manager = new ControllerManager({ client });
  await registerNodeTemplateController({ manager, client });
  manager.start();
  await manager.waitForCacheSync();
  return manager;
}

/** The same object under the same name, without anything that marks it as ours. */
function stranger(ours: any): KubeObject {
  return { apiVersion: ours.apiVersion, kind: ours.kind, metadata: { name: ours.metadata.name }, spec: ours.spec };
}

beforeAll(async () => {
  server = await startTestCluster({ crds: "all" });
  client = new KubeClient(server.kubeConfig);
  await designateLocalCluster(client, { namespace: NS, name: "local", spec: { region: "us-east-1" } });
}, 30_000);

afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("nodetemplate controller: removing a deleted template's objects", () => {
  it("leaves a NodePool and an EC2NodeClass that took over the names, and lets the template go", async () => {
    let manager = await startOperator();
    const name = karpenterName(NS, "web");
    await client.create({
      ...NT,
      metadata: { name: "web", namespace: NS },
      spec: { clusterRef: { name: "local" }, families: ["m5"] },
    });
    const pool = await eventually(() => client.getIfExists({ ...NP, name }), 15_000, "web's NodePool");
    const nodeClass = await eventually(() => client.getIfExists({ ...NC, name }), 15_000, "web's EC2NodeClass");
    await manager.stop();

    // While no operator runs: ours are deleted and someone else's take the names; then the template is deleted.
    await client.delete({ ...NP, name });
    await client.delete({ ...NC, name });
    const theirPool = await client.create(stranger(pool));
    const theirClass = await client.create(stranger(nodeClass));
    await client.delete({ ...NT, namespace: NS, name: "web" });

    manager = await startOperator();
    try {
      await eventually(
        async () => (await client.getIfExists({ ...NT, namespace: NS, name: "web" })) === undefined,
        15_000,
        "web gone",
      );
      await manager.idle();
    } finally {
      await manager.stop();
    }
    expect((await client.getIfExists({ ...NP, name }))?.metadata?.uid).toBe(theirPool.metadata?.uid);
    expect((await client.getIfExists({ ...NC, name }))?.metadata?.uid).toBe(theirClass.metadata?.uid);
  });

  it("still removes its own objects with the template", async () => {
    const manager = await startOperator();
    try {
      const name = karpenterName(NS, "api");
      await client.create({
        ...NT,
        metadata: { name: "api", namespace: NS },
        spec: { clusterRef: { name: "local" }, families: ["m5"] },
      });
      await eventually(() => client.getIfExists({ ...NP, name }), 15_000, "api's NodePool");
      await eventually(() => client.getIfExists({ ...NC, name }), 15_000, "api's EC2NodeClass");
      await client.delete({ ...NT, namespace: NS, name: "api" });
      await eventually(
        async () => (await client.getIfExists({ ...NT, namespace: NS, name: "api" })) === undefined,
        15_000,
        "api gone",
      );
      expect(await client.getIfExists({ ...NP, name })).toBeUndefined();
      expect(await client.getIfExists({ ...NC, name })).toBeUndefined();
    } finally {
      await manager.stop();
    }
  });
});
