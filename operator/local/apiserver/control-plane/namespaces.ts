// Namespace deletion: a terminating namespace's contents are deleted, then its finalizers released and it goes.
import type { CommittedWrite } from "../core.js";
import { resourceKey } from "../registry.js";
import type { StoreEvent } from "../store.js";
import type { Loop, LoopRuntime } from "./runtime.js";
import type { KubeObject } from "../selectors.js";
import { deepEqual, nowTimestamp } from "../objects.js";

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
    for (const rt of core.registry.all()) {
      if (!rt.namespaced) continue;
      for (const obj of core.store.list(resourceKey(rt), ns))
        if (!obj.metadata?.deletionTimestamp) core.delete(this.runtime.ctx(rt, ns), obj.metadata!.name as string, {});
    }
    const left = this.remaining(ns);
    this.writeConditions(nsObj, left);
    if (left.objects.size > 0) {
      // Objects deleted at once raise DELETED events that re-enqueue this namespace; finalizers keep it waiting.
      return;
    }
    const fins = (nsObj.metadata.finalizers as string[] | undefined) ?? [];
    if (fins.length === 0) {
      core.removeNow(this.runtime.ctx(nsType), nsObj);
      return;
    }
    const current = core.store.get(NS_RESOURCE, `/${ns}`) ?? nsObj;
    if (((current.spec?.finalizers as string[] | undefined) ?? []).length > 0) {
      // The "kubernetes" finalizer is released (as /finalize would); metadata.finalizers still hold the namespace.
      core.commitRaw(this.runtime.ctx(nsType), current, { ...current, spec: { ...current.spec, finalizers: [] } });
    }
  }

  /** What is left in the namespace after a deletion pass: objects per resource and their finalizers. */
  private remaining(ns: string): { objects: Map<string, number>; finalizers: Map<string, number> } {
    const objects = new Map<string, number>();
    const finalizers = new Map<string, number>();
    for (const rt of this.runtime.core.registry.all()) {
      if (!rt.namespaced) continue;
      for (const obj of this.runtime.core.store.list(resourceKey(rt), ns)) {
        // as upstream names a GroupVersionResource: "<resource>.<group>", the core group empty
        const resource = `${rt.plural}.${rt.group}`;
        objects.set(resource, (objects.get(resource) ?? 0) + 1);
        for (const f of new Set((obj.metadata?.finalizers as string[] | undefined) ?? []))
          finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
      }
    }
    return { objects, finalizers };
  }

  /**
   * The conditions kube-controller-manager's namespace controller keeps on a terminating namespace (what `kubectl
   * describe ns` shows as blocking its deletion); a condition's lastTransitionTime moves only when its status does.
   */
  private writeConditions(nsObj: KubeObject, left: ReturnType<NamespaceController["remaining"]>): void {
    const listed = (m: Map<string, number>, what: string): string =>
      [...m]
        .map(([k, n]) => `${k} ${what} ${n} resource instances`)
        .sort()
        .join(", ");
    const wanted: Array<[string, string, string, string]> = [
      ["NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered", "All resources successfully discovered"],
      [
        "NamespaceDeletionGroupVersionParsingFailure",
        "False",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
      ],
      [
        "NamespaceDeletionContentFailure",
        "False",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
      ],
      left.objects.size > 0
        ? [
            "NamespaceContentRemaining",
            "True",
            "SomeResourcesRemain",
            `Some resources are remaining: ${listed(left.objects, "has")}`,
          ]
        : ["NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed"],
      left.finalizers.size > 0
        ? [
            "NamespaceFinalizersRemaining",
            "True",
            "SomeFinalizersRemain",
            `Some content in the namespace has finalizers remaining: ${listed(left.finalizers, "in")}`,
          ]
        : [
            "NamespaceFinalizersRemaining",
            "False",
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished",
          ],
    ];
    const before = (nsObj.status?.conditions as Array<Record<string, string>> | undefined) ?? [];
    const now = nowTimestamp();
    const conditions = wanted.map(([type, status, reason, message]) => {
      const old = before.find((c) => c.type === type);
      const lastTransitionTime = old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now;
      return { type, status, lastTransitionTime, reason, message };
    });
    if (deepEqual(conditions, before)) return;
    const nsType = this.runtime.type("", "namespaces");
    this.runtime.core.commitRaw(this.runtime.ctx(nsType), nsObj, { ...nsObj, status: { ...nsObj.status, conditions } });
  }
}
