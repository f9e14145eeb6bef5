// Index of objects by uid and of dependents by owner uid (ownerReferences), kept current from every committed write.
import { keyOf } from "../core.js";
import type { KubeObject } from "../selectors.js";
import type { Found, LoopRuntime } from "./runtime.js";

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

interface ObjRef {
  resource: string;
  key: string;
}

export function ownerRefs(obj: KubeObject | undefined): OwnerRef[] {
  return ((obj?.metadata?.ownerReferences as OwnerRef[] | undefined) ?? []).filter(
    (r) => r && typeof r.uid === "string",
  );
}

/** The ownerReference with controller=true, if any. */
export function controllerRef(obj: KubeObject | undefined): OwnerRef | undefined {
  return ownerRefs(obj).find((r) => r.controller === true);
}

/** The reference a controller puts on what it creates (blockOwnerDeletion, as kube-controller-manager sets it). */
export function controllerRefTo(owner: KubeObject): OwnerRef {
  return {
    apiVersion: owner.apiVersion as string,
    kind: owner.kind as string,
    name: owner.metadata!.name as string,
    uid: owner.metadata!.uid as string,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export class OwnerIndex {
  private readonly byUid = new Map<string, ObjRef>();
  private readonly dependents = new Map<string, Set<string>>();

  constructor(private readonly runtime: LoopRuntime) {
    const store = runtime.core.store;
    for (const resource of store.resources()) {
      for (const obj of store.list(resource)) this.index(resource, undefined, obj);
    }
  }

  /**
   * The keys of the `owner` objects controlling what a write to `dependents` changed (before or after it): the
   * workload a pod, ReplicaSet or Job event concerns.
   */
  controllersOf(
    ev: { resource: string; obj: KubeObject; prev?: KubeObject },
    dependents: string,
    owner: { kind: string; plural: string },
  ): string[] {
    if (ev.resource !== dependents) return [];
    const keys: string[] = [];
    for (const obj of [ev.obj, ev.prev]) {
      const ref = controllerRef(obj);
      if (ref?.kind !== owner.kind) continue;
      const found = this.find(ref.uid);
      if (found?.rt.plural === owner.plural) keys.push(keyOf(found.obj));
    }
    return keys;
  }

  index(resource: string, prev: KubeObject | undefined, next: KubeObject | undefined): void {
    for (const r of ownerRefs(prev)) {
      const set = this.dependents.get(r.uid);
      set?.delete(prev!.metadata!.uid as string);
      if (set?.size === 0) this.dependents.delete(r.uid);
    }
    if (prev?.metadata?.uid && !next) this.byUid.delete(prev.metadata.uid as string);
    if (!next?.metadata?.uid) return;
    const uid = next.metadata.uid as string;
    this.byUid.set(uid, { resource, key: keyOf(next) });
    for (const r of ownerRefs(next)) {
      let set = this.dependents.get(r.uid);
      if (!set) {
        set = new Set();
        this.dependents.set(r.uid, set);
      }
      set.add(uid);
    }
  }

  /** Uids of the objects that name `uid` as an owner. */
  dependentsOf(uid: string): string[] {
    return [...(this.dependents.get(uid) ?? [])];
  }

  /** Uids that some object names as its owner (present or not). */
  referencedOwners(): string[] {
    return [...this.dependents.keys()];
  }

  find(uid: string): Found | undefined {
    const ref = this.byUid.get(uid);
    return ref ? this.runtime.lookup(ref.resource, ref.key) : undefined;
  }

  /** The objects `owner` controls (its controller ownerReference), of one resource. */
  controlled(ownerUid: string, resource: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const uid of this.dependents.get(ownerUid) ?? []) {
      const ref = this.byUid.get(uid);
      if (!ref || ref.resource !== resource) continue;
      const obj = this.runtime.core.store.get(ref.resource, ref.key);
      if (obj && controllerRef(obj)?.uid === ownerUid) out.push(obj);
    }
    return out;
  }
}
