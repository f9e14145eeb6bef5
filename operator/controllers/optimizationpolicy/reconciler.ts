// OptimizationPolicy reconciler: decides which policy of a cluster is in force (the oldest), marks the others
// Duplicate, and reports what the in-force policy shapes (the NodeTemplate controller writes the NodePools).
import type { AgentAction, ManagedCluster, NodeTemplate, OptimizationPolicy } from "../../../src-shared/crds/index.js";
import type { KubeClient, KubeObject } from "../../../src-shared/kube/index.js";
import {
  applyStatus,
  findCondition,
  removeCondition,
  setCondition,
  splitKey,
  type Condition,
  type Informer,
  type ReconcileResult,
  type EventSink,
} from "../../../src-shared/runtime/index.js";
import {
  ORGANISATION_LABEL,
  resolveClusterTarget,
  workloadNamespaceScope,
  type LocalClusterRef,
} from "../../../src-shared/tenancy/cluster-target.js";
import { PROTECTED_BY, applyProtection, protectionPatches } from "./exclusions.js";
import {
  CLUSTER_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  TEMPLATE_NAMESPACE_LABEL,
  karpenterName,
} from "../../../src-shared/karpenter/labels.js";
import { disruptionFor, effectivePolicy, policyInForce } from "../../../src-shared/karpenter/policy.js";
import { remoteView } from "../../../src-shared/agent/remote-view.js";
import { snapshotsOf } from "../../../src-shared/agent/snapshot.js";
import { isOwnedBy, ownerSelector } from "../../../src-shared/agent/action-owner.js";
import { POLICY_ACTION_LABEL, syncClusterExclusions } from "./remote-exclusions.js";

export const POLICY_FIELD_MANAGER = "spot-optimizer-optimizationpolicy";

export interface PolicyReconcilerOptions {
  client: KubeClient;
  policies: Informer<OptimizationPolicy>;
  clusters: Informer<ManagedCluster>;
  nodePools: Informer<KubeObject>;
  /** NodeTemplates: a remote cluster's NodePools are known from its templates' Applied condition. */
  templates?: Informer<NodeTemplate>;
  /** Pods and Namespaces of the local cluster, for exclusions.namespaces; without them no pod is annotated. */
  pods?: Informer<KubeObject>;
  namespaces?: Informer<KubeObject>;
  /** The installer's designation of the local cluster (src-shared/tenancy/cluster-target.ts). */
  localCluster: () => Promise<LocalClusterRef | undefined>;
  /** Remote clusters' heartbeat snapshots and this controller's AgentActions: exclusions there go through the agent. */
  snapshots?: Informer<KubeObject>;
  actions?: Informer<AgentAction>;
  events?: EventSink;
  now?: () => Date;
}

type Verdict = { status: "True" | "False"; reason: string; message: string; applied?: Record<string, unknown> };

/** The names of the NodePools the operator wrote for the cluster's templates. */
export function clusterNodePools(nodePools: readonly KubeObject[], namespace: string, cluster: string): string[] {
  return nodePools
    .filter((p) => {
      const l = p.metadata?.labels ?? {};
      return (
        l[MANAGED_BY_LABEL] === MANAGED_BY && l[TEMPLATE_NAMESPACE_LABEL] === namespace && l[CLUSTER_LABEL] === cluster
      );
    })
    .map((p) => p.metadata?.name ?? "")
    .sort();
}

