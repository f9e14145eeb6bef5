// Reads an organisation's clusters out of the FacadeCache and turns them into fleet figures: which cluster a request
// means (cluster_id or the active-cluster rule) and which nodes belong to which cluster.
import type { ManagedCluster } from "../../../src-shared/crds/index.js";
import type { FacadeCache } from "../cache.js";
import { NotFoundError } from "../errors.js";
import {
  figuresFromStatus,
  figuresFromUsage,
  ownsLocalNodes,
  recordedInterruptions,
  nodeFacts,
  requestedOn,
  type ClusterFigures,
  type PriceBook,
} from "../../../src-shared/fleet/fleet-metrics.js";

function createdAt(c: ManagedCluster): string {
  return c.metadata.creationTimestamp ?? "";
}

/**
 * The cluster a request acts on (docs/facade-metrics.md, "Active cluster"): `cluster_id` when given (404 when it is
 * not one of this organisation's clusters), else the caller's context (PATCH /settings/context) when it names one of
 * the organisation's clusters, else the organisation's only cluster, else its oldest (first created, ties by name).
 * 404 when the organisation has no cluster.
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
  const clusters = [...cache.clusters(namespace)].sort(
    (a, b) => createdAt(a).localeCompare(createdAt(b)) || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  );
  const first = clusters[0];
  if (!first) throw new NotFoundError("this organisation has no cluster yet: connect one with POST /clusters/connect");
  return first;
}

/** Clusters a request covers: one when cluster_id is given, else all of the organisation's. */
export function clustersInScope(cache: FacadeCache, namespace: string, clusterId?: string): ManagedCluster[] {
  return clusterId !== undefined ? [resolveCluster(cache, namespace, clusterId)] : cache.clusters(namespace);
}

/** Whether the cached Nodes are this cluster's (the rule is `ownsLocalNodes` in fleet-metrics.ts). */
function ownsCachedNodes(cache: FacadeCache, cluster: ManagedCluster): boolean {
  return ownsLocalNodes(cluster, cache.localCluster());
}

/** The figures of one cluster: measured from nodes and pods when the facade can see them, else as its status reports. */
export function clusterFigures(
  cache: FacadeCache,
  cluster: ManagedCluster,
  opts: {
    now: Date;
    priceBookFor?: (region: string | undefined) => PriceBook | undefined;
    isStale?: (asOf: string | null | undefined) => boolean;
  },
): ClusterFigures {
  const figures = measured(cache, cluster, opts);
  // A status written days ago may have been fresh then: staleness is judged now, from the prices' date.
  const stale =
    figures.pricesStale ||
    (figures.priceSources.length > 0 && (opts.isStale?.(figures.pricesAsOf ?? "unknown") ?? false));
  return { ...figures, pricesStale: stale };
}

function measured(
  cache: FacadeCache,
  cluster: ManagedCluster,
  opts: {
    now: Date;
    priceBookFor?: (region: string | undefined) => PriceBook | undefined;
    isStale?: (asOf: string | null | undefined) => boolean;
  },
): ClusterFigures {
  const clusterId = cluster.metadata.name ?? "";
  if (!ownsCachedNodes(cache, cluster)) return { ...figuresFromStatus(cluster.status), clusterId };
  const book = opts.priceBookFor?.(cluster.spec.region);
  const nodes = cache.nodes().map((n) => nodeFacts(n, book));
  const requested = requestedOn(cache.pods(), new Set(nodes.map((n) => n.name)));
  const figures = figuresFromUsage({
    nodes,
    requestedMillicores: requested.millicores,
    requestedMiB: requested.mib,
    interruptions7d: recordedInterruptions({
      entries: cache.auditEntries(cluster.metadata.namespace ?? ""),
      clusterName: clusterId,
      nowMs: opts.now.getTime(),
    }),
    ...(book ? {} : { noPricesReason: noBookReason(cluster.spec.region) }),
    ...(opts.isStale ? { isStale: opts.isStale } : {}),
  });
  return { ...withReportedCost(figures, cluster, book !== undefined), clusterId };
}

/** Without a price book the facade cannot price nodes itself; the controller's figure (if any) is the honest one. */
function withReportedCost(figures: ClusterFigures, cluster: ManagedCluster, hasBook: boolean): ClusterFigures {
  if (figures.monthlyCostUsd !== null || hasBook || cluster.status?.monthlyCostUsd === undefined) return figures;
  const reported = figuresFromStatus(cluster.status);
  return {
    ...figures,
    monthlyCostUsd: reported.monthlyCostUsd,
    baselineMonthlyUsd: reported.baselineMonthlyUsd,
    unpricedNodes: 0,
    costReason: null,
    priceSources: reported.priceSources,
    pricesAsOf: reported.pricesAsOf,
    pricesStale: reported.pricesStale,
  };
}

function noBookReason(region: string | undefined): string {
  return region === undefined ? "the cluster has no spec.region" : `no prices for region ${region}`;
}
