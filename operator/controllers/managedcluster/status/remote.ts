// Pure status parts of a remote cluster: figures from the agent's latest heartbeat snapshot and AgentConnected from the
// liveness Lease the facade renews on each heartbeat (three missed beats = disconnected). No I/O.
import {
  livenessEndsMs,
  snapshotNodeAsV1,
  type ClusterSnapshot,
  type LeaseView,
} from "../../../../src-shared/agent/snapshot.js";
import type { ConditionInput } from "../../../../src-shared/runtime/conditions.js";
import type { V1Node } from "@kubernetes/client-node";

type ConditionBody = Omit<ConditionInput, "observedGeneration">;

/** AgentConnected from the Lease: True until its renewal plus duration, then False; requeue when it would flip. */
export function remoteAgentConnected(
  lease: LeaseView | undefined,
  nowMs: number,
): { condition: ConditionBody; requeueAfterMs?: number } | undefined {
  const ends = livenessEndsMs(lease);
  if (ends === undefined) return undefined;
  const renewed = lease?.spec?.renewTime ?? "";
  const type = "AgentConnected";
  if (nowMs < ends)
    return {
      // No timestamp in the message: it would change, and be written, on every heartbeat.
      condition: { type, status: "True", reason: "HeartbeatReceived", message: "The agent's heartbeats arrive" },
      requeueAfterMs: ends - nowMs + 1000,
    };
  return {
    condition: {
      type,
      status: "False",
      reason: "HeartbeatMissed",
      message: `No heartbeat since ${new Date(Date.parse(renewed)).toISOString()} (three missed beats)`,
    },
  };
}

/** What the agent last reported: its liveness for status.agent, and the nodes and pod requests to measure (the caller prices them). */
export function remoteUsage(
  snapshot: ClusterSnapshot,
  connected: boolean,
): {
  agent: { lastSeen: string; version: string; health: "healthy" | "unreachable" };
  usage: { nodes: V1Node[]; requested: { millicores: number; mib: number }; agentReported: true };
} {
  let millicores = 0;
  let mib = 0;
  for (const g of snapshot.pods) {
    const placed = g.scheduled ?? g.count;
    millicores += g.cpu_millicores * placed;
    mib += g.memory_mib * placed;
  }
  return {
    agent: {
      lastSeen: snapshot.receivedAt,
      version: snapshot.agentVersion,
      health: connected ? "healthy" : "unreachable",
    },
    usage: { nodes: snapshot.nodes.map(snapshotNodeAsV1), requested: { millicores, mib }, agentReported: true },
  };
}
