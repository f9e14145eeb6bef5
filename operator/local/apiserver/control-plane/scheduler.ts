// A kube-scheduler for the simulated cluster: binds pending pods to a node that fits, through pods/binding.
import type { CommittedWrite } from "../core.js";
import { keyOf } from "../core.js";
import { bindPod } from "../eviction.js";
import { clone, deepEqual } from "../objects.js";
import type { KubeObject } from "../selectors.js";
import { upsertCondition } from "./conditions.js";
import { nodeAffinityMatches, untoleratedTaint, tolerates } from "./node-filters.js";
import {
  addResources,
  podRequests,
  podScoringRequests,
  resourceList,
  subtractResources,
  type Resources,
} from "./resources.js";
import type { Loop, LoopRuntime } from "./runtime.js";

const SCHEDULER_NAME = "default-scheduler";
/** Pods tried per work item, so one pass over thousands of pods does not hold the event loop for long. */
const BATCH = 500;

interface NodeInfo {
  obj: KubeObject;
  allocatable: Resources;
  requested: Resources;
  /** What bound pods request as the scorer counts it (unset cpu/memory requests defaulted). */
  scored: Resources;
  pods: number;
}

/** A pod's share of a node while it is bound there and not finished. */
interface Usage {
  node: string;
  requests: Resources;
  scored: Resources;
}

