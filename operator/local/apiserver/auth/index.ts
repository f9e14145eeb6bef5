// Authentication and authorisation of the local API server's requests: the admin bearer token (cluster-admin, group
// system:masters) and ServiceAccount tokens (TokenRequest), authorised by the RBAC objects the server holds.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApiCore } from "../core.js";
import { resourceKey } from "../registry.js";
import type { KubeObject } from "../selectors.js";
import { ApiError, badRequest, notFound, unauthorized } from "../status.js";
import {
  forbiddenMessage,
  rbacAllows,
  rbacRulesFor,
  ruleAllows,
  type PolicyRule,
  type RbacObjects,
  type UserInfo,
} from "./rbac.js";
import { requestAttributes, type RequestAttributes } from "./request-info.js";
import { ServiceAccountTokens, TOKEN_ISSUER } from "./tokens.js";
import { decodeKubeProtobuf } from "../protobuf.js";
import {
  answerAccessReview,
  answerRulesReview,
  impersonatedUser,
  isAccessReview,
  isRulesReview,
  isSelfSubjectReview,
  answerSelfSubjectReview,
  SELF_REVIEW_RULE,
  WHOAMI_RULE,
} from "./reviews.js";

export type { UserInfo, PolicyRule } from "./rbac.js";
export { rbacAllows, ruleAllows } from "./rbac.js";
export { requestAttributes, type RequestAttributes } from "./request-info.js";

/** What every authenticated user may do, as the default system:discovery / system:public-info-viewer bindings. */
const AUTHENTICATED_RULES: PolicyRule[] = [
  SELF_REVIEW_RULE,
  WHOAMI_RULE,
  {
    verbs: ["get"],
    nonResourceURLs: [
      "/api",
      "/api/*",
      "/apis",
      "/apis/*",
      "/openapi",
      "/openapi/*",
      "/version",
      "/healthz",
      "/livez",
      "/readyz",
    ],
  },
];

const ADMIN: UserInfo = { name: "spotopt-admin", groups: ["system:masters", "system:authenticated"] };
const RBAC_GROUP = "rbac.authorization.k8s.io";
const MAX_TOKEN_REQUEST_BYTES = 64 * 1024;

export interface RequestGateOptions {
  core: ApiCore;
  adminToken: string;
  nowMs?: () => number;
}

export interface RequestGate {
  /**
   * Authenticates (401) and authorises (403) a request; answers a TokenRequest itself and then resolves true.
   * Called once per request, before routing.
   */
  admit(req: IncomingMessage, res: ServerResponse, url: URL, path: string): Promise<boolean>;
  /** A token of an existing ServiceAccount (as `kubectl create token` gets one). */
  serviceAccountToken(namespace: string, name: string, expirationSeconds?: number): string;
}

function rbacObjects(core: ApiCore): RbacObjects {
  const list = (plural: string, namespace?: string): KubeObject[] =>
    core.store.list(resourceKey({ group: RBAC_GROUP, plural }), namespace);
  return {
    clusterRoles: () => list("clusterroles"),
    clusterRoleBindings: () => list("clusterrolebindings"),
    role: (namespace, name) =>
      core.store.get(resourceKey({ group: RBAC_GROUP, plural: "roles" }), `${namespace}/${name}`),
    roleBindings: (namespace) => list("rolebindings", namespace),
  };
}

function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return m?.[1];
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function isTokenRequest(a: RequestAttributes): a is RequestAttributes & { kind: "resource"; name: string } {
  return (
    a.kind === "resource" &&
    a.verb === "create" &&
    a.apiGroup === "" &&
    a.resource === "serviceaccounts" &&
    a.subresource === "token" &&
    a.name !== undefined
  );
}

