// What the facade keeps of a remote cluster's heartbeats (a snapshot ConfigMap and a liveness Lease per cluster) and
// how the operator reads them back: names, labels, parsing, and the snapshot's nodes as V1Node-shaped objects.
import type { V1Node } from "@kubernetes/client-node";
import { gunzipSync, gzipSync, strFromU8, strToU8 } from "fflate";
import { z } from "zod";
import { HeartbeatNode, HeartbeatObject, HeartbeatPodGroup } from "./protocol.js";

/** Label on the snapshot ConfigMaps (the only ConfigMaps the operator watches for this). */
export const SNAPSHOT_LABEL = "spotoptimizer.io/agent-snapshot";
export const SNAPSHOT_KEY = "snapshot.json";
/** The snapshot ConfigMaps as a watch selects them (every controller that reads them shares the one informer). */
export const SNAPSHOT_REF = { apiVersion: "v1", kind: "ConfigMap", labelSelector: `${SNAPSHOT_LABEL}=true` } as const;
/** Label on the per-cluster liveness Leases. */
export const AGENT_LEASE_LABEL = "spotoptimizer.io/agent-lease";
/** The ManagedCluster a snapshot or Lease belongs to. */
export const CLUSTER_LABEL = "spotoptimizer.io/cluster";
/** Liveness allows this many missed beats before the agent counts as disconnected. */
export const MISSED_BEATS = 3;
export const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 15;

export function snapshotConfigMapName(clusterName: string): string {
  return `${clusterName}-agent-snapshot`.slice(0, 253);
}

export function agentLeaseName(clusterName: string): string {
  return `${clusterName}-agent`.slice(0, 253);
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
          status: node.ready === false ? "False" : "True",
        },
      ],
    },
  };
}
