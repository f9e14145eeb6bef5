// Pure hibernation planner: from the desired state and the observed objects, the exact patches and deletes to make.
//
// Every sleep or wake of an object is ONE merge patch that carries both the new value and the saved original
// (the `hibernation.spotoptimizer.io/saved` annotation), guarded by the object's resourceVersion. So a crash
// between two writes never leaves an object scaled without its original recorded, and an object already
// carrying our annotation is never scaled again: the plan is idempotent, a second run with nothing changed
// plans zero writes.

import { TEMPLATE_ANNOTATION } from "../../../src-shared/karpenter/labels.js";
import { SAVED_ANNOTATION, readSaved, savedState, type SavedOriginal } from "../../../src-shared/hibernation/saved.js";

export { SAVED_ANNOTATION, readSaved };

/** Set to "true" on a NodePool to keep it (and its nodes) out of hibernation, e.g. for the nodes excluded namespaces run on. */
export const NODEPOOL_EXCLUDE_ANNOTATION = "hibernation.spotoptimizer.io/exclude";
/** Karpenter's label on NodeClaims and Nodes naming their NodePool. */
export const NODEPOOL_LABEL = "karpenter.sh/nodepool";
/** Never put to sleep: the control plane's add-ons, Karpenter (which must remove the nodes) and ourselves. */
export const ALWAYS_EXCLUDED_NAMESPACES: readonly string[] = ["kube-system", "karpenter", "spot-optimizer-system"];
/** NodePool limits while asleep: zero CPU and memory admit no node at all. */
export const ASLEEP_NODEPOOL_LIMITS: Readonly<Record<string, string>> = { cpu: "0", memory: "0" };

export type WorkloadKind = "Deployment" | "StatefulSet" | "CronJob";
export type ManagedKind = WorkloadKind | "NodePool";
export type DesiredState = "awake" | "asleep";
type LimitValue = string | number;

/** The parts of a Kubernetes object the planner reads. */
export interface ObservedObject {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
}

export interface ObservedWorkload extends ObservedObject {
  kind: WorkloadKind;
}

/** "hold": our annotation alone on a NodeTemplate's NodePool, whose controller then applies the zero limits. */
export type PatchAction = "sleep" | "hold" | "wake" | "enforce" | "release";

export interface PlannedPatch {
  kind: ManagedKind;
  namespace?: string;
  name: string;
  action: PatchAction;
  /** JSON merge patch; carries metadata.resourceVersion so a stale read answers 409 instead of acting twice. */
  patch: Record<string, unknown>;
}

export interface ManagedCounts {
  deployments: number;
  statefulSets: number;
  cronJobs: number;
  nodePools: number;
}

export interface HibernationPlan {
  patches: PlannedPatch[];
  /** NodeClaims to delete (after the patches succeeded) so that Karpenter removes their nodes. */
  nodeClaimDeletes: string[];
  /** Objects in scope of the schedule (not excluded, not being deleted). */
  managed: ManagedCounts;
  /** Earliest end of a grace period still running (epoch ms): requeue then. */
  graceEndsAtMs?: number;
  /** Workloads left awake because their grace period runs. */
  inGrace: number;
  /** In-scope objects left alone because our annotation on them is unreadable ("Kind namespace/name"). */
  unreadable: string[];
  /** NodeTemplate pools put to sleep whose controller has not held them at zero limits yet: not asleep until it has. */
  awaitingTemplate: string[];
}

export interface PlanInput {
  desired: DesiredState;
  /** "namespace/name" of the schedule; written into the annotation so two schedules never restore each other's objects. */
  scheduleKey: string;
  nowMs: number;
  /** When the cluster went to sleep; workloads created later get the grace period. */
  asleepSinceMs: number;
  gracePeriodMs: number;
  /** Re-apply the asleep value when a user changed it while asleep (default: leave the user's value alone). */
  enforce: boolean;
  excludedNamespaces: readonly string[];
  /**
   * Never slept, besides ALWAYS_EXCLUDED_NAMESPACES: the namespace this installation runs in (the operator, facade and
   * agent scaled to zero could wake nothing).
   */
  protectedNamespaces?: readonly string[];
  /** Namespaces the schedule's organisation may scale at all (docs/hibernation.md, "Tenants"); default: every one. */
  inTenantScope?: (namespace: string) => boolean;
  workloads: readonly ObservedWorkload[];
  nodePools: readonly ObservedObject[];
  nodeClaims: readonly ObservedObject[];
}

