// User impersonation (the Impersonate-* headers kubectl's --as / --as-group send) and the access reviews
// (authorization.k8s.io/v1 SelfSubjectAccessReview, SubjectAccessReview, LocalSubjectAccessReview) that
// `kubectl auth can-i` creates, evaluated as kube-apiserver's impersonation filter and RBAC authorizer do.
import type { IncomingMessage } from "node:http";
import { badRequest } from "../status.js";
import type { PolicyRule, UserInfo } from "./rbac.js";
import type { RequestAttributes, ResourceAttributes } from "./request-info.js";

export const AUTHORIZATION_GROUP = "authorization.k8s.io";
const REVIEW_RESOURCES = new Set(["selfsubjectaccessreviews", "subjectaccessreviews", "localsubjectaccessreviews"]);
const KIND_OF: Record<string, string> = {
  selfsubjectaccessreviews: "SelfSubjectAccessReview",
  subjectaccessreviews: "SubjectAccessReview",
  localsubjectaccessreviews: "LocalSubjectAccessReview",
};

/** As the default system:basic-user ClusterRole: every authenticated user may ask what it may do itself. */
export const SELF_REVIEW_RULE: PolicyRule = {
  verbs: ["create"],
  apiGroups: [AUTHORIZATION_GROUP],
  resources: ["selfsubjectaccessreviews"],
};

const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;

function headerValues(req: IncomingMessage, name: string): string[] {
  const v = req.headers[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v])
    .flatMap((x) => x.split(","))
    .map((x) => x.trim())
    .filter(Boolean);
}

/**
 * The user a request acts as: the authenticated one, or the one its Impersonate-* headers name, once `allowed` says the
 * authenticated user may impersonate each of them (resource users, groups, serviceaccounts, uids, userextras).
 */
export function impersonatedUser(
  req: IncomingMessage,
  user: UserInfo,
  allowed: (a: ResourceAttributes) => void,
): UserInfo {
  const name = headerValues(req, "impersonate-user")[0];
  const groups = headerValues(req, "impersonate-group");
  const uid = headerValues(req, "impersonate-uid")[0];
  const extras = Object.keys(req.headers).filter((h) => h.startsWith("impersonate-extra-"));
  if (name === undefined) {
    if (groups.length > 0 || uid !== undefined || extras.length > 0)
      throw badRequest("requested impersonation of groups, uid or extra without impersonating a user");
    return user;
  }
  const check = (resource: string, target: string, more: Partial<ResourceAttributes> = {}): void =>
    allowed({ kind: "resource", verb: "impersonate", apiGroup: "", apiVersion: "v1", resource, name: target, ...more });
  const sa = SERVICE_ACCOUNT.exec(name);
  if (sa) check("serviceaccounts", sa[2]!, { namespace: sa[1]! });
  else check("users", name);
  for (const g of groups) check("groups", g);
  if (uid !== undefined) check("uids", uid, { apiGroup: "authentication.k8s.io" });
  for (const h of extras)
    for (const value of headerValues(req, h))
      check("userextras", value, {
        apiGroup: "authentication.k8s.io",
        subresource: h.slice("impersonate-extra-".length),
      });
  const own = sa ? ["system:serviceaccounts", `system:serviceaccounts:${sa[1]}`] : [];
  const all = [...new Set([...own, ...groups])];
  if (name !== "system:anonymous" && !all.includes("system:authenticated")) all.push("system:authenticated");
  return { name, groups: all };
}

/** A create of one of the access reviews (answered by the server itself, never stored). */
export function isAccessReview(a: RequestAttributes): a is ResourceAttributes {
  return (
    a.kind === "resource" &&
    a.verb === "create" &&
    a.apiGroup === AUTHORIZATION_GROUP &&
    REVIEW_RESOURCES.has(a.resource) &&
    a.name === undefined &&
    a.subresource === undefined
  );
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

/** What the review asks about, in the authorizer's terms; 400 for a spec that asks nothing or both. */
function reviewedAttributes(spec: ReviewSpec): RequestAttributes {
  const r = spec.resourceAttributes;
  const n = spec.nonResourceAttributes;
  if ((r === undefined) === (n === undefined))
    throw badRequest("exactly one of nonResourceAttributes or resourceAttributes must be specified");
  if (n) return { kind: "nonResource", verb: n.verb ?? "", path: n.path ?? "" };
  return {
    kind: "resource",
    verb: r!.verb ?? "",
    apiGroup: r!.group ?? "",
    apiVersion: r!.version ?? "",
    resource: r!.resource ?? "",
    ...(r!.subresource ? { subresource: r!.subresource } : {}),
    ...(r!.namespace ? { namespace: r!.namespace } : {}),
    ...(r!.name ? { name: r!.name } : {}),
  };
}

/**
 * The answer to an access review: the subject (the requester for a self review, spec.user and spec.groups otherwise)
 * checked by `decide`. A local review must ask about its own namespace.
 */
export function answerAccessReview(
  a: ResourceAttributes,
  body: { spec?: ReviewSpec; metadata?: Record<string, unknown> },
  requester: UserInfo,
  decide: (subject: UserInfo, asked: RequestAttributes) => boolean,
): Record<string, unknown> {
  const spec = body.spec ?? {};
  const asked = reviewedAttributes(spec);
  if (a.resource === "localsubjectaccessreviews" && (asked.kind !== "resource" || asked.namespace !== a.namespace))
    throw badRequest(`spec.resourceAttributes.namespace must match the review's namespace "${a.namespace ?? ""}"`);
  if (a.resource !== "selfsubjectaccessreviews" && !spec.user && (spec.groups ?? []).length === 0)
    throw badRequest("at least one of user or group must be specified");
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
