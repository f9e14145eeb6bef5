// The agent's deletes hold to the object it read: a NodePool replaced between the agent's read and its DELETE by one
// that is not ours, or a pod listed on a draining node and replaced by a namesake elsewhere before its eviction or
// forced delete, stays. The agent's client replaces the object just before passing the agent's request on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execute } from "../../agent/executors/index.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject, type RequestOptions } from "../../src-shared/kube/index.js";
import { pendingAction as action } from "../support/agent.js";
import { eventually, startTestCluster } from "../support/cluster.js";
import { minimalNodePool } from "../support/karpenter-fixtures.js";

const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
const OWNED = { "app.kubernetes.io/managed-by": "spot-optimizer" };
const NS = "shop";

/** Runs an armed replacement once, just before the agent's first request of that method on that name goes out. */
class ReplacingClient extends KubeClient {
  private armed: { method: RequestOptions["method"]; name: string; replace: () => Promise<void> } | undefined;

  arm(method: RequestOptions["method"], name: string, replace: () => Promise<void>): void {
    this.armed = { method, name, replace };
  }

  override async request<T>(options: RequestOptions): Promise<T> {
    const armed = this.armed;
    if (armed && options.method === armed.method && options.path.split("/").includes(armed.name)) {
      this.armed = undefined;
      await armed.replace();
    }
    return super.request<T>(options);
  }
}

let server: LocalApiServer;
let client: KubeClient;
let agentClient: ReplacingClient;

async function runningPod(name: string, node: string, labels: Record<string, string> = {}): Promise<KubeObject> {
  const created = await client.create<KubeObject>({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS, labels },
    spec: { nodeName: node, containers: [{ name: "c", image: "nginx" }] },
  } as KubeObject);
  await client.patch(
    { apiVersion: "v1", kind: "Pod", namespace: NS, name },
    { status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } },
    { type: "merge", subresource: "status" },
  );
  return created;
}

/** The pod deleted at once and a namesake started on another node, as a StatefulSet recreates its pods. */
function replacePod(name: string, node: string): () => Promise<void> {
  return async () => {
    await client.request({
      method: "DELETE",
      path: `/api/v1/namespaces/${NS}/pods/${name}`,
      body: { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0 },
    });
    await runningPod(name, node);
  };
}

async function podNode(name: string): Promise<string | undefined> {
  const pod = await client.getIfExists<KubeObject & { spec?: { nodeName?: string } }>({
    apiVersion: "v1",
    kind: "Pod",
    namespace: NS,
    name,
  });
  return pod?.spec?.nodeName;
}

beforeAll(async () => {
  server = await startTestCluster({ crds: "karpenter" });
  client = new KubeClient(server.kubeConfig);
  agentClient = new ReplacingClient(server.kubeConfig);
  for (const name of ["n1", "n2", "n3"])
    await client.create({ apiVersion: "v1", kind: "Node", metadata: { name } } as KubeObject);
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } } as KubeObject);
}, 60_000);

afterAll(async () => {
  client?.close();
  agentClient?.close();
  await server?.stop();
});

describe("the agent's deletes hold to what it read", () => {
  it("leaves a NodePool that replaced ours, without our label, between the read and the DELETE", async () => {
    const pool = minimalNodePool("swapped");
    await client.create({ ...pool, metadata: { ...pool.metadata, labels: OWNED } } as KubeObject);
    agentClient.arm("DELETE", "swapped", async () => {
      await client.delete({ ...NP, name: "swapped" });
      await client.create(pool as KubeObject);
    });
    const outcome = await execute({
      client: agentClient,
      action: action("delete", { api_version: NP.apiVersion, kind: NP.kind, namespace: null, name: "swapped" }),
      deadlineMs: Date.now() + 10_000,
    });
    expect(outcome).toEqual({
      status: "failed",
      message: "NodePool swapped is not managed by spot-optimizer; not deleted",
    });
    const live = await client.getIfExists<KubeObject>({ ...NP, name: "swapped" });
    expect(live).toBeDefined();
    expect(live?.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBeUndefined();
  });

  it("drains a node without evicting the namesake of its pod that started elsewhere meanwhile", async () => {
    await runningPod("web-0", "n1");
    agentClient.arm("POST", "web-0", replacePod("web-0", "n2"));
    const outcome = await execute({
      client: agentClient,
      action: action("drain", { api_version: "v1", kind: "Node", namespace: null, name: "n1" }),
      deadlineMs: Date.now() + 10_000,
    });
    expect(outcome.status).toBe("succeeded");
    expect(await podNode("web-0")).toBe("n2");
  });

  it("forces a drain without deleting the namesake of a held pod that started elsewhere meanwhile", async () => {
    await runningPod("db-0", "n3", { app: "db" });
    await client.create({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "db", namespace: NS },
      spec: { minAvailable: 1, selector: { matchLabels: { app: "db" } } },
    } as KubeObject);
    await eventually(async () => {
      const pdb = await client.getIfExists<KubeObject>({
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        namespace: NS,
        name: "db",
      });
      return (pdb?.status as { expectedPods?: number } | undefined)?.expectedPods === 1;
    });
    const drain = action("drain", { api_version: "v1", kind: "Node", namespace: null, name: "n3" }, { force: true });
    // the budget refuses every eviction until the deadline; the forced DELETE is what meets the replacement
    agentClient.arm("DELETE", "db-0", replacePod("db-0", "n2"));
    const outcome = await execute({ client: agentClient, action: drain, deadlineMs: Date.now() + 1_000 });
    expect(outcome).toMatchObject({ status: "succeeded", data: { forced: [] } });
    expect(await podNode("db-0")).toBe("n2");
  });
});
