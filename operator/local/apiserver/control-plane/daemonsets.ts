// The DaemonSet controller: one pod on every node the template admits (node selector, required node affinity, taints
// against its tolerations plus the ones upstream adds to daemon pods), pinned to its node by node affinity on the
// node's name as upstream does; pods of an older template replaced maxUnavailable at a time (RollingUpdate); and the
// status counts `kubectl rollout status` and `helm --wait` read.
import type { CommittedWrite } from "../core.js";
import { keyOf } from "../core.js";
import { clone, deepEqual } from "../objects.js";
import type { KubeObject } from "../selectors.js";
import { templateHash } from "./deployments.js";
import { nodeAffinityMatches, untoleratedTaint } from "./node-filters.js";
import type { OwnerIndex } from "./owners.js";
import { createPodFromTemplate, deletePod, isPodActive, isPodAvailable, isPodReady } from "./pods.js";
import { withKind } from "./replicasets.js";
import type { Loop, LoopRuntime } from "./runtime.js";

const DS = "apps/daemonsets";
const NODES = "/nodes";
const HASH_LABEL = "controller-revision-hash";

/** Tolerations upstream adds to every daemon pod: cordoned, not ready or pressured nodes keep their daemons. */
const DAEMON_TOLERATIONS = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

type Obj = Record<string, any>;

/** The node a daemon pod is for: where it runs, else the node its affinity pins it to. */
function nodeOf(pod: KubeObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName as string;
  const terms = (pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ??
    []) as Obj[];
  const field = (terms[0]?.matchFields as Obj[] | undefined)?.find((f) => f.key === "metadata.name");
  return (field?.values as string[] | undefined)?.[0];
}

/** The template's pod spec as a daemon pod for `node` gets it: upstream's tolerations added, pinned to the node. */
function daemonPodSpec(template: Obj, node?: string): Obj {
  const spec = clone((template.spec ?? {}) as Obj);
  const own = (spec.tolerations as Obj[] | undefined) ?? [];
  spec.tolerations = [...own, ...DAEMON_TOLERATIONS.filter((t) => !own.some((o) => deepEqual(o, t)))];
  if (node !== undefined) {
    const affinity = (spec.affinity ?? {}) as Obj;
    spec.affinity = {
      ...affinity,
      nodeAffinity: {
        ...(affinity.nodeAffinity ?? {}),
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [node] }] }],
        },
      },
    };
  }
  return spec;
}

/** maxUnavailable of a RollingUpdate as a number of nodes (a percentage of `desired`, rounded up; at least 1). */
function maxUnavailable(ds: KubeObject, desired: number): number {
  const raw = (ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable as number | string | undefined) ?? 1;
  const n = typeof raw === "string" && raw.endsWith("%") ? Math.ceil((desired * parseFloat(raw)) / 100) : Number(raw);
  return Math.max(1, Number.isFinite(n) ? n : 1);
}

export class DaemonSetController implements Loop {
  constructor(
    private readonly runtime: LoopRuntime,
    private readonly owners: OwnerIndex,
  ) {}

  resync(): void {
    for (const ds of this.runtime.core.store.list(DS)) this.enqueue(keyOf(ds));
  }

  observe(w: CommittedWrite): void {
    const ev = w.event;
    if (ev.resource === DS && ev.type !== "DELETED") this.enqueue(ev.key);
    // a node that comes, goes or changes its labels or taints changes where daemons belong
    if (ev.resource === NODES) this.resync();
    for (const key of this.owners.controllersOf(ev, "/pods", { kind: "DaemonSet", plural: "daemonsets" }))
      this.enqueue(key);
  }

  private enqueue(key: string): void {
    this.runtime.enqueue(`ds:${key}`, () => this.sync(key));
  }

