// The agent's apply does not take over a NodePool someone else made under the target's name (a forced server-side
// apply would, and a later delete action would then remove it); its own objects it applies as before.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execute } from "../../agent/executors/index.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { pendingAction as action } from "../support/agent.js";
import { startTestCluster } from "../support/cluster.js";
import { minimalNodePool } from "../support/karpenter-fixtures.js";

const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
const TEMPLATE = "spotoptimizer.io/nodetemplate";

let server: LocalApiServer;
let client: KubeClient;

/** The manifest the NodeTemplate controller hands over for template shop/web. */
function manifest(name: string): KubeObject {
  const pool = minimalNodePool(name);
  return {
    ...pool,
    metadata: {
      name,
      labels: { "app.kubernetes.io/managed-by": "spot-optimizer" },
      annotations: { [TEMPLATE]: "shop/web" },
    },
  } as KubeObject;
}

async function applyAction(name: string): Promise<{ status: string; message?: string }> {
  return execute({
    client,
    action: action(
      "apply",
      { api_version: NP.apiVersion, kind: NP.kind, namespace: null, name },
      { manifest: manifest(name) },
    ),
    deadlineMs: Date.now() + 10_000,
  });
}

beforeAll(async () => {
  server = await startTestCluster({ crds: "karpenter" });
  client = new KubeClient(server.kubeConfig);
}, 60_000);

afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("the agent's apply", () => {
  it("leaves a NodePool it did not make under the target's name untouched and fails the action saying so", async () => {
    const theirs = await client.create(minimalNodePool("taken") as KubeObject);
    const outcome = await applyAction("taken");
    expect(outcome.status).toBe("failed");
    expect(outcome.message).toContain("NodePool taken exists but was not created by spot-optimizer");
    const live = await client.get({ ...NP, name: "taken" });
    expect(live.metadata?.resourceVersion).toBe(theirs.metadata?.resourceVersion);
    expect(live.metadata?.labels).toBeUndefined();
  });

  it("creates a NodePool that is absent and applies to it again", async () => {
    expect((await applyAction("free")).status).toBe("succeeded");
    expect((await applyAction("free")).status).toBe("succeeded");
    const live = await client.get({ ...NP, name: "free" });
    expect(live.metadata?.annotations?.[TEMPLATE]).toBe("shop/web");
  });
});
