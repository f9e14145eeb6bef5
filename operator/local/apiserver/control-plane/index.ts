// The in-process control plane: the loops a real kube-controller-manager (and kubelet) would run, fed by every write.
import type { ApiCore, CommittedWrite } from "../core.js";
import { CrdController } from "./crd-status.js";
import { CronJobController, type CronJobClock } from "./cronjobs.js";
import { DaemonSetController } from "./daemonsets.js";
import { DeploymentController } from "./deployments.js";
import { DisruptionController } from "./disruption.js";
import { GarbageCollector } from "./garbage-collector.js";
import { JobController } from "./jobs.js";
import { Kubelet } from "./kubelet.js";
import { NamespaceController } from "./namespaces.js";
import { NamespaceDefaultsController } from "./namespace-defaults.js";
import { OwnerIndex } from "./owners.js";
import { ReplicaSetController } from "./replicasets.js";
import { LoopRuntime, type Loop } from "./runtime.js";
import { Scheduler } from "./scheduler.js";
import { StatefulSetController } from "./statefulsets.js";

export { upsertCondition } from "./conditions.js";

/** The workload loops, the scheduler and the kubelet's pod start-up (what makes workloads produce running pods). */
export interface WorkloadLoopsOptions {
  /** How long a pod whose restartPolicy is not Always (a Job's) runs before it succeeds; default 1000 ms. */
  podCompletionMs?: number;
  /** The CronJob controller's clock and how often it looks at every CronJob. */
  cronJobs?: CronJobClock;
}

export interface ControlPlaneOptions {
  /** How long the simulated kubelet takes to finish a graceful pod deletion (capped by the grace period). */
  podTerminationMs?: number;
  /** The CA bundle published in every namespace's `kube-root-ca.crt` (absent: no ServiceAccount/CA defaults). */
  rootCaPem?: string;
  /** Off (default): only GC, namespaces, CRDs, PDB status and graceful pod deletion run. */
  workloads?: boolean | WorkloadLoopsOptions;
}

/** Runs the loops asynchronously after writes, as the control plane does (eventually, in order). */
export class ControlPlane {
  private readonly runtime: LoopRuntime;
  private readonly owners: OwnerIndex;
  private readonly loops: Loop[];

  constructor(core: ApiCore, opts: ControlPlaneOptions = {}) {
    this.runtime = new LoopRuntime(core);
    this.owners = new OwnerIndex(this.runtime);
    this.loops = [
      new CrdController(this.runtime),
      new NamespaceController(this.runtime),
      new DisruptionController(this.runtime),
      new GarbageCollector(this.runtime, this.owners),
    ];
    if (opts.rootCaPem !== undefined) this.loops.push(new NamespaceDefaultsController(this.runtime, opts.rootCaPem));
    const workloads = opts.workloads === true ? {} : opts.workloads || undefined;
    this.loops.push(
      new Kubelet(this.runtime, {
        podTerminationMs: opts.podTerminationMs ?? 100,
        runPods: workloads !== undefined,
        completionMs: workloads?.podCompletionMs ?? 1000,
      }),
    );
    if (workloads) {
      this.loops.push(
        new Scheduler(this.runtime),
        new ReplicaSetController(this.runtime, this.owners),
        new DeploymentController(this.runtime, this.owners),
        new StatefulSetController(this.runtime, this.owners),
        new DaemonSetController(this.runtime, this.owners),
        new JobController(this.runtime, this.owners),
        new CronJobController(this.runtime, this.owners, workloads.cronJobs),
      );
    }
    core.onCommit((w) => this.observe(w));
  }

  /** Re-derives everything after a load (persistence): CRDs registered, pending deletions resumed. */
  resync(): void {
    for (const loop of this.loops) loop.resync?.();
  }

  stop(): void {
    this.runtime.stop();
    for (const loop of this.loops) loop.stop?.();
  }

  /** Resolves when no controller work is queued (tests and persistence flush). */
  idle(): Promise<void> {
    return this.runtime.idle();
  }

  private observe(w: CommittedWrite): void {
    const ev = w.event;
    this.owners.index(ev.resource, ev.prev, ev.type === "DELETED" ? undefined : ev.obj);
    for (const loop of this.loops) loop.observe(w);
  }
}