/** A NodePool a NodeTemplate generated (its spec is that controller's to write). */
export function isTemplatePool(nodePool: ObservedObject): boolean {
  return nodePool.metadata.annotations?.[TEMPLATE_ANNOTATION] !== undefined;
}

function isDeleting(object: ObservedObject): boolean {
  return object.metadata.deletionTimestamp !== undefined;
}

/** Absent (undefined) becomes null so that JSON keeps it and a merge patch with it removes the field. */
function orNull<T>(value: T | undefined): T | null {
  return value === undefined ? null : value;
}

function workloadValue(workload: ObservedWorkload): {
  field: "replicas" | "suspend";
  value: number | boolean | undefined;
} {
  if (workload.kind === "CronJob") return { field: "suspend", value: workload.spec?.suspend as boolean | undefined };
  return { field: "replicas", value: workload.spec?.replicas as number | undefined };
}

function isWorkloadAsleep(workload: ObservedWorkload): boolean {
  const { field, value } = workloadValue(workload);
  return field === "suspend" ? value === true : value === 0;
}

function limitsOf(nodePool: ObservedObject): Record<string, LimitValue> | undefined {
  return nodePool.spec?.limits as Record<string, LimitValue> | undefined;
}

function sameLimits(
  a: Record<string, LimitValue> | undefined | null,
  b: Readonly<Record<string, LimitValue>>,
): boolean {
  if (!a) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => String(a[k]) === String(b[k]));
}

function metadataPatch(object: ObservedObject, saved: SavedOriginal | null): Record<string, unknown> {
  // Key order is fixed (by, then the value) so the annotation is byte-identical on every run.
  return {
    resourceVersion: object.metadata.resourceVersion,
    annotations: { [SAVED_ANNOTATION]: saved === null ? null : JSON.stringify(saved) },
  };
}

function describe(kind: ManagedKind, object: ObservedObject): string {
  const { namespace, name } = object.metadata;
  return `${kind} ${namespace === undefined ? "" : `${namespace}/`}${name}`;
}

function target(kind: ManagedKind, object: ObservedObject): Pick<PlannedPatch, "kind" | "namespace" | "name"> {
  const ref: Pick<PlannedPatch, "kind" | "namespace" | "name"> = { kind, name: object.metadata.name };
  if (object.metadata.namespace !== undefined) ref.namespace = object.metadata.namespace;
  return ref;
}

function sleepWorkload(workload: ObservedWorkload, scheduleKey: string): PlannedPatch {
  const { field, value } = workloadValue(workload);
  const saved: SavedOriginal = { by: scheduleKey, [field]: orNull(value) };
  const asleepValue = field === "suspend" ? true : 0;
  return {
    ...target(workload.kind, workload),
    action: "sleep",
    patch: { metadata: metadataPatch(workload, saved), spec: { [field]: asleepValue } },
  };
}

function enforceWorkload(workload: ObservedWorkload): PlannedPatch {
  const { field } = workloadValue(workload);
  const asleepValue = field === "suspend" ? true : 0;
  return {
    ...target(workload.kind, workload),
    action: "enforce",
    patch: { metadata: { resourceVersion: workload.metadata.resourceVersion }, spec: { [field]: asleepValue } },
  };
}

