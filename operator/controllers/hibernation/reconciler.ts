// HibernationSchedule reconciler: evaluates the schedule, brings the cluster to the desired state, records status and audit.
//
// Level-based: every run compares desired (the schedule at `now`) with what the cluster holds and plans
// the writes with the pure planner. Writes are applied first; only a run that finds nothing left to do
// records the transition (audit entry, then status), so a restart at any point repeats no write.
import { mergePatchTo } from "../../../src-shared/kube/merge-patch.js";
import { createHash } from "node:crypto";
import {
  REFUSED_RETRY_MS,
  WRITE_REFUSED,
  kubeTime,
  setCondition,
  type Condition,
  type EventSink,
  type ReconcileResult,
} from "../../../src-shared/runtime/index.js";
import type { AuditWriter } from "../../../src-shared/audit/types.js";
import { canonicalJson } from "../../../src-shared/audit/chain.js";
import type { KubeObject } from "../../../src-shared/kube/index.js";
import {
  ScheduleSpecError,
  compileSchedule,
  evaluateSchedule,
  nextTransition,
  nextZoneTransitionMs,
  type CompiledSchedule,
  type ScheduleEvaluation,
} from "../../../src-shared/schedule/index.js";
import {
  CLUSTER_NOT_FOUND,
  ORGANISATION_LABEL,
  resolveClusterTarget,
  objectInForce,
  workloadNamespaceScope,
  type ClusterTarget,
  type PerClusterObject,
} from "../../../src-shared/tenancy/cluster-target.js";
import { SAVED_ANNOTATION, planHibernation, readSaved, type HibernationPlan, type ObservedObject } from "./desired.js";
import { KIND_REFS, type HibernationReader, type HibernationWriter } from "./kube.js";
import {
  expiredActions,
  localExecutor,
  remoteExecutor,
  type ClusterObservation,
  type ExecutionOutcome,
  type HibernationExecutor,
  type UnknownCluster,
} from "./executor.js";
import { projectSavings, type NodeHourlyPrice } from "./savings.js";
import { projectFromCapacity, sleepingCapacity, transitionDecision, type SleepingCapacity } from "./decision.js";

/** Held on every schedule so that deleting it first wakes the cluster. */
export const HIBERNATION_FINALIZER = "hibernation.spotoptimizer.io/wake-before-delete";
/** Held on the ManagedCluster a schedule acts on, so that deleting the cluster first wakes what was put to sleep. */
export const CLUSTER_FINALIZER = "hibernation.spotoptimizer.io/wake-before-delete";
export const AUDIT_ACTOR = "system:hibernation";
/** A schedule whose cluster is missing or foreign is looked at again after this (the designation is not watched). */
const NOT_FOUND_RESYNC_MS = 60_000;
/** Re-checks while asleep: workloads created meanwhile must be put to sleep after their grace period. */
const ASLEEP_RESYNC_MS = 60_000;
const AWAKE_RESYNC_MS = 5 * 60_000;
/** Timers may fire a little early; land just after the transition instant. */
const TIMER_MARGIN_MS = 5;
/** Next try after a per-object 409: long enough for the informer to deliver the newer object. */
const CONFLICT_RETRY_MS = 50;
/**
 * A remote cluster's next look while its AgentActions run: the action and snapshot watches usually come first; this
 * bounds the wait when a report shows nothing new.
 */
const REMOTE_WAIT_MS = 15_000;
/** Condition reason while NodeTemplate pools are marked asleep but not yet held at zero by their controller. */
const WAITING_FOR_TEMPLATE = "WaitingForNodeTemplate";
const TEMPLATE_WAIT_MS = 15_000;
/** Condition reason of a schedule another one in force for the same cluster overrules. */
const DUPLICATE = "Duplicate";
/** Condition reasons of a remote cluster the controller cannot act on yet. */
export const AGENT_NOT_REPORTED = "AgentNotReported";
export const AGENT_ACTION_FAILED = "AgentActionFailed";
export const AGENT_ACTION_PENDING = "AgentActionPending";

export interface HibernationReconcilerOptions {
  reader: HibernationReader;
  writer: HibernationWriter;
  events?: EventSink;
  nowMs?: () => number;
  /** Namespaces never slept besides the always-excluded ones: the installation's own (the release namespace). */
  protectedNamespaces?: readonly string[];
  /** Node prices for projectedMonthlySavingsUsd; without one there is no figure, only the reason in savingsBaseline. */
  price?: NodeHourlyPrice;
  /**
   * The facade's hash-chained audit writer. With `readChain` (the chain store has it) a transition already in
   * the chain is not appended again after a crash. Without a writer, AuditEntry CRs are created directly (unchained).
   */
  audit?: AuditWriter & {
    readChain?: (namespace: string) => Promise<{
      anchor?: { sequence: number };
      entries: Array<{ actor: string; event: string; after: unknown }>;
    }>;
  };
}

