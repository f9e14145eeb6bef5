// Pure status parts of a remote cluster: figures from the agent's latest heartbeat snapshot and AgentConnected from the
// liveness Lease the facade renews on each heartbeat (three missed beats = disconnected). No I/O.
import {
  livenessEndsMs,
  snapshotNodeAsV1,
  type ClusterSnapshot,
  type LeaseView,
} from "../../../../src-shared/agent/snapshot.js";
import { figuresFromUsage, interruptions7d, nodeFacts } from "../../../../src-shared/fleet/fleet-metrics.js";
import type { ConditionInput } from "../../../../src-shared/runtime/conditions.js";
import type { V1Node } from "@kubernetes/client-node";

type AuditView = { spec: { event: string; resource: string; timestamp?: string } };

type ConditionBody = Omit<ConditionInput, "observedGeneration">;

export interface RemoteFigures {
  status: {
    agent: { lastSeen: string; version: string; health: "healthy" | "unreachable" };
    nodeCount: number;
    spotPercentage: number;
    efficiencyScore?: number;
  };
  /** The reported nodes as V1Node-shaped objects, for pricing like local nodes. */
  nodes: V1Node[];
}

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

/** nodeCount, spot share and efficiency of what the agent last reported (the caller prices the nodes). */
export function remoteFigures(input: {
  snapshot: ClusterSnapshot;
  connected: boolean;
  clusterName: string;
  auditEntries: readonly AuditView[];
  nowMs: number;
}): RemoteFigures {
  const nodes = input.snapshot.nodes.map(snapshotNodeAsV1);
  let millicores = 0;
  let mib = 0;
  for (const g of input.snapshot.pods) {
    const placed = g.scheduled ?? g.count;
    millicores += g.cpu_millicores * placed;
    mib += g.memory_mib * placed;
  }
  const figures = figuresFromUsage({
    nodes: nodes.map((n) => nodeFacts(n)),
    requestedMillicores: millicores,
    requestedMiB: mib,
    interruptions7d: interruptions7d(input.auditEntries, input.clusterName, input.nowMs),
  });
  return {
    status: {
      agent: {
        lastSeen: input.snapshot.receivedAt,
        version: input.snapshot.agentVersion,
        health: input.connected ? "healthy" : "unreachable",
      },
      nodeCount: figures.nodeCount,
      spotPercentage: figures.spotPercentage,
      ...(figures.efficiencyScore !== null ? { efficiencyScore: figures.efficiencyScore } : {}),
    },
    nodes,
  };
}
