// Pure ManagedCluster status builder: node figures of the sole local cluster and the AgentConnected condition (no I/O).
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { setCondition, type Condition, type ConditionInput } from "../../../../src-shared/runtime/conditions.js";
import {
  HOURS_PER_MONTH,
  figuresFromUsage,
  interruptions7d,
  isLocalCluster as isLocal,
  nodeFacts,
  ownsLocalNodes,
  requestedOn,
} from "../../../../src-shared/fleet/fleet-metrics.js";
import type { NodeHourlyPrice } from "../../hibernation/savings.js";
import type { ClusterSnapshot, LeaseView } from "../../../../src-shared/agent/snapshot.js";
import { remoteAgentConnected, remoteFigures } from "./remote.js";

/** A heartbeat older than this means the agent is not connected (DESIGN.md: Connected condition from heartbeat age). */
export const HEARTBEAT_FRESH_MS = 2 * 60_000;
/** Periodic re-check: heartbeat age and the 7-day interruption window move with time alone. */
export const RESYNC_MS = 60_000;
/** At most this many unpriced nodes are named in a condition message (the count is always given). */
const NAMED_NODES_MAX = 10;

export const CONDITION_AGENT_CONNECTED = "AgentConnected";
export const CONDITION_MEASURED = "Measured";
export const CONDITION_PRICED = "Priced";
/** The condition types this controller owns (others' conditions on the same object are left alone). */
export const OWNED_CONDITIONS = [CONDITION_AGENT_CONNECTED, CONDITION_MEASURED, CONDITION_PRICED] as const;

/** The parts of a ManagedCluster the builder reads. */
export interface ClusterView {
  metadata: { name?: string; namespace?: string; generation?: number };
  spec: { mode?: "local" | "remote"; region?: string };
  status?: { agent?: { lastSeen?: string }; conditions?: Condition[] };
}

/** The parts of an AuditEntry the interruption count reads. */
export interface AuditView {
  spec: { event: string; resource: string; timestamp?: string };
}

export interface ClusterStatusInput {
  cluster: ClusterView;
  /** Every ManagedCluster in every namespace (for the sole-local-cluster rule). */
  allClusters: readonly ClusterView[];
  nodes: readonly V1Node[];
  pods: readonly V1Pod[];
  /** AuditEntries of the cluster's namespace. */
  auditEntries: readonly AuditView[];
  price: NodeHourlyPrice;
  now: Date;
  /** Remote clusters: the agent's latest heartbeat snapshot and liveness Lease (written by the facade). */
  snapshot?: ClusterSnapshot;
  lease?: LeaseView;
}

/** The status fields this controller owns, as applied (server-side apply removes the ones it stops sending). */
export interface DesiredClusterStatus {
  agent?: { lastSeen: string; version: string; health: "healthy" | "unreachable" };
  nodeCount?: number;
  spotPercentage?: number;
  monthlyCostUsd?: number;
  efficiencyScore?: number;
  conditions: Condition[];
}

export interface ClusterStatusPlan {
  status: DesiredClusterStatus;
  requeueAfterMs: number;
}

// The tenancy rule for local nodes and the interruption count are the facade's (one definition, docs/facade-metrics.md).
export { interruptions7d, ownsLocalNodes };

interface NodeCost {
  monthlyCostUsd: number;
  unpriced: string[];
  asOf?: string;
}

function label(node: V1Node, keys: string[]): string | undefined {
  const labels = node.metadata?.labels ?? {};
  for (const key of keys) if (labels[key] !== undefined) return labels[key];
  return undefined;
}

