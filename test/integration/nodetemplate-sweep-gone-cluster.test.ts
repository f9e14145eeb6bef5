// The orphan sweep of a gone template drops the AgentActions of a cluster that is gone too (removed while its agent
// never came back): no agent will take them, and they would hold the action queue's health red for ever. Actions of a
// cluster that still exists are left to their agent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster } from "../support/cluster.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient } from "../../src-shared/kube/index.js";
import type { AgentAction, ManagedCluster } from "../../src-shared/crds/index.js";
import { API_VERSION } from "../../src-shared/crds/common.js";
import { sweepRemote } from "../../operator/controllers/nodetemplate/sweep.js";
import type { TemplateCaches } from "../../operator/controllers/nodetemplate/kube.js";

const NS = "org-sweep";
const AA = { apiVersion: API_VERSION, kind: "AgentAction" } as const;

let server: LocalApiServer;
let client: KubeClient;

beforeAll(async () => {
  server = await startTestCluster({ crds: "project" });
  client = new KubeClient(server.kubeConfig);
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
});
afterAll(async () => {
  client?.close();
  await server?.stop();
});

async function action(name: string, cluster: string): Promise<AgentAction> {
  return client.create<AgentAction>({
    ...AA,
    metadata: { name, namespace: NS, labels: { "spotoptimizer.io/template": "orphan" } },
    spec: {
      clusterRef: { name: cluster },
      type: "delete",
      target: { apiVersion: "karpenter.sh/v1", kind: "NodePool", name: "p" },
    },
  } as never);
}

describe("the orphan sweep", () => {
  it("deletes the actions of a gone cluster and keeps those of a live one", async () => {
    const actions = [
      await action("gone-1", "edge-gone"),
      await action("gone-2", "edge-gone"),
      await action("kept", "edge"),
    ];
    const live = { metadata: { name: "edge", namespace: NS } } as ManagedCluster;
    const caches = {
      actionsOf: () => actions,
      cluster: (_: string, name: string) => (name === "edge" ? live : undefined),
      remoteViews: () => [],
    } as unknown as TemplateCaches;
    await sweepRemote({ client, caches, key: `${NS}/orphan`, nowMs: Date.now() });
    const left = (await client.list<AgentAction>({ ...AA, namespace: NS })).items.map((a) => a.metadata.name);
    expect(left).toEqual(["kept"]);
  });
});