async function verdict(options: PolicyReconcilerOptions, policy: OptimizationPolicy): Promise<Verdict> {
  const namespace = policy.metadata.namespace ?? "";
  const clusterName = policy.spec.clusterRef.name;
  const target = await resolveClusterTarget(
    { managedCluster: async (ns, n) => options.clusters.get(ns, n), localCluster: options.localCluster },
    { namespace, clusterName },
  );
  if (!target.found) return { status: "False", reason: target.reason, message: target.message };
  const cluster = target.cluster as ManagedCluster;
  const { inForce } = policyInForce(options.policies.list({ namespace }), namespace, clusterName);
  if (inForce && inForce.metadata.name !== policy.metadata.name)
    return {
      status: "False",
      reason: "Duplicate",
      message: `OptimizationPolicy ${inForce.metadata.name ?? ""} is in force for cluster ${clusterName} (the oldest); this one is ignored`,
    };
  const effective = effectivePolicy(policy);
  const disruption = disruptionFor(effective.aggressiveness);
  if (cluster.spec.mode === "remote") return remoteVerdict(options, { namespace, clusterName, disruption });
  const pools = clusterNodePools(options.nodePools.list(), namespace, clusterName);
  const shaped = pools.filter((name) => {
    const spec = (options.nodePools.get(undefined, name)?.spec ?? {}) as { disruption?: Record<string, unknown> };
    return (
      spec.disruption?.consolidationPolicy === disruption.consolidationPolicy &&
      spec.disruption?.consolidateAfter === disruption.consolidateAfter
    );
  });
  return {
    status: "True",
    reason: "InForce",
    message: `In force for cluster ${clusterName}: ${shaped.length} of ${pools.length} NodePool(s) carry it`,
    applied: {
      nodePools: shaped,
      consolidationPolicy: disruption.consolidationPolicy,
      consolidateAfter: disruption.consolidateAfter,
    },
  };
}

/**
 * A remote cluster's NodePools are written by its agent: a template re-applied with this policy reports Applied=True
 * once the agent's apply succeeded, so the pools that carry the policy are those of the templates applied now.
 */
function remoteVerdict(
  options: PolicyReconcilerOptions,
  input: { namespace: string; clusterName: string; disruption: ReturnType<typeof disruptionFor> },
): Verdict {
  const templates = (options.templates?.list({ namespace: input.namespace }) ?? []).filter(
    (t) => t.spec.clusterRef.name === input.clusterName && !t.metadata.deletionTimestamp,
  );
  const current = (t: NodeTemplate): boolean => {
    const c = findCondition(t.status?.conditions as Condition[] | undefined, "Applied");
    return c?.status === "True" && c.observedGeneration === t.metadata.generation;
  };
  const shaped = templates.filter(current).map((t) => karpenterName(input.namespace, t.metadata.name ?? ""));
  return {
    status: "True",
    reason: "InForce",
    message: `In force for remote cluster ${input.clusterName}: ${shaped.length} of ${templates.length} NodePool(s) applied by its agent carry it`,
    applied: {
      nodePools: shaped.sort(),
      consolidationPolicy: input.disruption.consolidationPolicy,
      consolidateAfter: input.disruption.consolidateAfter,
    },
  };
}

async function announce(options: PolicyReconcilerOptions, policy: OptimizationPolicy, v: Verdict): Promise<void> {
  const object = policy as unknown as KubeObject;
  if (v.status === "True") await options.events?.normal(object, v.reason, v.message);
  else await options.events?.warning(object, v.reason, v.message);
}

/** What a policy's exclusions.namespaces come to on the local cluster: the namespaces protected and those refused. */
interface ExclusionScope {
  /** Namespaces whose pods the policy protects. */
  protect: Set<string>;
  /** Whether the policy acts on this cluster's pods at all (in force for the designated local cluster). */
  local: boolean;
  /** Why listed namespaces are not protected, naming them; undefined when none is refused. */
  refused?: string;
}

/**
 * The namespaces whose pods the policy protects: its exclusions when it is in force for the designated local cluster,
 * limited to namespaces the organisation may act on (its own or its cluster's workloadNamespaces, never another
 * organisation's); none otherwise, so what it protected before is released. The rest are named, since dropping them
 * silently would leave a user believing those pods are protected.
 */
