// Scheduling predicates on a pod and a node: taints and tolerations, nodeSelector and required node affinity.
import type { KubeObject } from "../selectors.js";

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

interface Term {
  matchExpressions?: Requirement[];
  matchFields?: Requirement[];
}

function tolerationMatches(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === "Exists") return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
}

/** The pod tolerates the taint. */
export function tolerates(pod: KubeObject, taint: Taint): boolean {
  const tolerations = (pod.spec?.tolerations as Toleration[] | undefined) ?? [];
  return tolerations.some((t) => tolerationMatches(t, taint));
}

/** The first NoSchedule/NoExecute taint of the node that the pod does not tolerate. */
export function untoleratedTaint(pod: KubeObject, node: KubeObject): Taint | undefined {
  const taints = (node.spec?.taints as Taint[] | undefined) ?? [];
  return taints.find((t) => (t.effect === "NoSchedule" || t.effect === "NoExecute") && !tolerates(pod, t));
}

function requirementMatches(r: Requirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
      return value !== undefined && Number(value) > Number(values[0]);
    case "Lt":
      return value !== undefined && Number(value) < Number(values[0]);
    default:
      return false;
  }
}

function termMatches(term: Term, labels: Record<string, string>, name: string): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  // A term with no requirements matches nothing, as upstream's nodeaffinity.
  if (exprs.length === 0 && fields.length === 0) return false;
  return (
    exprs.every((r) => requirementMatches(r, labels[r.key])) &&
    fields.every((r) => requirementMatches(r, r.key === "metadata.name" ? name : undefined))
  );
}

/** nodeSelector and requiredDuringSchedulingIgnoredDuringExecution (terms ORed, requirements ANDed). */
export function nodeAffinityMatches(pod: KubeObject, node: KubeObject): boolean {
  const labels = (node.metadata?.labels as Record<string, string> | undefined) ?? {};
  const selector = (pod.spec?.nodeSelector as Record<string, string> | undefined) ?? {};
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution as
    { nodeSelectorTerms?: Term[] } | undefined;
  if (!required) return true;
  const name = node.metadata?.name as string;
  return (required.nodeSelectorTerms ?? []).some((t) => termMatches(t, labels, name));
}
