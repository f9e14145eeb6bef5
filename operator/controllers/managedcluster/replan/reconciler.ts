// Replan reconciler: performs the re-plan job a ManagedCluster's replan-requested annotation asks for, once per job id.
//
// Level-based: the job is done when status.lastPlan.jobId and the replan-completed annotation both name the requested
// job. Order of writes: status.lastPlan (the result), the audit entry (skipped when the chain already has it), then the
// annotation, so a restart between any two repeats none of them and never re-plans a job whose result was written
// (checked against a live read before planning, since the cache may lag our own status write).
import type { V1Pod } from "@kubernetes/client-node";
import type { AuditRecord, AuditWriter } from "../../../../src-shared/audit/types.js";
import {
  API_VERSION,
  REPLAN_ANNOTATION,
  REPLAN_DONE_ANNOTATION,
  type LastPlan,
} from "../../../../src-shared/crds/index.js";
import type { KubeClient, KubeObject } from "../../../../src-shared/kube/index.js";
import { optimize, type OptimizeInput, type OptimizeResult } from "../../../../src-shared/optimizer/optimize.js";
import type { PriceBook } from "../../../../src-shared/pricing/types.js";
import {
  applyObject,
  applyStatus,
  setCondition,
  type Condition,
  type ConditionInput,
  type Informer,
  type ReconcileResult,
  type EventSink,
} from "../../../../src-shared/runtime/index.js";
import { ownsLocalNodes } from "../../../../src-shared/fleet/fleet-metrics.js";
import {
  CLUSTER_NOT_FOUND,
  objectInForce,
  type LocalClusterRef,
  type PerClusterObject,
} from "../../../../src-shared/tenancy/cluster-target.js";
import { parseSnapshot, snapshotOf } from "../../../../src-shared/agent/snapshot.js";
import {
  failedPlan,
  invalidTemplate,
  optimizerInput,
  podShapes,
  podShapesFromReport,
  succeededPlan,
  type PodInventory,
  type PolicyView,
  type TemplateView,
} from "./desired.js";

/** One field manager for everything this controller writes (status.lastPlan, its condition, the completed annotation). */
export const REPLAN_FIELD_MANAGER = "spot-optimizer-replan";
export const AUDIT_ACTOR = "system:replan";
export const CONDITION_PLANNED = "Planned";
/** Default work budget of one plan (about 1 ms of CPU per unit, counted in work so the plan is deterministic); complete whatever the budget. */
export const DEFAULT_PLAN_BUDGET_MS = 1000;

export interface ReplanReconcilerOptions {
  client: KubeClient;
  clusters: Informer;
  templates: Informer;
  policies: Informer;
  pods: Informer;
  /** The facade's heartbeat snapshot ConfigMaps: a remote cluster's pods come from its agent's latest report. */
  snapshots?: Informer;
  /** HibernationSchedules: a cluster asleep is not planned (its sleeping workloads have no pods to count). */
  schedules?: Informer;
  /** Where those live (the release namespace); default DEFAULT_SYSTEM_NAMESPACE. */
  releaseNamespace?: string | undefined;
  /** Price book of a region; throws when the region has no prices. */
  priceBook: (region: string) => PriceBook;
  /** The installer's designation of the local cluster: only it is planned from the Pods the operator sees. */
  localCluster: () => Promise<LocalClusterRef | undefined>;
  /** The org's hash-chained audit writer; readChain lets a retried job skip an entry already written. */
  audit: AuditWriter & { readChain(namespace: string): Promise<{ entries: AuditRecord[] }> };
  events?: EventSink;
  planBudgetMs?: number;
  now?: () => Date;
  /** Where plans run (default: optimize() in this thread); the controller runs them in a worker thread. */
  optimize?: (input: OptimizeInput) => Promise<OptimizeResult>;
}

interface ClusterObject extends KubeObject {
  spec: { mode?: "local" | "remote"; region?: string };
  status?: { lastPlan?: LastPlan; conditions?: Condition[] };
}

interface Job {
  cluster: ClusterObject;
  namespace: string;
  name: string;
  jobId: string;
}

const failure = (job: Job, now: Date, reason: string, message: string): LastPlan =>
  failedPlan({ jobId: job.jobId, now, reason, message });

/** What time it is for this controller (injectable in tests). */
function nowOf(options: ReplanReconcilerOptions): Date {
  return options.now?.() ?? new Date();
}

/** The cluster's own objects in its namespace, by clusterRef. */
function owned<T>(informer: Informer, job: Job): T[] {
  return informer
    .list({ namespace: job.namespace })
    .filter((o) => (o as { spec?: { clusterRef?: { name?: string } } }).spec?.clusterRef?.name === job.name)
    .sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "")) as unknown as T[];
}

