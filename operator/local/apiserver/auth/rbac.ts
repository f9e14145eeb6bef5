// RBAC authorisation as kube-apiserver's RBAC authorizer evaluates it: the rules of every Role / ClusterRole bound to
// the user (ClusterRoleBindings everywhere, RoleBindings in their namespace), aggregated ClusterRoles included.
import type { KubeObject } from "../selectors.js";
import type { NonResourceAttributes, RequestAttributes, ResourceAttributes } from "./request-info.js";

export interface UserInfo {
  name: string;
  groups: string[];
}

export interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

interface Binding {
  metadata?: { namespace?: string };
  roleRef?: { kind?: string; name?: string };
  subjects?: Subject[];
}

/** Read access to the RBAC objects the server holds. */
export interface RbacObjects {
  clusterRoles(): KubeObject[];
  clusterRoleBindings(): KubeObject[];
  role(namespace: string, name: string): KubeObject | undefined;
  roleBindings(namespace: string): KubeObject[];
}

const SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

function subjectMatches(subject: Subject, user: UserInfo): boolean {
  if (subject.kind === "User") return subject.name === user.name;
  if (subject.kind === "Group") return user.groups.includes(subject.name ?? "");
  if (subject.kind === "ServiceAccount")
    return user.name === `${SERVICE_ACCOUNT_PREFIX}${subject.namespace ?? ""}:${subject.name ?? ""}`;
  return false;
}

function bound(binding: Binding, user: UserInfo): boolean {
  return (binding.subjects ?? []).some((s) => subjectMatches(s, user));
}

function has(list: string[] | undefined, value: string): boolean {
  return (list ?? []).some((v) => v === "*" || v === value);
}

function resourceMatches(rule: PolicyRule, a: ResourceAttributes): boolean {
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return (rule.resources ?? []).some(
    (r) => r === "*" || r === combined || (a.subresource !== undefined && r === `*/${a.subresource}`),
  );
}

function nonResourceMatches(rule: PolicyRule, a: NonResourceAttributes): boolean {
  return (rule.nonResourceURLs ?? []).some(
    (u) => u === "*" || u === a.path || (u.endsWith("*") && a.path.startsWith(u.slice(0, -1))),
  );
}

/** Whether one rule allows the request (resourceNames restrict only requests that name an object). */
export function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (a.kind === "nonResource") return nonResourceMatches(rule, a);
  if (!has(rule.apiGroups, a.apiGroup) || !resourceMatches(rule, a)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (a.name !== undefined && names.includes(a.name));
}

function labelsMatch(labels: Record<string, string>, selector: { matchLabels?: Record<string, string> }): boolean {
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

/** A ClusterRole's rules; an aggregated one takes the rules of every ClusterRole its selectors match. */
function clusterRoleRules(objects: RbacObjects, name: string): PolicyRule[] {
  const all = objects.clusterRoles();
  const role = all.find((r) => r.metadata?.name === name) as
    (KubeObject & { rules?: PolicyRule[]; aggregationRule?: { clusterRoleSelectors?: object[] } }) | undefined;
  if (!role) return [];
  const selectors = role.aggregationRule?.clusterRoleSelectors ?? [];
  if (selectors.length === 0) return role.rules ?? [];
  const aggregated = all.filter((r) => {
    const labels = (r.metadata?.labels ?? {}) as Record<string, string>;
    return r.metadata?.name !== name && selectors.some((s) => labelsMatch(labels, s));
  });
  return aggregated.flatMap((r) => ((r as { rules?: PolicyRule[] }).rules ?? []) as PolicyRule[]);
}

function roleRules(objects: RbacObjects, binding: Binding, namespace: string): PolicyRule[] {
  const ref = binding.roleRef ?? {};
  if (ref.kind === "ClusterRole") return clusterRoleRules(objects, ref.name ?? "");
  const role = objects.role(namespace, ref.name ?? "") as { rules?: PolicyRule[] } | undefined;
  return role?.rules ?? [];
}

function clusterBindingsAllow(objects: RbacObjects, user: UserInfo, a: RequestAttributes): boolean {
  return (objects.clusterRoleBindings() as Binding[]).some(
    (b) =>
      b.roleRef?.kind === "ClusterRole" &&
      bound(b, user) &&
      clusterRoleRules(objects, b.roleRef.name ?? "").some((r) => ruleAllows(r, a)),
  );
}

/** RoleBindings grant only inside their namespace, and never non-resource URLs. */
function roleBindingsAllow(objects: RbacObjects, user: UserInfo, a: RequestAttributes): boolean {
  if (a.kind === "nonResource" || a.namespace === undefined) return false;
  const namespace = a.namespace;
  return (objects.roleBindings(namespace) as Binding[]).some(
    (b) => bound(b, user) && roleRules(objects, b, namespace).some((r) => ruleAllows(r, a)),
  );
}

/**
 * Every rule bound to the user that applies in `namespace`: its ClusterRoleBindings' (resource and non-resource) and
 * the resource rules of its RoleBindings there, as kube-apiserver's RulesFor lists them.
 */
export function rbacRulesFor(objects: RbacObjects, user: UserInfo, namespace: string): PolicyRule[] {
  const cluster = (objects.clusterRoleBindings() as Binding[]).flatMap((b) =>
    b.roleRef?.kind === "ClusterRole" && bound(b, user) ? clusterRoleRules(objects, b.roleRef.name ?? "") : [],
  );
  const local = namespace
    ? (objects.roleBindings(namespace) as Binding[]).flatMap((b) =>
        bound(b, user) ? roleRules(objects, b, namespace).filter((r) => (r.nonResourceURLs ?? []).length === 0) : [],
      )
    : [];
  return [...cluster, ...local];
}

/** True when some rule bound to the user allows the request. */
export function rbacAllows(objects: RbacObjects, user: UserInfo, a: RequestAttributes): boolean {
  return clusterBindingsAllow(objects, user, a) || roleBindingsAllow(objects, user, a);
}

/** kube-apiserver's wording of a denial. */
export function forbiddenMessage(user: UserInfo, a: RequestAttributes): string {
  if (a.kind === "nonResource") return `forbidden: User "${user.name}" cannot ${a.verb} path "${a.path}"`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const subject = a.name ? `${resource} "${a.name}"` : resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  return `${subject} is forbidden: User "${user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}`;
}
