// The ReplicaSet controller: keeps spec.replicas active pods from the template, and the status counts.
import type { CommittedWrite } from "../core.js";
import { keyOf } from "../core.js";
import { clone, deepEqual } from "../objects.js";
import type { KubeObject } from "../selectors.js";
import type { OwnerIndex } from "./owners.js";
import {
  createPodFromTemplate,
  deletePod,
  deletionOrder,
  isPodActive,
  isPodAvailable,
  isPodReady,
  msUntilAvailable,
} from "./pods.js";
import type { Loop, LoopRuntime } from "./runtime.js";
import { matchesLabelSelectorObject, type LabelSelectorObject } from "../selectors.js";

const RS = "apps/replicasets";

export class ReplicaSetController implements Loop {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly runtime: LoopRuntime,
    private readonly owners: OwnerIndex,
  ) {}

  resync(): void {
    for (const rs of this.runtime.core.store.list(RS)) this.enqueue(keyOf(rs));
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  observe(w: CommittedWrite): void {
    const ev = w.event;
    if (ev.resource === RS && ev.type !== "DELETED") this.enqueue(ev.key);
    for (const key of this.owners.controllersOf(ev, "/pods", { kind: "ReplicaSet", plural: "replicasets" }))
      this.enqueue(key);
  }

  private enqueue(key: string): void {
    this.runtime.enqueue(`rs:${key}`, () => this.sync(key));
  }

  private sync(key: string): void {
    const rs = this.runtime.core.store.get(RS, key);
    if (!rs || rs.metadata?.deletionTimestamp) return;
    const pods = this.owners.controlled(rs.metadata?.uid as string, "/pods");
    const active = pods.filter(isPodActive);
    const want = (rs.spec?.replicas as number | undefined) ?? 1;
    if (active.length < want) {
      for (let i = active.length; i < want; i++)
        createPodFromTemplate(this.runtime, { owner: withKind(rs), template: rs.spec?.template });
    } else if (active.length > want) {
      for (const pod of [...active].sort(deletionOrder).slice(0, active.length - want)) deletePod(this.runtime, pod);
    }
    this.writeStatus(key);
  }

  private writeStatus(key: string): void {
    const rs = this.runtime.core.store.get(RS, key);
    if (!rs) return;
    const now = Date.now();
    const minReady = (rs.spec?.minReadySeconds as number | undefined) ?? 0;
    const active = this.owners.controlled(rs.metadata?.uid as string, "/pods").filter(isPodActive);
    const selector = rs.spec?.template?.metadata?.labels as Record<string, string> | undefined;
    const status: Record<string, any> = {
      ...clone((rs.status ?? {}) as Record<string, any>),
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => labelsInclude(p, selector)).length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: active.filter((p) => isPodAvailable(p, minReady, now)).length,
      observedGeneration: rs.metadata?.generation,
    };
    this.recheckLater(key, active, minReady, now);
    if (deepEqual(status, rs.status)) return;
    const ctx = this.runtime.ctx(this.runtime.type("apps", "replicasets"), rs.metadata?.namespace as string);
    this.runtime.core.commitUpdate(ctx, rs, { ...rs, status }, "status");
  }

  /** With minReadySeconds, a ready pod becomes available later: look again then. */
  private recheckLater(key: string, active: KubeObject[], minReady: number, now: number): void {
    const waits = active.map((p) => msUntilAvailable(p, minReady, now)).filter((ms): ms is number => ms !== undefined);
    if (waits.length === 0 || this.runtime.isStopped) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.enqueue(key);
      },
      Math.min(...waits) + 5,
    );
    this.timers.add(timer);
  }
}

function labelsInclude(pod: KubeObject, labels: Record<string, string> | undefined): boolean {
  const sel: LabelSelectorObject = { matchLabels: labels ?? {} };
  return matchesLabelSelectorObject(sel, (pod.metadata?.labels ?? {}) as Record<string, string>);
}

/** Stored built-ins carry apiVersion/kind; ownerReferences need them. */
export function withKind(obj: KubeObject, apiVersion = "apps/v1", kind = "ReplicaSet"): KubeObject {
  return {
    ...obj,
    apiVersion: (obj.apiVersion as string | undefined) ?? apiVersion,
    kind: (obj.kind as string | undefined) ?? kind,
  };
}
