// What a request asks for, in RBAC terms (verb, API group, resource, subresource, namespace, name), parsed from its
// method, path and query the way kube-apiserver's RequestInfoFactory does.

export interface ResourceAttributes {
  kind: "resource";
  verb: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface NonResourceAttributes {
  kind: "nonResource";
  verb: string;
  path: string;
}

export type RequestAttributes = ResourceAttributes | NonResourceAttributes;

/** Subresources of a namespace that are not the start of a namespaced path (`/namespaces/{ns}/status`). */
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

function httpVerb(method: string): string {
  const verbs: Record<string, string> = { POST: "post", PUT: "put", PATCH: "patch", DELETE: "delete", HEAD: "head" };
  return verbs[method] ?? "get";
}

const WRITE_VERBS: Record<string, string> = { POST: "create", PUT: "update", PATCH: "patch" };

function resourceVerb(method: string, hasName: boolean, watching: boolean): string {
  if (method === "GET" || method === "HEAD") return watching ? "watch" : hasName ? "get" : "list";
  if (method === "DELETE") return hasName ? "delete" : "deletecollection";
  return WRITE_VERBS[method] ?? method.toLowerCase();
}

/** Any `watch` value but `false`/`0` (any case) is true, as Convert_Slice_string_To_bool reads it. */
function isWatch(query: URLSearchParams): boolean {
  const value = query.get("watch");
  return value !== null && !["false", "0"].includes(value.toLowerCase());
}

/**
 * The name a list or watch asks for through `fieldSelector=metadata.name=x` (`==` too; the first such term of the
 * sorted terms, as fields.Selector.RequiresExactMatch finds it), so that RBAC resourceNames rules can match it.
 */
export function nameFromFieldSelector(selector: string | null): string | undefined {
  const terms = (selector ?? "").split(/(?<!\\),/).sort();
  for (const term of terms) {
    const m = /^metadata\.name(==|=)(.*)$/.exec(term);
    if (!m || m[2]!.startsWith("=")) continue;
    const name = m[2]!.replace(/\\(.)/g, "$1");
    // path.IsValidPathSegmentName: a name that could not be a URL segment is not taken as the request's name.
    return name === "." || name === ".." || /[/%]/.test(name) ? undefined : name;
  }
  return undefined;
}

/** Splits `[watch/][namespaces/{ns}/]{resource}[/{name}[/{subresource}]]`. */
function splitResourcePath(parts: string[]): { rest: string[]; namespace?: string; legacyWatch: boolean } {
  const legacyWatch = parts[0] === "watch";
  let rest = legacyWatch ? parts.slice(1) : parts;
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  return { rest, namespace, legacyWatch };
}

/** Parses `/api/v1/...` and `/apis/{group}/{version}/...`; anything else (discovery roots, /openapi) is non-resource. */
export function requestAttributes(method: string, path: string, query: URLSearchParams): RequestAttributes {
  const segs = path.split("/").filter((s) => s !== "");
  const legacy = segs[0] === "api";
  const minimum = legacy ? 3 : 4; // prefix + (group) + version + resource
  if ((segs[0] !== "api" && segs[0] !== "apis") || segs.length < minimum)
    return { kind: "nonResource", verb: httpVerb(method), path };
  const apiGroup = legacy ? "" : segs[1]!;
  const apiVersion = legacy ? segs[1]! : segs[2]!;
  const { rest, namespace, legacyWatch } = splitResourcePath(segs.slice(legacy ? 2 : 3));
  const [resource = "", pathName, subresource] = rest;
  const verb = resourceVerb(method, pathName !== undefined, legacyWatch || isWatch(query));
  // Upstream reads the name of a list/watch from its field selector, except on the legacy /watch/ paths.
  const listing = !legacyWatch && (verb === "list" || verb === "watch");
  const name = listing ? nameFromFieldSelector(query.get("fieldSelector")) : pathName;
  return { kind: "resource", verb, apiGroup, apiVersion, resource, subresource, namespace, name };
}