/** Monthly cost of the priced nodes; a node without a known price (or capacity type) is listed, never guessed. */
export function nodeCost(
  nodes: readonly V1Node[],
  price: NodeHourlyPrice,
  clusterRegion: string | undefined,
): NodeCost {
  let hourlyUsd = 0;
  const unpriced: string[] = [];
  const asOfs: string[] = [];
  for (const node of nodes) {
    const facts = nodeFacts(node);
    const known =
      facts.instanceType !== undefined && facts.capacityType !== "unknown"
        ? price({
            instanceType: facts.instanceType,
            capacityType: facts.capacityType,
            zone: label(node, ["topology.k8s.aws/zone-id", "topology.kubernetes.io/zone"]),
            region:
              label(node, ["topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"]) ??
              clusterRegion,
          })
        : undefined;
    if (!known) {
      unpriced.push(facts.name);
      continue;
    }
    hourlyUsd += known.usdPerHour;
    asOfs.push(known.asOf);
  }
  const cost: NodeCost = {
    monthlyCostUsd: Math.round(hourlyUsd * HOURS_PER_MONTH * 100) / 100,
    unpriced: unpriced.sort(),
  };
  const oldest = asOfs.sort()[0];
  if (oldest !== undefined) cost.asOf = oldest;
  return cost;
}

function pricedCondition(cost: NodeCost, nodeCount: number): Omit<ConditionInput, "observedGeneration"> {
  if (cost.unpriced.length === 0) {
    const asOf = cost.asOf !== undefined ? ` (prices as of ${cost.asOf})` : "";
    return {
      type: CONDITION_PRICED,
      status: "True",
      reason: "AllNodesPriced",
      message: `All ${nodeCount} node(s) priced${asOf}`,
    };
  }
  const named = cost.unpriced.slice(0, NAMED_NODES_MAX).join(", ");
  const more = cost.unpriced.length > NAMED_NODES_MAX ? ` and ${cost.unpriced.length - NAMED_NODES_MAX} more` : "";
  return {
    type: CONDITION_PRICED,
    status: "False",
    reason: "UnpricedNodes",
    message: `monthlyCostUsd leaves out ${cost.unpriced.length} of ${nodeCount} node(s) without a known price: ${named}${more}`,
  };
}

/** AgentConnected: local clusters have the operator as their agent; remote ones are judged by heartbeat age. */
export function agentConnected(
  cluster: ClusterView,
  nowMs: number,
): { condition: Omit<ConditionInput, "observedGeneration">; requeueAfterMs: number } {
  const type = CONDITION_AGENT_CONNECTED;
  if (isLocal(cluster)) {
    return {
      condition: {
        type,
        status: "True",
        reason: "LocalMode",
        message: "The operator runs in this cluster and acts as its agent",
      },
      requeueAfterMs: RESYNC_MS,
    };
  }
  const lastSeen = cluster.status?.agent?.lastSeen;
  const seenMs = lastSeen !== undefined ? Date.parse(lastSeen) : NaN;
  if (lastSeen === undefined || !Number.isFinite(seenMs)) {
    return {
      condition: {
        type,
        status: "Unknown",
        reason: "NoHeartbeat",
        message: "No heartbeat received from the agent yet",
      },
      requeueAfterMs: RESYNC_MS,
    };
  }
  const staleInMs = seenMs + HEARTBEAT_FRESH_MS - nowMs;
  if (staleInMs >= 0) {
    // Come back just after the heartbeat goes stale, so the condition flips on time.
    return {
      condition: { type, status: "True", reason: "HeartbeatReceived", message: `Last heartbeat at ${lastSeen}` },
      requeueAfterMs: Math.min(RESYNC_MS, staleInMs + 1000),
    };
  }
  // The message names the heartbeat time, not its age, so it does not change (and cause a write) on every re-check.
  return {
    condition: {
      type,
      status: "False",
      reason: "HeartbeatMissed",
      message: `No heartbeat since ${lastSeen} (more than 2 minutes)`,
    },
    requeueAfterMs: RESYNC_MS,
  };
}

interface Figures {
  nodeCount: number;
  spotPercentage: number;
  efficiencyScore?: number;
}

/** nodeCount, spotPercentage and efficiencyScore with the facade's formulas (src-shared/fleet/fleet-metrics.ts). */
export function nodeFigures(
  input: Pick<ClusterStatusInput, "nodes" | "pods" | "auditEntries" | "now"> & { clusterName: string },
): Figures {
  const facts = input.nodes.map((n) => nodeFacts(n));
  const requested = requestedOn(input.pods, new Set(facts.map((f) => f.name)));
  const figures = figuresFromUsage({
    nodes: facts,
    requestedMillicores: requested.millicores,
    requestedMiB: requested.mib,
    interruptions7d: interruptions7d(input.auditEntries, input.clusterName, input.now.getTime()),
  });
  const out: Figures = { nodeCount: figures.nodeCount, spotPercentage: figures.spotPercentage };
  if (figures.efficiencyScore !== null) out.efficiencyScore = figures.efficiencyScore;
  return out;
}

