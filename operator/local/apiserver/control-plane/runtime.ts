// What every in-process control loop shares: one work queue drained after writes, write contexts and object lookups.
import type { ApiCore, CommittedWrite, WriteContext } from "../core.js";
import type { ResourceType } from "../registry.js";
import type { KubeObject } from "../selectors.js";
import { ApiError } from "../status.js";

/** One control loop: it sees every committed write and queues its own work on the runtime. */
export interface Loop {
  observe(w: CommittedWrite): void;
  /** After a load (persistence): re-derive the work the stored objects imply. */
  resync?(): void;
  stop?(): void;
}

/** A stored object and its resource type. */
export interface Found {
  rt: ResourceType;
  obj: KubeObject;
}

/** Work items by key: queuing a key twice before it runs runs it once (level-based, as client-go's workqueue). */
export class LoopRuntime {
  private readonly queue = new Map<string, () => void>();
  private scheduled = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(readonly core: ApiCore) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  enqueue(key: string, fn: () => void): void {
    if (this.stopped) return;
    this.queue.set(key, fn);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  stop(): void {
    this.stopped = true;
    this.queue.clear();
  }

  /** Resolves when no work is queued (tests and persistence flush). */
  idle(): Promise<void> {
    if (this.queue.size === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private drain(): void {
    this.scheduled = false;
    let budget = 500;
    while (this.queue.size > 0 && budget-- > 0 && !this.stopped) {
      const [key, fn] = this.queue.entries().next().value as [string, () => void];
      this.queue.delete(key);
      try {
        fn();
      } catch (err) {
        // A controller write may race a client (409) or find its object gone (404): the next event retries it.
        if (!(err instanceof ApiError)) throw err;
      }
    }
    if (this.queue.size > 0 && !this.stopped) {
      this.scheduled = true;
      setImmediate(() => this.drain());
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** A built-in or CRD resource type by group and plural ("" = core). */
  type(group: string, plural: string): ResourceType {
    const rt = this.core.registry.byGroupPlural(group, plural);
    if (!rt) throw new Error(`resource ${plural}.${group} is not registered`);
    return rt;
  }

  /** The context of a controller's own write (not reported to the fault injector's onWrite). */
  ctx(rt: ResourceType, namespace?: string, fieldManager?: string): WriteContext {
    return {
      rt,
      version: rt.versions[0]!.name,
      namespace,
      origin: "internal",
      fieldManager:
        fieldManager ?? (rt.crd || rt.group === "apiextensions.k8s.io" ? "kube-apiserver" : "kube-controller-manager"),
    };
  }

  /** The object stored under `group/plural` and `namespace/name`, with its type. */
  lookup(resource: string, key: string): Found | undefined {
    const i = resource.indexOf("/");
    const rt = this.core.registry.byGroupPlural(resource.slice(0, i), resource.slice(i + 1));
    const obj = this.core.store.get(resource, key);
    return rt && obj ? { rt, obj } : undefined;
  }
}
