// The agent's interruption handling against a stand-in workload cluster: a conflict on the notice's own cordon mark
// (other tools taint the node at that moment) must not cost the node its drain.
import { describe, expect, it } from "vitest";
import { KubeApiError, type KubeClient } from "../src-shared/kube/client.js";
import { Agent } from "./agent.js";
import type { FacadeClient } from "./facade-client.js";

/** One Node carrying Karpenter's disruption taint; the first patch of it conflicts, later ones apply. */
function cluster(): { client: KubeClient; node: any } {
  const node: any = {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n1", resourceVersion: "1", labels: {} },
    spec: { taints: [{ key: "karpenter.sh/disrupted", effect: "NoSchedule" }] },
    status: { allocatable: { cpu: "2", memory: "4Gi", pods: "29" } },
  };
  let patches = 0;
  const client = {
    listAll: async (ref: { kind: string }) => ({ items: ref.kind === "Node" ? [structuredClone(node)] : [] }),
    request: async () => ({ gitVersion: "v1.31.4" }),
    getIfExists: async () => structuredClone(node),
    get: async () => structuredClone(node),
    patch: async (_ref: unknown, body: any) => {
      if (++patches === 1) throw new KubeApiError(409, { reason: "Conflict", message: "changed" }, "PATCH node");
      Object.assign(node.spec, body.spec ?? {});
      return structuredClone(node);
    },
  } as unknown as KubeClient;
  return { client, node };
}

const facade: FacadeClient = {
  heartbeat: async () => ({ received_at: new Date().toISOString(), next_heartbeat_seconds: 15, pending_actions: 0 }),
  pending: async () => ({ actions: [], malformed: [] }),
  result: async () => ({}) as never,
};

describe("a Spot notice's drain", () => {
  it("runs though marking its cordon conflicted: the drain cordons the node itself", async () => {
    const { client, node } = cluster();
    const agent = new Agent({
      client,
      facade,
      heartbeatMs: 60_000,
      pollMs: 60_000,
      backoffMaxMs: 60_000,
      maxConcurrentActions: 1,
      interruptionDrainMs: 2000,
    });
    await agent.heartbeatOnce();
    await agent.stop(5000);
    expect(node.spec.unschedulable).toBe(true);
  });
});