/** Restores the saved value and drops the annotation in one write; "release" keeps a value the user set while asleep. */
function wakeWorkload(workload: ObservedWorkload, saved: SavedOriginal, enforce: boolean): PlannedPatch {
  const { field } = workloadValue(workload);
  const userChanged = !isWorkloadAsleep(workload);
  if (userChanged && !enforce)
    return {
      ...target(workload.kind, workload),
      action: "release",
      patch: { metadata: metadataPatch(workload, null) },
    };
  const original = field === "suspend" ? saved.suspend : saved.replicas;
  return {
    ...target(workload.kind, workload),
    action: "wake",
    patch: { metadata: metadataPatch(workload, null), spec: { [field]: orNull(original) } },
  };
}

/** Merge patch that turns `current` limits into exactly `wanted` (null = remove spec.limits). */
function limitsPatch(
  current: Record<string, LimitValue> | undefined,
  wanted: Readonly<Record<string, LimitValue>> | null,
): Record<string, LimitValue | null> | null {
  if (wanted === null) return null;
  const patch: Record<string, LimitValue | null> = {};
  for (const key of Object.keys(current ?? {})) patch[key] = null;
  return Object.assign(patch, wanted);
}

function sleepNodePool(nodePool: ObservedObject, scheduleKey: string): PlannedPatch {
  const current = limitsOf(nodePool);
  if (isTemplatePool(nodePool)) {
    const held: SavedOriginal = { by: scheduleKey, heldByTemplate: true };
    return { ...target("NodePool", nodePool), action: "hold", patch: { metadata: metadataPatch(nodePool, held) } };
  }
  const saved: SavedOriginal = { by: scheduleKey, limits: orNull(current) };
  return {
    ...target("NodePool", nodePool),
    action: "sleep",
    patch: { metadata: metadataPatch(nodePool, saved), spec: { limits: limitsPatch(current, ASLEEP_NODEPOOL_LIMITS) } },
  };
}

function wakeNodePool(nodePool: ObservedObject, saved: SavedOriginal, enforce: boolean): PlannedPatch {
  const current = limitsOf(nodePool);
  if (saved.heldByTemplate) {
    return { ...target("NodePool", nodePool), action: "wake", patch: { metadata: metadataPatch(nodePool, null) } };
  }
  // Put to sleep before pools of templates were held by their controller: the limits written then are dropped, and
  // the NodeTemplate controller applies its own (what was saved may be a policy's since changed).
  if (isTemplatePool(nodePool)) {
    return {
      ...target("NodePool", nodePool),
      action: "wake",
      patch: { metadata: metadataPatch(nodePool, null), spec: { limits: null } },
    };
  }
  if (!sameLimits(current, ASLEEP_NODEPOOL_LIMITS) && !enforce) {
    return { ...target("NodePool", nodePool), action: "release", patch: { metadata: metadataPatch(nodePool, null) } };
  }
  return {
    ...target("NodePool", nodePool),
    action: "wake",
    patch: { metadata: metadataPatch(nodePool, null), spec: { limits: limitsPatch(current, orNull(saved.limits)) } },
  };
}

/** The label the chart puts on every Spot Optimizer workload (operator, facade, agent), whatever its namespace. */
export const PART_OF_LABEL = "app.kubernetes.io/part-of";

function isWorkloadExcluded(workload: ObservedWorkload, excluded: (namespace: string) => boolean): boolean {
  // Ours, in whatever namespace it was installed: asleep, nothing would be left to wake the cluster.
  if (workload.metadata.labels?.[PART_OF_LABEL] === "spot-optimizer") return true;
  return excluded(workload.metadata.namespace ?? "");
}

function isNodePoolExcluded(nodePool: ObservedObject): boolean {
  return nodePool.metadata.annotations?.[NODEPOOL_EXCLUDE_ANNOTATION] === "true";
}

function countKey(kind: WorkloadKind): keyof ManagedCounts {
  if (kind === "Deployment") return "deployments";
  return kind === "StatefulSet" ? "statefulSets" : "cronJobs";
}

interface WorkloadDecision {
  patch?: PlannedPatch;
  graceEndsAtMs?: number;
}

