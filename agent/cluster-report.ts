// Builds the heartbeat from the cluster the agent runs in: nodes, pods grouped by request shape, and the objects
// hibernation scales (so the operator can plan a remote cluster with the same pure planner as a local one).
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { DO_NOT_DISRUPT, PROTECTED_BY } from "../src-shared/agent/annotations.js";
import type { HeartbeatNode, HeartbeatObject, HeartbeatPodGroup } from "../src-shared/agent/protocol.js";
import { isPerNodePod, pinnedArch, pinnedZone, podRequest } from "../src-shared/fleet/pod-request.js";
import { isNotFound, type KubeClient, type KubeObject } from "../src-shared/kube/client.js";

/** Only our own annotations travel (the saved originals of hibernation and of scale). */
const OUR_ANNOTATION = /(^|\.)spotoptimizer\.io\//;

const OBJECT_KINDS = [
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "apps/v1", kind: "StatefulSet" },
  { apiVersion: "batch/v1", kind: "CronJob" },
  { apiVersion: "karpenter.sh/v1", kind: "NodePool" },
  { apiVersion: "karpenter.sh/v1", kind: "NodeClaim" },
  { apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass" },
] as const;
/** Labels that travel: a NodeClaim's pool and capacity type (the return to Spot reads it), and ours on our objects. */
const REPORTED_LABEL =
  /^(karpenter\.sh\/nodepool|karpenter\.sh\/capacity-type|app\.kubernetes\.io\/managed-by)$|(^|\.)spotoptimizer\.io\//;

function capacityType(labels: Record<string, string>): HeartbeatNode["capacity_type"] {
  const raw = labels["karpenter.sh/capacity-type"] ?? labels["eks.amazonaws.com/capacityType"];
  if (raw === undefined) return "unknown";
  const v = raw.toLowerCase().replace("_", "-");
  return v === "spot" ? "spot" : v === "on-demand" ? "on-demand" : "unknown";
}

/** The first of the labels (current name, then its deprecated one) the node carries, else null. */
function labelOf(labels: Record<string, string>, keys: readonly string[]): string | null {
  for (const key of keys) if (labels[key] !== undefined) return labels[key];
  return null;
}

function allocatableOf(node: V1Node): HeartbeatNode["allocatable"] {
  const allocatable = (node.status?.allocatable ?? {}) as Record<string, string>;
  const kept = (["cpu", "memory", "pods"] as const).filter((k) => allocatable[k] !== undefined);
  return Object.fromEntries(kept.map((k) => [k, allocatable[k]]));
}

export function reportNode(node: V1Node): HeartbeatNode {
  const labels = node.metadata?.labels ?? {};
  const ready = (node.status?.conditions ?? []).find((c) => c.type === "Ready");
  return {
    name: node.metadata?.name ?? "",
    instance_type: labelOf(labels, ["node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"]),
    capacity_type: capacityType(labels),
    zone: labelOf(labels, ["topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"]),
    allocatable: allocatableOf(node),
    cordoned: node.spec?.unschedulable === true,
    ...(ready ? { ready: ready.status === "True" } : {}),
    node_pool: labelOf(labels, ["karpenter.sh/nodepool"]),
  };
}

