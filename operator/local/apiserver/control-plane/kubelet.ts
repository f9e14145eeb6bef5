// The part of a kubelet the simulated cluster needs: a gracefully deleted pod is removed once its containers "stop".
import type { CommittedWrite } from "../core.js";
import { keyOf } from "../core.js";
import type { KubeObject } from "../selectors.js";
import type { Loop, LoopRuntime } from "./runtime.js";

export class Kubelet implements Loop {
  /** Pending terminations of gracefully deleted pods, by pod uid. */
  private readonly terminations = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly runtime: LoopRuntime,
    /** How long the simulated kubelet takes to stop a gracefully deleted pod's containers. */
    private readonly podTerminationMs: number,
  ) {}

  resync(): void {
    for (const pod of this.runtime.core.store.list("/pods"))
      if (pod.metadata?.deletionTimestamp) this.terminateLater(pod);
  }

  observe(w: CommittedWrite): void {
    const ev = w.event;
    if (ev.resource === "/pods" && ev.type === "MODIFIED" && ev.obj.metadata?.deletionTimestamp)
      this.terminateLater(ev.obj);
  }

  stop(): void {
    for (const t of this.terminations.values()) clearTimeout(t);
    this.terminations.clear();
  }

  private terminateLater(pod: KubeObject): void {
    const uid = pod.metadata?.uid as string;
    const graceSeconds = (pod.metadata?.deletionGracePeriodSeconds as number | undefined) ?? 0;
    if (this.runtime.isStopped || this.terminations.has(uid) || !graceSeconds) return;
    const timer = setTimeout(
      () => {
        this.terminations.delete(uid);
        this.finish(pod, uid);
      },
      Math.min(graceSeconds * 1000, this.podTerminationMs),
    );
    this.terminations.set(uid, timer);
  }

  private finish(pod: KubeObject, uid: string): void {
    const core = this.runtime.core;
    const cur = core.store.get("/pods", keyOf(pod));
    if (!cur || cur.metadata?.uid !== uid || !cur.metadata?.deletionTimestamp) return;
    const fins = (cur.metadata.finalizers as string[] | undefined) ?? [];
    const ctx = this.runtime.ctx(this.runtime.type("", "pods"), cur.metadata.namespace as string);
    if (fins.length === 0) core.removeNow(ctx, cur);
    else core.commitRaw(ctx, cur, { ...cur, metadata: { ...cur.metadata, deletionGracePeriodSeconds: 0 } });
  }
}
