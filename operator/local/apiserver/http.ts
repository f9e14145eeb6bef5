// The HTTP face of the local API server: routing, auth, content negotiation, CRUD verbs, watch, subresources.
import type { IncomingMessage, ServerResponse } from "node:http";
import * as yaml from "js-yaml";
import type { ApiCore, DeleteOptions, WriteContext } from "./core.js";
import { keyOf, present } from "./core.js";
import {
  aggregatedDiscovery,
  AGGREGATED_DISCOVERY_V2,
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  apiVersions,
} from "./discovery.js";
import { bindPod, evictPod } from "./eviction.js";
import { getPath, isObject, setPath, clone } from "./objects.js";
import type { ResourceType } from "./registry.js";
import { groupVersion, storageKey, versionOf } from "./registry.js";
import type { KubeObject, ObjectPredicate } from "./selectors.js";
import { labelSelectorToString } from "./selectors.js";
import { defaultFieldManager } from "./patch/index.js";
import type { StatusObject } from "./status.js";
import {
  ApiError,
  badRequest,
  conflict,
  expired,
  internalError,
  methodNotAllowed,
  notAcceptable,
  notFound,
  pageNotFound,
  successStatus,
  unsupportedMediaType,
} from "./status.js";
import type { StoreEvent } from "./store.js";
import { toTable } from "./table.js";
import { unsupportedPatchType } from "./media-types.js";
import { decodeKubeProtobuf, encodeKubeProtobuf } from "./protobuf.js";

/** Patch types by Content-Type. */
export type PatchType = "merge" | "json" | "strategic" | "apply";

/** Applies a non-apply patch to the current object (the patch/ module, or the fallback). */
export type PatchApplier = (input: {
  type: Exclude<PatchType, "apply">;
  current: KubeObject;
  patch: unknown;
  rt: ResourceType;
  version: string;
}) => KubeObject;

/** Server-side apply: returns the object to store (with managedFields) or throws a 409 ApiError on conflicts. */
export type ApplyFn = (input: {
  current: KubeObject | undefined;
  applied: KubeObject;
  manager: string;
  force: boolean;
  rt: ResourceType;
  version: string;
  subresource?: string;
}) => KubeObject;

/** A request handler mounted under a path prefix (OpenAPI from the openapi/ module). */
export type SubHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

/** Hooks the server wires in (fault injection, patch module). */
export interface HttpHooks {
  /**
   * Authentication and authorisation (auth/): throws a 401/403 ApiError, or answers the request itself (TokenRequest)
   * and resolves true. Runs for every request except the public health and version paths.
   */
  gate: (req: IncomingMessage, res: ServerResponse, url: URL, path: string) => Promise<boolean>;
  serverAddress: () => string;
  applyPatch: PatchApplier;
  apply: ApplyFn;
  /** true -> answer this write with a 409 Conflict (fault injection). */
  injectConflict: () => boolean;
  /** A message -> answer this write with a 500 InternalError before it changes anything (targeted fault injection). */
  injectFailure?: (write: { verb: string; resource: string; namespace?: string; name?: string }) => string | undefined;
  openapi?: SubHandler;
  bookmarkIntervalMs: number;
}

type Format = "json" | "yaml" | "table" | "partial" | "protobuf";

/** One write request being answered. */
interface WriteCall {
  res: ServerResponse;
  route: Route;
  ctx: WriteContext;
  format: Format;
}

function verbOf(method: string, route: { name?: string }): string | undefined {
  if (method === "POST") return "create";
  if (method === "PUT") return "update";
  if (method === "PATCH") return "patch";
  if (method === "DELETE") return route.name ? "delete" : "deletecollection";
  return undefined;
}

interface Route {
  rt: ResourceType;
  group: string;
  version: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  legacyWatch: boolean;
}

const PUBLIC_PATHS = new Set(["/version", "/healthz", "/readyz", "/livez"]);
const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** The version /version reports (local mode's simulated nodes report it as their kubelet's). */
export const SERVER_VERSION = "v1.33.0-spotopt";

const VERSION_INFO = {
  major: "1",
  minor: "33",
  gitVersion: SERVER_VERSION,
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.24.0",
  compiler: "gc",
  platform: "linux/amd64",
};

/** Picks the response format from Accept like the apiserver's negotiation; undefined means 406. */
export function negotiate(accept: string | undefined): Format | undefined {
  if (!accept || accept.trim() === "") return "json";
  for (const part of accept.split(",")) {
    const [typeRaw, ...paramParts] = part.split(";").map((s) => s.trim());
    const type = (typeRaw ?? "").toLowerCase();
    const params = new Map(paramParts.map((p) => p.split("=").map((s) => s.trim()) as [string, string]));
    if (type === "application/json" || type === "application/*" || type === "*/*") {
      const as = params.get("as");
      if (!as) return "json";
      if (as === "Table" && params.get("g") === "meta.k8s.io") return "table";
      if ((as === "PartialObjectMetadata" || as === "PartialObjectMetadataList") && params.get("g") === "meta.k8s.io")
        return "partial";
      continue;
    }
    if (type === "application/yaml") return "yaml";
    if (type === "application/vnd.kubernetes.protobuf" && !params.has("as")) return "protobuf";
  }
  return undefined;
}

