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
import type { ResourceContext } from "../routes/shared.js";
import { crRef } from "../routes/shared.js";
import { resolveCluster } from "./fleet-view.js";

/**
 * The cluster a mutating request acts on (cluster_id, or the active-cluster rule), checked like the controllers
 * check it: 404 when it is missing or not the organisation's to act on, 409 while it is being deleted.
 */
export async function targetCluster(rc: ResourceContext, clusterId?: string): Promise<ManagedCluster> {
  const cluster = resolveCluster(rc.cache, rc.namespace, clusterId, rc.activeClusterId);
  const name = cluster.metadata.name ?? "";
  const target = await resolveClusterTarget(
    {
      managedCluster: async (namespace, n) => rc.cache.cluster(namespace, n),
      localCluster: localClusterFromConfigMap((ref) => rc.writer.read(ref), rc.deps.config.systemNamespace),
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
  metadata: { name?: string; ownerReferences?: Array<{ uid?: string }> };
}

interface UpsertInput<T> {
  rc: ResourceContext;
  kind: "HibernationSchedule" | "OptimizationPolicy";
  cluster: ManagedCluster;
  existing: readonly T[];
  create: Record<string, unknown>;
  patch: Record<string, unknown>;
}

/** Patches the object in force; a kubectl-made one without the cluster's owner reference gains it. */
async function editInForce<T extends PerClusterObject & Owned>(input: UpsertInput<T>, current: T): Promise<T> {
  const { rc, kind, cluster, patch } = input;
  const refs = current.metadata.ownerReferences ?? [];
  const owned = refs.some((r) => r.uid === cluster.metadata.uid);
  const metadata = owned ? {} : { metadata: { ownerReferences: [...refs, clusterOwnerReference(cluster)] } };
  return rc.writer.mergePatch<T>(crRef(kind, rc.namespace, current.metadata.name ?? ""), { ...metadata, spec: patch });
}

/**
 * Edits the one object of `kind` in force for the cluster (oldest naming it), or creates it (named after the
 * cluster, or `<cluster>-<random>` when that name is taken by an object for another cluster), owned by the cluster.
 * Never creates a second object for a cluster that has one.
 */
export async function upsertPerClusterObject<T extends PerClusterObject & Owned>(
  input: UpsertInput<T>,
): Promise<{ before?: T; after: T }> {
  const { rc, kind, cluster, existing } = input;
  const clusterName = cluster.metadata.name ?? "";
  const before = objectInForce(existing, clusterName);
  if (before) return { before, after: await editInForce(input, before) };
  const nameTaken = existing.some((o) => o.metadata.name === clusterName);
  const manifest = {
    apiVersion: cluster.apiVersion,
    kind,
    metadata: {
      ...(nameTaken ? { generateName: `${clusterName.slice(0, 200)}-` } : { name: clusterName }),
      namespace: rc.namespace,
      ownerReferences: [clusterOwnerReference(cluster)],
    },
    spec: input.create,
  };
  try {
    return { after: await rc.writer.create(manifest as unknown as T) };
  } catch (err) {
    // Created meanwhile by another replica or kubectl: edit it if it is this cluster's, else report the clash.
    if (!(err instanceof ConflictError)) throw err;
    const live = await rc.writer.read<T>(crRef(kind, rc.namespace, clusterName));
    if (live?.spec?.clusterRef?.name !== clusterName) throw err;
    return { before: live, after: await editInForce(input, live) };
  }
}
