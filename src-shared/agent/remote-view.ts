// What a remote cluster's latest heartbeat snapshot says about the Karpenter objects the NodeTemplate controller
// handed its agent: whether they are still as applied (drift), whose template they name (orphans), and the pools'
// On-Demand NodeClaims (the return to Spot); the OptimizationPolicy controller reads its pod groups the same way.
import type { HeartbeatObject, HeartbeatPodGroup } from "./protocol.js";
import { agentObjectOwner } from "./placement.js";
import { parseSnapshot } from "./snapshot.js";
import type { KubeObject } from "../kube/index.js";
import { TEMPLATE_ANNOTATION } from "../karpenter/labels.js";

/** One remote cluster's report, as the reconciler reads it. */
export interface RemoteView {
  clusterName: string;
  /** When the facade received the heartbeat (its clock, like the AgentActions' completedAt). */
  receivedAtMs: number;
  /**
   * The agent reads the cluster just before it posts, so a report received within one heartbeat interval of an
   * action's completion may predate it: only a report this much later is taken as the action's outcome.
   */
  settleMs: number;
  objects: readonly HeartbeatObject[];
  /** Pod groups (the OptimizationPolicy controller reads which namespaces' pods are protected). */
  pods: readonly HeartbeatPodGroup[];
}

const KARPENTER_KINDS = new Set(["NodePool", "EC2NodeClass"]);

const views = new WeakMap<object, RemoteView | null>();

/** The view of a snapshot ConfigMap, parsed once per object the informer holds (a new heartbeat is a new object). */
export function remoteView(configMap: KubeObject | undefined): RemoteView | undefined {
  if (!configMap) return undefined;
  const known = views.get(configMap);
  if (known !== undefined) return known ?? undefined;
  const view = parseView(configMap);
  views.set(configMap, view ?? null);
  return view;
}

function parseView(configMap: KubeObject): RemoteView | undefined {
  const snapshot = parseSnapshot(configMap as { data?: Record<string, string> });
  const receivedAtMs = Date.parse(snapshot?.receivedAt ?? "");
  if (!snapshot || !Number.isFinite(receivedAtMs)) return undefined;
  return {
    clusterName: agentObjectOwner(configMap)?.cluster ?? "",
    receivedAtMs,
    settleMs: snapshot.heartbeatIntervalSeconds * 1000,
    objects: snapshot.objects ?? [],
    pods: snapshot.pods,
  };
}

/** The reported NodePool / EC2NodeClass of that name, unless it is being deleted. */
export function observed(view: RemoteView, kind: string, name: string): HeartbeatObject | undefined {
  return view.objects.find((o) => o.kind === kind && o.name === name && !o.deleting);
}

/** Whether the report was read after an action that completed at `completedMs` (see RemoteView.settleMs). */
export function reportAfter(view: RemoteView, completedMs: number): boolean {
  return view.receivedAtMs > completedMs + view.settleMs;
}

/** Our NodePools / EC2NodeClasses in the report whose template annotation is `key`. */
export function objectsNaming(view: RemoteView, key: string): HeartbeatObject[] {
  return view.objects.filter((o) => KARPENTER_KINDS.has(o.kind) && o.annotations?.[TEMPLATE_ANNOTATION] === key);
}

/**
 * Template keys the report's objects name, only within `namespace` (the organisation the cluster belongs to): an
 * agent's report never makes the operator act for another organisation's templates.
 */
export function templateKeysNamed(view: RemoteView, namespace: string): string[] {
  const keys = view.objects
    .filter((o) => KARPENTER_KINDS.has(o.kind))
    .map((o) => o.annotations?.[TEMPLATE_ANNOTATION] ?? "")
    .filter((key) => key.startsWith(`${namespace}/`));
  return [...new Set(keys)];
}

/** The pool's NodeClaims in the report, or undefined before the cluster's agent reported. */
export function poolNodeClaims(view: RemoteView | undefined, pool: string): number | undefined {
  return view?.objects.filter((o) => o.kind === "NodeClaim" && o.labels?.["karpenter.sh/nodepool"] === pool).length;
}

/** Creation times of the pool's NodeClaims that run On-Demand, as the agent reported them. */
export function onDemandClaimsCreatedMs(view: RemoteView | undefined, pool: string): number[] {
  return (view?.objects ?? [])
    .filter(
      (o) =>
        o.kind === "NodeClaim" &&
        o.labels?.["karpenter.sh/nodepool"] === pool &&
        o.labels["karpenter.sh/capacity-type"] === "on-demand",
    )
    .map((o) => Date.parse(o.creation_timestamp ?? ""))
    .filter((ms) => Number.isFinite(ms));
}
