// Informer: list + watch one kind into a cache, relist on 410 Gone, restart with backoff, notify handlers that enqueue keys.
import { KubeApiError, type KubeClient, type KubeObject } from "../kube/client.js";
import { matchesLabelSelector, parseLabelSelector, type LabelSelector } from "./selector.js";
import { keyOf, objectKey, splitKey } from "./keys.js";
import { backoffDelayMs } from "./workqueue.js";

export type InformerEventType = "add" | "update" | "delete";

export interface InformerEvent<T extends KubeObject> {
  type: InformerEventType;
  object: T;
  /** The cached object before an update. */
  oldObject?: T;
}

/** Handlers must be cheap and must not throw: map the event to keys and enqueue them. */
export type InformerHandler<T extends KubeObject> = (event: InformerEvent<T>) => void;

export interface InformerOptions {
  client: KubeClient;
  apiVersion: string;
  kind: string;
  /** Only this namespace (default: all namespaces). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side watch timeout; watches are re-opened from the last resourceVersion afterwards. Default 300 s. */
  watchTimeoutSeconds?: number;
  /** Delay before restarting after an error; doubles up to maxBackoffMs. Defaults 200 ms / 30 s. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (error: unknown) => void;
}

class WatchGone extends Error {
  constructor() {
    super("Watch resourceVersion too old (410 Gone)");
  }
}

/**
 * One kind's view of the cluster. Level-based users read the cache (get/list) in reconcile and
 * use events only to learn which keys to reconcile. After a relist, objects that disappeared while
 * the watch was down are reported as deletes and changed ones as updates, so no key is missed.
 */
export class Informer<T extends KubeObject = KubeObject> {
  readonly apiVersion: string;
  readonly kind: string;
  private readonly options: InformerOptions;
  private readonly cache = new Map<string, T>();
  /** namespace -> key -> object, so per-namespace reads (one tenant per namespace) do not scan everything. */
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private readonly handlers: Array<InformerHandler<T>> = [];
  private resourceVersion = "";
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private running = false;
  private stopped = false;
  private abortWatch: (() => void) | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private failures = 0;
  private relists = 0;

  constructor(options: InformerOptions) {
    this.options = options;
    this.apiVersion = options.apiVersion;
    this.kind = options.kind;
  }

  /** Registers a handler; it also receives "add" for every object already cached. */
  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
    for (const object of this.cache.values()) this.safeCall(handler, { type: "add", object });
  }

  /** Starts (or, after stop(), resumes from the last resourceVersion with the cache kept). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abortWatch?.();
    this.wake?.();
    await this.loop;
    this.running = false;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves after the first full list has filled the cache. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Number of full lists so far (first sync included); grows on every relist after 410 Gone. */
  get listCount(): number {
    return this.relists;
  }

