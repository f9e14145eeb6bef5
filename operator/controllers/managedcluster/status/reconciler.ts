// ManagedCluster status reconciler: reads the caches, builds the status with desired.ts, applies it only when it changed.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { KubeClient, KubeObject } from "../../../../src-shared/kube/index.js";
import {
  isApplied,
  splitKey,
  type Condition,
  type Informer,
  type ReconcileResult,
} from "../../../../src-shared/runtime/index.js";
import type { RegionPrices } from "../../../../src-shared/pricing/region-prices.js";
import {
  agentLeaseOf,
  parseSnapshot,
  snapshotOf,
  type ClusterSnapshot,
  type LeaseView,
} from "../../../../src-shared/agent/snapshot.js";
import type { LocalClusterRef } from "../../../../src-shared/tenancy/cluster-target.js";
import {
  OWNED_CONDITIONS,
  desiredClusterStatus,
  type AuditView,
  type ClusterView,
  type DesiredClusterStatus,
} from "./desired.js";

/** This controller's own field manager: what it stops sending is removed by the server, and no one else's fields. */
export const MANAGEDCLUSTER_FIELD_MANAGER = "spot-optimizer-managedcluster";
const API_VERSION = "spotoptimizer.io/v1alpha1";

export interface ManagedClusterReconcilerOptions {
  client: KubeClient;
  clusters: Informer;
  nodes: Informer;
  pods: Informer;
  auditEntries: Informer;
  prices: RegionPrices;
  priceMaxAgeMs?: number;
  now?: () => Date;
  /** The installer's designation of the local cluster: only it is measured from the Nodes the operator sees. */
  localCluster: () => Promise<LocalClusterRef | undefined>;
  /** The facade's per-cluster heartbeat snapshot ConfigMaps and liveness Leases (remote clusters). */
  snapshots?: Informer;
  leases?: Informer;
  /** Where those live (the release namespace); default DEFAULT_SYSTEM_NAMESPACE. */
  releaseNamespace?: string | undefined;
}

type ClusterObject = KubeObject & ClusterView;

/**
 * The conditions as they would be after the apply: ours replaced or added in place, ours that are no longer desired
 * dropped, everyone else's kept. Comparing this full list keeps the no-op check exact even when other managers own
 * conditions of the same object.
 */
function conditionsAfterApply(current: readonly Condition[] | undefined, desired: readonly Condition[]): Condition[] {
  const owned = new Set<string>(OWNED_CONDITIONS);
  const byType = new Map(desired.map((c) => [c.type, c]));
  const kept = (current ?? [])
    .filter((c) => !owned.has(c.type) || byType.has(c.type))
    .map((c) => byType.get(c.type) ?? c);
  const added = desired.filter((c) => !(current ?? []).some((x) => x.type === c.type));
  return [...kept, ...added];
}

function statusBody(cluster: ClusterObject, status: DesiredClusterStatus): KubeObject & { status: unknown } {
  return {
    apiVersion: API_VERSION,
    kind: "ManagedCluster",
    metadata: { name: cluster.metadata.name, namespace: cluster.metadata.namespace },
    status,
  };
}

function remoteInputs(
  options: ManagedClusterReconcilerOptions,
  cluster: ClusterObject,
): { snapshot?: ClusterSnapshot; lease?: LeaseView } {
  const { namespace = "", name = "", uid } = cluster.metadata ?? {};
  const where = { releaseNamespace: options.releaseNamespace, namespace, cluster: name, uid };
  const snapshot = parseSnapshot(snapshotOf(options.snapshots, where) as never);
  const lease = agentLeaseOf(options.leases, where) as LeaseView | undefined;
  return { ...(snapshot ? { snapshot } : {}), ...(lease ? { lease } : {}) };
}

/** Returns `reconcile(key)` for the manager; a throw retries the key with backoff. */
export function createManagedClusterReconciler(
  options: ManagedClusterReconcilerOptions,
): (key: string) => Promise<ReconcileResult> {
  const now = options.now ?? ((): Date => new Date());
  return async (key) => {
    const { namespace = "", name } = splitKey(key);
    const cluster = options.clusters.getByKey(key) as ClusterObject | undefined;
    if (!cluster) return {};
    const plan = desiredClusterStatus({
      cluster,
      localCluster: (cluster.spec?.mode ?? "local") === "local" ? await options.localCluster() : undefined,
      nodes: options.nodes.list() as unknown as V1Node[],
      pods: options.pods.list() as unknown as V1Pod[],
      auditEntries: options.auditEntries.list({ namespace }) as unknown as AuditView[],
      prices: options.prices,
      ...(options.priceMaxAgeMs !== undefined ? { priceMaxAgeMs: options.priceMaxAgeMs } : {}),
      now: now(),
      ...remoteInputs(options, cluster),
    });
    const expected = statusBody(cluster, {
      ...plan.status,
      conditions: conditionsAfterApply(cluster.status?.conditions, plan.status.conditions),
    });
    if (!isApplied(expected, cluster, { fieldManager: MANAGEDCLUSTER_FIELD_MANAGER, subresource: "status" })) {
      await options.client.patch(
        { apiVersion: API_VERSION, kind: "ManagedCluster", namespace, name },
        statusBody(cluster, plan.status),
        { type: "apply", fieldManager: MANAGEDCLUSTER_FIELD_MANAGER, force: true, subresource: "status" },
      );
    }
    return { requeueAfterMs: plan.requeueAfterMs };
  };
}
