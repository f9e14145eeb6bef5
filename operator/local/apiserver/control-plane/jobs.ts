// The Job controller: up to `parallelism` pods at a time until `completions` have succeeded, then Complete.
import type { CommittedWrite } from "../core.js";
import { keyOf } from "../core.js";
import { clone, deepEqual, nowTimestamp } from "../objects.js";
import type { KubeObject } from "../selectors.js";
import { upsertCondition } from "./conditions.js";
import type { OwnerIndex } from "./owners.js";
import { createPodFromTemplate, deletePod, isPodActive, isPodReady } from "./pods.js";
import { withKind } from "./replicasets.js";
import type { Loop, LoopRuntime } from "./runtime.js";

const JOBS = "batch/jobs";

type Condition = { type?: string; status?: string };

/** A Job is finished once its Complete or Failed condition is True (it then creates no more pods). */
export function isJobFinished(job: KubeObject): "Complete" | "Failed" | undefined {
  const conds = (job.status?.conditions as Condition[] | undefined) ?? [];
  const done = conds.find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
  return done?.type as "Complete" | "Failed" | undefined;
}

interface Counts {
  active: KubeObject[];
  succeeded: number;
  failed: number;
}

export class JobController implements Loop {
  constructor(
    private readonly runtime: LoopRuntime,
    private readonly owners: OwnerIndex,
  ) {}

  resync(): void {
    for (const job of this.runtime.core.store.list(JOBS)) this.enqueue(keyOf(job));
  }

  observe(w: CommittedWrite): void {
    const ev = w.event;
    if (ev.resource === JOBS && ev.type !== "DELETED") this.enqueue(ev.key);
    for (const key of this.owners.controllersOf(ev, "/pods", { kind: "Job", plural: "jobs" })) this.enqueue(key);
  }

  private enqueue(key: string): void {
    this.runtime.enqueue(`job:${key}`, () => this.sync(key));
  }

  private counts(job: KubeObject): Counts {
    const pods = this.owners.controlled(job.metadata?.uid as string, "/pods");
    return {
      active: pods.filter(isPodActive),
      succeeded: pods.filter((p) => p.status?.phase === "Succeeded").length,
      failed: pods.filter((p) => p.status?.phase === "Failed").length,
    };
  }

  private sync(key: string): void {
    const job = this.runtime.core.store.get(JOBS, key);
    if (!job || job.metadata?.deletionTimestamp || isJobFinished(job)) return;
    const c = this.counts(job);
    const want = job.spec?.suspend === true ? 0 : wantedActive(job, c.succeeded);
    if (c.active.length < want) {
      for (let i = c.active.length; i < want; i++) this.createPod(job);
    } else if (c.active.length > want) {
      for (const pod of c.active.slice(want)) deletePod(this.runtime, pod);
    }
    this.writeStatus(key);
  }

  private createPod(job: KubeObject): void {
    const name = job.metadata?.name as string;
    const uid = job.metadata?.uid as string;
    createPodFromTemplate(this.runtime, {
      owner: withKind(job, "batch/v1", "Job"),
      template: job.spec?.template,
      labels: {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
      },
    });
  }

  private writeStatus(key: string): void {
    const job = this.runtime.core.store.get(JOBS, key);
    if (!job) return;
    const c = this.counts(job);
    const now = nowTimestamp();
    const status = clone((job.status ?? {}) as Record<string, any>);
    setCount(status, "active", c.active.length);
    setCount(status, "succeeded", c.succeeded);
    setCount(status, "failed", c.failed);
    status.ready = c.active.filter(isPodReady).length;
    status.terminating = 0;
    status.uncountedTerminatedPods ??= {};
    if (job.spec?.suspend !== true) status.startTime ??= now;
    if (isComplete(job, c)) {
      status.completionTime = now;
      const reached = { reason: "CompletionsReached", message: "Reached expected number of succeeded pods" };
      status.conditions = upsertCondition(status.conditions, {
        type: "SuccessCriteriaMet",
        status: "True",
        ...reached,
      });
      status.conditions = upsertCondition(status.conditions, { type: "Complete", status: "True", ...reached });
    }
    if (deepEqual(status, job.status)) return;
    const ctx = this.runtime.ctx(this.runtime.type("batch", "jobs"), job.metadata?.namespace as string);
    this.runtime.core.commitUpdate(ctx, job, { ...job, status }, "status");
  }
}

/** Pods that should be running: parallelism, capped by the completions still missing (work queue: until one succeeds). */
function wantedActive(job: KubeObject, succeeded: number): number {
  const parallelism = (job.spec?.parallelism as number | undefined) ?? 1;
  const completions = job.spec?.completions as number | null | undefined;
  if (completions === null || completions === undefined) return succeeded > 0 ? 0 : parallelism;
  return Math.max(0, Math.min(parallelism, completions - succeeded));
}

function isComplete(job: KubeObject, c: Counts): boolean {
  const completions = job.spec?.completions as number | null | undefined;
  if (completions === null || completions === undefined) return c.succeeded > 0 && c.active.length === 0;
  return c.succeeded >= completions;
}

/** Job status counts are omitempty: zero is absent. */
function setCount(status: Record<string, any>, field: string, n: number): void {
  if (n > 0) status[field] = n;
  else delete status[field];
}
