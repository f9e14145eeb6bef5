// The in-process control plane: the loops a real kube-controller-manager (and kubelet) would run, fed by every write.
import type { ApiCore, CommittedWrite } from "../core.js";
import { CrdController } from "./crd-status.js";
import { DisruptionController } from "./disruption.js";
import { GarbageCollector } from "./garbage-collector.js";
import { Kubelet } from "./kubelet.js";
import { NamespaceController } from "./namespaces.js";
import { NamespaceDefaultsController } from "./namespace-defaults.js";
import { OwnerIndex } from "./owners.js";
import { LoopRuntime, type Loop } from "./runtime.js";

export { upsertCondition } from "./conditions.js";

export interface ControlPlaneOptions {
  /** How long the simulated kubelet takes to finish a graceful pod deletion (capped by the grace period). */
  podTerminationMs?: number;
  /** The CA bundle published in every namespace's `kube-root-ca.crt` (absent: no ServiceAccount/CA defaults). */
  rootCaPem?: string;
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
      new Kubelet(this.runtime, opts.podTerminationMs ?? 100),
      new GarbageCollector(this.runtime, this.owners),
    ];
    if (opts.rootCaPem !== undefined) this.loops.push(new NamespaceDefaultsController(this.runtime, opts.rootCaPem));
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
