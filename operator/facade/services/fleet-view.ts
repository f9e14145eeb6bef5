// Reads an organisation's clusters out of the FacadeCache: which cluster a request means (cluster_id or the
// active-cluster rule) and each cluster's figures as its ManagedCluster.status holds them.
import type { ManagedCluster } from "../../../src-shared/crds/index.js";
import { findCondition, type Condition } from "../../../src-shared/runtime/conditions.js";
import type { FacadeCache } from "../cache.js";
import { NotFoundError } from "../errors.js";
import { figuresFromStatus, type ClusterFigures, type PlanView } from "../../../src-shared/fleet/fleet-metrics.js";

function createdAt(c: ManagedCluster): string {
  return c.metadata.creationTimestamp ?? "";
}

/** Oldest first (creationTimestamp, ties by name). */
export function clustersByAge(clusters: readonly ManagedCluster[]): ManagedCluster[] {
  return [...clusters].sort(
    (a, b) => createdAt(a).localeCompare(createdAt(b)) || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  );
}

/**
 * The cluster a read means (docs/facade-metrics.md, "Active cluster"): `cluster_id` when given (404 when it is not
 * one of this organisation's clusters), else the caller's context (PATCH /settings/context) when it names one of the
 * organisation's clusters, else the organisation's only cluster, else its oldest (first created, ties by name).
 * 404 when the organisation has no cluster. Writes never fall back like this (services/cluster-target.ts).
 */
export function resolveCluster(
  cache: FacadeCache,
  namespace: string,
  clusterId?: string,
  activeClusterId?: string,
): ManagedCluster {
  if (clusterId !== undefined) {
    const cluster = cache.cluster(namespace, clusterId);
    if (!cluster) throw new NotFoundError(`cluster ${clusterId} not found`);
    return cluster;
  }
  const active = activeClusterId !== undefined ? cache.cluster(namespace, activeClusterId) : undefined;
  if (active) return active;
  const first = clustersByAge(cache.clusters(namespace))[0];
  if (!first) throw new NotFoundError("this organisation has no cluster yet: connect one with POST /clusters/connect");
  return first;
}

/** Clusters a request covers: one when cluster_id is given, else all of the organisation's. */
export function clustersInScope(cache: FacadeCache, namespace: string, clusterId?: string): ManagedCluster[] {
  return clusterId !== undefined ? [resolveCluster(cache, namespace, clusterId)] : cache.clusters(namespace);
}

/**
 * A cluster's figures with why its node counts are unknown (null while they are known), and since when its agent is
 * disconnected (its figures are then its last report), null while connected or not judged.
 */
export type ClusterView = ClusterFigures & { nodesReason: string | null; disconnectedSince: string | null };

/**
 * Why a cluster's node counts are unknown, or null when its status holds them: figuresFromStatus fills an absent count
 * with 0, which must not reach a user as a count.
 */
function nodesReason(cluster: ManagedCluster, figures: ClusterFigures): string | null {
  if (cluster.status?.nodeCount !== undefined) return null;
  // With no count the cost is unknown too, and its reason already says why nothing was reported.
  return figures.costReason ?? "not reported: the cluster's status holds no node count";
}

/** Whether the figures' prices are stale now (null where no price is behind them). */
function staleNow(
  figures: Pick<ClusterView, "pricesStale" | "priceSources" | "pricesAsOf">,
  isStale: ((asOf: string) => boolean) | undefined,
): boolean | null {
  if (figures.pricesStale === null) return null;
  return (
    figures.pricesStale || (figures.priceSources.length > 0 && (isStale?.(figures.pricesAsOf ?? "unknown") ?? false))
  );
}

/**
 * The figures of one cluster, as its ManagedCluster.status holds them: the status controller computes every figure once
 * (docs/controllers.md), the facade only reads them. Price staleness is judged now, from the prices' date: a status
 * written days ago may have been fresh then.
 */
