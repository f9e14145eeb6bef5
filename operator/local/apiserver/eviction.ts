// The pod subresources that act on pods (Eviction honouring PodDisruptionBudgets, Binding) and PDB arithmetic.
import type { ApiCore, WriteContext } from "./core.js";
import type { KubeObject } from "./selectors.js";
import { matchesLabelSelectorObject } from "./selectors.js";
import type { StatusObject } from "./status.js";
import { ApiError, badRequest, conflict, successStatus, tooManyRequests } from "./status.js";

/** The computed part of a PDB's status. */
export interface PdbNumbers {
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  observedGeneration?: number;
}

/** Running pods with a Ready=True condition, not being deleted. */
export function isHealthyPod(pod: KubeObject): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase !== "Running") return false;
  const conds = (pod.status?.conditions as { type?: string; status?: string }[] | undefined) ?? [];
  return conds.some((c) => c.type === "Ready" && c.status === "True");
}

/** intstr scaled like intstr.GetScaledValueFromIntOrPercent(..., roundUp=true). */
function scaled(v: unknown, total: number): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^\d+%$/.test(v)) return Math.ceil((Number(v.slice(0, -1)) * total) / 100);
  if (typeof v === "string" && /^\d+$/.test(v)) return Number(v);
  return 0;
}

/** Pods a PDB selects (policy/v1: an empty selector selects every pod of the namespace, a null one none). */
export function podsForPdb(pdb: KubeObject, pods: KubeObject[]): KubeObject[] {
  const sel = pdb.spec?.selector as Record<string, unknown> | null | undefined;
  return pods.filter(
    (p) =>
      !p.metadata?.deletionTimestamp &&
      matchesLabelSelectorObject(sel as never, (p.metadata?.labels ?? {}) as Record<string, string>),
  );
}

/** The PDB status numbers for the current pods. */
export function computePdbStatus(pdb: KubeObject, pods: KubeObject[]): { status: PdbNumbers } {
  const selected = podsForPdb(pdb, pods);
  const expectedPods = selected.length;
  const currentHealthy = selected.filter(isHealthyPod).length;
  let desiredHealthy: number;
  if (pdb.spec?.maxUnavailable !== undefined && pdb.spec?.maxUnavailable !== null) {
    desiredHealthy = Math.max(0, expectedPods - scaled(pdb.spec.maxUnavailable, expectedPods));
  } else {
    desiredHealthy = scaled(pdb.spec?.minAvailable ?? 1, expectedPods);
  }
  const status: PdbNumbers = {
    disruptionsAllowed: Math.max(0, currentHealthy - desiredHealthy),
    currentHealthy,
    desiredHealthy,
    expectedPods,
  };
  if (pdb.metadata?.generation !== undefined) status.observedGeneration = pdb.metadata.generation as number;
  return { status };
}

/**
 * POST pods/{name}/eviction: deletes the pod unless a matching PDB has no disruption left (429).
 * Pending, Succeeded, Failed and terminating pods are evicted without consulting PDBs, as upstream does.
 */
export function evictPod(core: ApiCore, ctx: WriteContext, name: string, body: unknown): StatusObject {
  const pod = core.get(ctx.rt, ctx.namespace, name);
  const evName = (body as { metadata?: { name?: string } } | undefined)?.metadata?.name;
  if (evName !== undefined && evName !== name) throw badRequest(`name in URL does not match name in Eviction object`);
  const deleteOptions = ((body as { deleteOptions?: Record<string, any> } | undefined)?.deleteOptions ?? {}) as Record<
    string,
    any
  >;
  const phase = pod.status?.phase as string | undefined;
  // Upstream's canIgnorePDB: Pending, Succeeded, Failed and already-deleting pods skip the budget.
  const ignoresPdb =
    phase === "Pending" || phase === "Succeeded" || phase === "Failed" || Boolean(pod.metadata?.deletionTimestamp);
  if (!ignoresPdb) checkDisruptionBudget(core, ctx, pod);
  core.delete({ ...ctx, verb: "delete" }, name, {
    gracePeriodSeconds:
      typeof deleteOptions.gracePeriodSeconds === "number" ? deleteOptions.gracePeriodSeconds : undefined,
    preconditions: deleteOptions.preconditions as { uid?: string; resourceVersion?: string } | undefined,
    dryRun: ctx.dryRun,
  });
  return successStatus(201);
}

/** 429 when the pod's PDB has no disruption left; otherwise takes one (status.disruptionsAllowed - 1). */
function checkDisruptionBudget(core: ApiCore, ctx: WriteContext, pod: KubeObject): void {
  const pdbs = core.store
    .list("policy/poddisruptionbudgets", ctx.namespace)
    .filter((p) => podsForPdb(p, [pod]).length > 0);
  if (pdbs.length > 1) {
    throw new ApiError(
      500,
      "InternalError",
      "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
    );
  }
  const pdb = pdbs[0];
  if (!pdb) return;
  const { status } = computePdbStatus(pdb, core.store.list("/pods", ctx.namespace));
  const healthy = isHealthyPod(pod);
  const unhealthyPolicy = pdb.spec?.unhealthyPodEvictionPolicy as string | undefined;
  const mayEvictUnhealthy =
    !healthy && (unhealthyPolicy === "AlwaysAllow" || status.currentHealthy >= status.desiredHealthy);
  if (!mayEvictUnhealthy && status.disruptionsAllowed <= 0) {
    throw tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", [
      {
        reason: "DisruptionBudget",
        message: `The disruption budget ${String(pdb.metadata?.name)} needs ${status.desiredHealthy} healthy pods and has ${status.currentHealthy} currently`,
      },
    ]);
  }
  if (!healthy || ctx.dryRun) return;
  const pdbType = core.registry.byGroupPlural("policy", "poddisruptionbudgets")!;
  const next = { ...pdb, status: { ...(pdb.status ?? {}), disruptionsAllowed: status.disruptionsAllowed - 1 } };
  core.commitUpdate({ rt: pdbType, version: "v1", namespace: ctx.namespace, origin: "internal" }, pdb, next, "status");
}

/**
 * POST pods/{name}/binding (what a scheduler does): sets spec.nodeName once and marks PodScheduled;
 * 409 when the pod is already bound, as upstream.
 */
export function bindPod(core: ApiCore, ctx: WriteContext, name: string, body: unknown): StatusObject {
  const pod = core.get(ctx.rt, ctx.namespace, name);
  const target = (body as { target?: { kind?: string; name?: string } } | undefined)?.target;
  if (!target?.name) throw badRequest("Binding target.name is required");
  if (target.kind !== undefined && target.kind !== "Node")
    throw badRequest(`Binding target kind must be Node (got ${target.kind})`);
  if (pod.spec?.nodeName)
    throw conflict(ctx.rt, name, `pod ${name} is already assigned to node "${String(pod.spec.nodeName)}"`);
  if (pod.metadata?.deletionTimestamp)
    throw conflict(ctx.rt, name, `pod ${name} is being deleted, cannot be assigned to a host`);
  const conditions = ((pod.status?.conditions as Record<string, unknown>[] | undefined) ?? []).filter(
    (c) => c.type !== "PodScheduled",
  );
  conditions.push({
    type: "PodScheduled",
    status: "True",
    lastProbeTime: null,
    lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
  });
  const next = { ...pod, spec: { ...pod.spec, nodeName: target.name }, status: { ...(pod.status ?? {}), conditions } };
  if (!ctx.dryRun) core.commitRaw({ ...ctx, verb: "create" }, pod, next);
  return successStatus(201);
}