  private sync(key: string): void {
    const ds = this.runtime.core.store.get(DS, key);
    if (!ds || ds.metadata?.deletionTimestamp) return;
    const template = (ds.spec?.template ?? {}) as Obj;
    const hash = templateHash(template);
    const eligible = this.eligibleNodes(template);
    const byNode = this.podsByNode(ds);
    for (const [node, pods] of byNode) {
      // a pod for a node it no longer belongs on goes, and a node keeps one daemon pod
      const extra = eligible.has(node) ? pods.slice(1) : pods;
      for (const pod of extra) deletePod(this.runtime, pod);
    }
    for (const node of eligible) {
      if ((byNode.get(node) ?? []).length > 0) continue;
      createPodFromTemplate(this.runtime, {
        owner: withKind(ds, "apps/v1", "DaemonSet"),
        template: { ...template, spec: daemonPodSpec(template, node) },
        labels: { [HASH_LABEL]: hash, "pod-template-generation": String(ds.metadata?.generation ?? 1) },
      });
    }
    this.rollOldPods(ds, { eligible, byNode, hash });
    this.writeStatus(key, hash);
  }

  /** RollingUpdate: old-template pods deleted (their node gets a new one) while at most maxUnavailable are down. */
  private rollOldPods(
    ds: KubeObject,
    { eligible, byNode, hash }: { eligible: Set<string>; byNode: Map<string, KubeObject[]>; hash: string },
  ): void {
    if ((ds.spec?.updateStrategy?.type ?? "RollingUpdate") !== "RollingUpdate") return;
    const current = [...eligible].map((n) => byNode.get(n)?.[0]);
    let down = current.filter((p) => !p || !isPodReady(p)).length;
    const budget = maxUnavailable(ds, eligible.size);
    for (const pod of current) {
      if (!pod || pod.metadata?.labels?.[HASH_LABEL] === hash) continue;
      // an old pod that is not ready is down already: replacing it costs nothing
      if (isPodReady(pod)) {
        if (down >= budget) continue;
        down++;
      }
      deletePod(this.runtime, pod);
    }
  }

  private eligibleNodes(template: Obj): Set<string> {
    const probe: KubeObject = { spec: daemonPodSpec(template) };
    const nodes = this.runtime.core.store.list(NODES).filter((n) => !n.metadata?.deletionTimestamp);
    return new Set(
      nodes
        .filter((n) => nodeAffinityMatches(probe, n) && !untoleratedTaint(probe, n))
        .map((n) => n.metadata?.name as string),
    );
  }

  private podsByNode(ds: KubeObject): Map<string, KubeObject[]> {
    const byNode = new Map<string, KubeObject[]>();
    for (const pod of this.owners.controlled(ds.metadata?.uid as string, "/pods").filter(isPodActive)) {
      const node = nodeOf(pod) ?? "";
      byNode.set(node, [...(byNode.get(node) ?? []), pod]);
    }
    return byNode;
  }

  private writeStatus(key: string, hash: string): void {
    const ds = this.runtime.core.store.get(DS, key);
    if (!ds) return;
    const eligible = this.eligibleNodes((ds.spec?.template ?? {}) as Obj);
    const byNode = this.podsByNode(ds);
    const onEligible = [...eligible].flatMap((n) => byNode.get(n)?.slice(0, 1) ?? []);
    const scheduled = onEligible.filter((p) => p.spec?.nodeName);
    const minReady = (ds.spec?.minReadySeconds as number | undefined) ?? 0;
    const available = onEligible.filter((p) => isPodAvailable(p, minReady, Date.now())).length;
    const updated = scheduled.filter((p) => p.metadata?.labels?.[HASH_LABEL] === hash).length;
    const misscheduled = [...byNode].filter(([n, pods]) => n !== "" && !eligible.has(n) && pods.length > 0).length;
    const status: Obj = {
      ...clone((ds.status ?? {}) as Obj),
      currentNumberScheduled: scheduled.length,
      numberMisscheduled: misscheduled,
      desiredNumberScheduled: eligible.size,
      numberReady: onEligible.filter(isPodReady).length,
      observedGeneration: ds.metadata?.generation,
    };
    // omitted when zero, as upstream's JSON has them
    for (const [field, value] of [
      ["updatedNumberScheduled", updated],
      ["numberAvailable", available],
      ["numberUnavailable", eligible.size - available],
    ] as const)
      if (value > 0) status[field] = value;
      else delete status[field];
    if (deepEqual(status, ds.status)) return;
    const ctx = this.runtime.ctx(this.runtime.type("apps", "daemonsets"), ds.metadata?.namespace as string);
    this.runtime.core.commitUpdate(ctx, ds, { ...ds, status }, "status");
  }
}