function exclusionScope(
  options: PolicyReconcilerOptions,
  policy: OptimizationPolicy | undefined,
  v: Verdict | undefined,
): ExclusionScope {
  if (!policy || v?.status !== "True") return { protect: new Set(), local: false };
  const namespace = policy.metadata.namespace ?? "";
  const cluster = options.clusters.get(namespace, policy.spec.clusterRef.name);
  // A remote cluster's pods are its agent's to annotate (protectRemotePods); the pods here are another cluster's.
  if (!cluster || cluster.spec.mode === "remote") return { protect: new Set(), local: false };
  const organisations = organisationNamespaces(options);
  const allowed = workloadNamespaceScope({ cluster, ownerNamespace: namespace, organisationNamespaces: organisations });
  const listed = policy.spec.exclusions?.namespaces ?? [];
  const refused = listed.filter((ns) => !allowed(ns));
  return { protect: new Set(listed.filter(allowed)), local: true, refused: refusedMessage(refused) };
}

/**
 * Names the refused namespaces with one reason for all: telling another organisation's namespace apart from any other
 * would tell this organisation which namespace names other organisations have.
 */
function refusedMessage(refused: readonly string[]): string | undefined {
  if (refused.length === 0) return undefined;
  return (
    `exclusions.namespaces not protected: ${refused.join(", ")} (not a namespace this organisation may act on: ` +
    `its own, or one of its cluster's workloadNamespaces)`
  );
}

/** The namespaces of every organisation (labelled so), which a policy of another never touches. */
function organisationNamespaces(options: PolicyReconcilerOptions): Set<string> {
  return new Set(
    (options.namespaces?.list() ?? [])
      .filter((n) => n.metadata?.labels?.[ORGANISATION_LABEL] !== undefined)
      .map((n) => n.metadata?.name ?? ""),
  );
}

/** Annotates the pods of the excluded namespaces and releases those this policy annotated that are no longer. */
async function protectPods(
  options: PolicyReconcilerOptions,
  input: { key: string; excluded: Set<string> },
): Promise<void> {
  if (!options.pods) return;
  const excluded = input.excluded;
  const pods = options.pods
    .list()
    .filter((p) => excluded.has(p.metadata?.namespace ?? "") || p.metadata?.annotations?.[PROTECTED_BY] === input.key);
  await applyProtection(options.client, protectionPatches({ pods, excluded, policyKey: input.key }));
}

/** Looked at again this often while a remote cluster's exclusion actions are outstanding. */
const REMOTE_RECHECK_MS = 5_000;

/** What a remote cluster's pods should be protected for: the policy's exclusions while it is in force there. */
function remoteExcluded(
  options: PolicyReconcilerOptions,
  input: { policy?: OptimizationPolicy; verdict?: Verdict },
  clusterName: string,
): Set<string> {
  const { policy, verdict } = input;
  if (!policy || verdict?.status !== "True" || policy.spec.clusterRef.name !== clusterName) return new Set();
  const cluster = options.clusters.get(policy.metadata.namespace, clusterName);
  return cluster?.spec.mode === "remote" ? new Set(policy.spec.exclusions?.namespaces ?? []) : new Set();
}

/**
 * Every remote cluster of the policy's namespace (the whole cluster is the organisation's): pods of the excluded
 * namespaces protected through the agent where the policy is in force, this policy's protection released elsewhere.
 */
async function protectRemotePods(
  options: PolicyReconcilerOptions,
  input: { key: string; policy?: OptimizationPolicy; verdict?: Verdict },
): Promise<ReconcileResult> {
  const { namespace = "", name } = splitKey(input.key);
  const mine = (
    options.actions?.list({ namespace, labelSelector: ownerSelector(POLICY_ACTION_LABEL, name) }) ?? []
  ).filter((a) => isOwnedBy(a, POLICY_ACTION_LABEL, name));
  let left = false;
  for (const cm of snapshotsOf(options.snapshots, namespace)) {
    const view = remoteView(cm);
    if (!view) continue;
    const outstanding = await syncClusterExclusions({
      client: options.client,
      namespace,
      policyKey: input.key,
      policyName: name,
      view,
      excluded: remoteExcluded(options, input, view.clusterName),
      actions: mine.filter((a) => a.spec.clusterRef.name === view.clusterName),
    });
    left ||= outstanding;
  }
  return left ? { requeueAfterMs: REMOTE_RECHECK_MS } : {};
}

