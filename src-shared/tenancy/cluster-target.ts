// Which cluster a per-cluster object (schedule, template, policy, experiment, action) may act on: one rule for every
// controller and the facade, so no path can fall back to the cluster the operator runs in.
//
// A per-cluster object names its ManagedCluster by `spec.clusterRef.name` in its own namespace (one organisation =
// one namespace, so that cluster is the organisation's). A `mode: local` ManagedCluster stands for the cluster the
// operator runs in; exactly one, named by the installer in the system namespace's ConfigMap
// `spot-optimizer-local-cluster` (keys `namespace`, `name`), is that cluster. Any other `mode: local` object is
// foreign: a tenant cannot claim the shared cluster by creating one.

import type { KubeObject } from "../kube/client.js";
import { objectKey } from "../runtime/keys.js";

/** The ConfigMap in the system namespace naming the one ManagedCluster that is the local cluster. */
export const LOCAL_CLUSTER_CONFIGMAP = "spot-optimizer-local-cluster";
/** The namespace of the operator, the facade's users and the installer's settings (SPOTOPT_SYSTEM_NAMESPACE). */
export const DEFAULT_SYSTEM_NAMESPACE = "spot-optimizer-system";
/** Label of every organisation namespace (set at signup). */
export const ORGANISATION_LABEL = "spotoptimizer.io/organisation";

export interface LocalClusterRef {
  namespace: string;
  name: string;
}

/** The parts of a ManagedCluster the rule reads. */
export interface ManagedClusterLike {
  metadata?: { name?: string; namespace?: string; uid?: string; deletionTimestamp?: string; finalizers?: string[] };
  spec?: { mode?: string; workloadNamespaces?: string[] } & Record<string, unknown>;
}

/** How the caller reads: informer caches in controllers, the facade's cache or live reads elsewhere. */
export interface ClusterLookup {
  managedCluster(namespace: string, name: string): Promise<ManagedClusterLike | undefined>;
  /** The installer's designation of the local cluster; undefined when none is configured. */
  localCluster(): Promise<LocalClusterRef | undefined>;
}

export type ClusterTarget =
  | { found: true; name: string; cluster: ManagedClusterLike; mode: "local" | "remote"; deleting: boolean }
  | { found: false; reason: "ClusterNotFound"; message: string };

/** Condition reason for a per-cluster object whose cluster is missing, foreign or not this organisation's. */
export const CLUSTER_NOT_FOUND = "ClusterNotFound";

function notFound(message: string): ClusterTarget {
  return { found: false, reason: CLUSTER_NOT_FOUND, message };
}

/**
 * Resolves the cluster an object in `namespace` names. Never falls back: a missing name, a missing ManagedCluster or
 * a `mode: local` ManagedCluster other than the designated one is ClusterNotFound. The message names only the
 * caller's own object, never where the local cluster lives.
 */
export async function resolveClusterTarget(
  lookup: ClusterLookup,
  ref: { namespace: string; clusterName: unknown },
): Promise<ClusterTarget> {
  const { namespace, clusterName } = ref;
  if (typeof clusterName !== "string" || clusterName === "")
    return notFound("spec.clusterRef.name names no ManagedCluster");
  const cluster = await lookup.managedCluster(namespace, clusterName);
  if (!cluster) return notFound(`ManagedCluster ${clusterName} does not exist in namespace ${namespace}`);
  const mode = cluster.spec?.mode === "remote" ? "remote" : "local";
  if (mode === "local" && !(await isDesignatedLocal(lookup, { namespace, name: clusterName })))
    return notFound(
      `ManagedCluster ${clusterName} says mode local, but the local cluster belongs to another organisation or to none`,
    );
  return { found: true, name: clusterName, cluster, mode, deleting: cluster.metadata?.deletionTimestamp !== undefined };
}

