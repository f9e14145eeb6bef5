// Hibernation never sleeps the installation's own namespace, whatever the release namespace is called: the operator,
// facade and agent scaled to zero could wake nothing. The controller runs with the release namespace the chart gives it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerHibernationController } from "../../operator/controllers/hibernation/controller.js";
import { SAVED_ANNOTATION } from "../../operator/controllers/hibernation/desired.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { localClusterConfigMap } from "../../src-shared/tenancy/cluster-target.js";
import { eventually, startTestCluster } from "../support/cluster.js";
import { deployment } from "../support/hibernation-fixtures.js";

const RELEASE_NS = "spot-optimizer";
const ORG = "org-own-namespace";
let server: LocalApiServer;
let client: KubeClient;
let manager: ControllerManager;

beforeAll(async () => {
  server = await startTestCluster({ crds: "project" });
  client = new KubeClient(server.kubeConfig);
  for (const name of [RELEASE_NS, ORG, "shop"])
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  await client.create({
    apiVersion: "spotoptimizer.io/v1alpha1",
    kind: "ManagedCluster",
    metadata: { name: "local", namespace: ORG },
    spec: { mode: "local" },
  });
  await client.create(localClusterConfigMap({ namespace: ORG, name: "local" }, RELEASE_NS) as KubeObject);
  for (const [ns, name, replicas] of [
    [RELEASE_NS, "spot-optimizer-operator", 2],
    [RELEASE_NS, "spot-optimizer-facade", 2],
    ["shop", "web", 3],
  ] as const)
    await client.create(deployment(ns, name, replicas));
  manager = new ControllerManager({ client });
  await registerHibernationController({ manager, client, systemNamespace: RELEASE_NS });
  manager.start();
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  client?.close();
  await server?.stop();
});

async function replicas(namespace: string, name: string): Promise<string> {
  const d = await client.get({ apiVersion: "apps/v1", kind: "Deployment", namespace, name });
  const saved = d.metadata?.annotations?.[SAVED_ANNOTATION] ? " saved" : "";
  return `${String((d.spec as { replicas?: number }).replicas)}${saved}`;
}

describe("hibernation and the installation's own namespace", () => {
  it("a schedule asleep now sleeps the tenant's workloads and leaves the release namespace's alone", async () => {
    await client.create({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "HibernationSchedule",
      metadata: { name: "local", namespace: ORG },
      spec: { clusterRef: { name: "local" }, timezone: "UTC", weekly: [] },
    });
    await eventually(async () => (await replicas("shop", "web")) === "0 saved", 15_000, "shop/web asleep");
    const state = async (): Promise<string | undefined> =>
      (
        (
          await client.get({
            apiVersion: "spotoptimizer.io/v1alpha1",
            kind: "HibernationSchedule",
            namespace: ORG,
            name: "local",
          })
        ).status as { state?: string } | undefined
      )?.state;
    await eventually(async () => (await state()) === "asleep", 15_000, "the schedule reports asleep");
    expect(await replicas(RELEASE_NS, "spot-optimizer-operator")).toBe("2");
    expect(await replicas(RELEASE_NS, "spot-optimizer-facade")).toBe("2");
  });
});