function loadBook(options: ReplanReconcilerOptions, job: Job, at: Date): PriceBook | LastPlan {
  const region = job.cluster.spec.region;
  if (!region)
    return failure(job, at, "NoRegion", `ManagedCluster ${job.name} has no spec.region: no price book to plan with`);
  try {
    const book = options.priceBook(region);
    if (book.onDemand.size > 0) return book;
    return failure(job, at, "NoPrices", `No On-Demand prices for region ${region}: nothing to plan or compare against`);
  } catch (err) {
    return failure(
      job,
      at,
      "NoPrices",
      `No prices for region ${region}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** The pods to plan: the local cluster's from the Pod cache, a remote cluster's from its agent's latest heartbeat. */
async function inventoryOf(
  options: ReplanReconcilerOptions,
  job: Job,
  at: Date,
): Promise<{ inventory: PodInventory; source?: string } | LastPlan> {
  if ((job.cluster.spec.mode ?? "local") === "remote") {
    const where = {
      releaseNamespace: options.releaseNamespace,
      namespace: job.namespace,
      cluster: job.name,
      uid: job.cluster.metadata?.uid,
    };
    const snapshot = parseSnapshot(snapshotOf(options.snapshots, where) as never);
    if (!snapshot)
      return failure(
        job,
        at,
        "NotReported",
        `ManagedCluster ${job.name} is remote and its agent has not reported yet: no pods to plan`,
      );
    return {
      inventory: podShapesFromReport(snapshot.pods),
      source: `pods as the agent reported them at ${snapshot.receivedAt}`,
    };
  }
  const cluster = { metadata: { name: job.name, namespace: job.namespace }, spec: job.cluster.spec };
  if (!ownsLocalNodes(cluster, await options.localCluster())) {
    return failure(
      job,
      at,
      CLUSTER_NOT_FOUND,
      `ManagedCluster ${job.name} says mode local but is not the installer's designated local cluster: the pods the operator sees are not its pods`,
    );
  }
  return { inventory: podShapes(options.pods.list() as unknown as V1Pod[]) };
}

/**
 * A failure when the schedule in force for the cluster has it asleep: its sleeping workloads run no pods, so a plan would
 * pack only what stays awake and report the difference as bin-packing savings.
 */
function asleep(options: ReplanReconcilerOptions, job: Job, at: Date): LastPlan | undefined {
  const schedules = (options.schedules?.list({ namespace: job.namespace }) ?? []) as unknown as Array<
    PerClusterObject & { status?: { state?: string } }
  >;
  const schedule = objectInForce(schedules, job.name);
  if (schedule?.status?.state !== "asleep") return undefined;
  return failure(
    job,
    at,
    "Hibernating",
    `ManagedCluster ${job.name} is asleep (HibernationSchedule ${schedule.metadata?.name ?? ""}): its sleeping ` +
      "workloads run no pods to plan; optimize again once it is awake",
  );
}

/** The cluster's NodeTemplates, or a failure when every one is invalid: the plan would fall back to every family. */
function templatesOf(options: ReplanReconcilerOptions, job: Job, at: Date): TemplateView[] | LastPlan {
  const templates = owned<TemplateView>(options.templates, job);
  if (templates.length === 0 || !templates.every(invalidTemplate)) return templates;
  const names = templates.map((t) => t.metadata.name ?? "").join(", ");
  return failure(
    job,
    at,
    "NoValidTemplate",
    `Every NodeTemplate of ManagedCluster ${job.name} is not valid (${names}): none has a NodePool for its spec; ` +
      "fix them and optimize again",
  );
}

