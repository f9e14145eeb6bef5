// The StatefulSet controller: pods <name>-<ordinal> created and removed in order (OrderedReady) or at once (Parallel),
// rolled to a new template highest ordinal first, and the status counts kubectl rollout status reads.
import type { CommittedWrite } from "../core.js";
import { keyOf } from "../core.js";
import { clone, deepEqual } from "../objects.js";
import type { KubeObject } from "../selectors.js";
import { templateHash } from "./deployments.js";
import type { OwnerIndex } from "./owners.js";
import { createPodFromTemplate, deletePod, isPodReady } from "./pods.js";
import { withKind } from "./replicasets.js";
import type { Loop, LoopRuntime } from "./runtime.js";

const STS = "apps/statefulsets";
const REVISION_LABEL = "controller-revision-hash";

interface Member {
  ordinal: number;
  pod: KubeObject;
}

interface View {
  sts: KubeObject;
  name: string;
  replicas: number;
  revision: string;
  members: Member[];
}

const isRunningReady = (p: KubeObject): boolean => p.status?.phase === "Running" && isPodReady(p);
const isTerminating = (p: KubeObject): boolean => Boolean(p.metadata?.deletionTimestamp);
const revisionOfPod = (p: KubeObject): string | undefined =>
  (p.metadata?.labels as Record<string, string> | undefined)?.[REVISION_LABEL];

export class StatefulSetController implements Loop {
  constructor(
    private readonly runtime: LoopRuntime,
    private readonly owners: OwnerIndex,
  ) {}

  resync(): void {
    for (const sts of this.runtime.core.store.list(STS)) this.enqueue(keyOf(sts));
  }

  observe(w: CommittedWrite): void {
    const ev = w.event;
    if (ev.resource === STS && ev.type !== "DELETED") this.enqueue(ev.key);
    for (const key of this.owners.controllersOf(ev, "/pods", { kind: "StatefulSet", plural: "statefulsets" }))
      this.enqueue(key);
  }

  private enqueue(key: string): void {
    this.runtime.enqueue(`sts:${key}`, () => this.sync(key));
  }

  private view(sts: KubeObject): View {
    const name = sts.metadata?.name as string;
    const members: Member[] = [];
    for (const pod of this.owners.controlled(sts.metadata?.uid as string, "/pods")) {
      const m = new RegExp(`^${name.replace(/[.]/g, "\\.")}-(\\d+)$`).exec(pod.metadata?.name as string);
      if (m) members.push({ ordinal: Number(m[1]), pod });
    }
    members.sort((a, b) => a.ordinal - b.ordinal);
    const revision = `${name}-${templateHash(sts.spec?.template)}`;
    return { sts, name, replicas: (sts.spec?.replicas as number | undefined) ?? 1, revision, members };
  }

  private sync(key: string): void {
    const sts = this.runtime.core.store.get(STS, key);
    if (!sts || sts.metadata?.deletionTimestamp) return;
    const v = this.view(sts);
    // Finished pods are replaced, as the controller recreates a pod that failed or succeeded.
    for (const m of v.members) if (isFinished(m.pod) && !isTerminating(m.pod)) deletePod(this.runtime, m.pod);
    const parallel = sts.spec?.podManagementPolicy === "Parallel";
    if (parallel) this.syncParallel(v);
    else this.syncOrdered(v);
    this.writeStatus(key);
  }

  /** Parallel: every missing ordinal created and every condemned pod deleted at once. */
  private syncParallel(v: View): void {
    const present = new Set(v.members.map((m) => m.ordinal));
    for (let i = 0; i < v.replicas; i++) if (!present.has(i)) this.createMember(v, i);
    const condemned = v.members.filter((m) => m.ordinal >= v.replicas && !isTerminating(m.pod));
    for (const m of condemned) deletePod(this.runtime, m.pod);
    if (condemned.length === 0) this.rollOne(v);
  }

  /** OrderedReady: one pod at a time, each waiting for the ones before it to be Running and Ready. */
  private syncOrdered(v: View): void {
    const byOrdinal = new Map(v.members.map((m) => [m.ordinal, m.pod]));
    for (let i = 0; i < v.replicas; i++) {
      const pod = byOrdinal.get(i);
      if (!pod) {
        this.createMember(v, i);
        return;
      }
      if (!isRunningReady(pod) || isTerminating(pod)) return;
    }
    const condemned = v.members.filter((m) => m.ordinal >= v.replicas);
    if (condemned.some((m) => isTerminating(m.pod))) return;
    const last = condemned[condemned.length - 1];
    if (last) {
      deletePod(this.runtime, last.pod);
      return;
    }
    this.rollOne(v);
  }

  /** RollingUpdate: the highest-ordinal pod of an older revision (at or above the partition) is deleted, once all are ready. */
  private rollOne(v: View): void {
    const strategy = v.sts.spec?.updateStrategy as
      { type?: string; rollingUpdate?: { partition?: number } } | undefined;
    if (strategy?.type === "OnDelete") return;
    const inRange = v.members.filter((m) => m.ordinal < v.replicas);
    if (inRange.length < v.replicas || inRange.some((m) => isTerminating(m.pod) || !isRunningReady(m.pod))) return;
    const partition = strategy?.rollingUpdate?.partition ?? 0;
    const outdated = inRange.filter((m) => m.ordinal >= partition && revisionOfPod(m.pod) !== v.revision);
    const highest = outdated[outdated.length - 1];
    if (highest) deletePod(this.runtime, highest.pod);
  }

  private createMember(v: View, ordinal: number): void {
    const podName = `${v.name}-${ordinal}`;
    const spec: Record<string, unknown> = { hostname: podName };
    if (v.sts.spec?.serviceName) spec.subdomain = v.sts.spec.serviceName;
    createPodFromTemplate(this.runtime, {
      owner: withKind(v.sts, "apps/v1", "StatefulSet"),
      template: v.sts.spec?.template,
      name: podName,
      labels: {
        [REVISION_LABEL]: v.revision,
        "statefulset.kubernetes.io/pod-name": podName,
        "apps.kubernetes.io/pod-index": String(ordinal),
      },
      spec,
    });
  }

  private writeStatus(key: string): void {
    const sts = this.runtime.core.store.get(STS, key);
    if (!sts) return;
    const v = this.view(sts);
    const live = v.members.filter((m) => !isTerminating(m.pod)).map((m) => m.pod);
    const ready = live.filter(isRunningReady).length;
    const updated = live.filter((p) => revisionOfPod(p) === v.revision).length;
    const prev = clone((sts.status ?? {}) as Record<string, any>);
    const rolledOut = updated === v.replicas && ready === v.replicas && live.length === v.replicas;
    const currentRevision = rolledOut || !prev.currentRevision ? v.revision : (prev.currentRevision as string);
    const status: Record<string, any> = {
      ...prev,
      observedGeneration: sts.metadata?.generation,
      replicas: live.length,
      readyReplicas: ready,
      availableReplicas: ready,
      currentReplicas: live.filter((p) => revisionOfPod(p) === currentRevision).length,
      updatedReplicas: updated,
      currentRevision,
      updateRevision: v.revision,
      collisionCount: prev.collisionCount ?? 0,
    };
    if (deepEqual(status, sts.status)) return;
    const ctx = this.runtime.ctx(this.runtime.type("apps", "statefulsets"), sts.metadata?.namespace as string);
    this.runtime.core.commitUpdate(ctx, sts, { ...sts, status }, "status");
  }
}

function isFinished(pod: KubeObject): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}