export function clusterFigures(cluster: ManagedCluster, opts: { isStale?: (asOf: string) => boolean }): ClusterView {
  const figures = { ...figuresFromStatus(cluster.status), clusterId: cluster.metadata.name ?? "" };
  const stale = staleNow(figures, opts.isStale);
  const connection = agentConnection(cluster);
  const disconnectedSince = connection?.status === "False" ? (connection.lastTransitionTime ?? "unknown") : null;
  return { ...figures, pricesStale: stale, nodesReason: nodesReason(cluster, figures), disconnectedSince };
}

/** The figures of the organisation's clusters, or of the one `clusterId` names (404 when it is not theirs). */
export function figuresInScope(
  rc: { cache: FacadeCache; namespace: string; isStale?: (asOf: string) => boolean },
  clusterId: string | undefined,
): ClusterView[] {
  return clustersInScope(rc.cache, rc.namespace, clusterId).map((c) => clusterFigures(c, rc));
}

/** A cluster's AgentConnected condition (the status controller's judgement of its agent), if it has one yet. */
export function agentConnection(cluster: ManagedCluster): Condition | undefined {
  return findCondition(cluster.status?.conditions, "AgentConnected");
}

/** A cluster's node figures as a user sees them: null with the reason while unknown, never 0. */
export interface NodeFigures {
  nodeCount: number | null;
  spotNodes: number | null;
  onDemandNodes: number | null;
  nodesReason: string | null;
  spotPercentage: number | null;
  spotPercentageReason: string | null;
}

/** A Spot share of no nodes is no share at all. */
export const NO_NODES = "no nodes";

export const NO_INTERRUPTION_RECORD =
  "Spot interruptions not recorded (a remote cluster's agent reports them with its heartbeats; nothing records a local cluster's yet)";

/** Why a cluster's interruption rate, and with it its fleet health, is null; null when it is known. */
export function interruptionReason(f: ClusterView): string | null {
  if (f.interruptionRate !== null) return null;
  if (f.nodesReason !== null) return f.nodesReason;
  return f.nodeCount === 0 ? NO_NODES : NO_INTERRUPTION_RECORD;
}

/** The node figures of a cluster view (clusterFigures). */
export function nodeFigures(f: ClusterView): NodeFigures {
  if (f.nodesReason !== null) {
    const reason = f.nodesReason;
    return {
      nodeCount: null,
      spotNodes: null,
      onDemandNodes: null,
      nodesReason: reason,
      spotPercentage: null,
      spotPercentageReason: reason,
    };
  }
  const empty = f.nodeCount === 0;
  return {
    nodeCount: f.nodeCount,
    spotNodes: f.spotNodes,
    onDemandNodes: f.onDemandNodes,
    nodesReason: null,
    spotPercentage: empty ? null : f.spotPercentage,
    spotPercentageReason: empty ? NO_NODES : null,
  };
}

/** A cluster's hibernation schedules' projected monthly savings, summed; undefined when none has a figure. */
function hibernationUsdOf(
  cache: Pick<FacadeCache, "hibernationSchedules">,
  cluster: ManagedCluster,
): number | undefined {
  const figures = cache
    .hibernationSchedules(cluster.metadata.namespace ?? "")
    .filter((s) => s.spec.clusterRef.name === cluster.metadata.name)
    .flatMap((s) => (s.status?.projectedMonthlySavingsUsd === undefined ? [] : [s.status.projectedMonthlySavingsUsd]));
  return figures.length === 0 ? undefined : figures.reduce((a, v) => a + v, 0);
}

/** What binPackingSavings needs of one cluster: its figures, its last plan and what its hibernation saves. */
export function binPackingItem(
  cache: Pick<FacadeCache, "hibernationSchedules">,
  cluster: ManagedCluster,
  figures: ClusterFigures,
): { figures: ClusterFigures; plan?: PlanView; hibernationUsd?: number } {
  const hibernationUsd = hibernationUsdOf(cache, cluster);
  return {
    figures,
    ...(cluster.status?.lastPlan ? { plan: cluster.status.lastPlan } : {}),
    ...(hibernationUsd !== undefined ? { hibernationUsd } : {}),
  };
}
