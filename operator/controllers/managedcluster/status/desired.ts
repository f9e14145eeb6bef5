// Pure ManagedCluster status builder: node figures of the sole local cluster and the AgentConnected condition (no I/O).
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { setCondition, type Condition, type ConditionInput } from "../../../../src-shared/runtime/conditions.js";
import {
  figuresFromUsage,
  interruptions7d,
  MEASURED_FROM_NODES,
  isLocalCluster as isLocal,
  nodeFacts,
  ownsLocalNodes,
  recordedInterruptions,
  requestedOn,
  type ClusterFigures,
  type StatusFigures,
} from "../../../../src-shared/fleet/fleet-metrics.js";
import { roundTo } from "../../../../src-shared/pricing/rounding.js";
import type { RegionPrices } from "../../../../src-shared/pricing/region-prices.js";
import { DEFAULT_PRICE_MAX_AGE_HOURS, isStale } from "../../../../src-shared/pricing/freshness.js";
import type { ClusterSnapshot, LeaseView } from "../../../../src-shared/agent/snapshot.js";
import { remoteAgentConnected, remoteUsage } from "./remote.js";
import { CONDITION_PRICES_FRESH, pricesFreshCondition } from "../../../../src-shared/pricing/prices-fresh.js";

/** A heartbeat older than this means the agent is not connected (AgentConnected=False, HeartbeatMissed). */
export const HEARTBEAT_FRESH_MS = 2 * 60_000;
/** Periodic re-check: heartbeat age and the 7-day interruption window move with time alone. */
export const RESYNC_MS = 60_000;
export const CONDITION_AGENT_CONNECTED = "AgentConnected";
export const CONDITION_MEASURED = "Measured";
export const CONDITION_PRICED = "Priced";
/** The condition types this controller owns (others' conditions on the same object are left alone). */
export const OWNED_CONDITIONS = [
  CONDITION_AGENT_CONNECTED,
  CONDITION_MEASURED,
  CONDITION_PRICED,
  CONDITION_PRICES_FRESH,
] as const;

/** The parts of a ManagedCluster the builder reads. */
export interface ClusterView {
  metadata: { name?: string; namespace?: string; generation?: number };
  spec: { mode?: "local" | "remote"; region?: string };
  status?: { agent?: { lastSeen?: string }; conditions?: Condition[] };
}

/** The parts of an AuditEntry the interruption count reads. */
export interface AuditView {
  spec: { event: string; resource: string; timestamp?: string; after?: unknown };
}

export interface ClusterStatusInput {
  cluster: ClusterView;
  /** The installer's designation of the local cluster (ConfigMap spot-optimizer-local-cluster); undefined: none. */
  localCluster: { namespace: string; name: string } | undefined;
  nodes: readonly V1Node[];
  pods: readonly V1Pod[];
  /** AuditEntries of the cluster's namespace. */
  auditEntries: readonly AuditView[];
  /** Price books by region (the cluster's spec.region, else its nodes' region label). */
  prices: RegionPrices;
  /** Prices older than this are flagged stale (SPOTOPT_PRICE_MAX_AGE_HOURS); default a week. */
  priceMaxAgeMs?: number;
  now: Date;
  /** Remote clusters: the agent's latest heartbeat snapshot and liveness Lease (written by the facade). */
  snapshot?: ClusterSnapshot;
  lease?: LeaseView;
}

/** The status fields this controller owns, as applied (server-side apply removes the ones it stops sending). */
export interface DesiredClusterStatus extends StatusFigures {
  agent?: { lastSeen: string; version: string; health: "healthy" | "unreachable" };
  conditions: Condition[];
}

export interface ClusterStatusPlan {
  status: DesiredClusterStatus;
  requeueAfterMs: number;
}

// The tenancy rule for local nodes and the interruption count are the facade's (one definition, docs/facade-metrics.md).
export { interruptions7d, ownsLocalNodes };

/** The nodes and pod requests a cluster's figures are measured from: the operator's own cluster, or an agent's report. */
export interface MeasuredUsage {
  nodes: readonly V1Node[];
  requested: { millicores: number; mib: number };
  /** Remote clusters: the agent has reported (its heartbeats carry interruptions). */
  agentReported: boolean;
}

function nodeRegion(nodes: readonly V1Node[]): string | undefined {
  const regions = new Set(
    nodes.map((n) => n.metadata?.labels?.["topology.kubernetes.io/region"]).filter((r): r is string => r !== undefined),
  );
  return regions.size === 1 ? [...regions][0] : undefined;
}

/** PricesFresh: how old the book is that prices this cluster (its region's). */
function pricesFresh(input: ClusterStatusInput, usage: MeasuredUsage): Omit<ConditionInput, "observedGeneration"> {
  return pricesFreshCondition(input.prices(input.cluster.spec.region ?? nodeRegion(usage.nodes)));
}

/** Every figure of the cluster with the shared formulas (src-shared/fleet/fleet-metrics.ts), priced from its region's book. */
export function measuredFigures(input: ClusterStatusInput, usage: MeasuredUsage): ClusterFigures {
  const prices = input.prices(input.cluster.spec.region ?? nodeRegion(usage.nodes));
  const facts = usage.nodes.map((n) => nodeFacts(n, prices.book));
  return figuresFromUsage({
    nodes: facts,
    requestedMillicores: usage.requested.millicores,
    requestedMiB: usage.requested.mib,
    interruptions7d: recordedInterruptions({
      entries: input.auditEntries,
      clusterName: input.cluster.metadata.name ?? "",
      nowMs: input.now.getTime(),
      agentReported: usage.agentReported,
    }),
    pricesStale: prices.stale,
    isStale: (asOf) =>
      isStale(asOf, input.now.getTime(), input.priceMaxAgeMs ?? DEFAULT_PRICE_MAX_AGE_HOURS * 3_600_000),
    ...(prices.reason !== undefined ? { noPricesReason: prices.reason } : {}),
  });
}

