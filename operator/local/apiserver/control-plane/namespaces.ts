// Namespace deletion: a terminating namespace's contents are deleted, then its finalizers released and it goes.
import type { CommittedWrite } from "../core.js";
import { resourceKey } from "../registry.js";
import type { StoreEvent } from "../store.js";
import type { Loop, LoopRuntime } from "./runtime.js";

const NS_RESOURCE = "/namespaces";

export class NamespaceController implements Loop {
  constructor(private readonly runtime: LoopRuntime) {}

  resync(): void {
    for (const ns of this.runtime.core.store.list(NS_RESOURCE)) {
      if (ns.metadata?.deletionTimestamp) this.enqueue(ns.metadata.name as string);
    }
  }

  /** A namespace starts terminating, or an object leaves a terminating namespace. */
  observe(w: CommittedWrite): void {
    const ev: StoreEvent = w.event;
    const obj = ev.obj;
    if (ev.resource === NS_RESOURCE && obj.metadata?.deletionTimestamp && ev.type !== "DELETED")
      this.enqueue(obj.metadata.name as string);
    const ns = obj.metadata?.namespace as string | undefined;
    if (!ns || ev.type !== "DELETED") return;
    if (this.runtime.core.store.get(NS_RESOURCE, `/${ns}`)?.metadata?.deletionTimestamp) this.enqueue(ns);
  }

  private enqueue(ns: string): void {
    this.runtime.enqueue(`ns:${ns}`, () => this.syncNamespace(ns));
  }

  private syncNamespace(ns: string): void {
    const core = this.runtime.core;
    const nsType = this.runtime.type("", "namespaces");
    const nsObj = core.store.get(NS_RESOURCE, `/${ns}`);
    if (!nsObj?.metadata?.deletionTimestamp) return;
    let remaining = 0;
    for (const rt of core.registry.all()) {
      if (!rt.namespaced) continue;
      for (const obj of core.store.list(resourceKey(rt), ns)) {
        remaining++;
        if (!obj.metadata?.deletionTimestamp) core.delete(this.runtime.ctx(rt, ns), obj.metadata!.name as string, {});
      }
    }
    if (remaining > 0) {
      // Objects deleted at once raise DELETED events that re-enqueue this namespace; finalizers keep it waiting.
      return;
    }
    const fins = (nsObj.metadata.finalizers as string[] | undefined) ?? [];
    if (fins.length === 0) {
      core.removeNow(this.runtime.ctx(nsType), nsObj);
      return;
    }
    if (((nsObj.spec?.finalizers as string[] | undefined) ?? []).length > 0) {
      // The "kubernetes" finalizer is released (as /finalize would); metadata.finalizers still hold the namespace.
      core.commitRaw(this.runtime.ctx(nsType), nsObj, { ...nsObj, spec: { ...nsObj.spec, finalizers: [] } });
    }
  }
}
