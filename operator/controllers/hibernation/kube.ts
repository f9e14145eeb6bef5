// Kubernetes access for the hibernation controller: reads (informer caches or live lists) and its guarded writes.
import { AGENT_ACTION, AUDIT_ENTRY, HIBERNATION_SCHEDULE, MANAGED_CLUSTER } from "../../../src-shared/crds/refs.js";
import { cachedDesignation } from "../../../src-shared/karpenter/labels.js";
import { validateKarpenterObject } from "../../../src-shared/karpenter/validate.js";
import {
  KubeApiError,
  isNotFound,
  type KubeClient,
  type KubeObject,
  type ResourceRef,
} from "../../../src-shared/kube/index.js";
import { jsonMergePatch } from "../../../src-shared/kube/merge-patch.js";
import type { Informer } from "../../../src-shared/runtime/index.js";
import {
  parseSnapshot,
  snapshotConfigMapName,
  snapshotOf,
  snapshotRef,
  type ClusterSnapshot,
} from "../../../src-shared/agent/snapshot.js";
import { belongsTo } from "../../../src-shared/agent/placement.js";
import {
  DEFAULT_SYSTEM_NAMESPACE,
  localClusterFromConfigMap,
  type LocalClusterRef,
} from "../../../src-shared/tenancy/cluster-target.js";
import type { ManagedKind, ObservedObject, ObservedWorkload, PlannedPatch, WorkloadKind } from "./desired.js";

/** Our own field manager, so `managedFields` shows which fields hibernation last wrote. */
export const HIBERNATION_FIELD_MANAGER = "spot-optimizer-hibernation";

export type ReadKind = ManagedKind | "NodeClaim" | "Node" | "Namespace" | "HibernationSchedule" | "ManagedCluster";

export const KIND_REFS: Record<ReadKind | "AuditEntry" | "AgentAction", { apiVersion: string; kind: string }> = {
  Deployment: { apiVersion: "apps/v1", kind: "Deployment" },
  StatefulSet: { apiVersion: "apps/v1", kind: "StatefulSet" },
  CronJob: { apiVersion: "batch/v1", kind: "CronJob" },
  NodePool: { apiVersion: "karpenter.sh/v1", kind: "NodePool" },
  NodeClaim: { apiVersion: "karpenter.sh/v1", kind: "NodeClaim" },
  Node: { apiVersion: "v1", kind: "Node" },
  Namespace: { apiVersion: "v1", kind: "Namespace" },
  HibernationSchedule: HIBERNATION_SCHEDULE,
  ManagedCluster: MANAGED_CLUSTER,
  AuditEntry: AUDIT_ENTRY,
  AgentAction: AGENT_ACTION,
};

/** The facade's heartbeat snapshot ConfigMaps only (remote clusters, in the release namespace), not every ConfigMap. */
export { snapshotRef };

export const WORKLOAD_KINDS: readonly WorkloadKind[] = ["Deployment", "StatefulSet", "CronJob"];

/** Thrown by every write once the controller instance was stopped, so a stopped instance never writes again. */
export class ControllerStoppedError extends Error {
  override name = "ControllerStoppedError";
}