function pricedCondition(f: ClusterFigures): Omit<ConditionInput, "observedGeneration"> {
  if (f.monthlyCostUsd === null) {
    return {
      type: CONDITION_PRICED,
      status: "False",
      reason: "UnpricedNodes",
      // The facade shows this message as the cluster's monthly_cost_reason: it says why, in the user's words.
      message: (f.costReason ?? "some nodes have no known price").slice(0, 1024),
    };
  }
  const asOf = f.pricesAsOf !== null ? ` (prices as of ${f.pricesAsOf})` : "";
  return {
    type: CONDITION_PRICED,
    status: "True",
    reason: "AllNodesPriced",
    message: `All ${f.nodeCount} node(s) priced${asOf}${f.pricesStale ? "; the price book is older than the configured maximum age" : ""}`,
  };
}

/** The figures that are null while unknown: present in the status only when known (absent = unknown, never 0). */
function knownFigures(f: ClusterFigures): StatusFigures {
  const known = {
    readyNodes: f.readyNodes,
    cpuUtilisation: f.cpuUtilisation,
    memoryUtilisation: f.memoryUtilisation,
    utilisationReason: f.utilisationReason,
    interruptions7d: f.interruptions7d,
    interruptionRate: f.interruptionRate,
    fleetHealth: f.fleetHealth,
    efficiencyScore: f.efficiencyScore,
  };
  return Object.fromEntries(Object.entries(known).filter(([, v]) => v !== null)) as StatusFigures;
}

/**
 * Every figure the facade shows for a cluster, as the status holds them: money rounded to cents, absent when unknown
 * (never 0, never a partial sum).
 */
export function statusFigures(f: ClusterFigures): StatusFigures {
  const out: StatusFigures = {
    nodeCount: f.nodeCount,
    spotPercentage: f.spotPercentage,
    spotNodes: f.spotNodes,
    onDemandNodes: f.onDemandNodes,
    nodesByFamily: f.byFamily,
    ...knownFigures(f),
    unpricedNodes: f.unpricedNodes ?? 0,
  };
  if (f.monthlyCostUsd !== null) out.monthlyCostUsd = roundTo(f.monthlyCostUsd, 2);
  if (f.monthlyCostUsd !== null && f.baselineMonthlyUsd !== null)
    out.baselineMonthlyCostUsd = roundTo(f.baselineMonthlyUsd, 2);
  if (f.priceSources.length > 0)
    out.prices = {
      source: f.priceSources.join("+"),
      asOf: f.pricesAsOf ?? "unknown",
      ...(f.pricesStale ? { stale: true } : {}),
    };
  return out;
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

/** Measured=False reason of a `mode: local` ManagedCluster that is not the designated local cluster. */
export const NOT_DESIGNATED = "NotDesignatedLocalCluster";

/**
 * The status this controller applies. The designated local cluster gets node figures and Measured/Priced conditions;
 * any other `mode: local` cluster gets Measured=False and no figures; a remote cluster only AgentConnected (its figures are
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
  if (!ownsLocalNodes(cluster, input.localCluster)) {
    const conditions = [
      // The operator is the agent of the designated local cluster only: no agent acts for this one.
      condition({
        type: CONDITION_AGENT_CONNECTED,
        status: "False",
        reason: NOT_DESIGNATED,
        message: "No agent acts for this cluster: the operator is the agent of the designated local cluster only",
      }),
      condition({
        type: CONDITION_MEASURED,
        status: "False",
        reason: NOT_DESIGNATED,
        message:
          "This ManagedCluster says mode local but is not the installer's designated local cluster (ConfigMap spot-optimizer-local-cluster): the nodes the operator sees are not attributed to it",
      }),
    ];
    return { status: { conditions }, requeueAfterMs: RESYNC_MS };
  }
  const agent = agentConnected(cluster, now.getTime());
  const conditions = [condition(agent.condition)];
  const usage: MeasuredUsage = {
    nodes: input.nodes,
    requested: requestedOn(input.pods, new Set(input.nodes.map((n) => String(n.metadata?.name)))),
    agentReported: false,
  };
  const figures = measuredFigures(input, usage);
  conditions.push(
    condition({
      type: CONDITION_MEASURED,
      status: "True",
      reason: MEASURED_FROM_NODES,
      message: "Figures from the Nodes and Pods of the cluster the operator runs in",
    }),
    condition(pricedCondition(figures)),
    condition(pricesFresh(input, usage)),
  );
  return { status: { ...statusFigures(figures), conditions }, requeueAfterMs: RESYNC_MS };
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
  const reported = remoteUsage(input.snapshot, agent.condition.status === "True");
  const figures = measuredFigures(input, reported.usage);
  conditions.push(
    condition({
      type: CONDITION_MEASURED,
      status: "True",
      reason: "AgentReported",
      message: "Figures from the agent's latest heartbeat snapshot",
    }),
    condition(pricedCondition(figures)),
    condition(pricesFresh(input, reported.usage)),
  );
  return { status: { agent: reported.agent, ...statusFigures(figures), conditions }, requeueAfterMs };
}