/** Whether a workload not yet asleep may be put to sleep now, or when its grace period ends. */
function graceEndsAt(workload: ObservedWorkload, input: PlanInput): number | undefined {
  const createdMs = Date.parse(workload.metadata.creationTimestamp ?? "");
  if (!Number.isFinite(createdMs) || createdMs < input.asleepSinceMs) return undefined;
  const endsMs = createdMs + input.gracePeriodMs;
  return input.nowMs < endsMs ? endsMs : undefined;
}

/** A workload we put to sleep: wake it, re-apply the asleep value (enforce), or leave it. */
function decideSavedWorkload(
  workload: ObservedWorkload,
  saved: SavedOriginal,
  input: PlanInput,
  inScope: boolean,
): WorkloadDecision {
  if (input.desired === "awake" || !inScope) return { patch: wakeWorkload(workload, saved, input.enforce) };
  if (input.enforce && !isWorkloadAsleep(workload)) return { patch: enforceWorkload(workload) };
  return {};
}

function decideWorkload(
  workload: ObservedWorkload,
  input: PlanInput,
  excluded: (namespace: string) => boolean,
): WorkloadDecision {
  const saved = readSaved(workload);
  if (saved !== undefined && saved.by !== input.scheduleKey) return {};
  const inScope = !isWorkloadExcluded(workload, excluded);
  if (saved !== undefined) return decideSavedWorkload(workload, saved, input, inScope);
  if (input.desired === "awake" || !inScope) return {};
  const graceEndsAtMs = graceEndsAt(workload, input);
  return graceEndsAtMs === undefined ? { patch: sleepWorkload(workload, input.scheduleKey) } : { graceEndsAtMs };
}

/** Re-applies the zero limits a user changed while asleep; a held pool's are its NodeTemplate controller's to keep. */
function enforceNodePool(nodePool: ObservedObject, saved: SavedOriginal): PlannedPatch | undefined {
  if (saved.heldByTemplate || sameLimits(limitsOf(nodePool), ASLEEP_NODEPOOL_LIMITS)) return undefined;
  return {
    ...target("NodePool", nodePool),
    action: "enforce",
    patch: {
      metadata: { resourceVersion: nodePool.metadata.resourceVersion },
      spec: { limits: limitsPatch(limitsOf(nodePool), ASLEEP_NODEPOOL_LIMITS) },
    },
  };
}

function decideNodePool(nodePool: ObservedObject, input: PlanInput): PlannedPatch | undefined {
  const saved = readSaved(nodePool);
  if (saved !== undefined && saved.by !== input.scheduleKey) return undefined;
  const inScope = !isNodePoolExcluded(nodePool);
  if (saved !== undefined) {
    if (input.desired === "awake" || !inScope) return wakeNodePool(nodePool, saved, input.enforce);
    return input.enforce ? enforceNodePool(nodePool, saved) : undefined;
  }
  if (input.desired === "awake" || !inScope) return undefined;
  return sleepNodePool(nodePool, input.scheduleKey);
}

/** NodeClaims of NodePools that are (or are about to be) asleep under this schedule and still have limits of zero. */
function isNodePoolAsleepByUs(nodePool: ObservedObject, scheduleKey: string): boolean {
  return (
    readSaved(nodePool)?.by === scheduleKey &&
    !isNodePoolExcluded(nodePool) &&
    sameLimits(limitsOf(nodePool), ASLEEP_NODEPOOL_LIMITS)
  );
}

function nodeClaimsToDelete(input: PlanInput, patches: readonly PlannedPatch[]): string[] {
  if (input.desired !== "asleep") return [];
  const sleeping = new Set(
    input.nodePools.filter((p) => isNodePoolAsleepByUs(p, input.scheduleKey)).map((p) => p.metadata.name),
  );
  for (const p of patches)
    if (p.kind === "NodePool" && (p.action === "sleep" || p.action === "enforce")) sleeping.add(p.name);
  return input.nodeClaims
    .filter((claim) => !isDeleting(claim) && sleeping.has(claim.metadata.labels?.[NODEPOOL_LABEL] ?? ""))
    .map((claim) => claim.metadata.name)
    .sort();
}

