// Reads an organisation's clusters out of the FacadeCache: which cluster a request means (cluster_id or the
// active-cluster rule) and each cluster's figures as its ManagedCluster.status holds them.
import type { ManagedCluster } from "../../../src-shared/crds/index.js";
import type { FacadeCache } from "../cache.js";
import { NotFoundError } from "../errors.js";
import { figuresFromStatus, type ClusterFigures } from "../../../src-shared/fleet/fleet-metrics.js";

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

/**
 * The figures of one cluster, as its ManagedCluster.status holds them: the status controller computes every figure once
 * (docs/controllers.md), the facade only reads them. Price staleness is judged now, from the prices' date: a status
 * written days ago may have been fresh then.
 */
export function clusterFigures(cluster: ManagedCluster, opts: { isStale?: (asOf: string) => boolean }): ClusterFigures {
  const figures = { ...figuresFromStatus(cluster.status), clusterId: cluster.metadata.name ?? "" };
  const stale =
    figures.pricesStale ||
    (figures.priceSources.length > 0 && (opts.isStale?.(figures.pricesAsOf ?? "unknown") ?? false));
  return { ...figures, pricesStale: stale };
}