async function readBody(req: IncomingMessage, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_TOKEN_REQUEST_BYTES) throw badRequest(`${what} body too large`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** An access review as JSON or as kubectl's protobuf. */
async function readReview(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, "access review");
  if ((req.headers["content-type"] ?? "").includes("protobuf")) return decodeKubeProtobuf(body);
  try {
    const parsed = JSON.parse(body.toString("utf8")) as unknown;
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch (err) {
    throw badRequest(`error decoding the access review: ${(err as Error).message}`);
  }
  throw badRequest("an access review must be a JSON object");
}

async function readJson(req: IncomingMessage): Promise<{ spec?: { expirationSeconds?: number } } | undefined> {
  const body = await readBody(req, "TokenRequest");
  // kubectl's typed client sends protobuf; its only field we use has a default, so a body we cannot read is fine.
  if (!(req.headers["content-type"] ?? "application/json").includes("json")) return undefined;
  const raw = body.toString("utf8").trim();
  if (raw === "") return undefined;
  try {
    return JSON.parse(raw) as { spec?: { expirationSeconds?: number } };
  } catch (err) {
    throw badRequest(`error decoding TokenRequest: ${(err as Error).message}`);
  }
}

/** A server-side apply (not of a subresource) of an object that does not exist yet: the apply will create it. */
function createsByApply(
  core: ApiCore,
  req: IncomingMessage,
  a: RequestAttributes,
): a is RequestAttributes & { kind: "resource"; name: string } {
  if (a.kind !== "resource" || a.verb !== "patch" || a.subresource || !a.name) return false;
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/apply-patch+yaml") return false;
  const rt = core.registry.byGroupPlural(a.apiGroup, a.resource);
  return rt !== undefined && core.tryGet(rt, a.namespace, a.name) === undefined;
}

/** Creates the gate the HTTP handler calls for every non-public request. */
export function createRequestGate(options: RequestGateOptions): RequestGate {
  const { core, adminToken } = options;
  const nowMs = options.nowMs ?? Date.now;
  const tokens = new ServiceAccountTokens(adminToken);
  const objects = rbacObjects(core);
  const saType = core.registry.byGroupPlural("", "serviceaccounts")!;
  const serviceAccount = (namespace: string, name: string): KubeObject | undefined =>
    core.tryGet(saType, namespace, name);

  const authenticate = (req: IncomingMessage): UserInfo => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) throw unauthorized();
    if (sameSecret(token, adminToken)) return ADMIN;
    const claims = tokens.verify(token, nowMs());
    // Bound-token semantics: a token dies with its ServiceAccount (a new one of the same name has another uid).
    if (!claims || serviceAccount(claims.namespace, claims.name)?.metadata?.uid !== claims.uid) throw unauthorized();
    return {
      name: `system:serviceaccount:${claims.namespace}:${claims.name}`,
      groups: ["system:serviceaccounts", `system:serviceaccounts:${claims.namespace}`, "system:authenticated"],
    };
  };

  // what the user may do: everything for system:masters, every authenticated user's rules, and the RBAC bound to it
  const allows = (user: UserInfo, a: RequestAttributes): boolean =>
    user.groups.includes("system:masters") ||
    (user.groups.includes("system:authenticated") && AUTHENTICATED_RULES.some((r) => ruleAllows(r, a))) ||
    rbacAllows(objects, user, a);

  const authorize = (user: UserInfo, a: RequestAttributes): void => {
    if (allows(user, a)) return;
    const details =
      a.kind === "resource"
        ? { name: a.name ?? "", ...(a.apiGroup ? { group: a.apiGroup } : {}), kind: a.resource }
        : undefined;
    throw new ApiError(403, "Forbidden", forbiddenMessage(user, a), details);
  };

  // kube-apiserver authorises an apply that creates its object a second time, as `create` of that name (patch.go's
  // createAuthorizerAttributes); its denial carries the authoriser's reason, which RBAC leaves empty.
  const authorizeCreate = (user: UserInfo, a: RequestAttributes & { kind: "resource" }): void => {
    const create = { ...a, verb: "create" };
    if (user.groups.includes("system:masters") || rbacAllows(objects, user, create)) return;
    const resource = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
    throw new ApiError(403, "Forbidden", `${resource} "${a.name ?? ""}" is forbidden: `, {
      name: a.name ?? "",
      ...(a.apiGroup ? { group: a.apiGroup } : {}),
      kind: a.resource,
    });
  };

  const mint = (namespace: string, name: string, expirationSeconds?: number): string => {
    const sa = serviceAccount(namespace, name);
    if (!sa) throw notFound({ group: "", plural: "serviceaccounts" }, name);
    return tokens.mint({ namespace, name, uid: String(sa.metadata?.uid ?? "") }, nowMs(), expirationSeconds);
  };

  const answerTokenRequest = async (
    req: IncomingMessage,
    res: ServerResponse,
    a: RequestAttributes & { kind: "resource"; name: string },
  ): Promise<void> => {
    const body = await readJson(req);
    const token = mint(a.namespace ?? "", a.name, body?.spec?.expirationSeconds);
    const exp = tokens.verify(token, nowMs())!.exp;
    const out = {
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name: a.name, namespace: a.namespace, creationTimestamp: null },
      spec: { audiences: [TOKEN_ISSUER], expirationSeconds: exp - Math.floor(nowMs() / 1000), boundObjectRef: null },
      status: { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") },
    };
    res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify(out));
  };

  // the rules a rules review lists: the every-user ones (for an authenticated user) and those bound to the user
  const rulesFor = (subject: UserInfo, namespace: string): PolicyRule[] => [
    ...(subject.groups.includes("system:authenticated") ? AUTHENTICATED_RULES : []),
    ...rbacRulesFor(objects, subject, namespace),
  ];

  return {
    async admit(req, res, url, path) {
      const authenticated = authenticate(req);
      const user = impersonatedUser(req, authenticated, (attrs) => authorize(authenticated, attrs));
      const a = requestAttributes(req.method ?? "GET", path, url.searchParams);
      authorize(user, a);
      if (isAccessReview(a) || isRulesReview(a)) {
        const body = await readReview(req);
        const review = isRulesReview(a)
          ? answerRulesReview(body, user, rulesFor)
          : answerAccessReview(a, body as never, user, allows);
        res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify(review));
        return true;
      }
      if (isSelfSubjectReview(a)) {
        await readBody(req, "self subject review");
        res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify(answerSelfSubjectReview(user)));
        return true;
      }
      if (createsByApply(core, req, a)) authorizeCreate(user, a);
      if (!isTokenRequest(a)) return false;
      await answerTokenRequest(req, res, a);
      return true;
    },
    serviceAccountToken: mint,
  };
}