async function plan(options: ReplanReconcilerOptions, job: Job): Promise<LastPlan> {
  const at = nowOf(options);
  const sleeping = asleep(options, job, at);
  if (sleeping) return sleeping;
  const pods = await inventoryOf(options, job, at);
  if ("phase" in pods) return pods;
  const { inventory } = pods;
  const book = loadBook(options, job, at);
  if (!("onDemand" in book)) return book;
  const templates = templatesOf(options, job, at);
  if (!Array.isArray(templates)) return templates;
  const input = optimizerInput({
    templates,
    policy: owned<PolicyView>(options.policies, job)[0],
    book,
  });
  const planInput = pods.source ? { ...input, basis: `${input.basis}; ${pods.source}` } : input;
  try {
    const result = await (options.optimize ?? optimize)({
      pods: inventory.groups,
      book: planInput.book,
      policy: planInput.policy,
      planBudgetMs: options.planBudgetMs ?? DEFAULT_PLAN_BUDGET_MS,
      // as `spotctl plan` does by default: the bound's columns also improve the plan, and the message states the gap
      lowerBound: true,
    });
    return succeededPlan({ jobId: job.jobId, now: nowOf(options), plan: result, inventory, planInput });
  } catch (err) {
    return failure(
      job,
      nowOf(options),
      "OptimizerError",
      `The optimizer failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

async function writeResult(options: ReplanReconcilerOptions, job: Job, lastPlan: LastPlan): Promise<void> {
  // Only our condition is sent: the list is a map keyed by type, so the ManagedCluster controller's conditions stay its own.
  const conditions = setCondition(
    (job.cluster.status?.conditions ?? []).filter((c) => c.type === CONDITION_PLANNED),
    plannedCondition(job, lastPlan),
    nowOf(options),
  );
  await applyStatus(
    options.client,
    {
      apiVersion: API_VERSION,
      kind: "ManagedCluster",
      metadata: { name: job.name, namespace: job.namespace },
      status: { lastPlan, conditions },
    },
    { fieldManager: REPLAN_FIELD_MANAGER, current: job.cluster },
  );
  if (lastPlan.phase === "Succeeded")
    await options.events?.normal(job.cluster, "Replanned", succeededEventMessage(job, lastPlan));
  else
    await options.events?.warning(
      job.cluster,
      lastPlan.reason ?? "ReplanFailed",
      `Job ${job.jobId}: ${lastPlan.message ?? ""}`,
    );
}

async function recordAudit(options: ReplanReconcilerOptions, job: Job, lastPlan: LastPlan): Promise<void> {
  const { entries } = await options.audit.readChain(job.namespace);
  if (entries.some((e) => e.actor === AUDIT_ACTOR && (e.after as { jobId?: unknown } | null)?.jobId === job.jobId))
    return;
  const succeeded = lastPlan.phase === "Succeeded";
  const { message: _message, ...after } = lastPlan;
  await options.audit.record({
    namespace: job.namespace,
    actor: AUDIT_ACTOR,
    event: succeeded ? "Completed cluster optimization" : "Failed cluster optimization",
    resource: `cluster/${job.name}`,
    outcome: succeeded ? "success" : "failure",
    after,
  });
}

async function markCompleted(options: ReplanReconcilerOptions, job: Job): Promise<void> {
  const desired = {
    apiVersion: API_VERSION,
    kind: "ManagedCluster",
    metadata: { name: job.name, namespace: job.namespace, annotations: { [REPLAN_DONE_ANNOTATION]: job.jobId } },
  };
  await applyObject(options.client, desired, { fieldManager: REPLAN_FIELD_MANAGER });
}

/**
 * The pending job as the API server has it now. Planning is the expensive, non-repeatable step, so before it the
 * cache is checked against a live read: a cache that has not yet seen our own result must not plan the job twice.
 */
async function liveJob(options: ReplanReconcilerOptions, cached: Job): Promise<Job | undefined> {
  const live = await options.client.getIfExists<ClusterObject>({
    apiVersion: API_VERSION,
    kind: "ManagedCluster",
    namespace: cached.namespace,
    name: cached.name,
  });
  return pendingJob(live);
}

/** One level-based run: plan the pending job once, then its audit entry and the completed annotation. */
async function reconcileJob(options: ReplanReconcilerOptions, key: string): Promise<ReconcileResult> {
  let job = pendingJob(options.clusters.getByKey(key) as ClusterObject | undefined);
  if (job && job.cluster.status?.lastPlan?.jobId !== job.jobId) job = await liveJob(options, job);
  if (!job) return {};
  let lastPlan = job.cluster.status?.lastPlan;
  if (lastPlan?.jobId !== job.jobId) {
    lastPlan = await plan(options, job);
    await writeResult(options, job, lastPlan);
  }
  await recordAudit(options, job, lastPlan);
  await markCompleted(options, job);
  return {};
}

export function createReplanReconciler(options: ReplanReconcilerOptions): (key: string) => Promise<ReconcileResult> {
  return (key) => reconcileJob(options, key);
}

/** The job a cluster asks for and has not finished (result in status and completed annotation), if any. */
function pendingJob(cluster: ClusterObject | undefined): Job | undefined {
  if (!cluster?.metadata) return undefined;
  const { metadata } = cluster;
  const annotations = metadata.annotations ?? {};
  const jobId = annotations[REPLAN_ANNOTATION];
  if (!jobId || metadata.deletionTimestamp) return undefined;
  if (isDone(cluster, jobId)) return undefined;
  return { cluster, namespace: metadata.namespace ?? "", name: metadata.name ?? "", jobId };
}

function isDone(cluster: ClusterObject, jobId: string): boolean {
  return cluster.status?.lastPlan?.jobId === jobId && cluster.metadata?.annotations?.[REPLAN_DONE_ANNOTATION] === jobId;
}

function plannedCondition(job: Job, lastPlan: LastPlan): ConditionInput {
  return {
    type: CONDITION_PLANNED,
    status: lastPlan.phase === "Succeeded" ? "True" : "False",
    reason: lastPlan.reason ?? lastPlan.phase,
    message: `Job ${job.jobId}: ${lastPlan.message ?? ""}`.slice(0, 4096),
    observedGeneration: job.cluster.metadata?.generation,
  };
}

function succeededEventMessage(job: Job, p: LastPlan): string {
  const nodes = (p.nodes ?? []).reduce((n, x) => n + x.count, 0);
  const saving = p.savingsPct === undefined ? "no baseline (no nodes)" : `${p.savingsPct}% below ${p.baseline}`;
  const prices = p.prices ? `prices ${p.prices.source} as of ${p.prices.asOf}` : "prices unknown";
  return `Job ${job.jobId}: ${nodes} node(s) for ${p.podsPlanned ?? 0} pod(s), $${p.hourlyCostUsd}/h ($${p.monthlyCostUsd}/month), ${saving}; ${prices}`;
}
