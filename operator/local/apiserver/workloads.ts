// kube-apiserver's validation of workload selectors and of a Job's pod template on update, as the apps and batch
// validators word it: a manifest that our API server takes must be one a real cluster takes too.
import type { ResourceType } from "./registry.js";
import { matchesLabelSelectorObject, type KubeObject, type LabelSelectorObject } from "./selectors.js";
import type { StatusCause } from "./status.js";

/** The kinds whose selector must be set, non-empty and match their pod template's labels, with upstream's word for each. */
const SELECTED_KINDS: Record<string, { emptyWord?: string; labelsField: string }> = {
  // ReplicaSet's validator reuses the Deployment's wording.
  "apps/Deployment": { emptyWord: "deployment", labelsField: "spec.template.metadata.labels" },
  "apps/ReplicaSet": { emptyWord: "deployment", labelsField: "spec.template.metadata.labels" },
  "apps/DaemonSet": { emptyWord: "daemonset", labelsField: "spec.template.metadata.labels" },
  "apps/StatefulSet": { emptyWord: "statefulset", labelsField: "spec.template.metadata.labels" },
  // A Job's selector is generated unless manualSelector; an empty one is allowed there.
  "batch/Job": { labelsField: "spec.template.metadata.labels" },
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isEmptySelector(selector: LabelSelectorObject): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/** Go's %v of a map[string]string, as upstream prints an invalid labels value. */
function goMap(labels: Record<string, string>): string {
  const body = Object.keys(labels)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(labels[k])}`)
    .join(", ");
  return `map[string]string{${body}}`;
}

/**
 * Required, non-empty (apps) selector that selects the template's labels: 422 causes as the apps and batch validators
 * give them (`selector` does not match template `labels`), none for other kinds.
 */
export function workloadSelectorCauses(rt: ResourceType, obj: KubeObject): StatusCause[] {
  const kind = SELECTED_KINDS[`${rt.group}/${rt.kind}`];
  if (!kind) return [];
  const spec = isObject(obj.spec) ? obj.spec : {};
  const selector = spec.selector;
  if (!isObject(selector)) return [{ reason: "FieldValueRequired", message: "Required value", field: "spec.selector" }];
  const sel = selector as LabelSelectorObject;
  if (isEmptySelector(sel)) {
    if (!kind.emptyWord) return [];
    return [
      {
        reason: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(selector)}: empty selector is invalid for ${kind.emptyWord}`,
        field: "spec.selector",
      },
    ];
  }
  const template = isObject(spec.template) ? spec.template : {};
  const metadata = isObject(template.metadata) ? template.metadata : {};
  const labels = (isObject(metadata.labels) ? metadata.labels : {}) as Record<string, string>;
  if (matchesLabelSelectorObject(sel, labels)) return [];
  return [
    {
      reason: "FieldValueInvalid",
      message: `Invalid value: ${goMap(labels)}: \`selector\` does not match template \`labels\``,
      field: kind.labelsField,
    },
  ];
}

/** What a suspended Job that has not started may still change in its template (upstream's mutable scheduling directives). */
function withoutSchedulingDirectives(template: unknown): unknown {
  if (!isObject(template)) return template;
  const metadata = isObject(template.metadata) ? { ...template.metadata } : {};
  delete metadata.labels;
  delete metadata.annotations;
  const spec = isObject(template.spec) ? { ...template.spec } : {};
  for (const field of ["nodeSelector", "tolerations", "schedulingGates"]) delete spec[field];
  if (isObject(spec.affinity)) {
    const affinity = { ...spec.affinity };
    delete affinity.nodeAffinity;
    // an affinity of nodeAffinity alone, added or cleared, is the same change as its nodeAffinity (as upstream)
    if (Object.keys(affinity).length === 0) delete spec.affinity;
    else spec.affinity = affinity;
  }
  return { ...template, metadata, spec };
}

/**
 * A Job's pod template is immutable (`field is immutable`), except the scheduling directives, labels and annotations of
 * a suspended Job that never started.
 */
export function jobTemplateUpdateCauses(
  cur: KubeObject,
  next: KubeObject,
  equal: (a: unknown, b: unknown) => boolean,
): StatusCause[] {
  const before = (cur.spec as Record<string, unknown> | undefined)?.template;
  const after = (next.spec as Record<string, unknown> | undefined)?.template;
  if (before === undefined || equal(before, after)) return [];
  const status = (cur.status ?? {}) as Record<string, unknown>;
  const suspended = (cur.spec as Record<string, unknown>).suspend === true && status.startTime === undefined;
  if (suspended && equal(withoutSchedulingDirectives(before), withoutSchedulingDirectives(after))) return [];
  return [
    {
      reason: "FieldValueInvalid",
      message: "Invalid value: the Job's pod template: field is immutable",
      field: "spec.template",
    },
  ];
}
