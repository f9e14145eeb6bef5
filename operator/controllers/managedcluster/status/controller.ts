// Wires the ManagedCluster status reconciler into the controller manager: clusters, plus the Nodes and Pods it measures.
import type { KubeClient, KubeObject } from "../../../../src-shared/kube/index.js";
import { agentLeaseRef, snapshotRef } from "../../../../src-shared/agent/snapshot.js";
import { agentObjectClusterKeys } from "../../../../src-shared/agent/placement.js";
import {
  objectKey,
  type ControllerManager,
  type Informer,
  type KindRef,
} from "../../../../src-shared/runtime/index.js";
import { resourceNamesCluster } from "../../../../src-shared/fleet/fleet-metrics.js";
import { priceMaxAgeMs } from "../../../../src-shared/pricing/freshness.js";
import { snapshotRegionPrices, type RegionPrices } from "../../../../src-shared/pricing/region-prices.js";
import type { ClusterView } from "./desired.js";
import { cachedDesignation, localClusterDesignation } from "../../../../src-shared/karpenter/labels.js";
import { createManagedClusterReconciler } from "./reconciler.js";
import { priceBookConfigMaps } from "../../../../src-shared/pricing/operator-prices.js";
import { AUDIT_ENTRY, MANAGED_CLUSTER } from "../../../../src-shared/crds/refs.js";

export interface ManagedClusterControllerOptions {
  manager: ControllerManager;
  client: KubeClient;
  /** Price books by region (the operator passes its price book); default: the shipped price snapshot. */
  prices?: RegionPrices;
  /** Prices older than this are flagged stale; default SPOTOPT_PRICE_MAX_AGE_HOURS (a week). */
  priceMaxAgeMs?: number;
  /** Where the installer's local-cluster designation lives (SPOTOPT_SYSTEM_NAMESPACE). */
  systemNamespace?: string;
  now?: () => Date;
}

const NODE: KindRef = { apiVersion: "v1", kind: "Node" };
const POD: KindRef = { apiVersion: "v1", kind: "Pod" };

/** An interruption entry re-reconciles the clusters of its namespace it names, so the figures follow it at once. */
function interruptedClusterKeys(clusters: Informer, object: KubeObject): string[] {
  const entry = object as KubeObject & { spec?: { event?: string; resource?: string } };
  if (!/interrupt/i.test(entry.spec?.event ?? "")) return [];
  const namespace = object.metadata?.namespace ?? "";
  return clusters
    .list({ namespace })
    .filter((c) => resourceNamesCluster(entry.spec?.resource ?? "", c.metadata?.name ?? ""))
    .map((c) => objectKey(c));
}

/**
 * Registers the `managedcluster` controller. A Node or Pod change enqueues every local ManagedCluster (normally one):
 * only those can own the nodes, and the reconcile decides whether one does. An interruption entry enqueues the cluster
 * it names; heartbeat age and the 7-day window moving on are picked up by the periodic requeue.
 */
export function registerManagedClusterController(options: ManagedClusterControllerOptions): void {
  const { manager, client } = options;
  const clusters = manager.informer(MANAGED_CLUSTER);
  // Only the facade's heartbeat snapshots and agent Leases, in the release namespace: not every ConfigMap and Lease.
  const snapshots: KindRef = snapshotRef(options.systemNamespace);
  const localClusterKeys = (): string[] =>
    clusters
      .list()
      .filter((c) => ((c as unknown as ClusterView).spec?.mode ?? "local") === "local")
      .map((c) => objectKey(c));
  manager.addController({
    name: "managedcluster",
    forKind: MANAGED_CLUSTER,
    watches: [
      // A local cluster appearing, going or changing mode changes which one (if any) owns the nodes.
      { ...MANAGED_CLUSTER, mapToKeys: localClusterKeys },
      { ...NODE, mapToKeys: localClusterKeys },
      { ...POD, mapToKeys: localClusterKeys },
      // A snapshot write (at most once a minute per cluster) re-reconciles its cluster; Lease renewals do not.
      { ...snapshots, mapToKeys: agentObjectClusterKeys },
      { ...AUDIT_ENTRY, mapToKeys: (entry) => interruptedClusterKeys(clusters, entry) },
      // A new designation decides again which local cluster owns the nodes.
      { ...localClusterDesignation(options.systemNamespace), mapToKeys: localClusterKeys },
      // A refreshed price book re-prices every cluster (PricesFresh, figures) at once, not at the next resync.
      { ...priceBookConfigMaps(options.systemNamespace), mapToKeys: () => clusters.keys() },
    ],
    reconcile: createManagedClusterReconciler({
      client,
      clusters,
      nodes: manager.informer(NODE),
      pods: manager.informer(POD),
      auditEntries: manager.informer(AUDIT_ENTRY),
      prices: options.prices ?? snapshotRegionPrices(),
      priceMaxAgeMs: options.priceMaxAgeMs ?? priceMaxAgeMs(),
      localCluster: cachedDesignation(
        manager.informer(localClusterDesignation(options.systemNamespace)),
        options.systemNamespace,
      ),
      now: options.now,
      snapshots: manager.informer(snapshots),
      leases: manager.informer(agentLeaseRef(options.systemNamespace)),
      releaseNamespace: options.systemNamespace,
    }),
    concurrency: 1,
  });
}
