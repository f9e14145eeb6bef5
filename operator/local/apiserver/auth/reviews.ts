// User impersonation (the Impersonate-* headers kubectl's --as / --as-group send) and the access reviews
// (authorization.k8s.io/v1 SelfSubjectAccessReview, SubjectAccessReview, LocalSubjectAccessReview) that
// `kubectl auth can-i` creates, evaluated as kube-apiserver's impersonation filter and RBAC authorizer do; and the
// SelfSubjectReview `kubectl auth whoami` creates.
import type { IncomingMessage } from "node:http";
import { badRequest, internalError, invalid } from "../status.js";
import type { PolicyRule, UserInfo } from "./rbac.js";
import type { RequestAttributes, ResourceAttributes } from "./request-info.js";

export const AUTHORIZATION_GROUP = "authorization.k8s.io";
const REVIEW_RESOURCES = new Set(["selfsubjectaccessreviews", "subjectaccessreviews", "localsubjectaccessreviews"]);
const RULES_REVIEW = new Set(["selfsubjectrulesreviews"]);
const KIND_OF: Record<string, string> = {
  selfsubjectaccessreviews: "SelfSubjectAccessReview",
  subjectaccessreviews: "SubjectAccessReview",
  localsubjectaccessreviews: "LocalSubjectAccessReview",
};

/** As the default system:basic-user ClusterRole: every authenticated user may ask what it may do itself. */
export const SELF_REVIEW_RULE: PolicyRule = {
  verbs: ["create"],
  apiGroups: [AUTHORIZATION_GROUP],
  resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
};

/** `system:serviceaccount:<namespace>:<name>` with a valid namespace (DNS label) and name (DNS subdomain). */
const SERVICE_ACCOUNT = /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;
const AUTHENTICATED = "system:authenticated";
const UNAUTHENTICATED = "system:unauthenticated";
const ANONYMOUS = "system:anonymous";

/** Each header line's value as sent: values are not split on commas (a user name may hold one). */
function headerLines(req: IncomingMessage, name: string): string[] {
  return (req.headersDistinct[name] ?? []).map((v) => v.trim());
}

/**
 * The user a request acts as: the authenticated one, or the one its Impersonate-* headers name, once `allowed` says the
 * authenticated user may impersonate each of them (resource users, groups, serviceaccounts, uids, userextras). The
 * groups follow kube-apiserver's impersonation filter: a ServiceAccount's own groups only when no group is named, then
 * system:authenticated unless system:authenticated or system:unauthenticated is named (system:unauthenticated for
 * system:anonymous).
 */
export function impersonatedUser(
  req: IncomingMessage,
  user: UserInfo,
  allowed: (a: ResourceAttributes) => void,
): UserInfo {
  const name = headerLines(req, "impersonate-user")[0];
  const groups = headerLines(req, "impersonate-group");
  const uid = headerLines(req, "impersonate-uid")[0];
  const extras = Object.keys(req.headersDistinct).filter((h) => h.startsWith("impersonate-extra-"));
  if (name === undefined) {
    // kube-apiserver answers this with an internal error too
    if (groups.length > 0 || uid !== undefined || extras.length > 0)
      throw internalError("requested impersonation of groups, uid or extra without impersonating a user");
    return user;
  }
  const check = (resource: string, target: string, more: Partial<ResourceAttributes> = {}): void =>
    allowed({ kind: "resource", verb: "impersonate", apiGroup: "", apiVersion: "v1", resource, name: target, ...more });
  const sa = SERVICE_ACCOUNT.exec(name);
  if (sa) check("serviceaccounts", sa[3]!, { namespace: sa[1]! });
  else check("users", name);
  for (const g of groups) check("groups", g);
  if (uid !== undefined) check("uids", uid, { apiGroup: "authentication.k8s.io" });
  for (const h of extras) {
    const key = unescapeExtraKey(h.slice("impersonate-extra-".length));
    for (const value of headerLines(req, h))
      check("userextras", value, { apiGroup: "authentication.k8s.io", subresource: key });
  }
  const all = sa && groups.length === 0 ? ["system:serviceaccounts", `system:serviceaccounts:${sa[1]}`] : [...groups];
  if (name === ANONYMOUS) {
    if (!all.includes(UNAUTHENTICATED)) all.push(UNAUTHENTICATED);
  } else if (!all.includes(AUTHENTICATED) && !all.includes(UNAUTHENTICATED)) {
    all.push(AUTHENTICATED);
  }
  return { name, groups: all };
}

/** Extra keys are percent-encoded in header names (kube-apiserver's unescapeExtraKey). */
function unescapeExtraKey(key: string): string {
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}

