// What the facade keeps of a remote cluster's heartbeats (a snapshot ConfigMap and a liveness Lease per cluster, in the
// release namespace) and how the operator reads them back: names, labels, parsing, and the nodes as V1Node-shaped objects.
import type { V1Node } from "@kubernetes/client-node";
import { gunzipSync, gzipSync, strFromU8, strToU8 } from "fflate";
import { z } from "zod";
import { HeartbeatNode, HeartbeatObject, HeartbeatPodGroup } from "./protocol.js";
import { agentObjectName, agentObjectOf, agentObjectsOf } from "./placement.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../tenancy/cluster-target.js";

/** Label on the snapshot ConfigMaps (the only ConfigMaps the operator watches for this). */
export const SNAPSHOT_LABEL = "spotoptimizer.io/agent-snapshot";
export const SNAPSHOT_KEY = "snapshot.json";
/** Label on the per-cluster liveness Leases. */
export const AGENT_LEASE_LABEL = "spotoptimizer.io/agent-lease";
/** The ManagedCluster a snapshot or Lease belongs to (with ORGANISATION_LABEL, its namespace). */
export { CLUSTER_LABEL, ORGANISATION_LABEL } from "./placement.js";
/** Liveness allows this many missed beats before the agent counts as disconnected. */
export const MISSED_BEATS = 3;
export const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 15;

const SNAPSHOT_SUFFIX = "agent-snapshot";
const LEASE_SUFFIX = "agent";

/** The snapshot ConfigMaps as a watch selects them: label-selected, in the release namespace only. */
export function snapshotRef(releaseNamespace: string = DEFAULT_SYSTEM_NAMESPACE): {
  apiVersion: "v1";
  kind: "ConfigMap";
  labelSelector: string;
  namespace: string;
} {
  return { apiVersion: "v1", kind: "ConfigMap", labelSelector: `${SNAPSHOT_LABEL}=true`, namespace: releaseNamespace };
}

/** The agent Leases as a watch selects them: label-selected, in the release namespace only. */
export function agentLeaseRef(releaseNamespace: string = DEFAULT_SYSTEM_NAMESPACE): {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  labelSelector: string;
  namespace: string;
} {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    labelSelector: `${AGENT_LEASE_LABEL}=true`,
    namespace: releaseNamespace,
  };
}

/** The name of a cluster's snapshot ConfigMap in the release namespace. */
export function snapshotConfigMapName(namespace: string, clusterName: string): string {
  return agentObjectName(namespace, clusterName, SNAPSHOT_SUFFIX);
}

/** The name of a cluster's liveness Lease in the release namespace. */
export function agentLeaseName(namespace: string, clusterName: string): string {
  return agentObjectName(namespace, clusterName, LEASE_SUFFIX);
}

type ReleaseCache<T> = { get(namespace: string | undefined, name: string): T | undefined } | undefined;
type ClusterWhere = {
  releaseNamespace?: string | undefined;
  namespace: string;
  cluster: string;
  uid?: string | undefined;
};

/** A cluster's agent object of one kind (by name suffix) from a cache of the release namespace, when its labels name it. */
function releaseObjectOf<T extends KubeObjectLike>(
  cache: ReleaseCache<T>,
  where: ClusterWhere,
  suffix: string,
): T | undefined {
  if (!cache) return undefined;
  const releaseNamespace = where.releaseNamespace ?? DEFAULT_SYSTEM_NAMESPACE;
  return agentObjectOf(cache, { ...where, releaseNamespace, suffix });
}

/** A cluster's snapshot ConfigMap from a cache of the release namespace, only when its labels name that cluster. */
export function snapshotOf<T extends KubeObjectLike>(cache: ReleaseCache<T>, where: ClusterWhere): T | undefined {
  return releaseObjectOf(cache, where, SNAPSHOT_SUFFIX);
}

/** A cluster's agent Lease from a cache of the release namespace, only when its labels name that cluster. */
export function agentLeaseOf<T extends KubeObjectLike>(cache: ReleaseCache<T>, where: ClusterWhere): T | undefined {
  return releaseObjectOf(cache, where, LEASE_SUFFIX);
}

/** The snapshot ConfigMaps of one organisation namespace (every one without it) from a release-namespace cache. */
export function snapshotsOf<T extends KubeObjectLike>(
  cache: { list(): T[] } | undefined,
  namespace?: string | undefined,
): T[] {
  return agentObjectsOf(cache?.list() ?? [], namespace);
}

