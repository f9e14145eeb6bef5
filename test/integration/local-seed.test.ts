// Local mode's simulated cluster: seeded pods are Running and Ready on their nodes, so PDBs protect them as on a cluster.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster } from "../support/cluster.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { seedSimulatedCluster } from "../../operator/local/seed.js";

let server: LocalApiServer;
let client: KubeClient;

beforeAll(async () => {
  server = await startTestCluster();
  client = new KubeClient(server.kubeConfig);
  await seedSimulatedCluster(client);
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("seedSimulatedCluster", () => {
  it("leaves every seeded pod Running and Ready on a node", async () => {
    const pods = (await client.listAll({ apiVersion: "v1", kind: "Pod" })).items as Array<
      KubeObject & { spec: any; status: any }
    >;
    expect(pods.length).toBeGreaterThan(0);
    for (const pod of pods) {
      expect(pod.spec.nodeName).toBeTruthy();
      expect(pod.status.phase).toBe("Running");
      expect(pod.status.conditions).toContainEqual(expect.objectContaining({ type: "Ready", status: "True" }));
      expect(pod.status.containerStatuses.map((c: { ready: boolean }) => c.ready)).toEqual([true]);
    }
  });

  it("a PodDisruptionBudget over seeded pods blocks their eviction (429)", async () => {
    await client.create({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "web", namespace: "shop" },
      spec: { minAvailable: "100%", selector: { matchLabels: { app: "web" } } },
    } as KubeObject);
    await server.settled();
    const evict = await server.request("POST", "/api/v1/namespaces/shop/pods/web-0/eviction", {
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "web-0", namespace: "shop" } },
    });
    expect(evict.status).toBe(429);
    expect(evict.json.reason).toBe("TooManyRequests");
    expect(await client.getIfExists({ apiVersion: "v1", kind: "Pod", namespace: "shop", name: "web-0" })).toBeDefined();
  });

  it("is idempotent: a second seed keeps the pods as they are", async () => {
    const before = await client.get({ apiVersion: "v1", kind: "Pod", namespace: "shop", name: "api-0" });
    await seedSimulatedCluster(client);
    const after = await client.get({ apiVersion: "v1", kind: "Pod", namespace: "shop", name: "api-0" });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
  });
});