/**
 * A boolean query parameter as kube-apiserver converts it (runtime.Convert_Slice_string_To_bool): absent is false,
 * "0" and "false" in any case are false, anything else (also "True", "1" or an empty value) is true.
 */
export function queryBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v !== null && v !== "0" && v.toLowerCase() !== "false";
}

function patchTypeOf(contentType: string): PatchType | undefined {
  const t = contentType.split(";")[0]!.trim().toLowerCase();
  if (t === "application/merge-patch+json") return "merge";
  if (t === "application/json-patch+json") return "json";
  if (t === "application/strategic-merge-patch+json") return "strategic";
  if (t === "application/apply-patch+yaml" || t === "application/apply-patch+cbor")
    return t.endsWith("yaml") ? "apply" : undefined;
  return undefined;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES)
      throw new ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728");
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/**
 * YAML, with JSON (which clients such as ours send as apply patches) parsed by JSON.parse: js-yaml takes about ten
 * times longer for the same document. Input that is not valid JSON goes to js-yaml for its own answer or message.
 */
function parseYaml(raw: string): unknown {
  if (raw.trimStart().startsWith("{")) {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      // Flow-style YAML that is not JSON (unquoted keys, comments): js-yaml decides.
    }
  }
  return yaml.load(raw);
}

function parseBody(body: Buffer, contentType: string, allowYaml: boolean): unknown {
  const t = contentType.split(";")[0]!.trim().toLowerCase();
  // kubectl's typed clients (create namespace/configmap/secret, drain's evictions) send protobuf (protobuf.ts, A2).
  if (t === "application/vnd.kubernetes.protobuf") return decodeKubeProtobuf(body);
  const known =
    t === "" ||
    t === "application/json" ||
    t === "application/yaml" ||
    t.endsWith("+json") ||
    (allowYaml && t === "application/apply-patch+yaml");
  if (!known) throw unsupportedMediaType(contentType);
  const raw = body.toString("utf8");
  try {
    if (raw.trim() === "") return undefined;
    if (t === "application/yaml" || (allowYaml && t === "application/apply-patch+yaml")) return parseYaml(raw);
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw badRequest(`error decoding request body: ${(err as Error).message}`);
  }
}

/** The HTTP handler of the local API server. */
export class ApiHttpHandler {
  private readonly watches = new Set<() => void>();
  /** Warnings collected while a write runs, sent as `Warning` headers with its response. */
  private readonly pendingWarnings = new WeakMap<ServerResponse, string[]>();
  /** The explicit `?fieldManager=` of an apply request (apply has no User-Agent default). */
  private readonly applyManager = new WeakMap<ServerResponse, string>();

  /** Encoded watch lines per stored object (objects are never mutated after commit). */
  private readonly encodedLines = new WeakMap<KubeObject, Map<string, string>>();
  /** Open watches by storage key, so a resource that stops being served (CRD deleted) ends its watches. */
  private readonly watchesByResource = new Map<() => void, string>();

  constructor(
    private readonly core: ApiCore,
    private readonly hooks: HttpHooks,
  ) {
    core.registry.onChange(() => {
      for (const [close, resource] of [...this.watchesByResource]) {
        const slash = resource.indexOf("/");
        if (!core.registry.byGroupPlural(resource.slice(0, slash), resource.slice(slash + 1))) close();
      }
    });
  }

  /** Closes every open watch stream (fault injection, stop). */
  dropWatches(): void {
    for (const close of [...this.watches]) close();
  }

