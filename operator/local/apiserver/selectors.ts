// Label and field selectors: the string syntax of `?labelSelector=`/`?fieldSelector=` and metav1.LabelSelector objects.
import { badRequest } from "./status.js";

/** A compiled selector over an object. */
export type ObjectPredicate = (obj: KubeObject) => boolean;

/** The loose shape of any stored object. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, any>;
  [key: string]: any;
}

type Requirement = (labels: Record<string, string>) => boolean;

const KEY = /^([a-z0-9A-Z]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?\/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;

/** Splits on commas that are not inside parentheses: `a in (x,y),b` -> [`a in (x,y)`, `b`]. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p.length > 0);
}

function checkKey(key: string, whole: string): string {
  if (!KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${whole}"`);
  return key;
}

function parseSet(raw: string, whole: string): Set<string> {
  const m = /^\((.*)\)$/.exec(raw.trim());
  if (!m) throw badRequest(`unable to parse requirement: found '${raw}', expected: '(' in "${whole}"`);
  return new Set(
    m[1]!
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v.length > 0),
  );
}

function parseRequirement(part: string, whole: string): Requirement {
  const setOp = /^([^\s!=()]+)\s+(in|notin)\s+(\(.*\))$/.exec(part);
  if (setOp) {
    const key = checkKey(setOp[1]!, whole);
    const values = parseSet(setOp[3]!, whole);
    return setOp[2] === "in" ? (l) => key in l && values.has(l[key]!) : (l) => !(key in l) || !values.has(l[key]!);
  }
  const eq = /^([^\s!=()]+)\s*(==|=|!=)\s*([^\s,()]*)$/.exec(part);
  if (eq) {
    const key = checkKey(eq[1]!, whole);
    const value = eq[3]!;
    return eq[2] === "!=" ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  const not = /^!\s*([^\s!=()]+)$/.exec(part);
  if (not) {
    const key = checkKey(not[1]!, whole);
    return (l) => !(key in l);
  }
  const exists = /^([^\s!=()]+)$/.exec(part);
  if (exists) {
    const key = checkKey(exists[1]!, whole);
    return (l) => key in l;
  }
  throw badRequest(`unable to parse requirement: "${part}" in label selector "${whole}"`);
}

/** Compiles `?labelSelector=` syntax (=, ==, !=, in, notin, exists, !exists); empty matches everything. */
export function parseLabelSelector(selector: string | undefined | null): ObjectPredicate {
  if (!selector || selector.trim() === "") return () => true;
  const reqs = splitTopLevel(selector).map((p) => parseRequirement(p, selector));
  return (obj) => {
    const labels = (obj.metadata?.labels ?? {}) as Record<string, string>;
    return reqs.every((r) => r(labels));
  };
}

/** A metav1.LabelSelector object. */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Whether labels match a metav1.LabelSelector; `{}` matches everything, null/undefined matches nothing. */
export function matchesLabelSelectorObject(
  sel: LabelSelectorObject | null | undefined,
  labels: Record<string, string>,
): boolean {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  return (sel.matchExpressions ?? []).every((e) => matchesExpression(e, labels));
}

function matchesExpression(
  e: { key: string; operator: string; values?: string[] },
  labels: Record<string, string>,
): boolean {
  const has = e.key in labels;
  const inValues = has && (e.values ?? []).includes(labels[e.key]!);
  switch (e.operator) {
    case "In":
      return inValues;
    case "NotIn":
      return !inValues;
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    default:
      return false;
  }
}

/** The string form of a metav1.LabelSelector (Scale.status.selector). */
export function labelSelectorToString(sel: LabelSelectorObject | undefined): string {
  if (!sel) return "";
  const parts: string[] = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const vals = [...(e.values ?? [])].sort().join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${vals})`);
    if (e.operator === "NotIn") parts.push(`${e.key} notin (${vals})`);
    if (e.operator === "Exists") parts.push(e.key);
    if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
  }
  return parts.sort().join(",");
}

/** Reads a dotted field path (`spec.nodeName`) as the string the apiserver compares against. */
function fieldValue(obj: KubeObject, path: string): string {
  let cur: any = obj;
  for (const seg of path.split(".")) cur = cur?.[seg];
  if (cur === undefined || cur === null) return "";
  return String(cur);
}

/** Field paths each kind supports in `?fieldSelector=`, beyond metadata.name/metadata.namespace. */
const FIELDS_BY_KIND: Record<string, string[]> = {
  Pod: [
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
    "spec.hostNetwork",
  ],
  Node: ["spec.unschedulable"],
  Namespace: ["status.phase"],
  Secret: ["type"],
  Event: [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
  ],
};

/** Compiles `?fieldSelector=` (`=`, `==`, `!=`) for the fields the kind supports; unknown fields are 400 like upstream. */
export function parseFieldSelector(selector: string | undefined | null, kind: string): ObjectPredicate {
  if (!selector || selector.trim() === "") return () => true;
  const allowed = new Set(["metadata.name", "metadata.namespace", ...(FIELDS_BY_KIND[kind] ?? [])]);
  const reqs = splitTopLevel(selector).map((part) => {
    const m = /^([^\s!=]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const field = m[1]!;
    if (!allowed.has(field)) throw badRequest(`field label not supported: ${field}`);
    const want = m[3]!.trim();
    const negate = m[2] === "!=";
    return (o: KubeObject): boolean => (fieldValue(o, field) === want) !== negate;
  });
  return (obj) => reqs.every((r) => r(obj));
}