function isFinished(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** A pod's group: namespace, effective request rounded up (as the replan does), GPUs, nodeSelector pins, per-node. */
function groupOf(pod: V1Pod): HeartbeatPodGroup {
  const r = podRequest(pod);
  const arch = pinnedArch(pod);
  const zone = pinnedZone(pod);
  return {
    namespace: pod.metadata?.namespace ?? "default",
    cpu_millicores: Math.ceil(r.cpuMillicores),
    memory_mib: Math.ceil(r.memoryMiB),
    count: 0,
    scheduled: 0,
    ...(r.gpus > 0 ? { gpus: r.gpus } : {}),
    ...(arch ? { arch } : {}),
    ...(zone ? { zone } : {}),
    ...(isPerNodePod(pod) ? { per_node: true } : {}),
    ...protection(pod),
  };
}

/** Whether the pod is protected from voluntary disruption, and by which policy (exclusions on remote clusters). */
function protection(pod: V1Pod): Pick<HeartbeatPodGroup, "do_not_disrupt" | "protected_by"> {
  const annotations = pod.metadata?.annotations ?? {};
  const by = annotations[PROTECTED_BY];
  return {
    ...(annotations[DO_NOT_DISRUPT] !== undefined ? { do_not_disrupt: true } : {}),
    ...(by ? { protected_by: by.slice(0, 317) } : {}),
  };
}

/**
 * Running and pending pods grouped by namespace, request and pins; DaemonSet and static pods form their own groups
 * (`per_node`): the status figures count them, plans leave them out.
 */
export function podGroups(pods: readonly V1Pod[]): HeartbeatPodGroup[] {
  const groups = new Map<string, HeartbeatPodGroup>();
  for (const pod of pods) {
    if (isFinished(pod) || pod.metadata?.deletionTimestamp) continue;
    const shape = groupOf(pod);
    const key = JSON.stringify(shape);
    const group = groups.get(key) ?? shape;
    group.count += 1;
    if (pod.spec?.nodeName) group.scheduled = (group.scheduled ?? 0) + 1;
    groups.set(key, group);
  }
  return [...groups.entries()]
    .sort(
      ([ka, a], [kb, b]) =>
        a.namespace.localeCompare(b.namespace) ||
        a.cpu_millicores - b.cpu_millicores ||
        a.memory_mib - b.memory_mib ||
        Number(a.per_node === true) - Number(b.per_node === true) ||
        ka.localeCompare(kb),
    )
    .map(([, g]) => g);
}

function ours(annotations: Record<string, string> | undefined): Record<string, string> | undefined {
  const kept = Object.entries(annotations ?? {}).filter(([k]) => OUR_ANNOTATION.test(k));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

function reportedMetadata(m: NonNullable<KubeObject["metadata"]>): Partial<HeartbeatObject> {
  const out: Partial<HeartbeatObject> = {};
  if (m.namespace) out.namespace = m.namespace;
  if (m.resourceVersion) out.resource_version = m.resourceVersion;
  if (typeof m.generation === "number") out.generation = m.generation;
  if (m.creationTimestamp) out.creation_timestamp = m.creationTimestamp;
  if (m.deletionTimestamp) out.deleting = true;
  const annotations = ours(m.annotations);
  if (annotations) out.annotations = annotations;
  const labels = Object.entries(m.labels ?? {}).filter(([k]) => REPORTED_LABEL.test(k));
  if (labels.length > 0) out.labels = Object.fromEntries(labels);
  return out;
}

/** The one field of each kind that hibernation changes (and a NodeClaim's pool), as the planner reads it. */
type SpecReport = (o: KubeObject & { spec?: any }) => Partial<HeartbeatObject>;

const SPEC_REPORTS: Partial<Record<HeartbeatObject["kind"], SpecReport>> = {
  Deployment: (o) => ({ replicas: o.spec?.replicas ?? null }),
  StatefulSet: (o) => ({ replicas: o.spec?.replicas ?? null }),
  CronJob: (o) => ({ suspend: o.spec?.suspend ?? null }),
  NodePool: (o) => ({ limits: o.spec?.limits ?? null }),
};

function reportedSpec(kind: HeartbeatObject["kind"], o: KubeObject & { spec?: any }): Partial<HeartbeatObject> {
  return SPEC_REPORTS[kind]?.(o) ?? {};
}

export function reportObject(kind: HeartbeatObject["kind"], o: KubeObject & { spec?: any }): HeartbeatObject {
  const m = o.metadata ?? {};
  return { kind, name: m.name ?? "", ...reportedMetadata(m), ...reportedSpec(kind, o) };
}

async function listOptional(client: KubeClient, ref: { apiVersion: string; kind: string }): Promise<KubeObject[]> {
  try {
    return (await client.listAll(ref)).items;
  } catch (err) {
    // Karpenter is optional: a cluster without its CRDs has no NodePools to report.
    if (isNotFound(err) || (err instanceof Error && /does not serve/.test(err.message))) return [];
    throw err;
  }
}

export interface ClusterReport {
  nodes: V1Node[];
  heartbeat: { nodes: HeartbeatNode[]; pods: HeartbeatPodGroup[]; objects: HeartbeatObject[]; k8s_version: string };
}

/**
 * The cluster as the heartbeat reports it; objects of `ownNamespace` (where the agent runs) are left out, so no schedule
 * or policy ever plans a write to the agent's own workloads.
 */
export async function readCluster(client: KubeClient, ownNamespace?: string): Promise<ClusterReport> {
  const [nodes, pods, version, ...objectLists] = await Promise.all([
    client.listAll<V1Node & KubeObject>({ apiVersion: "v1", kind: "Node" }),
    client.listAll<V1Pod & KubeObject>({ apiVersion: "v1", kind: "Pod" }),
    client
      .request<{ gitVersion?: string }>({ method: "GET", path: "/version" })
      .catch(() => ({ gitVersion: "unknown" })),
    ...OBJECT_KINDS.map((ref) => listOptional(client, ref)),
  ]);
  const objects = OBJECT_KINDS.flatMap((ref, i) =>
    objectLists[i]!.filter((o) => ownNamespace === undefined || o.metadata?.namespace !== ownNamespace).map((o) =>
      reportObject(ref.kind, o),
    ),
  );
  return {
    nodes: nodes.items,
    heartbeat: {
      nodes: nodes.items.map(reportNode),
      pods: podGroups(pods.items),
      objects,
      k8s_version: version.gitVersion ?? "unknown",
    },
  };
}