interface ScheduleObject extends KubeObject {
  spec?: Record<string, unknown>;
  status?: Record<string, any>;
}

interface Observed {
  /** The state the plan brings the cluster to. */
  desired: "awake" | "asleep";
  plan: HibernationPlan;
  nodes: ObservedObject[];
  nodePools: ObservedObject[];
  executor: HibernationExecutor;
}

interface RunContext {
  /** The reconciler's dependencies (reader, writer, events, prices, audit). */
  opts: HibernationReconcilerOptions;
  namespace: string;
  name: string;
  schedule: ScheduleObject;
  nowMs: number;
  deleting: boolean;
}

function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** A stable name per transition: a retried run after a crash creates the same entry, never a second one. */
function auditEntryName(schedule: ScheduleObject, to: string): string {
  const from = `${schedule.metadata?.uid ?? ""}|${String(schedule.status?.lastTransitionTime ?? "")}|${to}`;
  return `hibernation-${createHash("sha256").update(from).digest("hex").slice(0, 20)}`;
}

function transitionMessage(evaluation: ScheduleEvaluation, plan: HibernationPlan): string {
  const m = plan.managed;
  const what = `${m.deployments} Deployment(s), ${m.statefulSets} StatefulSet(s), ${m.cronJobs} CronJob(s), ${m.nodePools} NodePool(s)`;
  return evaluation.state === "asleep"
    ? `Put ${what} to sleep (${evaluation.reason})`
    : `Woke ${what} (${evaluation.reason})`;
}

function emptyPlan(): HibernationPlan {
  return {
    patches: [],
    nodeClaimDeletes: [],
    managed: { deployments: 0, statefulSets: 0, cronJobs: 0, nodePools: 0 },
    inGrace: 0,
    unreadable: [],
    awaitingTemplate: [],
  };
}

/** Equal as JSON whatever the key order: a real API server returns a custom resource's keys sorted. */
function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** A sleep or wake: the states, why (when not the schedule), and the capacity that went or returns. */
interface Transition {
  from: string;
  to: string;
  cause?: string;
  /** The nodes of the schedule's NodePools as last seen awake; absent when never seen. */
  capacity?: SleepingCapacity | undefined;
  /** The scheduled wake after a sleep (epoch ms), for the sleep's projected saving. */
  wakeMs?: number | undefined;
}

/**
 * What the audit entry of a sleep or wake says, with the decision fields the activity feed and the cost CSV read; its
 * name (`transition`) makes a repeated write recognisable.
 */
function transitionEntry(
  ctx: RunContext,
  transition: Transition,
  plan: HibernationPlan,
): { id: string; event: string; resource: string; before: { state: string }; after: Record<string, unknown> } {
  const { from, to } = transition;
  const id = auditEntryName(ctx.schedule, to);
  const cause = transition.cause ?? (ctx.deleting ? "schedule deleted" : undefined);
  const cluster = String(clusterName(ctx) ?? "");
  const schedule = `${ctx.namespace}/${ctx.name}`;
  return {
    id,
    event: to === "asleep" ? "hibernation.sleep" : "hibernation.wake",
    resource: `cluster/${cluster}`,
    before: { state: from },
    after: {
      state: to,
      schedule,
      managed: plan.managed,
      transition: id,
      ...(cause ? { cause } : {}),
      ...transitionDecision({
        to,
        cluster,
        schedule,
        capacity: transition.capacity,
        nowMs: ctx.nowMs,
        wakeMs: transition.wakeMs,
      }),
    },
  };
}

async function ensureFinalizer(ctx: RunContext): Promise<ScheduleObject> {
  const finalizers = stringList(ctx.schedule.metadata?.finalizers);
  if (ctx.deleting || finalizers.includes(HIBERNATION_FINALIZER)) return ctx.schedule;
  const metadata = {
    resourceVersion: ctx.schedule.metadata?.resourceVersion,
    finalizers: [...finalizers, HIBERNATION_FINALIZER],
  };
  return (await ctx.opts.writer.patchSchedule(ctx.namespace, ctx.name, { metadata })) as ScheduleObject;
}