/**
 * A create of a v1 review of `group` at its own scope (only the local access review is namespaced; any other path is
 * the router's, 404): answered by the server itself, never stored.
 */
function reviewCreate(
  a: RequestAttributes,
  resources: ReadonlySet<string>,
  group: string = AUTHORIZATION_GROUP,
): a is ResourceAttributes {
  return (
    a.kind === "resource" &&
    a.verb === "create" &&
    a.apiGroup === group &&
    a.apiVersion === "v1" &&
    resources.has(a.resource) &&
    (a.resource === "localsubjectaccessreviews") === (a.namespace !== undefined) &&
    a.name === undefined &&
    a.subresource === undefined
  );
}

/** A create of one of the access reviews. */
export function isAccessReview(a: RequestAttributes): a is ResourceAttributes {
  return reviewCreate(a, REVIEW_RESOURCES);
}

interface ReviewSpec {
  user?: string;
  groups?: string[];
  resourceAttributes?: {
    namespace?: string;
    verb?: string;
    group?: string;
    version?: string;
    resource?: string;
    subresource?: string;
    name?: string;
  };
  nonResourceAttributes?: { path?: string; verb?: string };
}

const isString = (v: unknown): v is string => typeof v === "string";

/** 400 for a field of the wrong JSON type, as kube-apiserver's strict decoding answers. */
function checkTypes(spec: unknown): ReviewSpec {
  const wrong = (field: string): never => {
    throw badRequest(
      `error decoding the access review: ${field} must be ${field.endsWith("groups") ? "a list of strings" : "a string"}`,
    );
  };
  if (spec === undefined) return {};
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) return wrong("spec");
  const s = spec as Record<string, unknown>;
  if (s.user !== undefined && !isString(s.user)) wrong("spec.user");
  if (s.groups !== undefined && !(Array.isArray(s.groups) && s.groups.every(isString))) wrong("spec.groups");
  for (const [part, fields] of [
    ["resourceAttributes", ["namespace", "verb", "group", "version", "resource", "subresource", "name"]],
    ["nonResourceAttributes", ["path", "verb"]],
  ] as const) {
    const attrs = s[part];
    if (attrs === undefined || attrs === null) continue;
    if (typeof attrs !== "object" || Array.isArray(attrs)) wrong(`spec.${part}`);
    for (const f of fields) {
      const v = (attrs as Record<string, unknown>)[f];
      if (v !== undefined && !isString(v)) wrong(`spec.${part}.${f}`);
    }
  }
  return s as ReviewSpec;
}

/** What the review asks about, in the authorizer's terms. */
function reviewedAttributes(spec: ReviewSpec): RequestAttributes {
  const n = spec.nonResourceAttributes;
  if (n) return { kind: "nonResource", verb: n.verb ?? "", path: n.path ?? "" };
  const r = spec.resourceAttributes ?? {};
  return {
    kind: "resource",
    verb: r.verb ?? "",
    apiGroup: r.group ?? "",
    apiVersion: r.version ?? "",
    resource: r.resource ?? "",
    ...(r.subresource ? { subresource: r.subresource } : {}),
    ...(r.namespace ? { namespace: r.namespace } : {}),
    ...(r.name ? { name: r.name } : {}),
  };
}

/** kube-apiserver's validation of a review: 422 Invalid with each cause. */
function validate(a: ResourceAttributes, spec: ReviewSpec, metadata: Record<string, unknown>): void {
  const kind = KIND_OF[a.resource]!;
  const causes: Array<{ field: string; message: string; reason: string }> = [];
  const cause = (field: string, message: string): void => {
    causes.push({ field, message, reason: "FieldValueInvalid" });
  };
  const local = a.resource === "localsubjectaccessreviews";
  const { namespace, creationTimestamp, ...meta } = metadata;
  if (Object.keys(meta).length > 0 || creationTimestamp) cause("metadata", "must be empty");
  if (local && namespace !== undefined && namespace !== a.namespace)
    cause("metadata.namespace", "must match the request's namespace");
  if (!local && namespace) cause("metadata", "must be empty");
  const r = spec.resourceAttributes;
  const n = spec.nonResourceAttributes;
  if ((r === undefined || r === null) === (n === undefined || n === null))
    cause("spec.resourceAttributes", "exactly one of nonResourceAttributes or resourceAttributes must be specified");
  if (local && n) cause("spec.nonResourceAttributes", "disallowed on this kind of request");
  if (local && r && (r.namespace ?? "") !== a.namespace)
    cause("spec.resourceAttributes.namespace", `must match metadata.namespace "${a.namespace ?? ""}"`);
  if (a.resource !== "selfsubjectaccessreviews" && !spec.user && (spec.groups ?? []).length === 0)
    cause("spec.user", "at least one of user or group must be specified");
  if (causes.length > 0) throw invalid({ group: AUTHORIZATION_GROUP, plural: a.resource, kind }, "", causes);
}