/** Whether every listed namespace is protected; set only while the policy acts on this cluster's pods. */
export const EXCLUSIONS_CONDITION = "ExclusionsApplied";

function exclusionsCondition(
  conditions: Condition[],
  input: { scope: ExclusionScope; generation?: number; now: Date },
): Condition[] {
  const { scope } = input;
  if (!scope.local) return removeCondition(conditions, EXCLUSIONS_CONDITION);
  const condition = scope.refused
    ? { status: "False" as const, reason: "NamespacesNotAllowed", message: scope.refused }
    : { status: "True" as const, reason: "AllAllowed", message: `${scope.protect.size} namespace(s) protected` };
  return setCondition(
    conditions,
    { type: EXCLUSIONS_CONDITION, ...condition, observedGeneration: input.generation },
    input.now,
  );
}

/** The status to write: Ready from the verdict (naming refused exclusions), ExclusionsApplied, what was applied. */
function desiredStatus(
  policy: OptimizationPolicy,
  input: { verdict: Verdict; scope: ExclusionScope; now: Date },
): { observedGeneration?: number; conditions: Condition[]; applied?: Record<string, unknown> } {
  const { verdict: v, scope, now } = input;
  const generation = policy.metadata.generation;
  const message = scope.refused ? `${v.message}; ${scope.refused}` : v.message;
  const ready = setCondition(
    policy.status?.conditions as Condition[] | undefined,
    { type: "Ready", status: v.status, reason: v.reason, message, observedGeneration: generation },
    now,
  );
  return {
    observedGeneration: generation,
    conditions: exclusionsCondition(ready, { scope, generation, now }),
    ...(v.applied ? { applied: v.applied } : {}),
  };
}

/** Events for what changed: the Ready verdict, and a Warning when exclusions are newly refused. */
async function announceChanges(
  options: PolicyReconcilerOptions,
  policy: OptimizationPolicy,
  input: { verdict: Verdict; scope: ExclusionScope },
): Promise<void> {
  const before = policy.status?.conditions as Condition[] | undefined;
  const old = findCondition(before, "Ready");
  // In force, the message only counts the pools shaped so far: an Event for the state, not for each count.
  const v = input.verdict;
  if (old?.reason !== v.reason || (v.status !== "True" && old.message !== v.message))
    await announce(options, policy, v);
  const refused = input.scope.refused;
  if (refused && findCondition(before, EXCLUSIONS_CONDITION)?.message !== refused)
    await options.events?.warning(policy as unknown as KubeObject, "NamespacesNotAllowed", refused);
}

export function createPolicyReconciler(options: PolicyReconcilerOptions): (key: string) => Promise<ReconcileResult> {
  const now = options.now ?? ((): Date => new Date());
  return async (key) => {
    const { namespace, name } = splitKey(key);
    const policy = options.policies.get(namespace, name);
    if (!policy || policy.metadata.deletionTimestamp) {
      await protectPods(options, { key, excluded: new Set() });
      return protectRemotePods(options, { key });
    }
    const v = await verdict(options, policy);
    const scope = exclusionScope(options, policy, v);
    await protectPods(options, { key, excluded: scope.protect });
    const remote = await protectRemotePods(options, { key, policy, verdict: v });
    const status = desiredStatus(policy, { verdict: v, scope, now: now() });
    const { changed } = await applyStatus(
      options.client,
      { apiVersion: policy.apiVersion, kind: policy.kind, metadata: { name, namespace }, status },
      { current: policy as unknown as KubeObject, fieldManager: POLICY_FIELD_MANAGER },
    );
    const message = findCondition(status.conditions, "Ready")?.message ?? v.message;
    if (changed) await announceChanges(options, policy, { verdict: { ...v, message }, scope });
    return remote;
  };
}