async function isDesignatedLocal(lookup: ClusterLookup, ref: LocalClusterRef): Promise<boolean> {
  const local = await lookup.localCluster();
  return local !== undefined && local.namespace === ref.namespace && local.name === ref.name;
}

/** Reads the designation from its ConfigMap (`read` returns undefined for 404); incomplete data designates nothing. */
export function localClusterFromConfigMap(
  read: (ref: { apiVersion: "v1"; kind: "ConfigMap"; namespace: string; name: string }) => Promise<unknown>,
  systemNamespace: string = DEFAULT_SYSTEM_NAMESPACE,
): () => Promise<LocalClusterRef | undefined> {
  return async () => {
    const cm = (await read({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: systemNamespace,
      name: LOCAL_CLUSTER_CONFIGMAP,
    })) as { data?: Record<string, string> } | undefined;
    const namespace = cm?.data?.namespace;
    const name = cm?.data?.name;
    return namespace && name ? { namespace, name } : undefined;
  };
}

/** The ConfigMap an installer (local mode's seed, the chart) writes to make one organisation's cluster the local one. */
export function localClusterConfigMap(
  ref: LocalClusterRef,
  systemNamespace: string = DEFAULT_SYSTEM_NAMESPACE,
): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: LOCAL_CLUSTER_CONFIGMAP,
      namespace: systemNamespace,
      labels: { "app.kubernetes.io/managed-by": "spot-optimizer" },
    },
    data: { namespace: ref.namespace, name: ref.name },
  };
}

/**
 * Namespaces of the local cluster a schedule of `ownerNamespace` may scale: those its ManagedCluster declares in
 * `spec.workloadNamespaces` (all when it declares none), never another organisation's namespace.
 */
export function workloadNamespaceScope(input: {
  cluster: ManagedClusterLike;
  ownerNamespace: string;
  organisationNamespaces: ReadonlySet<string>;
}): (namespace: string) => boolean {
  const declared = input.cluster.spec?.workloadNamespaces;
  const allowed = Array.isArray(declared) ? new Set(declared) : undefined;
  return (namespace) => {
    if (namespace !== input.ownerNamespace && input.organisationNamespaces.has(namespace)) return false;
    return allowed === undefined || allowed.has(namespace);
  };
}

/** The parts of a per-cluster object (schedule, policy, …) the one-in-force rule reads. */
export interface PerClusterObject {
  metadata?: { name?: string; creationTimestamp?: string; deletionTimestamp?: string };
  spec?: { clusterRef?: { name?: unknown } };
}

/**
 * Of the objects naming `clusterName` (and not being deleted), the one in force: the oldest by creationTimestamp,
 * then name. Kinds that allow one per cluster (HibernationSchedule, OptimizationPolicy) act only through it.
 */
export function objectInForce<T extends PerClusterObject>(objects: readonly T[], clusterName: string): T | undefined {
  const order = (o: T): string => `${o.metadata?.creationTimestamp ?? ""}\u0000${o.metadata?.name ?? ""}`;
  return objects
    .filter((o) => o.metadata?.deletionTimestamp === undefined && o.spec?.clusterRef?.name === clusterName)
    .sort((a, b) => order(a).localeCompare(order(b)))[0];
}

/** The cluster a per-cluster object names (`spec.clusterRef.name`), when it names one. */
export function clusterRefName(object: unknown): string | undefined {
  const name = (object as { spec?: { clusterRef?: { name?: unknown } } } | undefined)?.spec?.clusterRef?.name;
  return typeof name === "string" ? name : undefined;
}

/**
 * The work-queue keys of those of `objects` (one kind, read from one namespace) that name `clusterName`: what a change
 * of that cluster, or of something reported for it, re-queues.
 */
export function keysNamingCluster(
  objects: ReadonlyArray<KubeObject & PerClusterObject>,
  clusterName: string | undefined,
): string[] {
  return objects.filter((o) => o.spec?.clusterRef?.name === clusterName).map((o) => objectKey(o));
}
