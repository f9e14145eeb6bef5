// Where hibernation reads a cluster and carries out its plan: the cluster the operator runs in (direct API writes) or a
// remote cluster (its agent's heartbeat snapshot, AgentActions the agent performs). The reconciler is written once
// against this interface; the pure planner (desired.ts) is the same for both.
import { createHash } from "node:crypto";
import { snapshotNodeAsV1, type ClusterSnapshot } from "../../../src-shared/agent/snapshot.js";
import type { HeartbeatObject } from "../../../src-shared/agent/protocol.js";
import { isOwnedBy, ownerMarks } from "../../../src-shared/agent/action-owner.js";
import { API_VERSION } from "../../../src-shared/crds/common.js";
import { isConflict, isNotFound, type KubeObject } from "../../../src-shared/kube/index.js";
import { isWriteRefused } from "../../../src-shared/runtime/index.js";
import {
  SAVED_ANNOTATION,
  type HibernationPlan,
  type ObservedObject,
  type ObservedWorkload,
  type PlannedPatch,
} from "./desired.js";
import { KIND_REFS, listWorkloads, type HibernationReader, type HibernationWriter } from "./kube.js";

/** What the planner and the savings figure need from a cluster. */
export interface ClusterObservation {
  workloads: ObservedWorkload[];
  nodePools: ObservedObject[];
  nodeClaims: ObservedObject[];
  nodes: ObservedObject[];
}

/** The cluster's state is not known (a remote cluster whose agent has not reported objects yet). */
export interface UnknownCluster {
  unknown: string;
}

export interface ExecutionOutcome {
  /** Writes made or still under way (0 = the cluster already is as the plan says). */
  attempted: number;
  /** Per-object 409s of direct writes (retried soon). */
  conflicts: number;
  /**
   * Writes the cluster refused, one message each: a direct write's per-object refusal, or an AgentAction of this plan
   * that failed while no fresher report shows the cluster changed.
   */
  failed: string[];
}

export interface HibernationExecutor {
  readonly mode: "local" | "remote";
  observe(): Promise<ClusterObservation | UnknownCluster>;
  execute(plan: HibernationPlan): Promise<ExecutionOutcome>;
}

/** The cluster the operator runs in: reads from the reader, writes through the API at once. */
export function localExecutor(reader: HibernationReader, writer: HibernationWriter): HibernationExecutor {
  return {
    mode: "local",
    async observe() {
      const [workloads, nodePools, nodeClaims, nodes] = await Promise.all([
        listWorkloads(reader),
        reader.list("NodePool"),
        reader.list("NodeClaim"),
        reader.list("Node"),
      ]);
      return { workloads, nodePools, nodeClaims, nodes };
    },
    /**
     * A 409 on one object (a stale read: the guard did its job) skips only that object, so one busy object does not
     * hold up the rest nor push the whole key into exponential backoff; it is re-planned next run.
     */
    async execute(plan) {
      let conflicts = 0;
      let nodePoolMissed = false;
      const failed: string[] = [];
      for (const patch of plan.patches) {
        try {
          await writer.applyPatch(patch);
        } catch (err) {
          if (isConflict(err)) conflicts += 1;
          // One refused object (invalid value, admission denial) is reported and the rest of the plan still runs, so
          // it cannot hold a whole cluster asleep; one gone meanwhile has nothing left to sleep or wake. Anything
          // else is retried as a whole.
          else if (isWriteRefused(err) && !isNotFound(err))
            failed.push(`${patch.kind} ${refText(patch)}: ${(err as Error).message}`);
          else if (!isNotFound(err)) throw err;
          nodePoolMissed ||= patch.kind === "NodePool";
        }
      }
      // NodeClaims go only once their NodePool's zero limit has landed, else Karpenter would replace them.
      if (!nodePoolMissed) for (const name of plan.nodeClaimDeletes) await writer.deleteNodeClaim(name);
      return { attempted: plan.patches.length + plan.nodeClaimDeletes.length, conflicts, failed };
    },
  };
}

