// CustomResourceDefinitions: register the resource, set accepted names and Established; on deletion remove instances.
import type { CommittedWrite } from "../core.js";
import { keyOf } from "../core.js";
import { acceptedNames, resourceTypeFromCrd } from "../crds.js";
import type { ResourceType } from "../registry.js";
import { resourceKey } from "../registry.js";
import type { KubeObject } from "../selectors.js";
import { clone, deepEqual } from "../objects.js";
import { upsertCondition } from "./conditions.js";
import type { Loop, LoopRuntime } from "./runtime.js";

const CRD_RESOURCE = "apiextensions.k8s.io/customresourcedefinitions";
const CRD_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

export class CrdController implements Loop {
  constructor(private readonly runtime: LoopRuntime) {}

  resync(): void {
    for (const crd of this.runtime.core.store.list(CRD_RESOURCE)) this.enqueue(keyOf(crd));
  }

  observe(w: CommittedWrite): void {
    const ev = w.event;
    if (ev.resource === CRD_RESOURCE) this.enqueue(ev.key);
    if (w.rt.crd && ev.type === "DELETED") this.enqueueCrdFor(w.rt);
  }

  private enqueue(key: string): void {
    this.runtime.enqueue(`crd:${key}`, () => this.syncCrd(key));
  }

  private crdType(): ResourceType {
    return this.runtime.type("apiextensions.k8s.io", "customresourcedefinitions");
  }

  private syncCrd(key: string): void {
    const core = this.runtime.core;
    const crd = core.store.get(CRD_RESOURCE, key);
    if (!crd) {
      const name = key.slice(1);
      const dot = name.indexOf(".");
      const existing = core.registry.byGroupPlural(name.slice(dot + 1), name.slice(0, dot));
      if (existing?.crd) {
        core.registry.remove(existing.group, existing.plural);
        core.store.dropResource(resourceKey(existing));
      }
      return;
    }
    const rt = resourceTypeFromCrd(crd);
    core.registry.upsert(rt);
    if (crd.metadata?.deletionTimestamp) {
      this.cleanupCrd(crd, rt);
      return;
    }
    const status = clone((crd.status as Record<string, any> | undefined) ?? {});
    status.acceptedNames = acceptedNames(crd);
    const storage = (crd.spec.versions as { name: string; storage?: boolean }[]).find((v) => v.storage)?.name;
    const stored = new Set<string>((status.storedVersions as string[] | undefined) ?? []);
    if (storage) stored.add(storage);
    status.storedVersions = [...stored];
    status.conditions = upsertCondition(status.conditions, {
      type: "NamesAccepted",
      status: "True",
      reason: "NoConflicts",
      message: "no conflicts found",
    });
    status.conditions = upsertCondition(status.conditions, {
      type: "Established",
      status: "True",
      reason: "InitialNamesAccepted",
      message: "the initial names have been accepted",
    });
    if (deepEqual(status, crd.status)) return;
    core.commitUpdate(this.runtime.ctx(this.crdType()), crd, { ...crd, status }, "status");
  }

  private cleanupCrd(crd: KubeObject, rt: ResourceType): void {
    const core = this.runtime.core;
    const status = clone((crd.status as Record<string, any> | undefined) ?? {});
    status.conditions = upsertCondition(status.conditions, {
      type: "Terminating",
      status: "True",
      reason: "InstanceDeletionInProgress",
      message: "CustomResource deletion is in progress",
    });
    let cur = crd;
    if (!deepEqual(status, crd.status))
      cur = core.commitUpdate(this.runtime.ctx(this.crdType()), crd, { ...crd, status }, "status");
    for (const obj of core.store.list(resourceKey(rt))) {
      if (!obj.metadata?.deletionTimestamp)
        core.delete(
          this.runtime.ctx(rt, obj.metadata?.namespace as string | undefined),
          obj.metadata!.name as string,
          {},
        );
    }
    if (core.store.list(resourceKey(rt)).length > 0) return;
    const fins = ((cur.metadata?.finalizers as string[] | undefined) ?? []).filter((f) => f !== CRD_FINALIZER);
    core.commitUpdate(this.runtime.ctx(this.crdType()), cur, {
      ...clone(cur),
      metadata: { ...cur.metadata, finalizers: fins },
    });
  }

  private enqueueCrdFor(rt: ResourceType): void {
    const key = `/${rt.plural}.${rt.group}`;
    const crd = this.runtime.core.store.get(CRD_RESOURCE, key);
    if (crd?.metadata?.deletionTimestamp) this.enqueue(key);
  }
}