  /** resourceVersion the cache is current to. */
  get lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(keyOf(namespace, name));
  }

  getByKey(key: string): T | undefined {
    const { namespace, name } = splitKey(key);
    return this.get(namespace, name);
  }

  /** Cached objects, optionally of one namespace and matching a label selector ("a=b,c in (d),!e" or a map). */
  list(filter: { namespace?: string; labelSelector?: string | LabelSelector } = {}): T[] {
    const selector =
      typeof filter.labelSelector === "string" ? parseLabelSelector(filter.labelSelector) : filter.labelSelector;
    const source =
      filter.namespace === undefined ? this.cache : (this.byNamespace.get(filter.namespace) ?? new Map<string, T>());
    const out: T[] = [];
    for (const object of source.values()) {
      if (selector === undefined || matchesLabelSelector(object.metadata?.labels, selector)) out.push(object);
    }
    return out;
  }

  private cacheSet(key: string, object: T): void {
    this.cache.set(key, object);
    const namespace = object.metadata?.namespace ?? "";
    let bucket = this.byNamespace.get(namespace);
    if (bucket === undefined) {
      bucket = new Map();
      this.byNamespace.set(namespace, bucket);
    }
    bucket.set(key, object);
  }

  private cacheDelete(key: string): void {
    const namespace = this.cache.get(key)?.metadata?.namespace ?? "";
    this.cache.delete(key);
    const bucket = this.byNamespace.get(namespace);
    bucket?.delete(key);
    if (bucket?.size === 0) this.byNamespace.delete(namespace);
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.resourceVersion === "") await this.relist();
        await this.watchOnce();
        this.failures = 0;
      } catch (error) {
        if (this.stopped) break;
        if (error instanceof WatchGone) {
          // The server no longer has our resourceVersion: a full relist is the only way back.
          this.resourceVersion = "";
          continue;
        }
        this.failures++;
        this.safeOnError(error);
        await this.sleep(
          backoffDelayMs(this.failures, this.options.baseBackoffMs ?? 200, this.options.maxBackoffMs ?? 30_000),
        );
      }
    }
  }

  private async relist(): Promise<void> {
    const list = await this.options.client.listAll<T>(
      { apiVersion: this.apiVersion, kind: this.kind, namespace: this.options.namespace },
      { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector },
    );
    if (this.stopped) return;
    this.replaceCache(
      new Map(list.items.map((item) => [objectKey(item), withTypeMeta(item, this.apiVersion, this.kind)])),
    );
    this.resourceVersion = list.metadata?.resourceVersion ?? "";
    this.relists++;
    this.markSynced();
  }

  /** Swaps in a fresh list, reporting what changed since the cache was last current. */
  private replaceCache(fresh: Map<string, T>): void {
    for (const [key, old] of [...this.cache]) {
      if (fresh.has(key)) continue;
      this.cacheDelete(key);
      this.emit({ type: "delete", object: old });
    }
    for (const [key, object] of fresh) {
      const old = this.cache.get(key);
      this.cacheSet(key, object);
      if (old === undefined) this.emit({ type: "add", object });
      else if (old.metadata?.resourceVersion !== object.metadata?.resourceVersion)
        this.emit({ type: "update", object, oldObject: old });
    }
  }

  private async watchOnce(): Promise<void> {
    const path = await this.options.client.path({
      apiVersion: this.apiVersion,
      kind: this.kind,
      namespace: this.options.namespace,
    });
    if (this.stopped) return;
    const handle = this.options.client.watch(
      path,
      {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.options.watchTimeoutSeconds ?? 300,
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
      },
      (type, object) => this.handleWatchEvent(type, object as T),
      { idleTimeoutMs: ((this.options.watchTimeoutSeconds ?? 300) + 60) * 1000 },
    );
    this.abortWatch = handle.abort;
    try {
      await handle.done;
    } catch (error) {
      if (this.stopped) return;
      // An abort after a handler error lands here too; 410 in any form means relist.
      throw isGone(error) ? new WatchGone() : error;
    } finally {
      this.abortWatch = undefined;
    }
  }

  private handleWatchEvent(type: string, raw: T): void {
    if (type === "ERROR") throw watchError(raw, this.kind);
    const resourceVersion = raw.metadata?.resourceVersion;
    if (type === "ADDED" || type === "MODIFIED" || type === "DELETED")
      this.applyWatchEvent(type, withTypeMeta(raw, this.apiVersion, this.kind));
    // BOOKMARKs only move the resourceVersion forward.
    if (resourceVersion) this.resourceVersion = resourceVersion;
  }

  private applyWatchEvent(type: "ADDED" | "MODIFIED" | "DELETED", object: T): void {
    const key = objectKey(object);
    const old = this.cache.get(key);
    if (type === "DELETED") {
      this.cacheDelete(key);
      this.emit({ type: "delete", object });
      return;
    }
    this.cacheSet(key, object);
    this.emit(old === undefined ? { type: "add", object } : { type: "update", object, oldObject: old });
  }

  private emit(event: InformerEvent<T>): void {
    for (const handler of this.handlers) this.safeCall(handler, event);
  }

  private safeCall(handler: InformerHandler<T>, event: InformerEvent<T>): void {
    try {
      handler(event);
    } catch (error) {
      this.safeOnError(error);
    }
  }

  private safeOnError(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch {
      // Logging must not break the informer.
    }
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    this.syncWaiters.splice(0).forEach((resolve) => resolve());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

function watchError(status: unknown, kind: string): Error {
  const code = (status as { code?: number }).code;
  if (code === 410) return new WatchGone();
  return new KubeApiError(code ?? 500, status, `watch ${kind}`);
}

function isGone(error: unknown): boolean {
  if (error instanceof WatchGone) return true;
  const candidate = error as { statusCode?: number; code?: number } | undefined;
  return candidate?.statusCode === 410 || candidate?.code === 410;
}

/** Watch and list items may lack apiVersion/kind; the cache always has them. */
function withTypeMeta<T extends KubeObject>(object: T, apiVersion: string, kind: string): T {
  if (object.apiVersion !== undefined && object.kind !== undefined) return object;
  return { ...object, apiVersion, kind };
}