function refText(patch: PlannedPatch): string {
  return patch.namespace === undefined ? patch.name : `${patch.namespace}/${patch.name}`;
}

/** Label (and annotation, with the full name) on the AgentActions hibernation creates, naming the schedule. */
export const SCHEDULE_LABEL = "hibernation.spotoptimizer.io/schedule";
/** Finished actions are kept this long for `kubectl get agentactions`, then deleted by the schedule's reconcile. */
export const FINISHED_ACTION_TTL_MS = 3_600_000;
const ACTION_TIMEOUT_S = 60;

export interface RemoteTarget {
  namespace: string;
  clusterName: string;
  /** Region of the ManagedCluster: the price region of its reported nodes. */
  region?: string;
  schedule: KubeObject;
}

interface ActionView extends KubeObject {
  spec?: { type?: string };
  status?: { phase?: string; completedAt?: string; result?: { message?: string } };
}

/** Copies the keys whose value is neither undefined nor null (absent in the report = absent on the object). */
function present(entries: Record<string, unknown>): Record<string, any> {
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined && v !== null));
}

function toObserved(o: HeartbeatObject, receivedAt: string): ObservedObject {
  const metadata = present({
    name: o.name,
    namespace: o.namespace,
    resourceVersion: o.resource_version,
    creationTimestamp: o.creation_timestamp,
    deletionTimestamp: o.deleting ? receivedAt : undefined,
    annotations: o.annotations,
    labels: o.labels,
  }) as ObservedObject["metadata"];
  return { metadata, spec: present({ replicas: o.replicas, suspend: o.suspend, limits: o.limits }) };
}

/** The objects, nodes and NodePools a snapshot reports, in the shapes the planner reads. */
export function observationFromSnapshot(snapshot: ClusterSnapshot, region?: string): ClusterObservation {
  const objects = snapshot.objects ?? [];
  const of = (kind: HeartbeatObject["kind"]): ObservedObject[] =>
    objects.filter((o) => o.kind === kind).map((o) => toObserved(o, snapshot.receivedAt));
  const workloads = (["Deployment", "StatefulSet", "CronJob"] as const).flatMap((kind) =>
    of(kind).map((o) => ({ ...o, kind })),
  );
  const nodes = snapshot.nodes.map((n) => {
    const v1 = snapshotNodeAsV1(n);
    const labels = { ...(v1.metadata?.labels ?? {}) };
    if (region) labels["topology.kubernetes.io/region"] = region;
    return { metadata: { name: n.name, labels } };
  });
  return { workloads, nodePools: of("NodePool"), nodeClaims: of("NodeClaim"), nodes };
}

function escapePointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/**
 * What the object must still hold when the agent applies the patch: the field the plan read (replicas, suspend or
 * limits) and the saved annotation, as the report showed them (null = absent). This replaces the resourceVersion guard
 * of a direct write, since a remote object's resourceVersion moves with every status update the report never shows.
 */
export function expectationsOf(patch: PlannedPatch, observed: ObservedObject): Array<{ path: string; value: unknown }> {
  const field = patch.kind === "NodePool" ? "limits" : patch.kind === "CronJob" ? "suspend" : "replicas";
  return [
    { path: `/spec/${field}`, value: observed.spec?.[field] ?? null },
    {
      path: `/metadata/annotations/${escapePointer(SAVED_ANNOTATION)}`,
      value: observed.metadata.annotations?.[SAVED_ANNOTATION] ?? null,
    },
  ];
}

function withoutResourceVersion(patch: Record<string, unknown>): Record<string, unknown> {
  const metadata = { ...((patch.metadata as Record<string, unknown> | undefined) ?? {}) };
  delete metadata.resourceVersion;
  const { metadata: _dropped, ...rest } = patch;
  return Object.keys(metadata).length > 0 ? { ...rest, metadata } : rest;
}

/**
 * Stable name: the same plan step for the same reported version of the object is one AgentAction, however often it is
 * planned while the report is not refreshed. A later write to the object (a new resourceVersion) makes a new name, so a
 * step repeated after a wake (same values again) is a new action, not the finished one of the previous night.
 */