async function removeFinalizer(ctx: RunContext): Promise<void> {
  const finalizers = stringList(ctx.schedule.metadata?.finalizers).filter((f) => f !== HIBERNATION_FINALIZER);
  await ctx.opts.writer.patchSchedule(ctx.namespace, ctx.name, {
    metadata: { resourceVersion: ctx.schedule.metadata?.resourceVersion, finalizers },
  });
}

async function observeAndPlan(
  ctx: RunContext,
  run: { desired: "awake" | "asleep"; executor: HibernationExecutor; inTenantScope?: (namespace: string) => boolean },
): Promise<Observed | UnknownCluster> {
  const spec = ctx.schedule.spec ?? {};
  const status = ctx.schedule.status ?? {};
  const observation: ClusterObservation | UnknownCluster = await run.executor.observe();
  if ("unknown" in observation) return observation;
  const asleepSince = status.state === "asleep" ? Date.parse(String(status.lastTransitionTime)) : NaN;
  const plan = planHibernation({
    desired: run.desired,
    scheduleKey: `${ctx.namespace}/${ctx.name}`,
    nowMs: ctx.nowMs,
    asleepSinceMs: Number.isFinite(asleepSince) ? asleepSince : ctx.nowMs,
    gracePeriodMs: numberOr(spec.gracePeriodMinutes, 15) * 60_000,
    enforce: spec.enforce === true,
    excludedNamespaces: stringList(spec.excludedNamespaces),
    protectedNamespaces: ctx.opts.protectedNamespaces ?? [],
    ...(run.inTenantScope ? { inTenantScope: run.inTenantScope } : {}),
    workloads: observation.workloads,
    nodePools: observation.nodePools,
    nodeClaims: observation.nodeClaims,
  });
  return {
    desired: run.desired,
    plan,
    nodes: observation.nodes,
    nodePools: observation.nodePools,
    executor: run.executor,
  };
}

/** The executor of the cluster a schedule acts on: AgentActions for a remote one, direct writes otherwise. */
function executorFor(ctx: RunContext, target: ClusterTarget): HibernationExecutor {
  if (!target.found || target.mode !== "remote") return localExecutor(ctx.opts.reader, ctx.opts.writer);
  const region = target.cluster.spec?.region;
  return remoteExecutor(ctx.opts.reader, ctx.opts.writer, {
    namespace: ctx.namespace,
    clusterName: target.name,
    ...(typeof region === "string" && region !== "" ? { region } : {}),
    schedule: ctx.schedule,
  });
}

/**
 * The state of this schedule's last sleep or wake in the chain (undefined when retention removed them all, or there was
 * none). Only the operator appends these, so a status edited by hand (`state` set to what the cluster is not) cannot
 * make a transition that did not happen.
 */
function chainedState(entries: ReadonlyArray<{ actor: string; event: string; after: unknown }>, schedule: string) {
  let state: string | undefined;
  for (const e of entries) {
    if (e.actor !== AUDIT_ACTOR || !e.event.startsWith("hibernation.")) continue;
    const after = e.after as { schedule?: unknown; state?: unknown } | null;
    if (after?.schedule === schedule && typeof after.state === "string") state = after.state;
  }
  return state;
}

/** Appends the transition's audit entry; false when the chain shows it already (a retry, or no real transition). */
async function recordAudit(ctx: RunContext, transition: Transition, plan: HibernationPlan): Promise<boolean> {
  const { id, event, resource, before, after } = transitionEntry(ctx, transition, plan);
  if (ctx.opts.audit) {
    const chain = ctx.opts.audit.readChain ? await ctx.opts.audit.readChain(ctx.namespace) : undefined;
    // Before any sleep the cluster was awake; once retention has removed entries, what it held is not known.
    const pruned = (chain?.anchor?.sequence ?? 0) > 0;
    const last = chain && (chainedState(chain.entries, String(after.schedule)) ?? (pruned ? undefined : "awake"));
    if (last === transition.to) return false;
    await ctx.opts.audit.record({
      namespace: ctx.namespace,
      actor: AUDIT_ACTOR,
      event,
      resource,
      outcome: "success",
      before,
      after,
    });
    return true;
  }
  await ctx.opts.writer.createIfAbsent({
    ...KIND_REFS.AuditEntry,
    metadata: {
      name: id,
      namespace: ctx.namespace,
      labels: { "app.kubernetes.io/managed-by": "spot-optimizer" },
    },
    spec: {
      actor: AUDIT_ACTOR,
      event,
      resource,
      outcome: "success",
      timestamp: kubeTime(new Date(ctx.nowMs)),
      before,
      after,
      prevHash: "",
    },
  });
  return true;
}

