// The agent's `delete` under 409s on its DELETE (an API server answers one to a delete that raced a write of the
// object): retried like `apply`, so the object goes and the action succeeds instead of failing into the operator's
// backoff; the retry is bounded. The agent's client answers those DELETEs 409 itself, so the API server never sees them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execute } from "../../agent/executors/index.js";
import type { PendingAction } from "../../src-shared/agent/protocol.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeApiError, KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { pendingAction } from "../support/agent.js";
import { startTestCluster } from "../support/cluster.js";
import { minimalNodePool } from "../support/karpenter-fixtures.js";

const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
const OWNED = { "app.kubernetes.io/managed-by": "spot-optimizer" };

/** Answers the next `n` DELETEs of an armed name with a 409 Conflict, as a delete racing a write of it would get. */
class DeleteConflictClient extends KubeClient {
  private readonly armed = new Map<string, number>();

  arm(name: string, n: number): void {
    this.armed.set(name, n);
  }

  override async delete(
    ref: Parameters<KubeClient["delete"]>[0],
    options?: Parameters<KubeClient["delete"]>[1],
  ): Promise<boolean> {
    const left = this.armed.get(ref.name) ?? 0;
    if (left > 0) {
      this.armed.set(ref.name, left - 1);
      throw new KubeApiError(
        409,
        { kind: "Status", status: "Failure", reason: "Conflict", code: 409, message: "injected conflict" },
        `DELETE ${ref.kind} ${ref.name}`,
      );
    }
    return super.delete(ref, options);
  }
}

let server: LocalApiServer;
let client: KubeClient;
let agentClient: DeleteConflictClient;

function deleteAction(name: string): PendingAction {
  return pendingAction("delete", { api_version: NP.apiVersion, kind: NP.kind, namespace: null, name });
}

async function ourPool(name: string): Promise<void> {
  const pool = minimalNodePool(name);
  await client.create({ ...pool, metadata: { ...pool.metadata, labels: OWNED } } as KubeObject);
}

beforeAll(async () => {
  server = await startTestCluster({ crds: "karpenter" });
  client = new KubeClient(server.kubeConfig);
  agentClient = new DeleteConflictClient(server.kubeConfig);
}, 60_000);

afterAll(async () => {
  client?.close();
  agentClient?.close();
  await server?.stop();
});

describe("the agent's delete under 409s", () => {
  it("deletes a NodePool of ours whose DELETE was answered 409 twice, and succeeds", async () => {
    await ourPool("raced");
    agentClient.arm("raced", 2);
    const outcome = await execute({
      client: agentClient,
      action: deleteAction("raced"),
      deadlineMs: Date.now() + 10_000,
    });
    expect(outcome).toEqual({ status: "succeeded", message: "deleted NodePool raced" });
    expect(await client.getIfExists({ ...NP, name: "raced" })).toBeUndefined();
  });

  it("gives up after five 409s in a row: the action fails and the NodePool stays", async () => {
    await ourPool("stuck");
    agentClient.arm("stuck", 5);
    const outcome = await execute({
      client: agentClient,
      action: deleteAction("stuck"),
      deadlineMs: Date.now() + 10_000,
    });
    expect(outcome.status).toBe("failed");
    expect(outcome.message).toMatch(/Kubernetes API: .*injected conflict/);
    expect(await client.getIfExists({ ...NP, name: "stuck" })).toBeDefined();
  });
});