/** Held pools of this schedule (or held by this run) still above zero limits, while the cluster is to be asleep. */
function awaitingTemplates(input: PlanInput, patches: readonly PlannedPatch[]): string[] {
  if (input.desired !== "asleep") return [];
  const holding = new Set(patches.filter((p) => p.action === "hold").map((p) => p.name));
  return input.nodePools
    .filter((p) => !isDeleting(p) && !isNodePoolExcluded(p) && !sameLimits(limitsOf(p), ASLEEP_NODEPOOL_LIMITS))
    .filter((p) => holding.has(p.metadata.name) || isHeldBy(p, input.scheduleKey))
    .map((p) => p.metadata.name)
    .sort();
}

function isHeldBy(nodePool: ObservedObject, scheduleKey: string): boolean {
  const saved = readSaved(nodePool);
  return saved?.by === scheduleKey && saved.heldByTemplate === true;
}

/** Whether a namespace is out of the schedule's reach: always, protected, excluded by the spec, or not the tenant's. */
function excludedNamespace(input: PlanInput): (namespace: string) => boolean {
  const excludedSet = new Set([
    ...ALWAYS_EXCLUDED_NAMESPACES,
    ...(input.protectedNamespaces ?? []),
    ...input.excludedNamespaces,
  ]);
  const inScope = input.inTenantScope ?? ((): boolean => true);
  return (namespace) => excludedSet.has(namespace) || !inScope(namespace);
}

/** The writes that bring the cluster to `input.desired`, in a deterministic order (kind, namespace, name). */
function planWorkloads(
  input: PlanInput,
  managed: ManagedCounts,
  patches: PlannedPatch[],
  unreadable: string[],
): { inGrace: number; graceEndsAtMs?: number } {
  const excluded = excludedNamespace(input);
  const graceEnds: number[] = [];
  for (const workload of input.workloads) {
    if (isDeleting(workload)) continue;
    if (!isWorkloadExcluded(workload, excluded)) managed[countKey(workload.kind)] += 1;
    if (savedState(workload) === "unreadable") {
      if (!isWorkloadExcluded(workload, excluded)) unreadable.push(describe(workload.kind, workload));
      continue;
    }
    const decision = decideWorkload(workload, input, excluded);
    if (decision.patch) patches.push(decision.patch);
    if (decision.graceEndsAtMs !== undefined) graceEnds.push(decision.graceEndsAtMs);
  }
  return graceEnds.length === 0 ? { inGrace: 0 } : { inGrace: graceEnds.length, graceEndsAtMs: Math.min(...graceEnds) };
}

export function planHibernation(input: PlanInput): HibernationPlan {
  const managed: ManagedCounts = { deployments: 0, statefulSets: 0, cronJobs: 0, nodePools: 0 };
  const patches: PlannedPatch[] = [];
  const unreadable: string[] = [];
  const { inGrace, graceEndsAtMs } = planWorkloads(input, managed, patches, unreadable);
  for (const nodePool of input.nodePools) {
    if (isDeleting(nodePool)) continue;
    if (!isNodePoolExcluded(nodePool)) managed.nodePools += 1;
    if (savedState(nodePool) === "unreadable") {
      if (!isNodePoolExcluded(nodePool)) unreadable.push(describe("NodePool", nodePool));
      continue;
    }
    const patch = decideNodePool(nodePool, input);
    if (patch) patches.push(patch);
  }
  patches.sort((a, b) =>
    `${a.kind}/${a.namespace ?? ""}/${a.name}`.localeCompare(`${b.kind}/${b.namespace ?? ""}/${b.name}`),
  );
  const nodeClaimDeletes = nodeClaimsToDelete(input, patches);
  const awaitingTemplate = awaitingTemplates(input, patches);
  const plan: HibernationPlan = {
    patches,
    nodeClaimDeletes,
    managed,
    inGrace,
    unreadable: unreadable.sort(),
    awaitingTemplate,
  };
  if (graceEndsAtMs !== undefined) plan.graceEndsAtMs = graceEndsAtMs;
  return plan;
}
