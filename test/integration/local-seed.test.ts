// Local mode's simulated cluster: the seeded Deployments' pods are scheduled, Running and Ready on the simulated nodes
// (the API server's control loops, as local mode runs them), so kubectl shows them READY and PDBs protect them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, kubectl, startTestCluster } from "../support/cluster.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { demoCounts, seedSimulatedCluster } from "../../operator/local/seed.js";

type Pod = KubeObject & { spec: any; status: any };
let server: LocalApiServer;
let client: KubeClient;

async function runningPods(): Promise<Pod[]> {
  return eventually(
    async () => {
      const pods = (await client.listAll({ apiVersion: "v1", kind: "Pod" })).items as Pod[];
      const running = pods.filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp);
      return running.length === demoCounts.pods && pods.length === demoCounts.pods ? running : undefined;
    },
    10_000,
    `${demoCounts.pods} seeded pods Running`,
  );
}

beforeAll(async () => {
  server = await startTestCluster({ workloads: true, podTerminationMs: 20 });
  client = new KubeClient(server.kubeConfig);
  await seedSimulatedCluster(client);
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("seedSimulatedCluster", () => {
  it("leaves every seeded pod Running and Ready on a node, owned by its Deployment's ReplicaSet", async () => {
    const pods = await runningPods();
    const nodes = (await client.listAll({ apiVersion: "v1", kind: "Node" })).items.map((n) => n.metadata?.name);
    for (const pod of pods) {
      expect(nodes).toContain(pod.spec.nodeName);
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "ReplicaSet", controller: true });
      expect(pod.status.conditions).toContainEqual(expect.objectContaining({ type: "Ready", status: "True" }));
      expect(pod.status.containerStatuses.map((c: { ready: boolean }) => c.ready)).toEqual([true]);
    }
  });

  it("kubectl get deploy shows every seeded Deployment READY n/n", async () => {
    await runningPods();
    const out = await eventually(async () => {
      const r = await kubectl(server, ["get", "deploy", "-A", "--no-headers"]);
      const rows = r.stdout.trim().split("\n");
      return rows.length === 4 && rows.every((row) => /\s(\d+)\/\1\s/.test(row)) ? r.stdout : undefined;
    });
    expect(out).toMatch(/shop\s+web\s+3\/3\s/);
    expect(out).toMatch(/analytics\s+reports\s+1\/1\s/);
  });

  it("kubectl get nodes shows each simulated node Ready with the API server's version, arch and OS", async () => {
    const r = await kubectl(server, ["get", "nodes", "-o", "wide", "--no-headers"]);
    const version = (await server.request("GET", "/version")).json.gitVersion as string;
    const rows = r.stdout.trim().split("\n");
    expect(rows).toHaveLength(demoCounts.nodes);
    for (const row of rows) expect(row).toMatch(new RegExp(`\\sReady\\s.*\\s${version.replace(/\./g, "\\.")}\\s`));
    const nodes = (await client.listAll({ apiVersion: "v1", kind: "Node" })).items as Pod[];
    for (const n of nodes)
      expect(n.status.nodeInfo).toMatchObject({
        architecture: n.metadata?.labels?.["kubernetes.io/arch"],
        operatingSystem: n.metadata?.labels?.["kubernetes.io/os"],
      });
  });

  it("a PodDisruptionBudget over seeded pods blocks their eviction (429)", async () => {
    const [web] = (await runningPods()).filter((p) => p.metadata?.labels?.app === "web");
    const name = web!.metadata!.name!;
    await client.create({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "web", namespace: "shop" },
      spec: { minAvailable: "100%", selector: { matchLabels: { app: "web" } } },
    } as KubeObject);
    await server.settled();
    const evict = await server.request("POST", `/api/v1/namespaces/shop/pods/${name}/eviction`, {
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: "shop" } },
    });
    expect(evict.status).toBe(429);
    expect(evict.json.reason).toBe("TooManyRequests");
    expect(await client.getIfExists({ apiVersion: "v1", kind: "Pod", namespace: "shop", name })).toBeDefined();
  });

  it("is idempotent: a second seed keeps the pods as they are", async () => {
    const before = await runningPods();
    await seedSimulatedCluster(client);
    await server.settled();
    const after = await runningPods();
    const versions = (pods: Pod[]): string[] =>
      pods.map((p) => `${p.metadata?.name}@${p.metadata?.resourceVersion}`).sort();
    expect(versions(after)).toEqual(versions(before));
  });

  it("removes pods an earlier seed wrote by hand (same name, no owner), so a kept state converges", async () => {
    await client.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "api-0", namespace: "shop", labels: { app: "api" } },
      spec: { containers: [{ name: "api", image: "registry.example/demo/api:1.0" }] },
    } as KubeObject);
    await seedSimulatedCluster(client);
    await eventually(
      async () => !(await client.getIfExists({ apiVersion: "v1", kind: "Pod", namespace: "shop", name: "api-0" })),
    );
    await runningPods();
  });
});