function savingsFields(
  ctx: RunContext,
  compiled: CompiledSchedule,
  observed: { nodes: ObservedObject[]; nodePools: ObservedObject[] },
  state: string,
): Record<string, unknown> {
  const status = ctx.schedule.status ?? {};
  // Asleep, the nodes are gone: price the capacity last seen awake under the schedule as it is now.
  const kept = status.sleepingCapacity as SleepingCapacity | undefined;
  if (state === "asleep" && kept && ctx.opts.price) {
    const projection = projectFromCapacity({ schedule: compiled, nowMs: ctx.nowMs, capacity: kept });
    return { projectedMonthlySavingsUsd: null, savingsAsOf: null, ...projection, sleepingCapacity: kept };
  }
  if (state === "asleep" && status.savingsBaseline !== undefined) {
    return {
      projectedMonthlySavingsUsd: status.projectedMonthlySavingsUsd,
      savingsBaseline: status.savingsBaseline,
      savingsAsOf: status.savingsAsOf,
      sleepingCapacity: status.sleepingCapacity,
    };
  }
  const key = `${ctx.namespace}/${ctx.name}`;
  const sleeping = new Set(
    observed.nodePools
      .filter(
        (p) =>
          p.metadata.annotations?.["hibernation.spotoptimizer.io/exclude"] !== "true" &&
          (readSaved(p)?.by ?? key) === key,
      )
      .map((p) => p.metadata.name),
  );
  // Every savings field is written: one left out would keep its last value under the status merge patch.
  return {
    projectedMonthlySavingsUsd: null,
    savingsAsOf: null,
    ...projectSavings({
      schedule: compiled,
      nowMs: ctx.nowMs,
      nodes: observed.nodes,
      sleepingNodePools: sleeping,
      price: ctx.opts.price,
    }),
    sleepingCapacity: sleepingCapacity({ nodes: observed.nodes, pools: sleeping, price: ctx.opts.price }),
  };
}

function readyCondition(ctx: RunContext, evaluation: ScheduleEvaluation, plan: HibernationPlan): Condition[] {
  const waiting = plan.inGrace > 0 ? `; ${plan.inGrace} new workload(s) in their grace period` : "";
  const left = plan.unreadable.length;
  const unreadable =
    left > 0
      ? `; ${left} object(s) left as they are, their ${SAVED_ANNOTATION} annotation is not one hibernation wrote ` +
        `(fix or remove it): ${plan.unreadable.slice(0, 5).join(", ")}${left > 5 ? ", …" : ""}`
      : "";
  return setCondition(
    ctx.schedule.status?.conditions as Condition[] | undefined,
    {
      type: "Ready",
      status: "True",
      reason: evaluation.state === "asleep" ? "Asleep" : "Awake",
      message: `Cluster is ${evaluation.state} (${evaluation.reason})${waiting}${unreadable}`,
      observedGeneration: ctx.schedule.metadata?.generation,
    },
    new Date(ctx.nowMs),
  );
}

/** Writes status fields that differ; true if it wrote. */
async function writeStatus(ctx: RunContext, status: Record<string, unknown>): Promise<boolean> {
  const current = ctx.schedule.status ?? {};
  // null (field to remove) and absent are the same state: no write for that.
  const changed = Object.entries(status).some(([k, v]) => !sameJson(current[k] ?? null, v ?? null));
  if (changed)
    await ctx.opts.writer.patchScheduleStatus(
      { namespace: ctx.namespace, name: ctx.name, resourceVersion: ctx.schedule.metadata?.resourceVersion },
      // The fields given replace what is there; the fields not given stay.
      Object.fromEntries(Object.entries(status).map(([k, v]) => [k, mergePatchTo(current[k], v)])),
    );
  return changed;
}