/** Where the reconciler reads from: the manager's informer caches in the operator, live lists elsewhere. */
export interface HibernationReader {
  getSchedule(namespace: string, name: string): Promise<KubeObject | undefined>;
  getManagedCluster(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** Every schedule of a namespace (to find the one in force for a cluster). */
  listSchedules(namespace: string): Promise<KubeObject[]>;
  /** The installer's designation of the local cluster (src-shared/tenancy/cluster-target.ts). */
  localCluster(): Promise<LocalClusterRef | undefined>;
  list(kind: Exclude<ReadKind, "HibernationSchedule" | "ManagedCluster">): Promise<ObservedObject[]>;
  /** A remote cluster's latest heartbeat snapshot (written by the facade), if it reported. */
  snapshot(namespace: string, clusterName: string): Promise<ClusterSnapshot | undefined>;
  /** The AgentActions of a namespace (hibernation's own carry its schedule label). */
  listAgentActions(namespace: string): Promise<KubeObject[]>;
}

/** The designation read live from the system namespace (one small GET), where no watch caches it (liveReader). */
function liveLocalCluster(client: KubeClient, systemNamespace: string): () => Promise<LocalClusterRef | undefined> {
  return localClusterFromConfigMap((ref) => client.getIfExists(ref), systemNamespace);
}

/** Reads from informer caches; kinds without an informer (Karpenter absent) read as empty. */
export function informerReader(
  informers: Partial<Record<ReadKind | "AgentAction" | "Snapshot" | "Designation", Informer>>,
  options: { client: KubeClient; systemNamespace?: string },
): HibernationReader {
  return {
    getSchedule: async (namespace, name) => informers.HibernationSchedule?.get(namespace, name),
    getManagedCluster: async (namespace, name) => informers.ManagedCluster?.get(namespace, name),
    listSchedules: async (namespace) => informers.HibernationSchedule?.list({ namespace }) ?? [],
    localCluster: informers.Designation
      ? cachedDesignation(informers.Designation, options.systemNamespace)
      : liveLocalCluster(options.client, options.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE),
    list: async (kind) => (informers[kind]?.list() ?? []) as unknown as ObservedObject[],
    snapshot: async (namespace, cluster) =>
      parseSnapshot(
        snapshotOf(informers.Snapshot, { releaseNamespace: options.systemNamespace, namespace, cluster }) as never,
      ),
    listAgentActions: async (namespace) => informers.AgentAction?.list({ namespace }) ?? [],
  };
}

/** Live reads through the API (used by `spotctl`-style one-shot runs and as a fallback). */
export function liveReader(client: KubeClient, systemNamespace: string = DEFAULT_SYSTEM_NAMESPACE): HibernationReader {
  return {
    getSchedule: (namespace, name) => client.getIfExists({ ...KIND_REFS.HibernationSchedule, namespace, name }),
    getManagedCluster: (namespace, name) => client.getIfExists({ ...KIND_REFS.ManagedCluster, namespace, name }),
    listSchedules: async (namespace) => (await client.listAll({ ...KIND_REFS.HibernationSchedule, namespace })).items,
    localCluster: liveLocalCluster(client, systemNamespace),
    snapshot: async (namespace, cluster) => {
      const found = await client.getIfExists({
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: systemNamespace,
        name: snapshotConfigMapName(namespace, cluster),
      });
      return belongsTo(found, namespace, cluster) ? parseSnapshot(found as never) : undefined;
    },
    listAgentActions: async (namespace) => (await client.listAll({ ...KIND_REFS.AgentAction, namespace })).items,
    list: (kind) => listLive(client, kind),
  };
}

/** A live list of one kind; Karpenter's kinds read as empty where its CRDs are not installed. */
async function listLive(
  client: KubeClient,
  kind: Exclude<ReadKind, "HibernationSchedule" | "ManagedCluster">,
): Promise<ObservedObject[]> {
  try {
    return (await client.listAll(KIND_REFS[kind])).items as unknown as ObservedObject[];
  } catch (err) {
    // Karpenter is optional: without its CRDs there is nothing to limit.
    if (
      isNotFound(err) ||
      (kind.startsWith("Node") && err instanceof Error && /not found|unknown|no resource/i.test(err.message))
    )
      return [];
    throw err;
  }
}

/** Observed workloads of every kind, tagged with their kind. */
export async function listWorkloads(reader: HibernationReader): Promise<ObservedWorkload[]> {
  const lists = await Promise.all(
    WORKLOAD_KINDS.map(async (kind) => (await reader.list(kind)).map((o) => ({ ...o, kind }))),
  );
  return lists.flat();
}

export interface HibernationWriter {
  applyPatch(patch: PlannedPatch): Promise<void>;
  patchSchedule(namespace: string, name: string, patch: Record<string, unknown>): Promise<KubeObject>;
  /** Guarded by `resourceVersion`: a status computed from a stale read answers 409 instead of overwriting newer news. */
  patchScheduleStatus(
    ref: { namespace: string; name: string; resourceVersion?: string },
    status: Record<string, unknown>,
  ): Promise<void>;
  deleteNodeClaim(name: string): Promise<void>;
  /** Merge patch of a ManagedCluster's metadata (the wake-before-delete finalizer), resourceVersion-guarded. */
  patchManagedCluster(namespace: string, name: string, patch: Record<string, unknown>): Promise<void>;
  /** Creates an object; false if one with that name already exists (so a retried create is idempotent). */
  createIfAbsent(object: KubeObject): Promise<boolean>;
  /** Deletes one of hibernation's finished AgentActions (already gone = fine). */
  deleteAgentAction(namespace: string, name: string): Promise<void>;
}

/** Writes through the API; every write first checks `isStopped` so a stopped instance cannot act again. */
export function hibernationWriter(client: KubeClient, isStopped: () => boolean = () => false): HibernationWriter {
  const guard = (): void => {
    if (isStopped()) throw new ControllerStoppedError("hibernation controller was stopped");
  };
  const scheduleRef = (namespace: string, name: string): ResourceRef & { name: string } => ({
    ...KIND_REFS.HibernationSchedule,
    namespace,
    name,
  });
  return {
    async applyPatch(patch) {
      guard();
      await applyPlannedPatch(client, patch);
    },
    async patchSchedule(namespace, name, patch) {
      guard();
      return client.patch(scheduleRef(namespace, name), patch, {
        type: "merge",
        fieldManager: HIBERNATION_FIELD_MANAGER,
      });
    },
    async patchScheduleStatus({ namespace, name, resourceVersion }, status) {
      guard();
      await client.patch(
        scheduleRef(namespace, name),
        { metadata: { resourceVersion }, status },
        { type: "merge", fieldManager: HIBERNATION_FIELD_MANAGER, subresource: "status" },
      );
    },
    async deleteNodeClaim(name) {
      guard();
      await client.delete({ ...KIND_REFS.NodeClaim, name });
    },
    async patchManagedCluster(namespace, name, patch) {
      guard();
      await client.patch({ ...KIND_REFS.ManagedCluster, namespace, name }, patch, {
        type: "merge",
        fieldManager: HIBERNATION_FIELD_MANAGER,
      });
    },
    async deleteAgentAction(namespace, name) {
      guard();
      await client.delete({ ...KIND_REFS.AgentAction, namespace, name });
    },
    async createIfAbsent(object) {
      guard();
      return createUnlessExists(client, object);
    },
  };
}

/** One planned merge patch; a NodePool's result is checked against Karpenter's schema first. */
async function applyPlannedPatch(client: KubeClient, patch: PlannedPatch): Promise<void> {
  const ref: ResourceRef & { name: string } = { ...KIND_REFS[patch.kind], name: patch.name };
  if (patch.namespace !== undefined) ref.namespace = patch.namespace;
  // A cluster may serve NodePools with a looser schema than Karpenter's, so check the result against Karpenter's first
  // (errors the live object already had are tolerated, as ratcheting does on EKS, so a wake is never blocked).
  if (patch.kind === "NodePool") {
    const live = await client.get(ref);
    validateKarpenterObject(
      jsonMergePatch(live, patch.patch) as Record<string, unknown>,
      live as Record<string, unknown>,
    );
  }
  await client.patch(ref, patch.patch, { type: "merge", fieldManager: HIBERNATION_FIELD_MANAGER });
}

/** Creates `object`; false when an earlier attempt already created it. */
async function createUnlessExists(client: KubeClient, object: KubeObject): Promise<boolean> {
  try {
    await client.create(object, { fieldManager: HIBERNATION_FIELD_MANAGER });
    return true;
  } catch (err) {
    // Only AlreadyExists means an earlier attempt landed; any other 409 (e.g. an injected Conflict) is retried.
    if (err instanceof KubeApiError && err.statusCode === 409 && err.reason === "AlreadyExists") return false;
    throw err;
  }
}