interface KubeObjectLike {
  metadata?: { labels?: Record<string, string> | undefined; name?: string | undefined } | undefined;
}

export const ClusterSnapshot = z.object({
  receivedAt: z.string(),
  agentVersion: z.string(),
  k8sVersion: z.string(),
  heartbeatIntervalSeconds: z.number(),
  nodes: z.array(HeartbeatNode),
  pods: z.array(HeartbeatPodGroup),
  objects: z.array(HeartbeatObject).optional(),
});
export type ClusterSnapshot = z.infer<typeof ClusterSnapshot>;

/** The binaryData key of a snapshot: its JSON gzip'd (a big cluster's report is several MiB of JSON). */
export const SNAPSHOT_GZ_KEY = "snapshot.json.gz";
/** What one ConfigMap's values hold at most together, as the API server counts them. */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;

/** A snapshot as a ConfigMap stores it, and the bytes it takes there (`json`: its JSON, when the caller has it). */
export function snapshotBinaryData(
  snapshot: ClusterSnapshot,
  json: string = JSON.stringify(snapshot),
): { binaryData: Record<string, string>; bytes: number } {
  const gz = gzipSync(strToU8(json));
  return { binaryData: { [SNAPSHOT_GZ_KEY]: Buffer.from(gz).toString("base64") }, bytes: gz.length };
}

/** Parsed snapshots by ConfigMap object: an informer replaces the object on every change, so identity marks a version. */
const parsedSnapshots = new WeakMap<object, ClusterSnapshot | null>();

/**
 * The snapshot a ConfigMap holds (gzip'd in binaryData, or as JSON in data as it was first stored); undefined when
 * absent or unreadable. Each object is read once: several controllers read the same one at every reconcile.
 */
export function parseSnapshot(
  configMap: { data?: Record<string, string>; binaryData?: Record<string, string> } | undefined,
): ClusterSnapshot | undefined {
  if (configMap === undefined) return undefined;
  const known = parsedSnapshots.get(configMap);
  if (known !== undefined) return known ?? undefined;
  const parsed = readSnapshot(configMap);
  parsedSnapshots.set(configMap, parsed ?? null);
  return parsed;
}

function readSnapshot(configMap: {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}): ClusterSnapshot | undefined {
  try {
    const gz = configMap.binaryData?.[SNAPSHOT_GZ_KEY];
    const raw = gz !== undefined ? strFromU8(gunzipSync(Buffer.from(gz, "base64"))) : configMap.data?.[SNAPSHOT_KEY];
    if (raw === undefined) return undefined;
    const parsed = ClusterSnapshot.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export interface LeaseView {
  spec?: { renewTime?: string; leaseDurationSeconds?: number; holderIdentity?: string };
}

/** When the agent's liveness ends (epoch ms): last renewal plus the lease duration; undefined without a renewal. */
export function livenessEndsMs(lease: LeaseView | undefined): number | undefined {
  const renewed = Date.parse(lease?.spec?.renewTime ?? "");
  if (!Number.isFinite(renewed)) return undefined;
  const durationS = lease?.spec?.leaseDurationSeconds ?? MISSED_BEATS * DEFAULT_HEARTBEAT_INTERVAL_SECONDS;
  return renewed + durationS * 1000;
}

/** Kubernetes MicroTime (RFC 3339 with microseconds), as Lease.spec.renewTime wants it. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** A reported node in the shape the shared fleet figures read (labels, allocatable, unschedulable, Ready). */
export function snapshotNodeAsV1(node: HeartbeatNode): V1Node {
  const labels: Record<string, string> = {};
  if (node.instance_type) labels["node.kubernetes.io/instance-type"] = node.instance_type;
  if (node.capacity_type !== "unknown") labels["karpenter.sh/capacity-type"] = node.capacity_type;
  if (node.zone) labels["topology.kubernetes.io/zone"] = node.zone;
  if (node.node_pool) labels["karpenter.sh/nodepool"] = node.node_pool;
  const allocatable: Record<string, string> = {};
  for (const [k, v] of Object.entries(node.allocatable)) if (v !== undefined) allocatable[k] = String(v);
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: node.name, labels },
    spec: { unschedulable: node.cordoned },
    status: {
      allocatable,
      conditions: [
        {
          type: "Ready",
          // no Ready condition reported (a node just joining): Unknown, which counts as not ready, as for local nodes
          status: node.ready === undefined ? "Unknown" : node.ready ? "True" : "False",
        },
      ],
    },
  };
}
