// A small typed REST client over a KubeConfig (auth/TLS from @kubernetes/client-node, or any KubeAccess): CRUD, patches,
// SSA, subresources, discovery.
import http from "node:http";
import https from "node:https";

/**
 * What the client needs from a configuration: the API server's URL and how to authenticate a request (CA, client
 * certificate, bearer token). client-node's KubeConfig has both; the agent brings a lighter loader of its own.
 */
export interface KubeAccess {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(options: https.RequestOptions): Promise<void>;
  /** client-node's: tells a static user from one whose credentials refresh. Without it, every request asks. */
  getCurrentUser?(): { exec?: unknown; authProvider?: unknown } | null;
}

/** The parts of ObjectMeta the runtime reads. */
export interface KubeMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: "Apply" | "Update";
  apiVersion?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
  time?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: KubeMeta;
  [key: string]: unknown;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** Identifies a resource type (and optionally one object of it). */
export interface ResourceRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
}

export interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

export type PatchType = "merge" | "json" | "strategic" | "apply";

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

/** An API error with the server's Status object (reason Conflict, NotFound, AlreadyExists, Invalid, Gone...). */
export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly reason: string;
  readonly body: unknown;
  constructor(statusCode: number, body: unknown, context: string) {
    const status = (typeof body === "object" && body !== null ? body : {}) as { reason?: string; message?: string };
    super(`${context}: ${statusCode} ${status.reason ?? ""} ${status.message ?? String(body ?? "")}`.trim());
    this.name = "KubeApiError";
    this.statusCode = statusCode;
    this.reason = status.reason ?? "";
    this.body = body;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 404;
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 409;
}

