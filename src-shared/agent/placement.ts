// Where each cluster's agent objects live (its token-hash Secret, heartbeat snapshot ConfigMap and liveness Lease): the
// release namespace, so the facade needs no Secret or write access in organisation namespaces. Names derive from the
// organisation namespace and the cluster; labels and annotations name both, and a reader takes an object only when they
// name the organisation and cluster it looks for.
import { createHash } from "node:crypto";
import { ownerMarks } from "./action-owner.js";
import { labelValue } from "../karpenter/labels.js";

/** The organisation namespace a per-cluster agent object belongs to (label and annotation). */
export const ORGANISATION_LABEL = "spotoptimizer.io/organisation-namespace";
/**
 * The ManagedCluster (in that namespace) it belongs to: a name reaches 253 characters and a label value 63, so the label
 * holds its `labelValue` and the annotation of the same key its full name.
 */
export const CLUSTER_LABEL = "spotoptimizer.io/cluster";
/** The uid of that ManagedCluster: a cluster deleted and made again under the same name is another cluster. */
export const CLUSTER_UID_LABEL = "spotoptimizer.io/cluster-uid";

/** The name suffix of a cluster's agent-token Secret. */
export const AGENT_TOKEN_SUFFIX = "agent-token";

/** What an object name may hold (a DNS subdomain). */
const MAX_NAME_LENGTH = 253;

/** The owner of an agent object, as its labels and annotations say. */
export interface AgentObjectOwner {
  namespace: string;
  cluster: string;
}

interface Labelled {
  metadata?:
    | {
        labels?: Record<string, string> | undefined;
        annotations?: Record<string, string> | undefined;
        name?: string | undefined;
      }
    | undefined;
}

/**
 * `<namespace>.<cluster>-<suffix>`: unique because a namespace name holds no dot. When that is longer than a name may
 * be, the cluster part is a digest of both, still unique in practice and still starting with the namespace.
 */
export function agentObjectName(namespace: string, cluster: string, suffix: string): string {
  const readable = `${namespace}.${cluster}-${suffix}`;
  if (readable.length <= MAX_NAME_LENGTH) return readable;
  const digest = createHash("sha256").update(`${namespace}/${cluster}`).digest("hex").slice(0, 40);
  return `${namespace}.${digest}-${suffix}`;
}

/**
 * The labels (to select by, each a valid label value) and annotations (the full names) every agent object carries;
 * `uid` when the writer knows the cluster's.
 */
export function agentObjectMarks(owner: AgentObjectOwner & { uid?: string | undefined }): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  const organisation = ownerMarks(ORGANISATION_LABEL, owner.namespace);
  const cluster = ownerMarks(CLUSTER_LABEL, owner.cluster);
  return {
    labels: { ...organisation.labels, ...cluster.labels, ...(owner.uid ? { [CLUSTER_UID_LABEL]: owner.uid } : {}) },
    annotations: { ...organisation.annotations, ...cluster.annotations },
  };
}

/**
 * The full name an agent object gives under `key`: its annotation, else its label (as written before the annotation
 * was); only when the label stands for that name, so an object whose label and annotation disagree names nobody.
 */
export function markedName(object: Labelled | undefined, key: string): string | undefined {
  const label = object?.metadata?.labels?.[key];
  const name = object?.metadata?.annotations?.[key] ?? label;
  return name && label === labelValue(name) ? name : undefined;
}

/** Whose object this is, by its labels and annotations; undefined when they do not name both. */
export function agentObjectOwner(object: Labelled | undefined): AgentObjectOwner | undefined {
  const namespace = markedName(object, ORGANISATION_LABEL);
  const cluster = markedName(object, CLUSTER_LABEL);
  return namespace && cluster ? { namespace, cluster } : undefined;
}

/** `namespace/cluster` of the ManagedCluster an agent object belongs to (a controller's key), or none. */
export function agentObjectClusterKeys(object: Labelled | undefined): string[] {
  const owner = agentObjectOwner(object);
  return owner ? [`${owner.namespace}/${owner.cluster}`] : [];
}

/** Whether the object's labels and annotations name this organisation namespace and cluster (never the name alone). */
export function belongsTo(object: Labelled | undefined, namespace: string, cluster: string): boolean {
  const owner = agentObjectOwner(object);
  return owner !== undefined && owner.namespace === namespace && owner.cluster === cluster;
}

/**
 * The agent object of (namespace, cluster) from a cache of the release namespace: looked up by its derived name, and
 * returned only when its labels and annotations name that organisation and cluster (and, given `uid`, not an earlier
 * cluster of the same name: one labelled with another uid is left for the facade's sweep).
 */
export function agentObjectOf<T extends Labelled>(
  cache: { get(namespace: string | undefined, name: string): T | undefined },
  where: { releaseNamespace: string; namespace: string; cluster: string; suffix: string; uid?: string | undefined },
): T | undefined {
  const object = cache.get(where.releaseNamespace, agentObjectName(where.namespace, where.cluster, where.suffix));
  if (!belongsTo(object, where.namespace, where.cluster)) return undefined;
  const labelled = object?.metadata?.labels?.[CLUSTER_UID_LABEL];
  return where.uid !== undefined && labelled !== undefined && labelled !== where.uid ? undefined : object;
}

/** The objects of one organisation namespace (by their owner) among a list of the release namespace's. */
export function agentObjectsOf<T extends Labelled>(objects: readonly T[], namespace: string | undefined): T[] {
  return namespace === undefined
    ? objects.filter((o) => agentObjectOwner(o) !== undefined)
    : objects.filter((o) => agentObjectOwner(o)?.namespace === namespace);
}