/**
 * The status this controller applies. The sole local cluster gets node figures and Measured/Priced conditions; an
 * ambiguous local cluster gets Measured=False and no figures; a remote cluster only AgentConnected (its figures are
 * what its agent reports, written by others). lastTransitionTime is kept while a condition's status holds.
 */
export function desiredClusterStatus(input: ClusterStatusInput): ClusterStatusPlan {
  const { cluster, now } = input;
  const current = cluster.status?.conditions;
  const observedGeneration = cluster.metadata.generation;
  const condition = (c: Omit<ConditionInput, "observedGeneration">): Condition => {
    const set = setCondition(
      current,
      { ...c, ...(observedGeneration !== undefined ? { observedGeneration } : {}) },
      now,
    );
    return set.find((x) => x.type === c.type)!;
  };
  if (!isLocal(cluster)) return remoteStatus(input, condition);
  const agent = agentConnected(cluster, now.getTime());
  const conditions = [condition(agent.condition)];
  if (!ownsLocalNodes(cluster, input.allClusters)) {
    const locals = input.allClusters.filter(isLocal).length;
    conditions.push(
      condition({
        type: CONDITION_MEASURED,
        status: "False",
        reason: "AmbiguousLocalCluster",
        message: `${locals} ManagedClusters have mode local; this cluster's nodes are attributed only when exactly one does`,
      }),
    );
    return { status: { conditions }, requeueAfterMs: RESYNC_MS };
  }
  const figures = nodeFigures({ ...input, clusterName: cluster.metadata.name ?? "" });
  const cost = nodeCost(input.nodes, input.price, cluster.spec.region);
  conditions.push(
    condition({
      type: CONDITION_MEASURED,
      status: "True",
      reason: "NodesMeasured",
      message: "Figures from the Nodes and Pods of the cluster the operator runs in",
    }),
    condition(pricedCondition(cost, figures.nodeCount)),
  );
  return { status: { ...figures, monthlyCostUsd: cost.monthlyCostUsd, conditions }, requeueAfterMs: RESYNC_MS };
}

type ConditionOf = (c: Omit<ConditionInput, "observedGeneration">) => Condition;

/**
 * A remote cluster: AgentConnected from the liveness Lease (else from status.agent.lastSeen), figures from the
 * agent's latest snapshot. One that has not reported gets Measured=False (NotReported) and no figures: unknown, not 0.
 */
function remoteStatus(input: ClusterStatusInput, condition: ConditionOf): ClusterStatusPlan {
  const nowMs = input.now.getTime();
  const live = remoteAgentConnected(input.lease, nowMs);
  const agent = live ?? agentConnected(input.cluster, nowMs);
  const requeueAfterMs = Math.min(RESYNC_MS, agent.requeueAfterMs ?? RESYNC_MS);
  const conditions = [condition(agent.condition)];
  if (!input.snapshot) {
    conditions.push(
      condition({
        type: CONDITION_MEASURED,
        status: "False",
        reason: "NotReported",
        message: "The cluster's agent has not reported yet: node count, Spot share and cost are unknown",
      }),
    );
    return { status: { conditions }, requeueAfterMs };
  }
  const figures = remoteFigures({
    snapshot: input.snapshot,
    connected: agent.condition.status === "True",
    clusterName: input.cluster.metadata.name ?? "",
    auditEntries: input.auditEntries,
    nowMs,
  });
  const cost = nodeCost(figures.nodes, input.price, input.cluster.spec.region);
  conditions.push(
    condition({
      type: CONDITION_MEASURED,
      status: "True",
      reason: "AgentReported",
      message: "Figures from the agent's latest heartbeat snapshot",
    }),
    condition(pricedCondition(cost, figures.status.nodeCount)),
  );
  return {
    status: { ...figures.status, monthlyCostUsd: cost.monthlyCostUsd, conditions },
    requeueAfterMs,
  };
}
