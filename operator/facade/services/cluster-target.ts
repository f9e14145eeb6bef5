// Which cluster a mutating per-cluster request may act on, and the one object per cluster it edits: the facade's
// side of src-shared/tenancy/cluster-target.ts, so a request can never aim a schedule or policy at a cluster the
// organisation does not own (a missing one, or a `mode: local` one that is not the designated local cluster).
import type { ManagedCluster } from "../../../src-shared/crds/index.js";
import {
  localClusterFromConfigMap,
  objectInForce,
  resolveClusterTarget,
  type PerClusterObject,
} from "../../../src-shared/tenancy/cluster-target.js";
import { ConflictError, NotFoundError } from "../errors.js";
import { jsonMergePatch } from "../../../src-shared/kube/merge-patch.js";
import { crRef, type ResourceContext } from "./resource-scope.js";
import { resolveCluster, clustersByAge } from "./fleet-view.js";
import { staleActiveAccountDetail } from "../settings/active-account.js";

const NAMED_CLUSTERS = 10;

/**
 * The cluster a write without cluster_id means: the caller's active account, else the organisation's only cluster.
 * Never a guess: a write changes a cluster, so a chosen cluster that is gone, or several clusters and none chosen, is
 * 409 rather than the oldest cluster (reads may still fall back, see resolveCluster).
 */
function chosenCluster(rc: ResourceContext): ManagedCluster {
  const active = rc.activeClusterId;
  if (active !== undefined) {
    const cluster = rc.cache.cluster(rc.namespace, active);
    if (!cluster) throw new ConflictError(staleActiveAccountDetail(active));
    return cluster;
  }
  const clusters = clustersByAge(rc.cache.clusters(rc.namespace));
  if (clusters.length === 1) return clusters[0]!;
  if (clusters.length === 0)
    throw new NotFoundError("this organisation has no cluster yet: connect one with POST /clusters/connect");
  const names = clusters.slice(0, NAMED_CLUSTERS).map((c) => c.metadata.name ?? "");
  const more = clusters.length > NAMED_CLUSTERS ? ` and ${clusters.length - NAMED_CLUSTERS} more` : "";
  throw new ConflictError(
    `this organisation has ${clusters.length} clusters (${names.join(", ")}${more}) and you have chosen none: ` +
      'choose one with PATCH /settings/context {"account_id": ...} or pass cluster_id',
  );
}

/**
 * The cluster a mutating request acts on (cluster_id, or the caller's choice: chosenCluster), checked like the
 * controllers check it: 404 when it is missing or not the organisation's to act on, 409 while it is being deleted.
 */
export async function targetCluster(rc: ResourceContext, clusterId?: string): Promise<ManagedCluster> {
  const cluster = clusterId !== undefined ? resolveCluster(rc.cache, rc.namespace, clusterId) : chosenCluster(rc);
  const name = cluster.metadata.name ?? "";
  const target = await resolveClusterTarget(
    {
      managedCluster: async (namespace, n) => rc.cache.cluster(namespace, n),
      localCluster: localClusterFromConfigMap((ref) => rc.writer.read(ref), rc.config.systemNamespace),
    },
    { namespace: rc.namespace, clusterName: name },
  );
  if (!target.found) throw new NotFoundError(`cluster ${name} not found`);
  if (target.deleting) throw new ConflictError(`cluster ${name} is being deleted`);
  return cluster;
}

/** Owner reference to the cluster: the object is garbage-collected with it (after the cluster's finalizers ran). */
export function clusterOwnerReference(cluster: ManagedCluster): {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  blockOwnerDeletion: boolean;
} {
  return {
    apiVersion: cluster.apiVersion,
    kind: "ManagedCluster",
    name: cluster.metadata.name ?? "",
    uid: cluster.metadata.uid ?? "",
    blockOwnerDeletion: true,
  };
}

interface Owned {
  metadata: { name?: string; resourceVersion?: string; ownerReferences?: Array<{ uid?: string }> };
}

type Spec = Record<string, unknown>;