  openWatchCount(): number {
    return this.watches.size;
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req, res).catch((err: unknown) => this.fail(res, err));
  };

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (PUBLIC_PATHS.has(path)) {
      if (path === "/version") this.send(res, 200, VERSION_INFO, "json");
      else this.sendText(res, 200, "ok");
      return;
    }
    if (await this.hooks.gate(req, res, url, path)) return;
    if (path.startsWith("/openapi/")) {
      if (this.hooks.openapi && (await this.hooks.openapi(req, res, url))) return;
      throw pageNotFound();
    }
    const segs = path.split("/").filter((s) => s !== "");
    if (segs[0] === "api" || segs[0] === "apis") {
      if (this.discovery(req, res, segs)) return;
      const route = this.route(segs);
      await this.resource(req, res, url, route);
      return;
    }
    throw pageNotFound();
  }

  private discovery(req: IncomingMessage, res: ServerResponse, segs: string[]): boolean {
    if (req.method !== "GET") return false;
    const registry = this.core.registry;
    const accept = req.headers.accept ?? "";
    const wantsAggregated =
      segs.length === 1 && accept.includes("as=APIGroupDiscoveryList") && accept.indexOf("v=v2;") >= 0;
    if (wantsAggregated && accept.split(",")[0]!.includes("as=APIGroupDiscoveryList")) {
      this.sendRaw(res, 200, JSON.stringify(aggregatedDiscovery(registry, segs[0] === "api")), AGGREGATED_DISCOVERY_V2);
      return true;
    }
    let doc: Record<string, unknown> | undefined;
    if (segs[0] === "api") {
      if (segs.length === 1) doc = apiVersions(this.hooks.serverAddress());
      else if (segs.length === 2 && segs[1] === "v1") doc = apiResourceList(registry, "", "v1");
      else return false;
    } else if (segs.length === 1) doc = apiGroupList(registry);
    else if (segs.length === 2) doc = apiGroupDoc(registry, segs[1]!);
    else if (segs.length === 3) {
      if (!registry.groups().get(segs[1]!)?.includes(segs[2]!)) throw pageNotFound();
      doc = apiResourceList(registry, segs[1]!, segs[2]!);
    } else return false;
    if (!doc) throw pageNotFound();
    this.send(res, 200, doc, "json");
    return true;
  }

  private route(segs: string[]): Route {
    const core = segs[0] === "api";
    const group = core ? "" : (segs[1] ?? "");
    const version = core ? (segs[1] ?? "") : (segs[2] ?? "");
    let rest = segs.slice(core ? 2 : 3);
    let legacyWatch = false;
    if (rest[0] === "watch") {
      legacyWatch = true;
      rest = rest.slice(1);
    }
    const reg = this.core.registry;
    let namespace: string | undefined;
    if (rest[0] === "namespaces" && rest.length >= 3) {
      const t = reg.lookup(group, version, rest[2]!);
      if (t?.namespaced) {
        namespace = rest[1];
        rest = rest.slice(2);
      }
    }
    if (rest.length === 0 || rest.length > 3) throw pageNotFound();
    const rt = reg.lookup(group, version, rest[0]!);
    if (!rt) throw pageNotFound();
    const route: Route = { rt, group, version, namespace, name: rest[1], subresource: rest[2], legacyWatch };
    if (route.subresource && !this.subresourceExists(rt, version, route.subresource)) throw pageNotFound();
    return route;
  }

  private subresourceExists(rt: ResourceType, version: string, sub: string): boolean {
    const v = versionOf(rt, version);
    if (sub === "status") return v.subresources.status;
    if (sub === "scale") return v.subresources.scale !== undefined;
    return rt.extraSubresources.includes(sub);
  }

  private async resource(req: IncomingMessage, res: ServerResponse, url: URL, route: Route): Promise<void> {
    const q = url.searchParams;
    const method = req.method ?? "GET";
    if (method === "GET") {
      this.read(req, res, url, route);
      return;
    }
    const verb = verbOf(method, route);
    if (!verb || (route.rt.verbs.length === 1 && !route.rt.verbs.includes(verb))) throw methodNotAllowed();
    const ctx = this.writeContext(req, res, q, route, verb);
    if (route.rt.namespaced && !route.namespace && verb !== "deletecollection") throw methodNotAllowed();
    const contentType = req.headers["content-type"] ?? "application/json";
    const raw = await readBody(req);
    const failure = this.hooks.injectFailure?.({
      verb,
      resource: route.rt.plural,
      ...(route.namespace ? { namespace: route.namespace } : {}),
      ...(route.name ? { name: route.name } : {}),
    });
    if (failure !== undefined) throw internalError(failure);
    if (this.hooks.injectConflict())
      throw conflict(
        route.rt,
        route.name ?? "",
        "injected conflict (fault injection); please apply your changes to the latest version and try again",
      );
    if (this.isTerminatingCrd(route.rt) && verb === "create")
      throw methodNotAllowed(`create not allowed while custom resource definition is terminating`);
    const format = negotiate(req.headers.accept) ?? "json";
    if (verb === "patch") {
      this.patch(res, route, ctx, { raw, contentType, force: queryBool(q, "force"), format });
      return;
    }
    const call: WriteCall = { res, route, ctx, format };
    const body = parseBody(raw, contentType, false);
    if (verb === "create") this.post(call, body);
    else if (verb === "update") this.put(call, body);
    else this.remove(call, { query: q, body });
  }

  /** The write context of a request: dry run, field manager (User-Agent default), field validation, warnings. */
  private writeContext(
    req: IncomingMessage,
    res: ServerResponse,
    q: URLSearchParams,
    route: Route,
    verb: string,
  ): WriteContext {
    const explicitManager = q.get("fieldManager");
    if (explicitManager) this.applyManager.set(res, explicitManager);
    const ctx: WriteContext = {
      rt: route.rt,
      version: route.version,
      namespace: route.namespace,
      dryRun: q.getAll("dryRun").includes("All"),
      fieldManager: explicitManager ?? (defaultFieldManager(req.headers["user-agent"]) || undefined),
      origin: "http",
      ownedBody: true,
      fieldValidation: q.get("fieldValidation") ?? undefined,
      warnings: [],
      verb,
    };
    this.pendingWarnings.set(res, ctx.warnings!);
    return ctx;
  }

  private isTerminatingCrd(rt: ResourceType): boolean {
    return Boolean(rt.crd && (rt.crd.metadata as Record<string, unknown> | undefined)?.deletionTimestamp);
  }

  // ---- reads ----

  private read(req: IncomingMessage, res: ServerResponse, url: URL, route: Route): void {
    const q = url.searchParams;
    if (!route.rt.verbs.includes("get") && !route.rt.verbs.includes("list")) throw methodNotAllowed();
    const format = negotiate(req.headers.accept);
    if (!format)
      throw notAcceptable(
        `only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/json;as=Table;v=v1;g=meta.k8s.io`,
      );
    if (route.legacyWatch || queryBool(q, "watch")) {
      const fieldSelector = route.name
        ? mergeFieldSelector(q.get("fieldSelector"), route.name)
        : q.get("fieldSelector");
      this.watch(req, res, route, { q, fieldSelector: fieldSelector ?? undefined, format });
      return;
    }
    if (route.name) this.readOne(res, q, route, format);
    else this.readList(res, q, route, format);
  }

  private readList(res: ServerResponse, q: URLSearchParams, route: Route, format: Format): void {
    const { rt, version } = route;
    const list = this.core.list(rt, route.namespace, {
      labelSelector: q.get("labelSelector") ?? undefined,
      fieldSelector: q.get("fieldSelector") ?? undefined,
      limit: q.get("limit") ? Number(q.get("limit")) : undefined,
      continueToken: q.get("continue") ?? undefined,
    });
    const items = list.items.map((o) => present(o, rt, version));
    if (format === "table") {
      const table = toTable(rt, version, items, {
        includeObject: q.get("includeObject") ?? undefined,
        resourceVersion: list.resourceVersion,
        continueToken: list.continueToken,
      });
      this.send(res, 200, table, "json");
      return;
    }
    const metadata: Record<string, unknown> = { resourceVersion: list.resourceVersion };
    if (list.continueToken) metadata.continue = list.continueToken;
    if (list.remainingItemCount !== undefined) metadata.remainingItemCount = list.remainingItemCount;
    if (format === "partial") {
      const partial = items.map((o) => ({
        kind: "PartialObjectMetadata",
        apiVersion: "meta.k8s.io/v1",
        metadata: o.metadata,
      }));
      this.send(
        res,
        200,
        { kind: "PartialObjectMetadataList", apiVersion: "meta.k8s.io/v1", metadata, items: partial },
        "json",
      );
      return;
    }
    // Typed built-in lists carry no apiVersion/kind on their items (as upstream's); custom resource items do.
    const listItems = rt.crd ? items : items.map(stripTypeMeta);
    this.send(
      res,
      200,
      { kind: rt.listKind, apiVersion: groupVersion(rt.group, version), metadata, items: listItems },
      format,
    );
  }

  private readOne(res: ServerResponse, q: URLSearchParams, route: Route, format: Format): void {
    const { rt, version } = route;
    if (route.subresource === "eviction" || route.subresource === "binding") throw methodNotAllowed();
    const obj = present(this.core.get(rt, route.namespace, route.name!), rt, version);
    if (route.subresource === "scale") {
      this.send(res, 200, toScale(rt, version, obj), format === "yaml" ? "yaml" : "json");
      return;
    }
    if (format === "table") {
      this.send(
        res,
        200,
        toTable(rt, version, [obj], {
          includeObject: q.get("includeObject") ?? undefined,
          resourceVersion: obj.metadata?.resourceVersion as string,
        }),
        "json",
      );
      return;
    }
    if (format === "partial") {
      this.send(
        res,
        200,
        { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata },
        "json",
      );
      return;
    }
    this.send(res, 200, obj, format);
  }

  // ---- writes ----

  private post(call: WriteCall, body: unknown): void {
    const { res, route, ctx, format } = call;
    if (route.name && route.subresource === "eviction") {
      this.send(res, 201, evictPod(this.core, ctx, route.name, body), format);
      return;
    }
    if (route.name && route.subresource === "binding") {
      this.send(res, 201, bindPod(this.core, ctx, route.name, body), format);
      return;
    }
    if (route.rt.group === "" && route.rt.plural === "bindings") {
      const podName = String((body as { metadata?: { name?: string } } | undefined)?.metadata?.name ?? "");
      if (route.name || !podName)
        throw badRequest("a Binding needs metadata.name (the pod) and is posted to the collection");
      const pods = this.core.registry.lookup("", "v1", "pods")!;
      this.send(res, 201, bindPod(this.core, { ...ctx, rt: pods }, podName, body), format);
      return;
    }
    if (route.name) throw methodNotAllowed();
    const created = this.core.create(ctx, body);
    this.send(res, 201, present(created, route.rt, route.version), format);
  }

  private put(call: WriteCall, body: unknown): void {
    const { res, route, ctx, format } = call;
    if (!route.name) throw methodNotAllowed();
    if (route.subresource === "scale") {
      this.send(
        res,
        200,
        this.updateScale(route, ctx, (scale) => (isObject(body) ? { ...scale, ...body } : scale)),
        format,
      );
      return;
    }
    if (route.subresource && route.subresource !== "status") throw methodNotAllowed();
    // a PUT that creates (a Lease's) answers 201, as upstream
    const existed = this.core.tryGet(route.rt, route.namespace, route.name) !== undefined;
    const updated = this.core.update(ctx, route.name, body, route.subresource as "status" | undefined);
    this.send(res, existed ? 200 : 201, present(updated, route.rt, route.version), format);
  }

  private patch(
    res: ServerResponse,
    route: Route,
    ctx: WriteContext,
    p: { raw: Buffer; contentType: string; force: boolean; format: Format },
  ): void {
    const { format } = p;
    if (!route.name) throw methodNotAllowed();
    const type = patchTypeOf(p.contentType);
    if (!type) throw unsupportedPatchType(route.rt);
    const body = parseBody(p.raw, p.contentType, true);
    const { rt, version } = route;
    if (type === "strategic" && rt.crd) throw unsupportedPatchType(rt);
    if (route.subresource === "scale") {
      if (type === "apply") throw unsupportedMediaType(p.contentType);
      const scale = this.updateScale(route, ctx, (cur) =>
        this.hooks.applyPatch({ type, current: cur, patch: body, rt, version }),
      );
      this.send(res, 200, scale, format);
      return;
    }
    if (route.subresource && route.subresource !== "status") throw methodNotAllowed();
    const sub = route.subresource as "status" | undefined;
    const cur = this.core.tryGet(rt, route.namespace, route.name);
    if (type === "apply") {
      this.applyPatch(res, route, ctx, { cur, body, force: p.force, sub }, format);
      return;
    }
    if (!cur) throw this.notFoundFor(route);
    const patched = this.hooks.applyPatch({ type, current: present(cur, rt, version), patch: body, rt, version });
    this.checkPatchedIdentity(route, cur, patched);
    const out = this.core.commitUpdate(ctx, cur, patched, sub);
    this.send(res, 200, present(out, rt, version), format);
  }

  private applyPatch(
    res: ServerResponse,
    route: Route,
    ctx: WriteContext,
    a: { cur: KubeObject | undefined; body: unknown; force: boolean; sub?: "status" },
    format: Format,
  ): void {
    const { rt, version } = route;
    if (!isObject(a.body)) throw badRequest("the body of an apply patch must be an object");
    const manager = this.applyManager.get(res);
    if (!manager) {
      throw new ApiError(
        422,
        "Invalid",
        `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`,
        {
          group: "meta.k8s.io",
          kind: "PatchOptions",
          causes: [
            {
              reason: "FieldValueRequired",
              message: "Required value: is required for apply patch",
              field: "fieldManager",
            },
          ],
        },
      );
    }
    const applied = a.body as KubeObject;
    const gv = groupVersion(rt.group, version);
    if (applied.apiVersion !== gv || applied.kind !== rt.kind) {
      throw badRequest(
        `apply patch must set apiVersion "${gv}" and kind "${rt.kind}" (got "${String(applied.apiVersion)}", "${String(applied.kind)}")`,
      );
    }
    if (applied.metadata?.name !== undefined && applied.metadata.name !== route.name) {
      throw badRequest(
        `the name of the object (${String(applied.metadata.name)}) does not match the name on the URL (${route.name!})`,
      );
    }
    // A resourceVersion in the applied configuration is a precondition on an existing object, as upstream: a stale one
    // is a conflict. An apply that creates checks none (upstream's create path clears it), so a missing object is made.
    const appliedRv = applied.metadata?.resourceVersion;
    if (a.cur && typeof appliedRv === "string" && appliedRv !== "" && appliedRv !== a.cur.metadata?.resourceVersion)
      throw conflict(rt, route.name!);
    const merged = this.hooks.apply({
      current: a.cur ? present(a.cur, rt, version) : undefined,
      applied,
      manager,
      force: a.force,
      rt,
      version,
      subresource: a.sub,
    });
    if (!a.cur) {
      if (a.sub) throw this.notFoundFor(route);
      const created = this.core.create(
        { ...ctx, verb: "patch", managedFieldsDone: true },
        { ...merged, metadata: { ...merged.metadata, name: route.name } },
      );
      this.send(res, 201, present(created, rt, version), format);
      return;
    }
    this.checkPatchedIdentity(route, a.cur, merged);
    const out = this.core.commitUpdate({ ...ctx, managedFieldsDone: true }, a.cur, merged, a.sub);
    this.send(res, 200, present(out, rt, version), format);
  }

  private checkPatchedIdentity(route: Route, cur: KubeObject, patched: KubeObject): void {
    const pm = patched.metadata ?? {};
    if (pm.name !== cur.metadata?.name)
      throw badRequest(
        `the name of the object (${String(pm.name)}) does not match the name on the URL (${route.name!})`,
      );
    if (pm.resourceVersion !== undefined && pm.resourceVersion !== cur.metadata?.resourceVersion)
      throw conflict(route.rt, route.name!);
    if (route.rt.namespaced && pm.namespace !== undefined && pm.namespace !== route.namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
  }

  private updateScale(route: Route, ctx: WriteContext, change: (scale: KubeObject) => KubeObject): KubeObject {
    const { rt, version } = route;
    const cur = this.core.get(rt, route.namespace, route.name!);
    const scale = toScale(rt, version, cur);
    const next = change(clone(scale));
    const rv = next.metadata?.resourceVersion as string | undefined;
    if (rv && rv !== cur.metadata?.resourceVersion) throw conflict(rt, route.name!);
    const replicas = next.spec?.replicas as unknown;
    if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
      throw new ApiError(
        422,
        "Invalid",
        `Scale.autoscaling "${route.name!}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        {
          name: route.name,
          group: "autoscaling",
          kind: "Scale",
          causes: [
            {
              reason: "FieldValueInvalid",
              message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
              field: "spec.replicas",
            },
          ],
        },
      );
    }
    const specPath = versionOf(rt, version).subresources.scale!.specReplicasPath;
    const updated = clone(cur);
    setPath(updated, specPath, replicas);
    // Recorded as subresource "scale" in managedFields, as upstream (conflicts then name it).
    const out = this.core.commitUpdate(ctx, cur, updated, "scale");
    return toScale(rt, version, out);
  }

  private remove(call: WriteCall, d: { query: URLSearchParams; body: unknown }): void {
    const { res, route, format } = call;
    const { rt, version } = route;
    const options = deleteOptionsOf(d.query, d.body, call.ctx.dryRun === true);
    const ctx = { ...call.ctx, dryRun: options.dryRun };
    if (!route.name) {
      this.deleteCollection({ ...call, ctx }, d.query, options);
      return;
    }
    if (route.subresource) throw methodNotAllowed();
    const r = this.core.delete(ctx, route.name, options);
    if (r.deleted && !rt.returnDeletedObject) {
      const details: Record<string, string> = {
        name: route.name,
        kind: rt.plural,
        uid: r.object.metadata?.uid as string,
      };
      if (rt.group) details.group = rt.group;
      this.send(res, 200, successStatus(200, details), format);
      return;
    }
    this.send(res, 200, present(r.object, rt, version), format);
  }

  private deleteCollection(call: WriteCall, query: URLSearchParams, options: DeleteOptions): void {
    const { rt, version } = call.route;
    const list = this.core.list(rt, call.route.namespace, {
      labelSelector: query.get("labelSelector") ?? undefined,
      fieldSelector: query.get("fieldSelector") ?? undefined,
    });
    const deleted: KubeObject[] = [];
    for (const o of list.items) {
      const r = this.core.delete(
        { ...call.ctx, namespace: o.metadata?.namespace as string | undefined },
        o.metadata!.name as string,
        { ...options, preconditions: undefined },
      );
      deleted.push(present(r.object, rt, version));
    }
    this.send(
      call.res,
      200,
      {
        kind: rt.listKind,
        apiVersion: groupVersion(rt.group, version),
        metadata: { resourceVersion: String(this.core.store.rv) },
        items: deleted,
      },
      call.format,
    );
  }

  // ---- watch ----

  private watch(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    w: { q: URLSearchParams; fieldSelector?: string; format: Format },
  ): void {
    const { rt, version } = route;
    const { q } = w;
    const match = this.core.selectors(rt, q.get("labelSelector") ?? undefined, w.fieldSelector);
    const ns = rt.namespaced ? route.namespace : undefined;
    const pred: ObjectPredicate = (o) => (ns === undefined || o.metadata?.namespace === ns) && match(o);
    const fromRv = parseWatchResourceVersion(q.get("resourceVersion"));
    const includeObject = q.get("includeObject") ?? undefined;
    const encode = (type: string, obj: KubeObject): string => {
      // Stored objects are immutable, so the encoded line is shared by every watcher with the same view of it.
      const key = `${type}|${rt.group}/${version}|${w.format}|${includeObject ?? ""}`;
      let lines = this.encodedLines.get(obj);
      const cached = lines?.get(key);
      if (cached !== undefined) return cached;
      const shown = present(obj, rt, version);
      const object = w.format === "table" ? toTable(rt, version, [shown], { includeObject }) : shown;
      const line = `${JSON.stringify({ type, object })}\n`;
      if (!lines) {
        lines = new Map();
        this.encodedLines.set(obj, lines);
      }
      lines.set(key, line);
      return line;
    };
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Cache-Control": "no-cache, private",
      "Transfer-Encoding": "chunked",
    });
    res.socket?.setNoDelay(true);
    // Send the headers now, as kube-apiserver does: clients (client-node Watch) await them before reading events.
    res.flushHeaders();
    const resource = storageKey(rt);
    // A watch-list request (client-go's reflector, helm's status waiters): the current state as ADDED events, then a
    // bookmark that marks their end, as kube-apiserver sends for sendInitialEvents=true.
    const initialEvents = queryBool(q, "sendInitialEvents");
    const backlog = this.watchBacklog({ resource, ns, fromRv: initialEvents ? undefined : fromRv }, encode, pred);
    if (typeof backlog === "string") {
      res.end(backlog);
      return;
    }
    if (backlog.length > 0) res.write(backlog.join(""));
    if (initialEvents) res.write(this.bookmarkLine(rt, version, { "k8s.io/initial-events-end": "true" }));
    let closed = false;
    const timers: NodeJS.Timeout[] = [];
    const close = (): void => {
      if (closed) return;
      closed = true;
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      this.watches.delete(close);
      this.watchesByResource.delete(close);
      res.end();
    };
    const unsubscribe = this.core.store.addWatcher({
      resource,
      send: (ev) => {
        const line = this.eventLine(ev, pred, encode);
        if (line && !closed) res.write(line);
      },
    });
    this.watches.add(close);
    this.watchesByResource.set(close, resource);
    req.on("close", close);
    res.on("close", close);
    const timeoutSeconds = Number(q.get("timeoutSeconds") ?? "0");
    if (timeoutSeconds > 0) timers.push(setTimeout(close, timeoutSeconds * 1000));
    if (queryBool(q, "allowWatchBookmarks")) {
      const interval = setInterval(() => {
        if (closed) return;
        res.write(this.bookmarkLine(rt, version));
      }, this.hooks.bookmarkIntervalMs);
      timers.push(interval);
    }
  }

  /** A BOOKMARK event at the store's current resourceVersion, with `annotations` when given. */
  private bookmarkLine(
    rt: { kind: string; group: string },
    version: string,
    annotations?: Record<string, string>,
  ): string {
    const metadata = { resourceVersion: String(this.core.store.rv), ...(annotations ? { annotations } : {}) };
    return `${JSON.stringify({ type: "BOOKMARK", object: { kind: rt.kind, apiVersion: groupVersion(rt.group, version), metadata } })}\n`;
  }

  /**
   * What a new watch sends first: synthetic ADDED for the current state (no resourceVersion), the retained events
   * after `fromRv`, or (a string) the ERROR 410 Expired line when `fromRv` left the window.
   */
  private watchBacklog(
    w: { resource: string; ns?: string; fromRv?: number },
    encode: (type: string, obj: KubeObject) => string,
    pred: ObjectPredicate,
  ): string[] | string {
    const { resource, ns, fromRv } = w;
    const lineFor = (ev: StoreEvent): string | undefined => this.eventLine(ev, pred, encode);
    if (fromRv === undefined)
      return this.core.store
        .list(resource, ns)
        .filter(pred)
        .map((o) => encode("ADDED", o));
    const events = this.core.store.eventsSince(resource, fromRv);
    if (!events) {
      const gone = expired(`too old resource version: ${fromRv} (${this.core.store.oldestValidRv})`);
      return `${JSON.stringify({ type: "ERROR", object: gone.status })}\n`;
    }
    return events.map(lineFor).filter((l): l is string => l !== undefined);
  }

  /** The line a watcher with `pred` gets for `ev`: objects moving in/out of the selection become ADDED/DELETED. */
  private eventLine(
    ev: StoreEvent,
    pred: ObjectPredicate,
    encode: (type: string, obj: KubeObject) => string,
  ): string | undefined {
    const before = ev.prev !== undefined && pred(ev.prev);
    if (ev.type === "DELETED") return before ? encode("DELETED", ev.obj) : undefined;
    const now = pred(ev.obj);
    if (now && before) return encode("MODIFIED", ev.obj);
    if (now) return encode("ADDED", ev.obj);
    if (before) return encode("DELETED", ev.obj);
    return undefined;
  }

  // ---- encoding ----

  private notFoundFor(route: Route): ApiError {
    return notFound(route.rt, route.name!);
  }

  private send(res: ServerResponse, code: number, body: unknown, format: Format): void {
    // Built-in kinds answer protobuf when the client prefers it; kinds without an encoding (CRs) fall back to JSON.
    const proto = format === "protobuf" && isObject(body) ? encodeKubeProtobuf(body) : undefined;
    if (proto) {
      this.sendRaw(res, code, proto, "application/vnd.kubernetes.protobuf");
      return;
    }
    if (format === "yaml") {
      this.sendRaw(res, code, yaml.dump(body, { noRefs: true }), "application/yaml");
      return;
    }
    this.sendRaw(res, code, JSON.stringify(body), "application/json");
  }

  private sendRaw(res: ServerResponse, code: number, text: string | Buffer, contentType: string): void {
    const warnings = this.pendingWarnings.get(res);
    if (warnings && warnings.length > 0)
      res.setHeader(
        "Warning",
        warnings.map((w) => `299 - ${JSON.stringify(w)}`),
      );
    res.writeHead(code, {
      "Content-Type": contentType,
      "Content-Length": Buffer.byteLength(text),
      "Cache-Control": "no-cache, private",
    });
    res.end(text);
  }

  private sendText(res: ServerResponse, code: number, text: string): void {
    this.sendRaw(res, code, text, "text/plain; charset=utf-8");
  }

  private fail(res: ServerResponse, err: unknown): void {
    const e = err instanceof ApiError ? err : internalError(err instanceof Error ? err.message : String(err));
    if (!(err instanceof ApiError)) console.error("apiserver: internal error", err);
    if (res.headersSent) {
      res.end();
      return;
    }
    const status: StatusObject = e.status;
    this.sendRaw(res, e.code, JSON.stringify(status), "application/json");
  }
}

const POLICIES = ["Foreground", "Background", "Orphan"];

/** DeleteOptions from the query and the body (query wins, as upstream merges them). */
function deleteOptionsOf(query: URLSearchParams, body: unknown, dryRunQuery: boolean): DeleteOptions {
  const opts = isObject(body) ? body : {};
  const policy = (query.get("propagationPolicy") ??
    opts.propagationPolicy ??
    orphanDependents(opts)) as DeleteOptions["propagationPolicy"];
  if (policy !== undefined && !POLICIES.includes(policy)) {
    throw new ApiError(
      422,
      "Invalid",
      `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${String(policy)}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  const graceRaw = (query.get("gracePeriodSeconds") ?? opts.gracePeriodSeconds) as string | number | null | undefined;
  return {
    propagationPolicy: policy,
    preconditions: opts.preconditions as DeleteOptions["preconditions"],
    dryRun: dryRunQuery || (Array.isArray(opts.dryRun) && (opts.dryRun as string[]).includes("All")),
    gracePeriodSeconds: graceRaw === undefined || graceRaw === null ? undefined : Number(graceRaw),
  };
}

/** A watch's starting revision: undefined for "" or "0" (start with the current state). */
function parseWatchResourceVersion(raw: string | null): number | undefined {
  if (raw === null || raw === "" || raw === "0") return undefined;
  const rv = Number(raw);
  if (!Number.isInteger(rv) || rv < 0) throw badRequest(`invalid resource version "${raw}"`);
  return rv;
}

function orphanDependents(opts: Record<string, unknown>): string | undefined {
  if (opts.orphanDependents === true) return "Orphan";
  if (opts.orphanDependents === false) return "Background";
  return undefined;
}

function stripTypeMeta(o: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

function mergeFieldSelector(existing: string | null, name: string): string {
  return existing ? `${existing},metadata.name=${name}` : `metadata.name=${name}`;
}

/** autoscaling/v1 Scale for an object with a scale subresource. */
export function toScale(rt: ResourceType, version: string, obj: KubeObject): KubeObject {
  const s = versionOf(rt, version).subresources.scale!;
  const m = obj.metadata ?? {};
  const selectorValue = s.labelSelectorPath ? getPath(obj, s.labelSelectorPath) : undefined;
  const selector =
    typeof selectorValue === "string"
      ? selectorValue
      : isObject(selectorValue)
        ? labelSelectorToString(selectorValue)
        : undefined;
  const status: Record<string, unknown> = { replicas: (getPath(obj, s.statusReplicasPath) as number | undefined) ?? 0 };
  if (selector) status.selector = selector;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: (getPath(obj, s.specReplicasPath) as number | undefined) ?? 0 },
    status,
  };
}

export { keyOf };