/** A Ready=False that changes nothing in the cluster (bad spec, cluster we cannot act on); Warning event when it is new. */
async function notReady(
  ctx: RunContext,
  condition: { reason: string; message: string },
  extra: Record<string, unknown> = {},
  eventType: "normal" | "warning" = "warning",
): Promise<ReconcileResult> {
  const { reason, message } = condition;
  const conditions = setCondition(
    ctx.schedule.status?.conditions as Condition[] | undefined,
    { type: "Ready", status: "False", reason, message, observedGeneration: ctx.schedule.metadata?.generation },
    new Date(ctx.nowMs),
  );
  if (await writeStatus(ctx, { ...extra, observedGeneration: ctx.schedule.metadata?.generation, conditions }))
    await ctx.opts.events?.[eventType](ctx.schedule, reason, message);
  if (reason === CLUSTER_NOT_FOUND) return { requeueAfterMs: NOT_FOUND_RESYNC_MS };
  // A sibling's change enqueues a Duplicate; this look bounds what no event tells (the one in force moved cluster).
  return reason === DUPLICATE ? { requeueAfterMs: AWAKE_RESYNC_MS } : {};
}

function clusterName(ctx: RunContext): unknown {
  return (ctx.schedule.spec?.clusterRef as { name?: unknown } | undefined)?.name;
}

/**
 * The schedule in force for this one's cluster: the oldest (creationTimestamp, then name) of the namespace's
 * schedules naming the same cluster that are not being deleted. Every other one is a Duplicate and does nothing.
 */
async function scheduleInForce(ctx: RunContext): Promise<string> {
  const name = clusterName(ctx);
  const all = (await ctx.opts.reader.listSchedules(ctx.namespace)) as PerClusterObject[];
  return typeof name === "string" ? (objectInForce(all, name)?.metadata?.name ?? ctx.name) : ctx.name;
}

/**
 * Which namespaces this organisation's schedule may scale: on the shared local cluster never another organisation's;
 * a remote cluster is the organisation's own (its namespaces are not the management cluster's organisations).
 */
async function tenantScope(
  ctx: RunContext,
  cluster: ClusterTarget & { found: true },
): Promise<(ns: string) => boolean> {
  if (cluster.mode === "remote")
    return workloadNamespaceScope({
      cluster: cluster.cluster,
      ownerNamespace: ctx.namespace,
      organisationNamespaces: new Set(),
    });
  const organisations = (await ctx.opts.reader.list("Namespace"))
    .filter((n) => n.metadata.labels?.[ORGANISATION_LABEL] === "true")
    .map((n) => n.metadata.name);
  return workloadNamespaceScope({
    cluster: cluster.cluster,
    ownerNamespace: ctx.namespace,
    organisationNamespaces: new Set(organisations),
  });
}

