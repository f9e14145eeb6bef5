// The agent keeps a notice the facade deferred (another facade replica is still recording it) and sends it again with
// the next heartbeat; a notice the facade took is not sent again. Against the local API server, with the facade's
// answers scripted.
import { afterAll, beforeAll, expect, it } from "vitest";
import { Agent } from "../../agent/agent.js";
import type { FacadeClient } from "../../agent/facade-client.js";
import type { HeartbeatInput } from "../../src-shared/agent/protocol.js";
import { KubeClient } from "../../src-shared/kube/client.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { startTestCluster } from "../support/cluster.js";

let server: LocalApiServer;
let client: KubeClient;
beforeAll(async () => {
  server = await startTestCluster();
  client = new KubeClient(server.kubeConfig);
  await client.create({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "spot-1" },
    spec: { taints: [{ key: "aws-node-termination-handler/spot-itn", value: "x", effect: "NoSchedule" }] },
  });
});
afterAll(async () => {
  client?.close();
  await server?.stop();
});

it("sends a deferred notice again, and a taken one never again", async () => {
  const sent: HeartbeatInput[] = [];
  const facade: FacadeClient = {
    heartbeat: async (body) => {
      sent.push(body as HeartbeatInput);
      const n = sent.length;
      return {
        received_at: new Date().toISOString(),
        next_heartbeat_seconds: 30,
        pending_actions: 0,
        // the first answer defers the notice, the second takes it
        ...(n === 1 ? { deferred_interruptions: body.interruptions } : {}),
      };
    },
    pending: async () => ({ actions: [], malformed: [] }),
    result: async () => ({ accepted: true }) as never,
  };
  const agent = new Agent({
    client,
    facade,
    heartbeatMs: 30_000,
    pollMs: 30_000,
    backoffMaxMs: 60_000,
    maxConcurrentActions: 1,
    interruptionDrainMs: 1000,
  });
  for (let i = 0; i < 3; i++) await agent.heartbeatOnce();
  const kinds = sent.map((b) => (b.interruptions ?? []).map((x) => `${x.node}/${x.kind}`));
  expect(kinds[0]).toEqual(["spot-1/spot-itn"]);
  expect(kinds[1]).toEqual(kinds[0]);
  expect(sent[1]!.interruptions).toEqual(sent[0]!.interruptions);
  expect(kinds[2]).toEqual([]);
});