/**
 * The answer to an access review: the subject (the requester for a self review, spec.user and spec.groups otherwise)
 * checked by `decide`. A local review must ask about its own namespace.
 */
export function answerAccessReview(
  a: ResourceAttributes,
  body: { spec?: unknown; metadata?: unknown },
  requester: UserInfo,
  decide: (subject: UserInfo, asked: RequestAttributes) => boolean,
): Record<string, unknown> {
  const spec = checkTypes(body.spec);
  const metadata = body.metadata;
  if (metadata !== undefined && (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)))
    throw badRequest("error decoding the access review: metadata must be an object");
  validate(a, spec, (metadata ?? {}) as Record<string, unknown>);
  const asked = reviewedAttributes(spec);
  const subject =
    a.resource === "selfsubjectaccessreviews" ? requester : { name: spec.user ?? "", groups: spec.groups ?? [] };
  const allowed = decide(subject, asked);
  return {
    kind: KIND_OF[a.resource],
    apiVersion: `${AUTHORIZATION_GROUP}/v1`,
    metadata: { ...(a.namespace ? { namespace: a.namespace } : {}), creationTimestamp: null },
    spec,
    status: allowed ? { allowed: true } : { allowed: false },
  };
}

/** As the default system:basic-user ClusterRole: every authenticated user may ask who it is (`kubectl auth whoami`). */
export const WHOAMI_RULE: PolicyRule = {
  verbs: ["create"],
  apiGroups: ["authentication.k8s.io"],
  resources: ["selfsubjectreviews"],
};

/** A create of an authentication.k8s.io/v1 SelfSubjectReview (`kubectl auth whoami`). */
export function isSelfSubjectReview(a: RequestAttributes): a is ResourceAttributes {
  return reviewCreate(a, SELF_SUBJECT_REVIEW, "authentication.k8s.io");
}
const SELF_SUBJECT_REVIEW = new Set(["selfsubjectreviews"]);

/** Who the request acts as (after impersonation), as kube-apiserver answers a SelfSubjectReview. */
export function answerSelfSubjectReview(requester: UserInfo): Record<string, unknown> {
  return {
    kind: "SelfSubjectReview",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { creationTimestamp: null },
    status: { userInfo: { username: requester.name, groups: requester.groups } },
  };
}

/** A create of a SelfSubjectRulesReview (`kubectl auth can-i --list`). */
export function isRulesReview(a: RequestAttributes): a is ResourceAttributes {
  return reviewCreate(a, RULES_REVIEW);
}

/**
 * What the requester may do in spec.namespace: the rules bound to it, split into resource and non-resource rules as
 * kube-apiserver's SelfSubjectRulesReview lists them (system:masters as cluster-admin's two wildcard rules).
 */
export function answerRulesReview(
  body: { spec?: unknown },
  requester: UserInfo,
  rulesFor: (user: UserInfo, namespace: string) => PolicyRule[],
): Record<string, unknown> {
  const spec = body.spec ?? {};
  if (spec === null || typeof spec !== "object" || Array.isArray(spec))
    throw badRequest("error decoding the rules review: spec must be an object");
  const namespace = (spec as { namespace?: unknown }).namespace ?? "";
  if (typeof namespace !== "string")
    throw badRequest("error decoding the rules review: spec.namespace must be a string");
  const rules = requester.groups.includes("system:masters")
    ? [
        { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
        { verbs: ["*"], nonResourceURLs: ["*"] },
      ]
    : rulesFor(requester, namespace);
  const resourceRules = rules
    .filter((r) => (r.resources ?? []).length > 0)
    .map((r) => ({
      verbs: r.verbs ?? [],
      apiGroups: r.apiGroups ?? [],
      resources: r.resources ?? [],
      ...((r.resourceNames ?? []).length > 0 ? { resourceNames: r.resourceNames } : {}),
    }));
  const nonResourceRules = rules
    .filter((r) => (r.nonResourceURLs ?? []).length > 0)
    .map((r) => ({ verbs: r.verbs ?? [], nonResourceURLs: r.nonResourceURLs ?? [] }));
  return {
    kind: "SelfSubjectRulesReview",
    apiVersion: `${AUTHORIZATION_GROUP}/v1`,
    metadata: { creationTimestamp: null },
    spec: { namespace },
    status: { resourceRules, nonResourceRules, incomplete: false },
  };
}
