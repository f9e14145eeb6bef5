// The CronJob controller: a Job per scheduled minute (concurrencyPolicy, suspend, startingDeadlineSeconds), finished
// Jobs beyond the history limits deleted, and status active / lastScheduleTime / lastSuccessfulTime.
import type { CommittedWrite, WriteContext } from "../core.js";
import { keyOf } from "../core.js";
import { clone, deepEqual } from "../objects.js";
import type { KubeObject } from "../selectors.js";
import { ApiError } from "../status.js";
import { lastScheduled, parseCron } from "./cron.js";
import { isJobFinished } from "./jobs.js";
import { controllerRefTo, type OwnerIndex } from "./owners.js";
import { withKind } from "./replicasets.js";
import type { Loop, LoopRuntime } from "./runtime.js";

const CRONJOBS = "batch/cronjobs";
const JOBS = "batch/jobs";

/** The CronJob controller's clock: tests inject `now` and a short `tickMs`. */
export interface CronJobClock {
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
  /** How often every CronJob is looked at; default 10 000 ms (kube-controller-manager checks about as often). */
  tickMs?: number;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const startOf = (job: KubeObject): string => String(job.status?.startTime ?? job.metadata?.creationTimestamp ?? "");

export class CronJobController implements Loop {
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(
    private readonly runtime: LoopRuntime,
    private readonly owners: OwnerIndex,
    clock: CronJobClock = {},
  ) {
    this.now = clock.now ?? Date.now;
    this.timer = setInterval(() => this.resync(), clock.tickMs ?? 10_000);
    this.timer.unref();
  }

  resync(): void {
    for (const cj of this.runtime.core.store.list(CRONJOBS)) this.enqueue(keyOf(cj));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  observe(w: CommittedWrite): void {
    const ev = w.event;
    if (ev.resource === CRONJOBS && ev.type !== "DELETED") this.enqueue(ev.key);
    for (const key of this.owners.controllersOf(ev, JOBS, { kind: "CronJob", plural: "cronjobs" })) this.enqueue(key);
  }

  private enqueue(key: string): void {
    this.runtime.enqueue(`cronjob:${key}`, () => this.sync(key));
  }

  private jobCtx(namespace: string): WriteContext {
    return this.runtime.ctx(this.runtime.type("batch", "jobs"), namespace);
  }

  private sync(key: string): void {
    const cj = this.runtime.core.store.get(CRONJOBS, key);
    if (!cj || cj.metadata?.deletionTimestamp) return;
    const jobs = this.owners.controlled(cj.metadata?.uid as string, JOBS).filter((j) => !j.metadata?.deletionTimestamp);
    this.trimHistory(cj, jobs);
    const scheduled = cj.spec?.suspend === true ? undefined : this.due(cj);
    const ran = scheduled !== undefined && this.run(cj, jobs, scheduled);
    this.writeStatus(key, ran ? scheduled : undefined);
  }

  /** The scheduled minute to run now, if one passed since the last run and is within startingDeadlineSeconds. */
  private due(cj: KubeObject): number | undefined {
    let schedule;
    try {
      schedule = parseCron(String(cj.spec?.schedule ?? ""));
    } catch {
      return undefined;
    }
    const now = this.now();
    const since = Date.parse(String(cj.status?.lastScheduleTime ?? cj.metadata?.creationTimestamp));
    const t = lastScheduled(schedule, Number.isFinite(since) ? since : now, now);
    const deadline = cj.spec?.startingDeadlineSeconds as number | undefined;
    if (t === undefined || (deadline !== undefined && now - t > deadline * 1000)) return undefined;
    return t;
  }

  /** Creates the Job of `scheduled` under the concurrency policy (Forbid: skipped while one runs; Replace: old ones go). */
  private run(cj: KubeObject, jobs: KubeObject[], scheduled: number): boolean {
    const active = jobs.filter((j) => !isJobFinished(j));
    const policy = cj.spec?.concurrencyPolicy as string | undefined;
    // Forbid leaves the schedule due: it runs once the active Job finishes, if still within the deadline.
    if (policy === "Forbid" && active.length > 0) return false;
    const ns = cj.metadata?.namespace as string;
    if (policy === "Replace")
      for (const j of active)
        this.runtime.core.delete(this.jobCtx(ns), j.metadata?.name as string, { propagationPolicy: "Background" });
    const template = clone((cj.spec?.jobTemplate ?? {}) as Record<string, any>);
    const annotations = {
      ...(template.metadata?.annotations ?? {}),
      "batch.kubernetes.io/cronjob-scheduled-timestamp": iso(scheduled),
    };
    const body = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: `${String(cj.metadata?.name)}-${Math.floor(scheduled / 60_000)}`,
        labels: template.metadata?.labels ?? {},
        annotations,
        ownerReferences: [controllerRefTo(withKind(cj, "batch/v1", "CronJob"))],
      },
      spec: template.spec ?? {},
    };
    try {
      this.runtime.core.create({ ...this.jobCtx(ns), verb: "create" }, body);
    } catch (err) {
      // The Job of this minute exists already (created before a restart): the schedule is met.
      if (!(err instanceof ApiError) || err.status.code !== 409) throw err;
    }
    return true;
  }

  /** Finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit are deleted, oldest first. */
  private trimHistory(cj: KubeObject, jobs: KubeObject[]): void {
    const ns = cj.metadata?.namespace as string;
    for (const [outcome, limitField, fallback] of [
      ["Complete", "successfulJobsHistoryLimit", 3],
      ["Failed", "failedJobsHistoryLimit", 1],
    ] as const) {
      const limit = (cj.spec?.[limitField] as number | undefined) ?? fallback;
      const done = jobs
        .filter((j) => isJobFinished(j) === outcome)
        .sort((a, b) => startOf(a).localeCompare(startOf(b)));
      for (const j of done.slice(0, Math.max(0, done.length - limit)))
        this.runtime.core.delete(this.jobCtx(ns), j.metadata?.name as string, { propagationPolicy: "Background" });
    }
  }

  private writeStatus(key: string, scheduled: number | undefined): void {
    const cj = this.runtime.core.store.get(CRONJOBS, key);
    if (!cj) return;
    const jobs = this.owners.controlled(cj.metadata?.uid as string, JOBS).filter((j) => !j.metadata?.deletionTimestamp);
    const status = clone((cj.status ?? {}) as Record<string, any>);
    const active = jobs.filter((j) => !isJobFinished(j)).sort((a, b) => startOf(a).localeCompare(startOf(b)));
    if (active.length > 0) status.active = active.map(jobReference);
    else delete status.active;
    if (scheduled !== undefined) status.lastScheduleTime = iso(scheduled);
    const succeeded = jobs
      .filter((j) => isJobFinished(j) === "Complete")
      .map((j) => String(j.status?.completionTime ?? ""))
      .sort();
    const latest = succeeded[succeeded.length - 1];
    if (latest && !(String(status.lastSuccessfulTime ?? "") >= latest)) status.lastSuccessfulTime = latest;
    if (deepEqual(status, cj.status)) return;
    const ctx = this.runtime.ctx(this.runtime.type("batch", "cronjobs"), cj.metadata?.namespace as string);
    this.runtime.core.commitUpdate(ctx, cj, { ...cj, status }, "status");
  }
}

function jobReference(job: KubeObject): Record<string, unknown> {
  return {
    kind: "Job",
    namespace: job.metadata?.namespace,
    name: job.metadata?.name,
    uid: job.metadata?.uid,
    apiVersion: "batch/v1",
    resourceVersion: job.metadata?.resourceVersion,
  };
}