async function setClusterFinalizer(
  ctx: RunContext,
  target: ClusterTarget & { found: true },
  on: boolean,
): Promise<void> {
  const finalizers = stringList(target.cluster.metadata?.finalizers);
  if (finalizers.includes(CLUSTER_FINALIZER) === on) return;
  const next = on ? [...finalizers, CLUSTER_FINALIZER] : finalizers.filter((f) => f !== CLUSTER_FINALIZER);
  const resourceVersion = (target.cluster.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
  await ctx.opts.writer.patchManagedCluster(ctx.namespace, target.name, {
    metadata: { resourceVersion, finalizers: next },
  });
}

/**
 * Wakes what this schedule put to sleep (restoring only objects it saved), then reports Ready=False: the cluster
 * is missing, foreign or being deleted. A deleted cluster's finalizer goes once everything is awake.
 */
async function release(
  ctx: RunContext,
  why: { message: string; target: ClusterTarget; deletingCluster?: ClusterTarget & { found: true } },
): Promise<ReconcileResult> {
  const observed = await observeAndPlan(ctx, { desired: "awake", executor: executorFor(ctx, why.target) });
  if (!("unknown" in observed)) {
    const wrote = await applyPlan(ctx, observed);
    if (wrote) return wrote;
  }
  // A remote cluster that never reported was never put to sleep by this schedule: nothing to wake there.
  const plan = "unknown" in observed ? emptyPlan() : observed.plan;
  const wasAsleep = ctx.schedule.status?.state === "asleep";
  const cause = why.deletingCluster ? "cluster deleted" : "cluster not found";
  const capacity = ctx.schedule.status?.sleepingCapacity as SleepingCapacity | undefined;
  if (wasAsleep) await recordAudit(ctx, { from: "asleep", to: "awake", cause, capacity }, plan);
  if (why.deletingCluster) await setClusterFinalizer(ctx, why.deletingCluster, false);
  const woke = wasAsleep ? { state: "awake", lastTransitionTime: kubeTime(new Date(ctx.nowMs)) } : {};
  return notReady(ctx, { reason: CLUSTER_NOT_FOUND, message: `${why.message}${specProblem(ctx)}` }, woke);
}

/** The missing cluster decides the reason; a bad spec is said too, so it is not found only once the cluster is back. */
function specProblem(ctx: RunContext): string {
  const invalid = compile(ctx);
  return invalid instanceof ScheduleSpecError ? `; the spec is not valid either: ${invalid.message}` : "";
}

function requeueAfter({
  ctx,
  compiled,
  state,
  plan,
  nextMs,
}: {
  ctx: RunContext;
  compiled: CompiledSchedule;
  state: string;
  plan: HibernationPlan;
  nextMs: number | undefined;
}): ReconcileResult {
  const candidates = [state === "asleep" ? ASLEEP_RESYNC_MS : AWAKE_RESYNC_MS];
  if (nextMs !== undefined) candidates.push(nextMs - ctx.nowMs + TIMER_MARGIN_MS);
  if (plan.graceEndsAtMs !== undefined) candidates.push(plan.graceEndsAtMs - ctx.nowMs + TIMER_MARGIN_MS);
  const zoneChange = nextZoneTransitionMs(compiled.timeZone, ctx.nowMs);
  if (zoneChange !== undefined) candidates.push(zoneChange - ctx.nowMs + TIMER_MARGIN_MS);
  return { requeueAfterMs: Math.max(TIMER_MARGIN_MS, Math.min(...candidates)) };
}

async function finishDeletion(ctx: RunContext, plan: HibernationPlan): Promise<ReconcileResult> {
  const capacity = ctx.schedule.status?.sleepingCapacity as SleepingCapacity | undefined;
  if (ctx.schedule.status?.state === "asleep") await recordAudit(ctx, { from: "asleep", to: "awake", capacity }, plan);
  await releaseClusterIfLast(ctx);
  await removeFinalizer(ctx);
  return {};
}

/** The cluster keeps its wake-before-delete finalizer only while a schedule that is not going away names it. */
async function releaseClusterIfLast(ctx: RunContext): Promise<void> {
  const name = clusterName(ctx);
  if (typeof name !== "string") return;
  const others = (await ctx.opts.reader.listSchedules(ctx.namespace)).filter(
    (s) =>
      s.metadata?.name !== ctx.name &&
      s.metadata?.deletionTimestamp === undefined &&
      ((s as ScheduleObject).spec?.clusterRef as { name?: unknown } | undefined)?.name === name,
  );
  const cluster = await ctx.opts.reader.getManagedCluster(ctx.namespace, name);
  if (others.length > 0 || !cluster) return;
  await setClusterFinalizer(ctx, { found: true, name, cluster, mode: "local", deleting: false }, false);
}

/** The schedule and the run's context, or undefined when there is nothing to do (gone, or deleted and released). */
async function load(opts: HibernationReconcilerOptions, key: string): Promise<RunContext | undefined> {
  const { namespace, name } = splitKey(key);
  const found = (await opts.reader.getSchedule(namespace, name)) as ScheduleObject | undefined;
  if (!found) return undefined;
  const ctx: RunContext = {
    opts,
    namespace,
    name,
    schedule: found,
    nowMs: (opts.nowMs ?? Date.now)(),
    deleting: found.metadata?.deletionTimestamp !== undefined,
  };
  if (ctx.deleting && !stringList(found.metadata?.finalizers).includes(HIBERNATION_FINALIZER)) return undefined;
  ctx.schedule = await ensureFinalizer(ctx);
  return ctx;
}

/** The compiled spec; a ScheduleSpecError is returned, not thrown (it is reported, not retried). */
function compile(ctx: RunContext): CompiledSchedule | ScheduleSpecError {
  try {
    return compileSchedule(ctx.schedule.spec);
  } catch (err) {
    if (err instanceof ScheduleSpecError) return err;
    throw err;
  }
}

function statusOf(
  ctx: RunContext,
  compiled: CompiledSchedule,
  run: { evaluation: ScheduleEvaluation; observed: Observed; transitioned: boolean },
): Record<string, unknown> {
  const { evaluation, observed, transitioned } = run;
  const current = ctx.schedule.status ?? {};
  const next = nextTransition(compiled, ctx.nowMs);
  const keepTime = !transitioned && current.lastTransitionTime !== undefined;
  return {
    observedGeneration: ctx.schedule.metadata?.generation,
    state: evaluation.state,
    reason: evaluation.reason,
    lastTransitionTime: keepTime ? current.lastTransitionTime : kubeTime(new Date(ctx.nowMs)),
    nextTransition: next ? kubeTime(new Date(next.epochMs)) : null,
    managed: observed.plan.managed,
    ...savingsFields(ctx, compiled, observed, evaluation.state),
    conditions: readyCondition(ctx, evaluation, observed.plan),
  };
}

/**
 * The transition a run completes. Asleep, the capacity is the one last seen awake (kept in the status, as the savings
 * figure is): by now the nodes may be gone. Awake, it is what the sleep took, i.e. the status from before this run.
 */
function transitionOf(
  ctx: RunContext,
  run: {
    previous: string | undefined;
    evaluation: ScheduleEvaluation;
    status: Record<string, unknown>;
    nextMs?: number;
  },
): Transition {
  const to = run.evaluation.state;
  const before = ctx.schedule.status?.sleepingCapacity as SleepingCapacity | undefined;
  const capacity = to === "asleep" ? (run.status.sleepingCapacity as SleepingCapacity | undefined) : before;
  return { from: run.previous ?? "awake", to, capacity, wakeMs: to === "asleep" ? run.nextMs : undefined };
}

/** The cluster is as desired: record a completed transition (audit, then status) and requeue. */
async function record(
  ctx: RunContext,
  compiled: CompiledSchedule,
  evaluation: ScheduleEvaluation,
  observed: Observed,
): Promise<ReconcileResult> {
  const previous = ctx.schedule.status?.state as string | undefined;
  const transitioned = previous !== undefined ? previous !== evaluation.state : evaluation.state === "asleep";
  const status = statusOf(ctx, compiled, { evaluation, observed, transitioned });
  const nextMs = status.nextTransition === null ? undefined : Date.parse(String(status.nextTransition));
  const appended =
    transitioned &&
    (await recordAudit(ctx, transitionOf(ctx, { previous, evaluation, status, nextMs }), observed.plan));
  const wrote = await writeStatus(ctx, status);
  // After the status (the commit point): a crash in between loses an Event, never repeats a transition.
  if (appended && wrote)
    await ctx.opts.events?.normal(
      ctx.schedule,
      evaluation.state === "asleep" ? "Asleep" : "Awake",
      transitionMessage(evaluation, observed.plan),
    );
  return requeueAfter({ ctx, compiled, state: evaluation.state, plan: observed.plan, nextMs });
}

/**
 * A direct write's outcome: refused objects are named on the schedule (the transition is not recorded while any is
 * left) and tried again later; the rest of the plan was written regardless.
 */
async function localOutcome(ctx: RunContext, executed: ExecutionOutcome): Promise<ReconcileResult> {
  if (executed.failed.length === 0) return { requeueAfterMs: executed.conflicts > 0 ? CONFLICT_RETRY_MS : 0 };
  const n = executed.failed.length;
  await notReady(ctx, {
    reason: WRITE_REFUSED,
    message: `The API server refused ${n} write(s), the rest was done; retrying: ${executed.failed[0]}`,
  });
  return { requeueAfterMs: REFUSED_RETRY_MS };
}

/**
 * Why a remote cluster is not yet as planned: a failed AgentAction, else actions under way. The message names no
 * count, so the agent's progress reports do not rewrite the status on every heartbeat.
 */
function remoteWait(observed: Observed, executed: ExecutionOutcome): { reason: string; message: string } {
  if (executed.failed.length > 0)
    return {
      reason: AGENT_ACTION_FAILED,
      message: `${executed.failed.length} AgentAction(s) failed, waiting for a newer report of the cluster: ${executed.failed[0]}`,
    };
  return {
    reason: AGENT_ACTION_PENDING,
    message: `${observed.desired === "asleep" ? "Going to sleep" : "Waking"}: AgentActions are under way in the cluster, waiting for its agent's report to show them done`,
  };
}

/**
 * Carries out the plan; the requeue when anything was written or is under way (the next run, finding nothing to do,
 * records the result). While a remote cluster's AgentActions are pending or failed the schedule says so for its
 * current generation, so its status never presents an older spec's outcome as the one in force.
 */
async function applyPlan(ctx: RunContext, observed: Observed): Promise<ReconcileResult | undefined> {
  const executed = await observed.executor.execute(observed.plan);
  if (executed.attempted === 0) return undefined;
  if (observed.executor.mode === "local") return localOutcome(ctx, executed);
  const wait = remoteWait(observed, executed);
  await notReady(ctx, wait, {}, wait.reason === AGENT_ACTION_PENDING ? "normal" : "warning");
  return { requeueAfterMs: REMOTE_WAIT_MS };
}

/** A remote cluster is as desired: its finished AgentActions past their TTL go. */
async function pruneActions(ctx: RunContext, observed: Observed): Promise<void> {
  if (observed.executor.mode !== "remote") return;
  for (const name of expiredActions(await ctx.opts.reader.listAgentActions(ctx.namespace), ctx.name, ctx.nowMs))
    await ctx.opts.writer.deleteAgentAction(ctx.namespace, name);
}

/** Brings the cluster to the schedule's state at `now` within the organisation's namespaces, then records it. */
async function runSchedule(
  ctx: RunContext,
  compiled: CompiledSchedule,
  target: ClusterTarget & { found: true },
): Promise<ReconcileResult> {
  const evaluation = evaluateSchedule(compiled, ctx.nowMs);
  const observed = await observeAndPlan(ctx, {
    desired: evaluation.state,
    executor: executorFor(ctx, target),
    inTenantScope: await tenantScope(ctx, target),
  });
  if ("unknown" in observed)
    return {
      ...(await notReady(ctx, { reason: AGENT_NOT_REPORTED, message: observed.unknown })),
      requeueAfterMs: REMOTE_WAIT_MS,
    };
  const wrote = await applyPlan(ctx, observed);
  if (wrote) return wrote;
  const held = observed.plan.awaitingTemplate;
  // Asleep only once the NodeTemplate controller holds its pools at zero (a NodePool event brings the next run).
  if (held.length > 0)
    return {
      ...(await notReady(
        ctx,
        {
          reason: WAITING_FOR_TEMPLATE,
          message: `Going to sleep: NodePool(s) ${held.join(", ")} wait for their NodeTemplate controller to hold them at zero limits (see the NodeTemplate's Applied condition if this lasts)`,
        },
        {},
        "normal",
      )),
      requeueAfterMs: TEMPLATE_WAIT_MS,
    };
  await pruneActions(ctx, observed);
  return record(ctx, compiled, evaluation, observed);
}

/** Wakes everything this schedule put to sleep before its finalizer lets it go (even if its spec is invalid). */
async function wakeBeforeDelete(ctx: RunContext): Promise<ReconcileResult> {
  const target = await resolveClusterTarget(
    { managedCluster: ctx.opts.reader.getManagedCluster, localCluster: ctx.opts.reader.localCluster },
    { namespace: ctx.namespace, clusterName: clusterName(ctx) },
  );
  const observed = await observeAndPlan(ctx, { desired: "awake", executor: executorFor(ctx, target) });
  if ("unknown" in observed) return finishDeletion(ctx, emptyPlan());
  return (await applyPlan(ctx, observed)) ?? finishDeletion(ctx, observed.plan);
}

function invalidSpec(error: ScheduleSpecError): { reason: string; message: string } {
  return { reason: "InvalidSpec", message: error.message };
}

/** One level-based run for the schedule `key`: wake before delete, report a bad or duplicate spec, else act. */
async function reconcileSchedule(options: HibernationReconcilerOptions, key: string): Promise<ReconcileResult> {
  const ctx = await load(options, key);
  if (!ctx) return {};
  if (ctx.deleting) return wakeBeforeDelete(ctx);
  const compiled = compile(ctx);
  const inForce = await scheduleInForce(ctx);
  if (inForce !== ctx.name)
    return notReady(
      ctx,
      compiled instanceof ScheduleSpecError
        ? invalidSpec(compiled)
        : {
            reason: DUPLICATE,
            message: `HibernationSchedule ${inForce} is in force for cluster ${String(clusterName(ctx))}; this one does nothing`,
          },
    );
  const target = await resolveClusterTarget(
    { managedCluster: options.reader.getManagedCluster, localCluster: options.reader.localCluster },
    { namespace: ctx.namespace, clusterName: clusterName(ctx) },
  );
  // Even with a bad spec: waking what it put to sleep and letting a deleted cluster go need no schedule.
  if (!target.found) return release(ctx, { message: target.message, target });
  if (target.deleting)
    return release(ctx, {
      message: `ManagedCluster ${target.name} is being deleted`,
      target,
      deletingCluster: target,
    });
  // Nothing is changed in the cluster on a bad spec: the last applied state stays until the spec is fixed.
  if (compiled instanceof ScheduleSpecError) return notReady(ctx, invalidSpec(compiled));
  await setClusterFinalizer(ctx, target, true);
  return runSchedule(ctx, compiled, target);
}

export function createHibernationReconciler(
  options: HibernationReconcilerOptions,
): (key: string) => Promise<ReconcileResult> {
  return (key) => reconcileSchedule(options, key);
}
