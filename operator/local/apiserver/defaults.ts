// Defaulting of built-in objects as kube-apiserver does on every write (so a spec read back looks like on EKS).
import type { ResourceType } from "./registry.js";
import type { KubeObject } from "./selectors.js";
import { defaultServicePorts } from "./admission.js";
import { isObject } from "./objects.js";

type Obj = Record<string, any>;

function setDefault(o: Obj, key: string, value: unknown): void {
  if (o[key] === undefined) o[key] = value;
}

function imagePullPolicy(image: unknown): string {
  if (typeof image !== "string") return "IfNotPresent";
  const lastSegment = image.split("/").pop() ?? "";
  if (image.includes("@")) return "IfNotPresent";
  const tag = lastSegment.includes(":") ? lastSegment.split(":").pop() : undefined;
  return tag === undefined || tag === "latest" ? "Always" : "IfNotPresent";
}

function defaultContainer(c: unknown): void {
  if (!isObject(c)) return;
  setDefault(c, "imagePullPolicy", imagePullPolicy(c.image));
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  setDefault(c, "resources", {});
  if (Array.isArray(c.ports)) for (const p of c.ports) if (isObject(p)) setDefault(p, "protocol", "TCP");
}

/** PodSpec defaults (also inside workload templates). */
export function defaultPodSpec(spec: unknown): void {
  if (!isObject(spec)) return;
  setDefault(spec, "restartPolicy", "Always");
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "securityContext", {});
  setDefault(spec, "schedulerName", "default-scheduler");
  setDefault(spec, "enableServiceLinks", true);
  if (spec.serviceAccountName !== undefined) setDefault(spec, "serviceAccount", spec.serviceAccountName);
  for (const list of ["containers", "initContainers"]) {
    if (Array.isArray(spec[list])) for (const c of spec[list] as unknown[]) defaultContainer(c);
  }
  if (Array.isArray(spec.tolerations)) {
    for (const t of spec.tolerations as unknown[])
      if (isObject(t) && t.operator === undefined && t.value === undefined && t.key !== undefined) t.operator = "Equal";
  }
}

function defaultTemplate(spec: Obj): void {
  if (isObject(spec.template)) {
    setDefault(spec.template, "metadata", {});
    defaultPodSpec(spec.template.spec);
  }
}

const WORKLOAD: Record<string, (spec: Obj) => void> = {
  Deployment: (spec) => {
    setDefault(spec, "replicas", 1);
    setDefault(spec, "revisionHistoryLimit", 10);
    setDefault(spec, "progressDeadlineSeconds", 600);
    setDefault(spec, "strategy", { type: "RollingUpdate" });
    if (isObject(spec.strategy) && spec.strategy.type === "RollingUpdate")
      setDefault(spec.strategy, "rollingUpdate", { maxUnavailable: "25%", maxSurge: "25%" });
    defaultTemplate(spec);
  },
  StatefulSet: (spec) => {
    setDefault(spec, "replicas", 1);
    setDefault(spec, "podManagementPolicy", "OrderedReady");
    setDefault(spec, "revisionHistoryLimit", 10);
    setDefault(spec, "updateStrategy", { type: "RollingUpdate" });
    if (isObject(spec.updateStrategy) && spec.updateStrategy.type === "RollingUpdate")
      setDefault(spec.updateStrategy, "rollingUpdate", { partition: 0 });
    setDefault(spec, "persistentVolumeClaimRetentionPolicy", { whenDeleted: "Retain", whenScaled: "Retain" });
    defaultTemplate(spec);
  },
  ReplicaSet: (spec) => {
    setDefault(spec, "replicas", 1);
    defaultTemplate(spec);
  },
  DaemonSet: (spec) => {
    setDefault(spec, "revisionHistoryLimit", 10);
    setDefault(spec, "updateStrategy", { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    defaultTemplate(spec);
  },
  CronJob: (spec) => {
    setDefault(spec, "concurrencyPolicy", "Allow");
    setDefault(spec, "suspend", false);
    setDefault(spec, "successfulJobsHistoryLimit", 3);
    setDefault(spec, "failedJobsHistoryLimit", 1);
    if (isObject(spec.jobTemplate) && isObject(spec.jobTemplate.spec)) defaultTemplate(spec.jobTemplate.spec);
  },
  Job: (spec) => {
    setDefault(spec, "backoffLimit", 6);
    setDefault(spec, "completions", 1);
    setDefault(spec, "parallelism", 1);
    setDefault(spec, "completionMode", "NonIndexed");
    setDefault(spec, "suspend", false);
    defaultTemplate(spec);
  },
};

/** Quality of service class of a pod from its containers' requests and limits. */
export function podQosClass(spec: unknown): string {
  const containers = isObject(spec) && Array.isArray(spec.containers) ? (spec.containers as Obj[]) : [];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = (c.resources?.requests ?? {}) as Obj;
    const lim = (c.resources?.limits ?? {}) as Obj;
    if (Object.keys(req).length > 0 || Object.keys(lim).length > 0) any = true;
    for (const r of ["cpu", "memory"]) {
      if (lim[r] === undefined || (req[r] !== undefined && String(req[r]) !== String(lim[r]))) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

/** Applies the defaults kube-apiserver sets for `rt` (no-op for kinds without interesting defaults). */
export function applyBuiltinDefaults(rt: ResourceType, obj: KubeObject): void {
  if (rt.crd) return;
  if (rt.group === "" && rt.kind === "Pod") defaultPodSpec(obj.spec);
  if (rt.group === "" && rt.kind === "Secret") setDefault(obj, "type", "Opaque");
  if (rt.group === "" && rt.kind === "Service" && isObject(obj.spec)) {
    setDefault(obj.spec, "type", "ClusterIP");
    setDefault(obj.spec, "sessionAffinity", "None");
    if (Array.isArray(obj.spec.ports))
      for (const p of obj.spec.ports) if (isObject(p)) setDefault(p, "protocol", "TCP");
    defaultServicePorts(obj.spec);
  }
  const workload = rt.group === "apps" || rt.group === "batch" ? WORKLOAD[rt.kind] : undefined;
  if (workload && isObject(obj.spec)) workload(obj.spec);
}
