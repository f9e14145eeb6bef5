// The garbage collector: dependents whose owners are gone are deleted; Orphan and Foreground propagation.
import type { CommittedWrite } from "../core.js";
import type { ResourceType } from "../registry.js";
import type { KubeObject } from "../selectors.js";
import { clone, deepEqual } from "../objects.js";
import { ownerRefs, type OwnerIndex, type OwnerRef } from "./owners.js";
import type { Found, Loop, LoopRuntime } from "./runtime.js";

export class GarbageCollector implements Loop {
  constructor(
    private readonly runtime: LoopRuntime,
    private readonly owners: OwnerIndex,
  ) {}

  /** Owners referenced by some dependent, present or not (an owner deleted while the server was down is absent). */
  resync(): void {
    for (const uid of this.owners.referencedOwners()) this.enqueueOwner(uid);
  }

  observe(w: CommittedWrite): void {
    const { type, obj, prev } = w.event;
    const uid = obj.metadata?.uid as string | undefined;
    if (!uid) return;
    if (type === "DELETED") {
      this.enqueueOwner(uid);
      for (const r of ownerRefs(obj)) this.enqueueOwner(r.uid);
      return;
    }
    const fins = (obj.metadata?.finalizers as string[] | undefined) ?? [];
    if (obj.metadata?.deletionTimestamp && (fins.includes("orphan") || fins.includes("foregroundDeletion")))
      this.enqueueOwner(uid);
    const refs = ownerRefs(obj);
    if (refs.length > 0 && !deepEqual(refs, ownerRefs(prev)))
      this.runtime.enqueue(`dep:${uid}`, () => this.attemptToDelete(uid));
  }

  private enqueueOwner(uid: string): void {
    this.runtime.enqueue(`owner:${uid}`, () => this.syncOwner(uid));
  }

  /** An owner changed or vanished: orphan, foreground-wait or collect its dependents. */
  private syncOwner(uid: string): void {
    const deps = this.owners.dependentsOf(uid);
    const owner = this.owners.find(uid);
    if (!owner) {
      for (const d of deps) this.attemptToDelete(d);
      return;
    }
    const fins = (owner.obj.metadata?.finalizers as string[] | undefined) ?? [];
    if (!owner.obj.metadata?.deletionTimestamp) return;
    if (fins.includes("orphan")) {
      for (const d of deps) this.removeOwnerRefs(d, new Set([uid]));
      this.removeFinalizer(owner.rt, owner.obj, "orphan");
      return;
    }
    if (fins.includes("foregroundDeletion")) this.foregroundStep(owner, uid, deps);
  }

  /** Foreground deletion: delete the dependents; the owner goes once none with blockOwnerDeletion is left. */
  private foregroundStep(owner: Found, uid: string, deps: string[]): void {
    let blocking = 0;
    for (const d of deps) {
      const found = this.owners.find(d);
      if (!found) continue;
      if (ownerRefs(found.obj).some((r) => r.uid === uid && r.blockOwnerDeletion)) blocking++;
      if (!found.obj.metadata?.deletionTimestamp) this.attemptToDelete(d);
    }
    if (blocking === 0) this.removeFinalizer(owner.rt, owner.obj, "foregroundDeletion");
  }

  /** Owners of a dependent: absent (dangling), being deleted in the foreground (waiting), or alive (solid). */
  private classifyOwners(refs: OwnerRef[]): { dangling: Set<string>; solid: number; waiting: number } {
    const dangling = new Set<string>();
    let solid = 0;
    let waiting = 0;
    for (const r of refs) {
      const owner = this.owners.find(r.uid);
      const fins = (owner?.obj.metadata?.finalizers as string[] | undefined) ?? [];
      if (!owner) dangling.add(r.uid);
      else if (owner.obj.metadata?.deletionTimestamp && fins.includes("foregroundDeletion")) waiting++;
      else solid++;
    }
    return { dangling, solid, waiting };
  }

  /** A dependent: deleted when none of its owners is alive, else its dangling references are removed. */
  private attemptToDelete(depUid: string): void {
    const found = this.owners.find(depUid);
    if (!found) return;
    const refs = ownerRefs(found.obj);
    if (refs.length === 0) return;
    const { dangling, solid, waiting } = this.classifyOwners(refs);
    if (solid > 0) {
      if (dangling.size > 0) this.removeOwnerRefs(depUid, dangling);
      return;
    }
    if (dangling.size === 0 && waiting === 0) return;
    if (found.obj.metadata?.deletionTimestamp) return;
    const ns = found.obj.metadata?.namespace as string | undefined;
    this.runtime.core.delete(this.runtime.ctx(found.rt, ns), found.obj.metadata!.name as string, {
      propagationPolicy: waiting > 0 ? "Foreground" : "Background",
    });
  }

  private removeOwnerRefs(depUid: string, uids: Set<string>): void {
    const found = this.owners.find(depUid);
    if (!found) return;
    const next = clone(found.obj);
    next.metadata!.ownerReferences = ownerRefs(found.obj).filter((r) => !uids.has(r.uid));
    if ((next.metadata!.ownerReferences as OwnerRef[]).length === 0) delete next.metadata!.ownerReferences;
    const ns = found.obj.metadata?.namespace as string | undefined;
    this.runtime.core.commitUpdate(this.runtime.ctx(found.rt, ns), found.obj, next);
  }

  private removeFinalizer(rt: ResourceType, obj: KubeObject, finalizer: string): void {
    const next = clone(obj);
    next.metadata!.finalizers = ((obj.metadata?.finalizers as string[] | undefined) ?? []).filter(
      (f) => f !== finalizer,
    );
    this.runtime.core.commitUpdate(this.runtime.ctx(rt, obj.metadata?.namespace as string | undefined), obj, next);
  }
}
