// The replica count `scale` saves on a workload and `restore` puts back: one edited into something that is not a count
// is refused, and the workload keeps its replicas (a merge patch of the unparsed value would have removed them).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execute } from "../../agent/executors/index.js";
import { ORIGINAL_REPLICAS_ANNOTATION } from "../../agent/executors/fields.js";
import type { PendingAction } from "../../src-shared/agent/protocol.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { pendingAction } from "../support/agent.js";
import { startTestCluster } from "../support/cluster.js";

const NS = "shop";

let server: LocalApiServer;
let client: KubeClient;

function action(type: string, name: string, params: Record<string, unknown> = {}): PendingAction {
  return pendingAction(type, { api_version: "apps/v1", kind: "Deployment", namespace: NS, name }, params);
}

async function deployment(name: string, replicas: number, saved?: string): Promise<void> {
  await client.create({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name,
      namespace: NS,
      annotations: saved === undefined ? {} : { [ORIGINAL_REPLICAS_ANNOTATION]: saved },
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "nginx" }] } },
    },
  } as KubeObject);
}

async function replicas(name: string): Promise<unknown> {
  const live = await client.get<KubeObject & { spec?: { replicas?: number } }>({
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: NS,
    name,
  });
  return live.spec?.replicas;
}

beforeAll(async () => {
  server = await startTestCluster();
  client = new KubeClient(server.kubeConfig);
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } } as KubeObject);
}, 60_000);

afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("a saved replica count that is not one", () => {
  it("restore refuses it and leaves the workload's replicas", async () => {
    await deployment("edited", 0, "three");
    const outcome = await execute({ client, action: action("restore", "edited"), deadlineMs: Date.now() + 10_000 });
    expect(outcome).toEqual({
      status: "failed",
      message: `Deployment edited: annotation ${ORIGINAL_REPLICAS_ANNOTATION} is "three", not a replica count`,
    });
    expect(await replicas("edited")).toBe(0);
  });

  it("scale refuses it too, rather than saving it again beside new replicas", async () => {
    await deployment("edited-too", 4, "-1");
    const outcome = await execute({
      client,
      action: action("scale", "edited-too", { replicas: 0 }),
      deadlineMs: Date.now() + 10_000,
    });
    expect(outcome.status).toBe("failed");
    expect(await replicas("edited-too")).toBe(4);
  });

  it("a whole number saved is restored", async () => {
    await deployment("saved", 0, "3");
    const outcome = await execute({ client, action: action("restore", "saved"), deadlineMs: Date.now() + 10_000 });
    expect(outcome.status).toBe("succeeded");
    expect(await replicas("saved")).toBe(3);
  });
});
