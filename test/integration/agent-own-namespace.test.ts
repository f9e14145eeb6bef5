// The agent never changes its own workloads: its heartbeat leaves out the objects of the namespace it runs in (so no
// schedule plans to sleep them), and any action aimed there fails without touching anything.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCluster } from "../../agent/cluster-report.js";
import { execute } from "../../agent/executors/index.js";
import { ORIGINAL_REPLICAS_ANNOTATION } from "../../agent/executors/fields.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient } from "../../src-shared/kube/index.js";
import { pendingAction } from "../support/agent.js";
import { startTestCluster } from "../support/cluster.js";
import { deployment } from "../support/hibernation-fixtures.js";

const OWN = "spot-optimizer";
let server: LocalApiServer;
let client: KubeClient;

beforeAll(async () => {
  server = await startTestCluster();
  client = new KubeClient(server.kubeConfig);
  for (const name of [OWN, "shop"]) await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  await client.create(deployment(OWN, "spot-optimizer-agent", 1));
  await client.create(deployment("shop", "web", 3));
}, 60_000);

afterAll(async () => {
  client?.close();
  await server?.stop();
});

const replicas = async (namespace: string, name: string): Promise<number | undefined> =>
  ((await client.get({ apiVersion: "apps/v1", kind: "Deployment", namespace, name })).spec as { replicas?: number })
    .replicas;

describe("the agent and its own namespace", () => {
  it("reports every other namespace's objects, not its own", async () => {
    const names = (objects: Array<{ namespace?: string | null; name: string }>): string[] =>
      objects.map((o) => `${o.namespace}/${o.name}`).sort();
    expect(names((await readCluster(client)).heartbeat.objects)).toEqual(["shop/web", `${OWN}/spot-optimizer-agent`]);
    expect(names((await readCluster(client, OWN)).heartbeat.objects)).toEqual(["shop/web"]);
  });

  it("refuses every action there (scale, patch, delete, annotate, label, restore), and still acts elsewhere", async () => {
    const target = (namespace: string, name: string) =>
      ({ api_version: "apps/v1", kind: "Deployment", namespace, name }) as const;
    const run = (type: string, namespace: string, name: string, params: Record<string, unknown>) =>
      execute({
        client,
        action: pendingAction(type, target(namespace, name), params),
        deadlineMs: Date.now() + 30_000,
        ownNamespace: OWN,
      });
    for (const [type, params] of [
      ["scale", { replicas: 0 }],
      ["patch", { patch: { spec: { replicas: 0 } } }],
      ["delete", {}],
      // an annotation of its saved replicas, then restore, would scale it as surely
      ["annotate", { annotations: { "agent.spotoptimizer.io/original-replicas": "0" } }],
      ["label", { labels: { app: "other" } }],
      ["restore", {}],
    ] as const) {
      const outcome = await run(type, OWN, "spot-optimizer-agent", params);
      expect(outcome.status, type).toBe("failed");
      expect(outcome.message, type).toMatch(/the agent's own namespace/);
    }
    // the namespace itself: an annotate with `pods` would reach every pod in it
    for (const [type, params] of [
      ["annotate", { annotations: { "x/y": "1" }, pods: { when: {} } }],
      ["label", { labels: { team: "x" } }],
    ] as const) {
      const outcome = await execute({
        client,
        action: pendingAction(type, { api_version: "v1", kind: "Namespace", namespace: null, name: OWN }, params),
        deadlineMs: Date.now() + 30_000,
        ownNamespace: OWN,
      });
      expect(outcome.status, `${type} of the Namespace`).toBe("failed");
      expect(outcome.message).toMatch(/the agent's own namespace/);
    }
    expect(await replicas(OWN, "spot-optimizer-agent")).toBe(1);
    const own = await client.get({
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: OWN,
      name: "spot-optimizer-agent",
    });
    expect(own.metadata?.annotations?.[ORIGINAL_REPLICAS_ANNOTATION]).toBeUndefined();
    expect(own.metadata?.labels?.app).toBeUndefined();
    expect((await run("scale", "shop", "web", { replicas: 0 })).status).toBe("succeeded");
    expect(await replicas("shop", "web")).toBe(0);
  });
});
