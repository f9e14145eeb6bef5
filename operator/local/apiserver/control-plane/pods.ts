// Pod helpers the workload loops share: pods from a template, and the active/ready/available tests upstream uses.
import type { WriteContext } from "../core.js";
import { clone } from "../objects.js";
import type { KubeObject } from "../selectors.js";
import { controllerRefTo } from "./owners.js";
import type { LoopRuntime } from "./runtime.js";

/** Not finished and not being deleted (controller.IsPodActive). */
export function isPodActive(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !pod.metadata?.deletionTimestamp;
}

function readyCondition(pod: KubeObject): { status?: string; lastTransitionTime?: string } | undefined {
  const conds = (pod.status?.conditions as { type?: string; status?: string; lastTransitionTime?: string }[]) ?? [];
  return conds.find((c) => c.type === "Ready");
}

export function isPodReady(pod: KubeObject): boolean {
  return readyCondition(pod)?.status === "True";
}

/** Ready for at least minReadySeconds at `now` (podutil.IsPodAvailable). */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now: number): boolean {
  const c = readyCondition(pod);
  if (c?.status !== "True") return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse(c.lastTransitionTime ?? "");
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= now;
}

/** Milliseconds until a ready pod becomes available, or undefined when it is available or not ready. */
export function msUntilAvailable(pod: KubeObject, minReadySeconds: number, now: number): number | undefined {
  const c = readyCondition(pod);
  if (c?.status !== "True" || minReadySeconds <= 0) return undefined;
  const at = Date.parse(c.lastTransitionTime ?? "") + minReadySeconds * 1000;
  return at > now ? at - now : undefined;
}

export interface PodTemplateInput {
  owner: KubeObject;
  template: Record<string, any>;
  name?: string;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  spec?: Record<string, unknown>;
}

/** Creates a pod from a workload's template, controlled by the workload (as kube-controller-manager creates it). */
export function createPodFromTemplate(runtime: LoopRuntime, input: PodTemplateInput): KubeObject {
  const t = clone(input.template ?? {});
  const ns = input.owner.metadata?.namespace as string;
  const metadata: Record<string, unknown> = {
    ...(t.metadata ?? {}),
    labels: { ...(t.metadata?.labels ?? {}), ...(input.labels ?? {}) },
    ownerReferences: [controllerRefTo(input.owner)],
  };
  const annotations = { ...(t.metadata?.annotations ?? {}), ...(input.annotations ?? {}) };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  delete metadata.name;
  delete metadata.namespace;
  if (input.name) metadata.name = input.name;
  else metadata.generateName = input.generateName ?? `${String(input.owner.metadata?.name)}-`;
  const podType = runtime.type("", "pods");
  const ctx: WriteContext = { ...runtime.ctx(podType, ns), verb: "create" };
  return runtime.core.create(ctx, {
    apiVersion: "v1",
    kind: "Pod",
    metadata,
    spec: { ...(t.spec ?? {}), ...(input.spec ?? {}) },
  });
}

/** Deletes a pod as its controller does (graceful when scheduled). */
export function deletePod(runtime: LoopRuntime, pod: KubeObject): void {
  const podType = runtime.type("", "pods");
  runtime.core.delete(runtime.ctx(podType, pod.metadata?.namespace as string), pod.metadata?.name as string, {});
}

/** Upstream's ActivePods ordering for scale-down: the pod to delete first comes first. */
export function deletionOrder(a: KubeObject, b: KubeObject): number {
  const rank = (p: KubeObject): number[] => [
    p.spec?.nodeName ? 1 : 0,
    p.status?.phase === "Pending" ? 0 : p.status?.phase === "Running" ? 2 : 1,
    isPodReady(p) ? 1 : 0,
  ];
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  // Newer pods go first.
  return String(b.metadata?.creationTimestamp).localeCompare(String(a.metadata?.creationTimestamp));
}
