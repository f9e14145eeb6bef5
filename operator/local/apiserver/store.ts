// The object store: objects per resource, one global resourceVersion, a retained event window and watchers.
import type { KubeObject } from "./selectors.js";

/** A change as watchers see it. */
export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

/** A committed change; `prev` lets a list be served as of an older resourceVersion (consistent pagination). */
export interface StoreEvent {
  rv: number;
  type: WatchEventType;
  /** group/plural */
  resource: string;
  /** namespace/name ("" namespace for cluster-scoped). */
  key: string;
  obj: KubeObject;
  prev?: KubeObject;
}

/** A registered watcher; `send` returns false when the watcher is gone. */
export interface StoreWatcher {
  resource: string;
  send: (ev: StoreEvent) => void;
}

/** `namespace/name`. */
export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

/** In-memory storage with the semantics of etcd as kube-apiserver uses it (revisions, watch from a revision). */
export class ObjectStore {
  private readonly data = new Map<string, Map<string, KubeObject>>();
  private events: StoreEvent[] = [];
  private readonly watchers = new Set<StoreWatcher>();
  /** Highest revision whose event was discarded; a watch/continue from an older revision is 410 Gone. */
  private compactedRv: number;
  private currentRv: number;
  windowSize: number;
  /** Sees every committed change before any watcher does, in revision order (the write-ahead log). */
  journal?: (ev: StoreEvent) => void;

  constructor(startRv: number, windowSize: number) {
    this.currentRv = startRv;
    this.compactedRv = startRv;
    this.windowSize = windowSize;
  }

  get rv(): number {
    return this.currentRv;
  }

  get oldestValidRv(): number {
    return this.compactedRv;
  }

  /** Allocates the next revision (used by a write before it commits). */
  nextRv(): number {
    this.currentRv += 1;
    return this.currentRv;
  }

  get(resource: string, key: string): KubeObject | undefined {
    return this.data.get(resource)?.get(key);
  }

  /** All objects of a resource, optionally in one namespace, sorted by key (stable pagination order). */
  list(resource: string, namespace?: string): KubeObject[] {
    const m = this.data.get(resource);
    if (!m) return [];
    const out: [string, KubeObject][] = [];
    for (const [k, o] of m) {
      if (namespace === undefined || k.startsWith(`${namespace}/`)) out.push([k, o]);
    }
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return out.map((e) => e[1]);
  }

  /** Objects of a resource as they were at revision `rv` (must be >= oldestValidRv), sorted by key. */
  listAt(resource: string, rv: number, namespace?: string): KubeObject[] {
    const m = new Map(this.data.get(resource) ?? []);
    for (let i = this.events.length - 1; i >= 0; i--) {
      const ev = this.events[i]!;
      if (ev.rv <= rv) break;
      if (ev.resource !== resource) continue;
      if (ev.prev === undefined) m.delete(ev.key);
      else m.set(ev.key, ev.prev);
    }
    const keys = [...m.keys()].filter((k) => namespace === undefined || k.startsWith(`${namespace}/`)).sort();
    return keys.map((k) => m.get(k)!);
  }

  resources(): string[] {
    return [...this.data.keys()];
  }

  /** Commits `obj` (whose metadata.resourceVersion is already `rv`) and notifies watchers. */
  put(resource: string, key: string, obj: KubeObject, rv: number): StoreEvent {
    let m = this.data.get(resource);
    if (!m) {
      m = new Map();
      this.data.set(resource, m);
    }
    const prev = m.get(key);
    m.set(key, obj);
    return this.record({ rv, type: prev ? "MODIFIED" : "ADDED", resource, key, obj, prev });
  }

  /** Removes an object; `finalObj` (with the deletion revision) is what watchers see in DELETED. */
  remove(resource: string, key: string, finalObj: KubeObject, rv: number): StoreEvent | undefined {
    const m = this.data.get(resource);
    const prev = m?.get(key);
    if (!m || !prev) return undefined;
    m.delete(key);
    return this.record({ rv, type: "DELETED", resource, key, obj: finalObj, prev });
  }

  /** Drops a whole resource (CRD deleted) without events (its objects were deleted one by one before). */
  dropResource(resource: string): void {
    this.data.delete(resource);
  }

  /** Loads an object at start (persistence), without events. */
  load(resource: string, key: string, obj: KubeObject): void {
    let m = this.data.get(resource);
    if (!m) {
      m = new Map();
      this.data.set(resource, m);
    }
    m.set(key, obj);
  }

  /** A copy of every resource's map (objects are shared: they are never mutated after commit), for snapshots. */
  copyData(): Map<string, Map<string, KubeObject>> {
    const out = new Map<string, Map<string, KubeObject>>();
    for (const [resource, m] of this.data) if (m.size > 0) out.set(resource, new Map(m));
    return out;
  }

  /** Retained events for `resource` with rv > fromRv, or undefined when fromRv is older than the window. */
  eventsSince(resource: string, fromRv: number): StoreEvent[] | undefined {
    if (fromRv < this.compactedRv) return undefined;
    const out: StoreEvent[] = [];
    for (let i = this.events.length - 1; i >= 0; i--) {
      const ev = this.events[i]!;
      if (ev.rv <= fromRv) break;
      if (ev.resource === resource) out.push(ev);
    }
    return out.reverse();
  }

  addWatcher(w: StoreWatcher): () => void {
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  watcherCount(): number {
    return this.watchers.size;
  }

  /** Shrinks or grows the retained window; shrinking discards the oldest events now. */
  setWindow(size: number): void {
    this.windowSize = Math.max(0, size);
    this.trim(true);
  }

  private record(ev: StoreEvent): StoreEvent {
    this.journal?.(ev);
    this.events.push(ev);
    this.trim();
    for (const w of this.watchers) {
      if (w.resource === ev.resource) w.send(ev);
    }
    return ev;
  }

  /** Trims in batches (slack of a quarter window) so a full window does not copy the array on every write. */
  private trim(exact = false): void {
    const slack = exact ? 0 : Math.floor(this.windowSize / 4);
    if (this.events.length <= this.windowSize + slack) return;
    const excess = this.events.length - this.windowSize;
    this.compactedRv = Math.max(this.compactedRv, this.events[excess - 1]!.rv);
    this.events = this.events.slice(excess);
  }
}