function actionName(scheduleUid: string, step: { spec: Record<string, unknown>; resourceVersion?: string }): string {
  const digest = createHash("sha256")
    .update(`${scheduleUid}\u0000${step.resourceVersion ?? ""}\u0000${JSON.stringify(step.spec)}`)
    .digest("hex")
    .slice(0, 24);
  return `hibernation-${digest}`;
}

interface Step {
  spec: Record<string, unknown>;
  resourceVersion?: string;
}

function objectKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ""}/${name}`;
}

/** What one remote run knows: the target, and the objects and report time of the snapshot it observed. */
interface RemoteRun {
  target: RemoteTarget;
  scheduleName: string;
  scheduleUid: string;
  observedByKey: Map<string, ObservedObject>;
  reportedAtMs: number;
}

function actionObject(run: RemoteRun, name: string, spec: Record<string, unknown>): KubeObject {
  const marks = ownerMarks(SCHEDULE_LABEL, run.scheduleName);
  return {
    ...KIND_REFS.AgentAction,
    metadata: {
      name,
      namespace: run.target.namespace,
      labels: { ...marks.labels, "app.kubernetes.io/managed-by": "spot-optimizer" },
      annotations: marks.annotations,
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: "HibernationSchedule",
          name: run.scheduleName,
          uid: run.scheduleUid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { clusterRef: { name: run.target.clusterName }, ...spec, timeoutSeconds: ACTION_TIMEOUT_S },
  };
}

function patchStep(run: RemoteRun, patch: PlannedPatch): Step {
  const observed = run.observedByKey.get(objectKey(patch.kind, patch.namespace, patch.name));
  const params: Record<string, unknown> = { patch: withoutResourceVersion(patch.patch) };
  if (observed) params.expect = expectationsOf(patch, observed);
  const spec = {
    type: "patch",
    target: {
      apiVersion: KIND_REFS[patch.kind].apiVersion,
      kind: patch.kind,
      ...(patch.namespace !== undefined ? { namespace: patch.namespace } : {}),
      name: patch.name,
    },
    params,
  };
  return {
    spec,
    ...(observed?.metadata.resourceVersion ? { resourceVersion: observed.metadata.resourceVersion } : {}),
  };
}

function deleteStep(run: RemoteRun, nodeClaim: string): Step {
  const observed = run.observedByKey.get(objectKey("NodeClaim", undefined, nodeClaim));
  const spec = { type: "delete", target: { ...KIND_REFS.NodeClaim, name: nodeClaim }, params: {} };
  return {
    spec,
    ...(observed?.metadata.resourceVersion ? { resourceVersion: observed.metadata.resourceVersion } : {}),
  };
}

/** The cluster as the agent's latest snapshot shows it; remembers each object and the report time for execute. */
async function observeRemote(reader: HibernationReader, run: RemoteRun): Promise<ClusterObservation | UnknownCluster> {
  const snapshot = await reader.snapshot(run.target.namespace, run.target.clusterName);
  if (!snapshot?.objects)
    return {
      unknown: `ManagedCluster ${run.target.clusterName}'s agent has not reported the cluster's workloads yet`,
    };
  const observation = observationFromSnapshot(snapshot, run.target.region);
  run.reportedAtMs = Date.parse(snapshot.receivedAt);
  for (const o of observation.workloads)
    run.observedByKey.set(objectKey(o.kind, o.metadata.namespace, o.metadata.name), o);
  for (const o of observation.nodePools) run.observedByKey.set(objectKey("NodePool", undefined, o.metadata.name), o);
  for (const o of observation.nodeClaims) run.observedByKey.set(objectKey("NodeClaim", undefined, o.metadata.name), o);
  return observation;
}

/** Hands the plan's steps to the agent as AgentActions (one per step and try), collecting the ones that failed. */
async function executeRemote(
  io: { reader: HibernationReader; writer: HibernationWriter },
  run: RemoteRun,
  plan: HibernationPlan,
): Promise<ExecutionOutcome> {
  // NodeClaims go only once a report shows their NodePool's zero limit (else Karpenter would replace them).
  const holdClaims = plan.patches.some((p) => p.kind === "NodePool");
  const steps = [
    ...plan.patches.map((p) => patchStep(run, p)),
    ...(holdClaims ? [] : plan.nodeClaimDeletes.map((c) => deleteStep(run, c))),
  ];
  const existing = new Map(
    (await io.reader.listAgentActions(run.target.namespace)).map((a) => [a.metadata?.name ?? "", a as ActionView]),
  );
  const failed: string[] = [];
  for (const step of steps) {
    const next = nextTry(existing, actionName(run.scheduleUid, step), run.reportedAtMs);
    if (typeof next === "string") await io.writer.createIfAbsent(actionObject(run, next, step.spec));
    else if (next.failed) failed.push(next.failed);
  }
  return { attempted: plan.patches.length + plan.nodeClaimDeletes.length, conflicts: 0, failed };
}

/**
 * A remote cluster: observes its agent's latest heartbeat snapshot and hands each planned write to the agent as an
 * AgentAction (`patch` with expectations, `delete` for NodeClaims). An action of this plan that exists already is
 * under way or done and waiting for a report that shows it; the planner's annotation carries the original value,
 * so wake restores exactly what sleep replaced, as on the local cluster.
 */
export function remoteExecutor(
  reader: HibernationReader,
  writer: HibernationWriter,
  target: RemoteTarget,
): HibernationExecutor {
  const run: RemoteRun = {
    target,
    scheduleName: target.schedule.metadata?.name ?? "",
    scheduleUid: target.schedule.metadata?.uid ?? "",
    observedByKey: new Map(),
    reportedAtMs: 0,
  };
  return {
    mode: "remote",
    observe: () => observeRemote(reader, run),
    execute: (plan) => executeRemote({ reader, writer }, run, plan),
  };
}

/** A step is tried at most this often while reports keep showing it undone; then the schedule reports the failure. */
export const MAX_TRIES = 5;

function latestTry(existing: ReadonlyMap<string, ActionView>, base: string): number {
  let n = 0;
  while (existing.has(`${base}-${n + 1}`)) n++;
  return n;
}

/**
 * The step's next AgentAction name, or why none is created now. Tries are `<base>-0`, `<base>-1`, …: one that runs or
 * succeeded is waited for (the report will show it); a failed one is tried again only when a report taken after the
 * failure still shows the step undone (a retry is harmless: the agent finds an applied patch already applied and a
 * changed object failing its expectations).
 */
function nextTry(
  existing: ReadonlyMap<string, ActionView>,
  base: string,
  reportedAtMs: number,
): string | { failed?: string } {
  const n = latestTry(existing, base);
  const latest = existing.get(`${base}-${n}`);
  if (!latest) return `${base}-0`;
  if (latest.status?.phase !== "Failed") return {};
  const message = `AgentAction ${base}-${n}: ${latest.status.result?.message ?? "failed"}`;
  const reportedSinceFailure = reportedAtMs > (Date.parse(latest.status.completedAt ?? "") || Infinity);
  return n + 1 < MAX_TRIES && reportedSinceFailure ? `${base}-${n + 1}` : { failed: message };
}

/** This schedule's AgentActions that finished more than the TTL ago (deleted once the cluster is as desired). */
export function expiredActions(actions: readonly KubeObject[], scheduleName: string, nowMs: number): string[] {
  return (actions as ActionView[])
    .filter((a) => isOwnedBy(a, SCHEDULE_LABEL, scheduleName))
    .filter((a) => a.status?.phase === "Succeeded" || a.status?.phase === "Failed")
    .filter((a) => {
      const done = Date.parse(a.status?.completedAt ?? "");
      return Number.isFinite(done) && nowMs - done >= FINISHED_ACTION_TTL_MS;
    })
    .map((a) => a.metadata?.name ?? "")
    .sort();
}
