// Deletes the agent objects of the release namespace (token-hash Secrets, heartbeat snapshots, liveness Leases) whose
// ManagedCluster is gone or was made again under the same name: they cannot carry an owner reference across
// namespaces, so no garbage collector removes them with their cluster.
import { agentObjectOwner, CLUSTER_UID_LABEL } from "../../../src-shared/agent/placement.js";
import { AGENT_LEASE_LABEL, SNAPSHOT_LABEL } from "../../../src-shared/agent/snapshot.js";
import { API_VERSION } from "../../../src-shared/crds/index.js";
import type { KubeClient, KubeObject } from "../../../src-shared/kube/client.js";
import { AGENT_TOKEN_LABEL, type FacadeCache } from "../cache.js";

/** The kinds of agent object, as the sweep lists them in the release namespace. */
export const AGENT_OBJECT_KINDS = [
  { apiVersion: "v1", kind: "Secret", labelSelector: `${AGENT_TOKEN_LABEL}=true` },
  { apiVersion: "v1", kind: "ConfigMap", labelSelector: `${SNAPSHOT_LABEL}=true` },
  { apiVersion: "coordination.k8s.io/v1", kind: "Lease", labelSelector: `${AGENT_LEASE_LABEL}=true` },
] as const;

/** An object younger than this is kept whatever the cache says: its cluster may be too new for the cache to hold. */
export const AGENT_OBJECT_GRACE_MS = 10 * 60_000;

export interface AgentObjectSweepOptions {
  client: KubeClient;
  cache: Pick<FacadeCache, "cluster" | "hasSynced">;
  releaseNamespace: string;
  now: () => Date;
  graceMs?: number;
}

/** Whether the cluster the object names is gone (or another one now has its name), as a cluster object shows it. */
function outlived(object: KubeObject, cluster: KubeObject | undefined): boolean {
  if (!cluster) return true;
  const uid = object.metadata?.labels?.[CLUSTER_UID_LABEL];
  return uid !== undefined && uid !== cluster.metadata?.uid;
}

/** From the cache: an object old enough to judge, labelled for a cluster that the cache no longer holds as such. */
function looksOrphaned(object: KubeObject, opts: AgentObjectSweepOptions): boolean {
  const createdMs = Date.parse(object.metadata?.creationTimestamp ?? "");
  if (!Number.isFinite(createdMs) || opts.now().getTime() - createdMs < (opts.graceMs ?? AGENT_OBJECT_GRACE_MS))
    return false;
  const owner = agentObjectOwner(object);
  // Without both labels it is not one of ours to judge.
  if (!owner) return false;
  return outlived(object, opts.cache.cluster(owner.namespace, owner.cluster) as KubeObject | undefined);
}

/** Confirmed with a live read of the cluster, then deleted only as it was listed (a rewrite since keeps it). */
async function deleteIfOrphaned(
  opts: AgentObjectSweepOptions,
  ref: { apiVersion: string; kind: string; labelSelector?: string },
  object: KubeObject,
): Promise<boolean> {
  const owner = agentObjectOwner(object)!;
  const live = await opts.client.getIfExists({
    apiVersion: API_VERSION,
    kind: "ManagedCluster",
    namespace: owner.namespace,
    name: owner.cluster,
  });
  if (!outlived(object, live)) return false;
  return opts.client.delete(
    { apiVersion: ref.apiVersion, kind: ref.kind, namespace: opts.releaseNamespace, name: object.metadata?.name ?? "" },
    { preconditions: { resourceVersion: object.metadata?.resourceVersion ?? "" } },
  );
}

/** One pass over the three kinds; returns how many objects it deleted. Nothing happens before the cache synced. */
export async function sweepAgentObjects(opts: AgentObjectSweepOptions): Promise<number> {
  if (!opts.cache.hasSynced()) return 0;
  let deleted = 0;
  for (const ref of AGENT_OBJECT_KINDS) {
    const { labelSelector, ...kind } = ref;
    const { items } = await opts.client.listAll({ ...kind, namespace: opts.releaseNamespace }, { labelSelector });
    for (const object of items.filter((o) => looksOrphaned(o, opts)))
      if (await deleteIfOrphaned(opts, ref, object)) deleted++;
  }
  return deleted;
}
