// What a pod asks the scheduler for: one definition shared by fleet efficiency figures and the replan controller.
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { cpuMillicores, memoryMiB, parseQuantity } from "./quantity.js";

const GPU_RESOURCE = "nvidia.com/gpu";

/** What one pod asks the scheduler for (the kubelet's effective request). */
export interface PodRequest {
  cpuMillicores: number;
  memoryMiB: number;
  gpus: number;
}

type Resources = Record<string, string | number> | undefined;

function containerRequest(c: V1Container): PodRequest {
  // The API server defaults a missing request to the limit; read it the same way for objects that skipped defaulting.
  const requests = c.resources?.requests as Resources;
  const limits = c.resources?.limits as Resources;
  const pick = (name: string): string | number | undefined => requests?.[name] ?? limits?.[name];
  return {
    cpuMillicores: cpuMillicores(pick("cpu")),
    memoryMiB: memoryMiB(pick("memory")),
    gpus: Math.ceil(parseQuantity(pick(GPU_RESOURCE)) ?? 0),
  };
}

const add = (a: PodRequest, b: PodRequest): PodRequest => ({
  cpuMillicores: a.cpuMillicores + b.cpuMillicores,
  memoryMiB: a.memoryMiB + b.memoryMiB,
  gpus: a.gpus + b.gpus,
});
const max = (a: PodRequest, b: PodRequest): PodRequest => ({
  cpuMillicores: Math.max(a.cpuMillicores, b.cpuMillicores),
  memoryMiB: Math.max(a.memoryMiB, b.memoryMiB),
  gpus: Math.max(a.gpus, b.gpus),
});
const ZERO: PodRequest = { cpuMillicores: 0, memoryMiB: 0, gpus: 0 };

/**
 * The scheduler's effective request of a pod, per resource: max(Σ app containers + Σ sidecars, the largest init
 * container plus the sidecars started before it), plus `spec.overhead`. Sidecars are init containers with
 * `restartPolicy: Always` (they keep running next to the app containers).
 */
export function podRequest(pod: V1Pod): PodRequest {
  let sidecars = ZERO;
  let initPeak = ZERO;
  for (const init of pod.spec?.initContainers ?? []) {
    const r = containerRequest(init);
    if (init.restartPolicy === "Always") {
      sidecars = add(sidecars, r);
      initPeak = max(initPeak, sidecars);
    } else initPeak = max(initPeak, add(r, sidecars));
  }
  const running = (pod.spec?.containers ?? []).map(containerRequest).reduce(add, sidecars);
  const overhead = pod.spec?.overhead as Resources;
  const extra: PodRequest = {
    cpuMillicores: cpuMillicores(overhead?.cpu),
    memoryMiB: memoryMiB(overhead?.memory),
    gpus: 0,
  };
  return add(max(running, initPeak), extra);
}

/**
 * DaemonSet and static (mirror) pods run once per node whatever a plan does: per-node overhead, which the optimizer's
 * allocatable does not model, so plans leave them out rather than pack them as if they were movable.
 */
export function isPerNodePod(pod: V1Pod): boolean {
  const metadata = pod.metadata ?? {};
  if ((metadata.ownerReferences ?? []).some((o) => o.kind === "DaemonSet" || o.kind === "Node")) return true;
  return metadata.annotations?.["kubernetes.io/config.mirror"] !== undefined;
}

/** The pod's `kubernetes.io/arch` pin (amd64 / arm64), if its nodeSelector has one. */
export function pinnedArch(pod: V1Pod): "amd64" | "arm64" | undefined {
  const arch = pod.spec?.nodeSelector?.["kubernetes.io/arch"];
  return arch === "amd64" || arch === "arm64" ? arch : undefined;
}

/** The pod's `topology.kubernetes.io/zone` pin, if its nodeSelector has one. */
export function pinnedZone(pod: V1Pod): string | undefined {
  return pod.spec?.nodeSelector?.["topology.kubernetes.io/zone"] || undefined;
}
