// What a default EKS cluster's create path adds to Services and Pods: IP and port allocation, ServiceAccount, Priority and DefaultTolerationSeconds admission.
import { isObject } from "./objects.js";
import type { ResourceType } from "./registry.js";
import type { KubeObject } from "./selectors.js";

type Obj = Record<string, any>;

/** EKS's default service CIDR (10.100.0.1 is the `kubernetes` Service, 10.100.0.10 kube-dns). */
const SERVICE_NET = "10.100";
const NODE_PORTS = { min: 30000, max: 32767 };
const SYSTEM_PRIORITIES: Record<string, number> = {
  "system-node-critical": 2000001000,
  "system-cluster-critical": 2000000000,
};
const DEFAULT_TOLERATION_SECONDS = 300;

/** What admission reads from the store. */
export interface AdmissionState {
  /** Every stored Service. */
  services(): KubeObject[];
}

function pick<T>(used: Set<T>, candidate: () => T): T {
  for (let i = 0; i < 10_000; i++) {
    const c = candidate();
    if (!used.has(c)) return c;
  }
  throw new Error("service allocation range exhausted");
}

const randomInt = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min + 1));

function allocateClusterIP(spec: Obj, state: AdmissionState): void {
  if (spec.type === "ExternalName") return;
  if (spec.clusterIP === undefined || spec.clusterIP === "") {
    const used = new Set(state.services().map((s) => (s.spec as Obj | undefined)?.clusterIP as string));
    spec.clusterIP = pick(used, () => `${SERVICE_NET}.${randomInt(0, 255)}.${randomInt(11, 254)}`);
  }
  spec.clusterIPs ??= [spec.clusterIP];
  spec.ipFamilies ??= ["IPv4"];
  spec.ipFamilyPolicy ??= "SingleStack";
  spec.internalTrafficPolicy ??= "Cluster";
}

function usedNodePorts(state: AdmissionState): Set<number> {
  const used = new Set<number>();
  for (const s of state.services())
    for (const p of ((s.spec as Obj | undefined)?.ports as Obj[] | undefined) ?? []) used.add(p.nodePort as number);
  return used;
}

function allocateNodePorts(spec: Obj, state: AdmissionState): void {
  if (spec.type !== "NodePort" && spec.type !== "LoadBalancer") return;
  spec.externalTrafficPolicy ??= "Cluster";
  if (spec.type === "LoadBalancer") spec.allocateLoadBalancerNodePorts ??= true;
  if (spec.allocateLoadBalancerNodePorts === false) return;
  const used = usedNodePorts(state);
  const ports = ((spec.ports as unknown[] | undefined) ?? []).filter(isObject);
  for (const p of ports.filter((port) => !port.nodePort)) {
    p.nodePort = pick(used, () => randomInt(NODE_PORTS.min, NODE_PORTS.max));
    used.add(p.nodePort);
  }
}

function admitService(svc: KubeObject, state: AdmissionState): void {
  if (!isObject(svc.spec)) return;
  allocateClusterIP(svc.spec, state);
  allocateNodePorts(svc.spec, state);
}

const tolerates = (tolerations: Obj[], key: string): boolean =>
  tolerations.some(
    (t) =>
      (t.key === key || (t.key === undefined && t.operator === "Exists")) && (!t.effect || t.effect === "NoExecute"),
  );

/** DefaultTolerationSeconds admission: pods tolerate a not-ready or unreachable node for 300 s unless they say otherwise. */
function defaultTolerations(spec: Obj): void {
  const tolerations = Array.isArray(spec.tolerations) ? (spec.tolerations as Obj[]) : [];
  for (const key of ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]) {
    if (!tolerates(tolerations, key))
      tolerations.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: DEFAULT_TOLERATION_SECONDS });
  }
  spec.tolerations = tolerations;
}

function admitPod(pod: KubeObject): void {
  const spec = pod.spec as Obj | undefined;
  if (!isObject(spec)) return;
  // ServiceAccount admission.
  spec.serviceAccountName ??= (spec.serviceAccount as string | undefined) ?? "default";
  spec.serviceAccount ??= spec.serviceAccountName;
  // Priority admission.
  spec.priority ??= SYSTEM_PRIORITIES[spec.priorityClassName as string] ?? 0;
  spec.preemptionPolicy ??= "PreemptLowerPriority";
  defaultTolerations(spec);
}

/** Runs the create-time admission of `rt` on `obj` (after defaulting, before validation). */
export function admitCreate(rt: ResourceType, obj: KubeObject, state: AdmissionState): void {
  if (rt.crd || rt.group !== "") return;
  if (rt.kind === "Service") admitService(obj, state);
  if (rt.kind === "Pod") admitPod(obj);
}

/** Service defaults applied on every write: a port's targetPort is its port. */
export function defaultServicePorts(spec: unknown): void {
  if (!isObject(spec) || !Array.isArray(spec.ports)) return;
  for (const p of spec.ports as unknown[]) if (isObject(p) && p.targetPort === undefined) p.targetPort = p.port;
}