function isTerminal(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** Waiting for a scheduler: no node, not being deleted, not gated, and addressed to the default scheduler. */
export function awaitsScheduling(pod: KubeObject): boolean {
  const spec = pod.spec ?? {};
  return (
    !spec.nodeName &&
    !pod.metadata?.deletionTimestamp &&
    !isTerminal(pod) &&
    ((spec.schedulingGates as unknown[] | undefined) ?? []).length === 0 &&
    (spec.schedulerName ?? SCHEDULER_NAME) === SCHEDULER_NAME
  );
}

export class Scheduler implements Loop {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly usage = new Map<string, Usage>();
  /** Pods to try (activeQ) and pods that fit nowhere at their last try, retried when capacity appears. */
  private readonly active = new Set<string>();
  private readonly unschedulable = new Set<string>();

  constructor(private readonly runtime: LoopRuntime) {
    const store = runtime.core.store;
    for (const node of store.list("/nodes")) this.upsertNode(node);
    for (const pod of store.list("/pods")) this.trackPod(keyOf(pod), pod);
  }

  resync(): void {
    this.enqueuePass();
  }

  observe(w: CommittedWrite): void {
    const ev = w.event;
    if (ev.resource === "/nodes") {
      if (ev.type === "DELETED") this.nodes.delete(ev.obj.metadata?.name as string);
      else this.upsertNode(ev.obj);
      this.retryUnschedulable();
      return;
    }
    if (ev.resource !== "/pods") return;
    const freed = this.trackPod(ev.key, ev.type === "DELETED" ? undefined : ev.obj);
    if (freed) this.retryUnschedulable();
    if (this.active.size > 0) this.enqueuePass();
  }

  private upsertNode(node: KubeObject): void {
    const name = node.metadata?.name as string;
    const existing = this.nodes.get(name);
    this.nodes.set(name, {
      obj: node,
      allocatable: resourceList(node.status?.allocatable),
      requested: existing?.requested ?? new Map(),
      scored: existing?.scored ?? new Map(),
      pods: existing?.pods ?? 0,
    });
  }

  private nodeFor(name: string): NodeInfo {
    let info = this.nodes.get(name);
    if (!info) {
      // A pod bound to a node not (yet) known: its usage waits there for the node to appear.
      info = { obj: { metadata: { name } }, allocatable: new Map(), requested: new Map(), scored: new Map(), pods: 0 };
      this.nodes.set(name, info);
    }
    return info;
  }

  /** Keeps node usage and the queues current for one pod; true when capacity was freed. */
  private trackPod(key: string, pod: KubeObject | undefined): boolean {
    const before = this.usage.get(key);
    const node = pod?.spec?.nodeName as string | undefined;
    const counts = pod !== undefined && node !== undefined && !isTerminal(pod);
    if (before && (!counts || before.node !== node)) {
      const info = this.nodeFor(before.node);
      subtractResources(info.requested, before.requests);
      subtractResources(info.scored, before.scored);
      info.pods--;
      this.usage.delete(key);
    }
    if (counts && !this.usage.has(key)) {
      const requests = podRequests(pod);
      const scored = podScoringRequests(pod);
      const info = this.nodeFor(node);
      addResources(info.requested, requests);
      addResources(info.scored, scored);
      info.pods++;
      this.usage.set(key, { node, requests, scored });
    }
    if (pod && awaitsScheduling(pod)) {
      if (!this.unschedulable.has(key)) this.active.add(key);
    } else {
      this.active.delete(key);
      this.unschedulable.delete(key);
    }
    return before !== undefined && !this.usage.has(key);
  }

  private retryUnschedulable(): void {
    for (const key of this.unschedulable) this.active.add(key);
    this.unschedulable.clear();
    if (this.active.size > 0) this.enqueuePass();
  }

  private enqueuePass(): void {
    this.runtime.enqueue("scheduler", () => this.pass());
  }

  /** Higher priority first, then the older pod (the default queue sort). */
  private ordered(): KubeObject[] {
    const pods: KubeObject[] = [];
    for (const key of this.active) {
      const pod = this.runtime.core.store.get("/pods", key);
      if (pod && awaitsScheduling(pod)) pods.push(pod);
      else this.active.delete(key);
    }
    return pods.sort(
      (a, b) =>
        ((b.spec?.priority as number | undefined) ?? 0) - ((a.spec?.priority as number | undefined) ?? 0) ||
        String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)),
    );
  }

  private pass(): void {
    for (const pod of this.ordered().slice(0, BATCH)) {
      const key = keyOf(pod);
      this.active.delete(key);
      this.scheduleOne(key, pod);
    }
    if (this.active.size > 0) this.enqueuePass();
  }

  private scheduleOne(key: string, pod: KubeObject): void {
    const requests = podRequests(pod);
    const scoring = podScoringRequests(pod);
    const failures = new Map<string, number>();
    let best: { name: string; score: number } | undefined;
    for (const [name, info] of this.nodes) {
      if (!info.obj.status) continue;
      const reasons = this.filter(pod, requests, info);
      if (reasons.length > 0) {
        for (const r of reasons) failures.set(r, (failures.get(r) ?? 0) + 1);
        continue;
      }
      const score = leastAllocated(scoring, info);
      if (!best || score > best.score) best = { name, score };
    }
    if (best) {
      const ctx = this.runtime.ctx(this.runtime.type("", "pods"), pod.metadata?.namespace as string, SCHEDULER_NAME);
      bindPod(this.runtime.core, ctx, pod.metadata?.name as string, {
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name: pod.metadata?.name },
        target: { apiVersion: "v1", kind: "Node", name: best.name },
      });
      return;
    }
    this.unschedulable.add(key);
    this.markUnschedulable(pod, failures);
  }

  /** Why the pod cannot go to this node (empty: it fits), in the default filter plugins' order and wording. */
  private filter(pod: KubeObject, requests: Resources, info: NodeInfo): string[] {
    const node = info.obj;
    if (
      node.spec?.unschedulable === true &&
      !tolerates(pod, { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" })
    )
      return ["node(s) were unschedulable"];
    const taint = untoleratedTaint(pod, node);
    if (taint) return [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`];
    if (!nodeAffinityMatches(pod, node)) return ["node(s) didn't match Pod's node affinity/selector"];
    return insufficient(requests, info);
  }

  /** PodScheduled=False, reason Unschedulable, with the per-node reasons counted as kube-scheduler words them. */
  private markUnschedulable(pod: KubeObject, failures: Map<string, number>): void {
    const detail = [...failures.entries()]
      .map(([reason, count]) => `${count} ${reason}`)
      .sort()
      .join(", ");
    const message = `0/${this.countReadyNodes()} nodes are available${detail ? `: ${detail}` : ""}.`;
    const status = clone((pod.status ?? {}) as Record<string, any>);
    status.conditions = upsertCondition(status.conditions, {
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message,
    }).map((c) => (c.type === "PodScheduled" ? { ...c, lastProbeTime: null } : c));
    if (deepEqual(status, pod.status)) return;
    const ctx = this.runtime.ctx(this.runtime.type("", "pods"), pod.metadata?.namespace as string, SCHEDULER_NAME);
    this.runtime.core.commitUpdate(ctx, pod, { ...pod, status }, "status");
  }

  private countReadyNodes(): number {
    let n = 0;
    for (const info of this.nodes.values()) if (info.obj.status) n++;
    return n;
  }
}

/** NodeResourcesFit: every requested resource within allocatable minus what bound pods request, and a pod slot. */
function insufficient(requests: Resources, info: NodeInfo): string[] {
  const out: string[] = [];
  if (info.pods + 1 > (info.allocatable.get("pods") ?? 0)) out.push("Too many pods");
  for (const [name, want] of requests) {
    if (want <= 0) continue;
    const free = (info.allocatable.get(name) ?? 0) - (info.requested.get(name) ?? 0);
    if (want > free) out.push(`Insufficient ${name}`);
  }
  return out;
}

/** NodeResourcesFit's default LeastAllocated score over cpu and memory (higher = emptier after placing the pod). */
function leastAllocated(requests: Resources, info: NodeInfo): number {
  let score = 0;
  for (const name of ["cpu", "memory"]) {
    const alloc = info.allocatable.get(name) ?? 0;
    if (alloc <= 0) continue;
    const used = (info.scored.get(name) ?? 0) + (requests.get(name) ?? 0);
    score += Math.max(0, alloc - used) / alloc;
  }
  return score;
}