export interface RequestOptions {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface PatchOptions {
  type: PatchType;
  fieldManager?: string;
  force?: boolean;
  subresource?: string;
}

/**
 * A request's time limit by default: the API server itself ends a request at 60 s (its --request-timeout), so an
 * answer later than that will not come.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 65_000;

/** Splits "group/version" (or "v1") into the URL prefix of that API group version. */
export function apiPrefix(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/**
 * REST access to the API server. Auth, CA and client certificates come from the KubeConfig
 * (client-node) or another KubeAccess; requests reuse one keep-alive agent. Resource names come from discovery, cached.
 */
export class KubeClient {
  readonly kubeConfig: KubeAccess;
  private readonly server: URL;
  private agent: http.Agent | undefined;
  /** Watches get their own non-pooled connections: long-lived, and their socket timeouts must not leak into the pool. */
  private watchAgent: http.Agent | undefined;
  private readonly discovery = new Map<string, Promise<Map<string, ResourceInfo>>>();
  private staticAuth: Promise<https.RequestOptions> | undefined;

  /** How long one request (not a watch) may take before it fails: a connection gone silent must not hang its caller. */
  private readonly requestTimeoutMs: number;

  constructor(kubeConfig: KubeAccess, options: { requestTimeoutMs?: number } = {}) {
    this.kubeConfig = kubeConfig;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const cluster = kubeConfig.getCurrentCluster();
    if (cluster === null) throw new Error("KubeConfig has no current cluster");
    this.server = new URL(cluster.server);
  }

  /** Sends one request; parses JSON; throws KubeApiError on a non-2xx answer. */
  async request<T>(options: RequestOptions): Promise<T> {
    const url = new URL(this.server.pathname.replace(/\/$/, "") + options.path, this.server);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const reqOptions = await this.requestOptions(options, payload);
    const { statusCode, text } = await this.send(url, reqOptions, payload, `${options.method} ${options.path}`);
    const parsed = parseJson(text);
    if (statusCode < 200 || statusCode >= 300)
      throw new KubeApiError(statusCode, parsed, `${options.method} ${options.path}`);
    return parsed as T;
  }

  /** Plural name and scope of a kind, from the server's discovery documents (re-fetched once on a miss). */
  async resourceInfo(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const cached = await this.discover(apiVersion, false);
    const hit = cached.get(kind);
    if (hit !== undefined) return hit;
    const fresh = await this.discover(apiVersion, true);
    const info = fresh.get(kind);
    // a 404 as the API server would answer for the kind's paths: no object of a kind not served exists
    if (info === undefined)
      throw new KubeApiError(
        404,
        { reason: "NotFound", message: `The server does not serve ${kind} in ${apiVersion}` },
        "discovery",
      );
    return info;
  }

  /** Whether the server serves this kind (by discovery); any other failure than its 404 throws. */
  async serves(ref: { apiVersion: string; kind: string }): Promise<boolean> {
    try {
      await this.resourceInfo(ref.apiVersion, ref.kind);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** URL path of a collection (no name) or an object (with name), optionally a subresource. */
  async path(ref: ResourceRef, subresource?: string): Promise<string> {
    const info = await this.resourceInfo(ref.apiVersion, ref.kind);
    const parts = [apiPrefix(ref.apiVersion)];
    if (info.namespaced && ref.namespace !== undefined) parts.push("namespaces", encodeURIComponent(ref.namespace));
    parts.push(info.plural);
    if (ref.name !== undefined) parts.push(encodeURIComponent(ref.name));
    if (subresource !== undefined) parts.push(subresource);
    return parts.join("/");
  }

  async get<T extends KubeObject = KubeObject>(ref: ResourceRef & { name: string }): Promise<T> {
    return this.request<T>({ method: "GET", path: await this.path(ref) });
  }

  /** Like get, but undefined when the object does not exist. */
  async getIfExists<T extends KubeObject = KubeObject>(ref: ResourceRef & { name: string }): Promise<T | undefined> {
    try {
      return await this.get<T>(ref);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list<T extends KubeObject = KubeObject>(ref: ResourceRef, options: ListOptions = {}): Promise<KubeList<T>> {
    return this.request<KubeList<T>>({
      method: "GET",
      path: await this.path({ ...ref, name: undefined }),
      query: { ...options },
    });
  }

  /** Lists every page (limit/continue) and returns all items with the list's resourceVersion. */
  async listAll<T extends KubeObject = KubeObject>(ref: ResourceRef, options: ListOptions = {}): Promise<KubeList<T>> {
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.list<T>(ref, { ...options, limit: options.limit ?? 500, continue: continueToken });
      items.push(...page.items);
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (continueToken !== undefined);
    return { items, metadata: { resourceVersion } };
  }

  async create<T extends KubeObject>(object: T, query: { fieldManager?: string } = {}): Promise<T> {
    const ref = refOf(object);
    return this.request<T>({ method: "POST", path: await this.path({ ...ref, name: undefined }), body: object, query });
  }

  /** PUT; with metadata.resourceVersion set, a stale object answers 409 Conflict. */
  async replace<T extends KubeObject>(object: T, subresource?: string): Promise<T> {
    return this.request<T>({ method: "PUT", path: await this.path(refOf(object), subresource), body: object });
  }

  async patch<T extends KubeObject = KubeObject>(
    ref: ResourceRef & { name: string },
    body: unknown,
    options: PatchOptions,
  ): Promise<T> {
    return this.request<T>({
      method: "PATCH",
      path: await this.path(ref, options.subresource),
      body,
      contentType: PATCH_CONTENT_TYPES[options.type],
      query: { fieldManager: options.fieldManager, force: options.type === "apply" ? options.force : undefined },
    });
  }

  /**
   * Deletes; returns false if it was already gone (404), throws every other refusal. With `preconditions` the server
   * deletes only the object of that uid / resourceVersion (409 otherwise): one read earlier, not one recreated since.
   */
  async delete(
    ref: ResourceRef & { name: string },
    options: { propagationPolicy?: string; preconditions?: { uid?: string; resourceVersion?: string } } = {},
  ): Promise<boolean> {
    try {
      await this.request({
        method: "DELETE",
        path: await this.path(ref),
        query: { propagationPolicy: options.propagationPolicy },
        body: options.preconditions
          ? { apiVersion: "v1", kind: "DeleteOptions", preconditions: options.preconditions }
          : undefined,
      });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /**
   * Opens a watch (`?watch=true`) on a collection path and calls `onEvent` per JSON line. `done`
   * resolves when the server ends the stream or `abort()` is called, and rejects with KubeApiError
   * on a non-200 answer (e.g. 410 Gone) or with the network error.
   */
  watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: WatchEventHandler,
    watchOptions: { idleTimeoutMs?: number } = {},
  ): WatchHandle {
    const url = new URL(this.server.pathname.replace(/\/$/, "") + path, this.server);
    url.searchParams.set("watch", "true");
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    let request: http.ClientRequest | undefined;
    let aborted = false;
    const done = this.requestOptions({ method: "GET", path }, undefined, true).then(
      (options) =>
        new Promise<void>((resolve, reject) => {
          if (aborted) return resolve();
          const transport = url.protocol === "http:" ? http : https;
          request = transport.request(url, options, (res) =>
            streamWatch(res, { onEvent, resolve, reject, isAborted: () => aborted }),
          );
          request.on("error", (error) => (aborted ? resolve() : reject(error)));
          // A connection that went silent (no events, no bookmarks) is ended like a server timeout: the caller re-watches.
          const { idleTimeoutMs } = watchOptions;
          if (idleTimeoutMs !== undefined) {
            request.setTimeout(idleTimeoutMs, () => {
              aborted = true;
              request?.destroy();
            });
          }
          request.end();
        }),
    );
    return {
      done,
      abort: () => {
        aborted = true;
        request?.destroy();
      },
    };
  }

  /** Closes pooled connections (tests, shutdown). */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
    this.watchAgent?.destroy();
    this.watchAgent = undefined;
  }

  private discover(apiVersion: string, refresh: boolean): Promise<Map<string, ResourceInfo>> {
    const existing = this.discovery.get(apiVersion);
    if (existing !== undefined && !refresh) return existing;
    const loading = this.request<{ resources?: Array<{ name: string; kind: string; namespaced: boolean }> }>({
      method: "GET",
      path: apiPrefix(apiVersion),
    }).then((list) => {
      const byKind = new Map<string, ResourceInfo>();
      for (const r of list.resources ?? []) {
        if (!r.name.includes("/")) byKind.set(r.kind, { plural: r.name, namespaced: r.namespaced });
      }
      return byKind;
    });
    // A failed discovery must not be cached forever.
    loading.catch(() => this.discovery.delete(apiVersion));
    this.discovery.set(apiVersion, loading);
    return loading;
  }

  private async requestOptions(
    options: RequestOptions,
    payload: string | undefined,
    forWatch = false,
  ): Promise<https.RequestOptions> {
    const base = await this.authOptions();
    const reqOptions: https.RequestOptions = {
      ...base,
      method: options.method,
      headers: { ...(base.headers as Record<string, string>), Accept: "application/json" },
    };
    // client-node builds a fresh agent per call; keep one agent with the same TLS settings instead.
    if (forWatch) reqOptions.agent = this.watchAgent ??= this.makeAgent(reqOptions, false);
    else reqOptions.agent = this.agent ??= this.makeAgent(reqOptions, true);
    const headers = reqOptions.headers as Record<string, string>;
    if (payload !== undefined) {
      headers["Content-Type"] = options.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    return reqOptions;
  }

  /**
   * TLS material and Authorization from the KubeConfig. client-node builds them (and a new Agent) on every call; with
   * a static user (certificate, token, password) they never change, so they are built once. Exec and auth-provider
   * users refresh their tokens, so they are asked each time, as is a KubeAccess that does not say (the agent's caches
   * its own).
   */
  private authOptions(): Promise<https.RequestOptions> {
    const user = this.kubeConfig.getCurrentUser?.();
    if (user === undefined || user?.exec !== undefined || user?.authProvider !== undefined)
      return this.resolveAuthOptions();
    if (this.staticAuth === undefined) {
      const loading = this.resolveAuthOptions();
      // A failure is not kept: the next request tries again.
      loading.catch(() => (this.staticAuth = undefined));
      this.staticAuth = loading;
    }
    return this.staticAuth;
  }

  private async resolveAuthOptions(): Promise<https.RequestOptions> {
    const options: https.RequestOptions = { headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(options);
    return options;
  }

  private makeAgent(tls: https.RequestOptions, keepAlive: boolean): http.Agent {
    if (this.server.protocol === "http:") return new http.Agent({ keepAlive });
    return new https.Agent({
      keepAlive,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      rejectUnauthorized: tls.rejectUnauthorized,
      servername: tls.servername,
    });
  }

  private send(
    url: URL,
    options: https.RequestOptions,
    payload: string | undefined,
    what: string,
  ): Promise<{ statusCode: number; text: string }> {
    const transport = url.protocol === "http:" ? http : https;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        req.destroy(new Error(`${what}: no answer from the API server within ${this.requestTimeoutMs / 1000} s`));
      }, this.requestTimeoutMs);
      timer.unref();
      const fail = (error: unknown): void => {
        clearTimeout(timer);
        reject(error);
      };
      const req = transport.request(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          clearTimeout(timer);
          resolve({ statusCode: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
        });
        res.on("error", fail);
      });
      req.on("error", fail);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

export type WatchEventHandler = (type: string, object: KubeObject) => void;

export interface WatchHandle {
  done: Promise<void>;
  abort: () => void;
}

interface WatchStreamCallbacks {
  onEvent: WatchEventHandler;
  resolve: () => void;
  reject: (error: unknown) => void;
  isAborted: () => boolean;
}

function streamWatch(res: http.IncomingMessage, { onEvent, resolve, reject, isAborted }: WatchStreamCallbacks): void {
  const status = res.statusCode ?? 0;
  let buffer = "";
  res.setEncoding("utf8");
  res.on("data", (chunk: string) => {
    buffer += chunk;
    if (status !== 200) return;
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== "") deliver(line, onEvent, reject);
      newline = buffer.indexOf("\n");
    }
  });
  res.on("end", () => {
    if (status !== 200) reject(new KubeApiError(status, parseJson(buffer), "watch"));
    else resolve();
  });
  res.on("error", (error) => (isAborted() ? resolve() : reject(error)));
  res.on("close", () => (isAborted() || status === 200 ? resolve() : undefined));
}

function deliver(line: string, onEvent: WatchEventHandler, reject: (error: unknown) => void): void {
  let event: { type?: string; object?: KubeObject };
  try {
    event = JSON.parse(line) as { type?: string; object?: KubeObject };
  } catch (error) {
    reject(error);
    return;
  }
  try {
    onEvent(event.type ?? "", event.object ?? {});
  } catch (error) {
    reject(error);
  }
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** apiVersion/kind/namespace/name of an object; throws if any required part is missing. */
export function refOf(object: KubeObject): ResourceRef & { name: string } {
  if (object.apiVersion === undefined || object.kind === undefined) throw new Error("Object needs apiVersion and kind");
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: object.metadata?.namespace,
    name: object.metadata?.name ?? "",
  };
}