/** An edit of the one object of `kind` in force for a cluster (a HibernationSchedule or an OptimizationPolicy). */
export interface PerClusterEdit {
  rc: ResourceContext;
  kind: "HibernationSchedule" | "OptimizationPolicy";
  cluster: ManagedCluster;
  /** The spec a new object starts from (the patch then applies to it). */
  initial: Spec;
  /** RFC 7386 merge patch of the spec, from the spec as the API server holds it now (`null` removes a field). */
  patch: (current: Spec) => Spec;
  /** Checks the spec about to be written (throws a 422 to refuse it). */
  check?: (spec: Spec) => void;
}

/** The cluster's object as the API server holds it now: the one in force in the cache, else one named after it. */
async function liveInForce<T extends PerClusterObject & Owned>(
  edit: PerClusterEdit,
  cached: readonly T[],
): Promise<{ live: T | undefined; nameTaken: boolean }> {
  const { rc, kind, cluster } = edit;
  const clusterName = cluster.metadata.name ?? "";
  const name = objectInForce(cached, clusterName)?.metadata.name ?? clusterName;
  const live = await rc.writer.read<T>(crRef(kind, rc.namespace, name));
  if (live?.spec?.clusterRef?.name === clusterName) return { live, nameTaken: false };
  return { live: undefined, nameTaken: live !== undefined || cached.some((o) => o.metadata.name === clusterName) };
}

/** Merge-patches the live object's spec, only if it is still at the resourceVersion just read. */
async function patchLive<T extends PerClusterObject & Owned>(edit: PerClusterEdit, live: T): Promise<T> {
  const { rc, kind, cluster } = edit;
  const current = (live.spec ?? {}) as Spec;
  const patch = edit.patch(current);
  edit.check?.(jsonMergePatch(current, patch) as Spec);
  const refs = live.metadata.ownerReferences ?? [];
  const owned = refs.some((r) => r.uid === cluster.metadata.uid);
  // A kubectl-made object gains the cluster's owner reference.
  const metadata = owned ? {} : { metadata: { ownerReferences: [...refs, clusterOwnerReference(cluster)] } };
  return rc.writer.swap<T>({
    ref: crRef(kind, rc.namespace, live.metadata.name ?? ""),
    resourceVersion: live.metadata.resourceVersion,
    patch: { ...metadata, spec: patch },
  });
}

/** Creates the cluster's object: named after the cluster, or `<cluster>-<random>` when another cluster's has the name. */
async function createForCluster<T extends PerClusterObject & Owned>(
  edit: PerClusterEdit,
  nameTaken: boolean,
): Promise<T> {
  const { rc, kind, cluster } = edit;
  const clusterName = cluster.metadata.name ?? "";
  const spec = jsonMergePatch(edit.initial, edit.patch(edit.initial)) as Spec;
  edit.check?.(spec);
  return rc.writer.create({
    apiVersion: cluster.apiVersion,
    kind,
    metadata: {
      ...(nameTaken ? { generateName: `${clusterName.slice(0, 200)}-` } : { name: clusterName }),
      namespace: rc.namespace,
      ownerReferences: [clusterOwnerReference(cluster)],
    },
    spec,
  } as unknown as T);
}

const EDIT_ATTEMPTS = 20;

/**
 * Edits the one object of `kind` in force for the cluster (oldest naming it), or creates it, owned by the cluster.
 * Read-modify-write against the API server: a write made meanwhile by another replica (a create of the same name, an
 * edit since the read) answers 409 and the edit is made again on top of it, so concurrent edits all land and a
 * cluster that has an object never gets a second one.
 */
export async function editPerClusterObject<T extends PerClusterObject & Owned>(
  edit: PerClusterEdit,
  cached: () => readonly T[],
): Promise<{ before?: T; after: T }> {
  for (let attempt = 1; ; attempt++) {
    const { live, nameTaken } = await liveInForce(edit, cached());
    try {
      if (live) return { before: live, after: await patchLive(edit, live) };
      return { after: await createForCluster(edit, nameTaken) };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= EDIT_ATTEMPTS) throw err;
    }
  }
}
