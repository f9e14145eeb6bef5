// The in-process controllers a real control plane runs: CRD establishment, garbage collection, namespace deletion, PDB status.
import type { ApiCore, CommittedWrite, WriteContext } from "./core.js";
import type { StoreEvent } from "./store.js";
import { keyOf } from "./core.js";
import { acceptedNames, resourceTypeFromCrd } from "./crds.js";
import type { ResourceType } from "./registry.js";
import { resourceKey } from "./registry.js";
import type { KubeObject } from "./selectors.js";
import { clone, deepEqual, nowTimestamp } from "./objects.js";
import { computePdbStatus } from "./eviction.js";
import { ApiError } from "./status.js";

interface OwnerRef {
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

const CRD_RESOURCE = "apiextensions.k8s.io/customresourcedefinitions";
const NS_RESOURCE = "/namespaces";
const CRD_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

function ownerRefs(obj: KubeObject | undefined): OwnerRef[] {
  return ((obj?.metadata?.ownerReferences as OwnerRef[] | undefined) ?? []).filter(
    (r) => r && typeof r.uid === "string",
  );
}

/** Runs the controllers asynchronously after writes, as the control plane does (eventually, in order). */
export class ControlPlane {
  private readonly uidIndex = new Map<string, ObjRef>();
  private readonly dependents = new Map<string, Set<string>>();
  private readonly queue = new Map<string, () => void>();
  private scheduled = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  /** Pending "kubelet" terminations of gracefully deleted pods, by pod uid. */
  private readonly terminations = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly core: ApiCore,
    /** How long the simulated kubelet takes to stop a gracefully deleted pod's containers. */
    private readonly podTerminationMs = 100,
  ) {
    for (const resource of core.store.resources()) {
      for (const obj of core.store.list(resource)) this.index(resource, undefined, obj);
    }
    core.onCommit((w) => this.observe(w));
  }

  /** Re-derives everything after a load (persistence): CRDs registered, pending deletions resumed. */
  resync(): void {
    for (const crd of this.core.store.list(CRD_RESOURCE))
      this.enqueue(`crd:${keyOf(crd)}`, () => this.syncCrd(keyOf(crd)));
    for (const ns of this.core.store.list(NS_RESOURCE)) {
      if (ns.metadata?.deletionTimestamp) this.enqueueNamespace(ns.metadata.name as string);
    }
    // Owners referenced by some dependent, present or not (an owner deleted while the server was down is absent).
    for (const uid of this.dependents.keys()) this.enqueueOwner(uid);
    for (const pod of this.core.store.list("/pods")) if (pod.metadata?.deletionTimestamp) this.terminateLater(pod);
  }

  stop(): void {
    this.stopped = true;
    this.queue.clear();
    for (const t of this.terminations.values()) clearTimeout(t);
    this.terminations.clear();
  }

  /** Resolves when no controller work is queued (tests and persistence flush). */
  idle(): Promise<void> {
    if (this.queue.size === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private observe(w: CommittedWrite): void {
    const ev = w.event;
    this.index(ev.resource, ev.prev, ev.type === "DELETED" ? undefined : ev.obj);
    if (ev.resource === CRD_RESOURCE) this.enqueue(`crd:${ev.key}`, () => this.syncCrd(ev.key));
    if (w.rt.crd && ev.type === "DELETED") this.enqueueCrdFor(w.rt);
    this.observeNamespaces(ev);
    this.observePods(ev);
    this.observeOwnership(ev.type, ev.obj, ev.prev);
  }

  /** A namespace starts terminating, or an object leaves a terminating namespace. */
  private observeNamespaces(ev: StoreEvent): void {
    const obj = ev.obj;
    if (ev.resource === NS_RESOURCE && obj.metadata?.deletionTimestamp && ev.type !== "DELETED")
      this.enqueueNamespace(obj.metadata.name as string);
    const ns = obj.metadata?.namespace as string | undefined;
    if (!ns || ev.type !== "DELETED") return;
    if (this.core.store.get(NS_RESOURCE, `/${ns}`)?.metadata?.deletionTimestamp) this.enqueueNamespace(ns);
  }

  /** Pods and PDBs move PDB status; a gracefully deleted pod is finished by the simulated kubelet. */
  private observePods(ev: StoreEvent): void {
    const ns = ev.obj.metadata?.namespace as string | undefined;
    if (ns && (ev.resource === "/pods" || ev.resource === "policy/poddisruptionbudgets"))
      this.enqueue(`pdb:${ns}`, () => this.syncPdbs(ns));
    if (ev.resource === "/pods" && ev.type === "MODIFIED" && ev.obj.metadata?.deletionTimestamp)
      this.terminateLater(ev.obj);
  }

  private observeOwnership(type: string, obj: KubeObject, prev: KubeObject | undefined): void {
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
      this.enqueue(`dep:${uid}`, () => this.attemptToDelete(uid));
  }

  private index(resource: string, prev: KubeObject | undefined, next: KubeObject | undefined): void {
    for (const r of ownerRefs(prev)) {
      const set = this.dependents.get(r.uid);
      set?.delete(prev!.metadata!.uid as string);
      if (set?.size === 0) this.dependents.delete(r.uid);
    }
    if (prev?.metadata?.uid && !next) this.uidIndex.delete(prev.metadata.uid as string);
    if (!next?.metadata?.uid) return;
    const uid = next.metadata.uid as string;
    this.uidIndex.set(uid, { resource, key: keyOf(next) });
    for (const r of ownerRefs(next)) {
      let set = this.dependents.get(r.uid);
      if (!set) {
        set = new Set();
        this.dependents.set(r.uid, set);
      }
      set.add(uid);
    }
  }

  private enqueue(key: string, fn: () => void): void {
    if (this.stopped) return;
    this.queue.set(key, fn);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
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

  private ctx(rt: ResourceType, namespace?: string): WriteContext {
    return {
      rt,
      version: rt.versions[0]!.name,
      namespace,
      origin: "internal",
      fieldManager: rt.crd || rt.group === "apiextensions.k8s.io" ? "kube-apiserver" : "kube-controller-manager",
    };
  }

  private lookup(ref: ObjRef): { rt: ResourceType; obj: KubeObject } | undefined {
    const [group, plural] = splitResource(ref.resource);
    const rt = this.core.registry.byGroupPlural(group, plural);
    const obj = this.core.store.get(ref.resource, ref.key);
    return rt && obj ? { rt, obj } : undefined;
  }

  // ---- pods (the part of a kubelet that finishes graceful deletion) ----

  private terminateLater(pod: KubeObject): void {
    const uid = pod.metadata?.uid as string;
    if (
      this.stopped ||
      this.terminations.has(uid) ||
      !((pod.metadata?.deletionGracePeriodSeconds as number | undefined) ?? 0)
    )
      return;
    const podType = this.core.registry.byGroupPlural("", "pods")!;
    const graceMs = ((pod.metadata?.deletionGracePeriodSeconds as number) ?? 0) * 1000;
    const timer = setTimeout(
      () => {
        this.terminations.delete(uid);
        const cur = this.core.store.get("/pods", keyOf(pod));
        if (!cur || cur.metadata?.uid !== uid || !cur.metadata?.deletionTimestamp) return;
        const fins = (cur.metadata.finalizers as string[] | undefined) ?? [];
        const ctx = this.ctx(podType, cur.metadata.namespace as string);
        if (fins.length === 0) this.core.removeNow(ctx, cur);
        else this.core.commitRaw(ctx, cur, { ...cur, metadata: { ...cur.metadata, deletionGracePeriodSeconds: 0 } });
      },
      Math.min(graceMs, this.podTerminationMs),
    );
    this.terminations.set(uid, timer);
  }

  // ---- CRDs ----

  private syncCrd(key: string): void {
    const crd = this.core.store.get(CRD_RESOURCE, key);
    const crdType = this.core.registry.byGroupPlural("apiextensions.k8s.io", "customresourcedefinitions")!;
    if (!crd) {
      const name = key.slice(1);
      const dot = name.indexOf(".");
      const existing = this.core.registry.byGroupPlural(name.slice(dot + 1), name.slice(0, dot));
      if (existing?.crd) {
        this.core.registry.remove(existing.group, existing.plural);
        this.core.store.dropResource(resourceKey(existing));
      }
      return;
    }
    const rt = resourceTypeFromCrd(crd);
    this.core.registry.upsert(rt);
    if (crd.metadata?.deletionTimestamp) {
      this.cleanupCrd(crd, rt, crdType);
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
    this.core.commitUpdate(this.ctx(crdType), crd, { ...crd, status }, "status");
  }

  private cleanupCrd(crd: KubeObject, rt: ResourceType, crdType: ResourceType): void {
    const status = clone((crd.status as Record<string, any> | undefined) ?? {});
    status.conditions = upsertCondition(status.conditions, {
      type: "Terminating",
      status: "True",
      reason: "InstanceDeletionInProgress",
      message: "CustomResource deletion is in progress",
    });
    let cur = crd;
    if (!deepEqual(status, crd.status))
      cur = this.core.commitUpdate(this.ctx(crdType), crd, { ...crd, status }, "status");
    const remaining = this.core.store.list(resourceKey(rt));
    for (const obj of remaining) {
      if (!obj.metadata?.deletionTimestamp)
        this.core.delete(this.ctx(rt, obj.metadata?.namespace as string | undefined), obj.metadata!.name as string, {});
    }
    if (this.core.store.list(resourceKey(rt)).length > 0) return;
    const fins = ((cur.metadata?.finalizers as string[] | undefined) ?? []).filter((f) => f !== CRD_FINALIZER);
    this.core.commitUpdate(this.ctx(crdType), cur, { ...clone(cur), metadata: { ...cur.metadata, finalizers: fins } });
  }

  private enqueueCrdFor(rt: ResourceType): void {
    const key = `/${rt.plural}.${rt.group}`;
    const crd = this.core.store.get(CRD_RESOURCE, key);
    if (crd?.metadata?.deletionTimestamp) this.enqueue(`crd:${key}`, () => this.syncCrd(key));
  }

  // ---- namespaces ----

  private enqueueNamespace(ns: string): void {
    this.enqueue(`ns:${ns}`, () => this.syncNamespace(ns));
  }

  private syncNamespace(ns: string): void {
    const nsType = this.core.registry.byGroupPlural("", "namespaces")!;
    const nsObj = this.core.store.get(NS_RESOURCE, `/${ns}`);
    if (!nsObj?.metadata?.deletionTimestamp) return;
    let remaining = 0;
    for (const rt of this.core.registry.all()) {
      if (!rt.namespaced) continue;
      for (const obj of this.core.store.list(resourceKey(rt), ns)) {
        remaining++;
        if (!obj.metadata?.deletionTimestamp) this.core.delete(this.ctx(rt, ns), obj.metadata!.name as string, {});
      }
    }
    if (remaining > 0) {
      // Objects deleted at once raise DELETED events that re-enqueue this namespace; finalizers keep it waiting.
      return;
    }
    const fins = (nsObj.metadata.finalizers as string[] | undefined) ?? [];
    if (fins.length === 0) {
      this.core.removeNow(this.ctx(nsType), nsObj);
      return;
    }
    if (((nsObj.spec?.finalizers as string[] | undefined) ?? []).length > 0) {
      // The "kubernetes" finalizer is released (as /finalize would); metadata.finalizers still hold the namespace.
      this.core.commitRaw(this.ctx(nsType), nsObj, { ...nsObj, spec: { ...nsObj.spec, finalizers: [] } });
    }
  }

  // ---- garbage collection ----

  private enqueueOwner(uid: string): void {
    this.enqueue(`owner:${uid}`, () => this.syncOwner(uid));
  }

  /** An owner changed or vanished: orphan, foreground-wait or collect its dependents. */
  private syncOwner(uid: string): void {
    const deps = [...(this.dependents.get(uid) ?? [])];
    const owner = this.lookupUid(uid);
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
  private foregroundStep(owner: { rt: ResourceType; obj: KubeObject }, uid: string, deps: string[]): void {
    let blocking = 0;
    for (const d of deps) {
      const found = this.lookupUid(d);
      if (!found) continue;
      if (ownerRefs(found.obj).some((r) => r.uid === uid && r.blockOwnerDeletion)) blocking++;
      if (!found.obj.metadata?.deletionTimestamp) this.attemptToDelete(d);
    }
    if (blocking === 0) this.removeFinalizer(owner.rt, owner.obj, "foregroundDeletion");
  }

  private lookupUid(uid: string): { rt: ResourceType; obj: KubeObject } | undefined {
    const ref = this.uidIndex.get(uid);
    return ref ? this.lookup(ref) : undefined;
  }

  /** Owners of a dependent: absent (dangling), being deleted in the foreground (waiting), or alive (solid). */
  private classifyOwners(refs: OwnerRef[]): { dangling: Set<string>; solid: number; waiting: number } {
    const dangling = new Set<string>();
    let solid = 0;
    let waiting = 0;
    for (const r of refs) {
      const owner = this.lookupUid(r.uid);
      const fins = (owner?.obj.metadata?.finalizers as string[] | undefined) ?? [];
      if (!owner) dangling.add(r.uid);
      else if (owner.obj.metadata?.deletionTimestamp && fins.includes("foregroundDeletion")) waiting++;
      else solid++;
    }
    return { dangling, solid, waiting };
  }

  /** A dependent: deleted when none of its owners is alive, else its dangling references are removed. */
  private attemptToDelete(depUid: string): void {
    const found = this.lookupUid(depUid);
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
    this.core.delete(this.ctx(found.rt, ns), found.obj.metadata!.name as string, {
      propagationPolicy: waiting > 0 ? "Foreground" : "Background",
    });
  }

  private removeOwnerRefs(depUid: string, uids: Set<string>): void {
    const found = this.lookupUid(depUid);
    if (!found) return;
    const next = clone(found.obj);
    next.metadata!.ownerReferences = ownerRefs(found.obj).filter((r) => !uids.has(r.uid));
    if ((next.metadata!.ownerReferences as OwnerRef[]).length === 0) delete next.metadata!.ownerReferences;
    this.core.commitUpdate(this.ctx(found.rt, found.obj.metadata?.namespace as string | undefined), found.obj, next);
  }

  private removeFinalizer(rt: ResourceType, obj: KubeObject, finalizer: string): void {
    const next = clone(obj);
    next.metadata!.finalizers = ((obj.metadata?.finalizers as string[] | undefined) ?? []).filter(
      (f) => f !== finalizer,
    );
    this.core.commitUpdate(this.ctx(rt, obj.metadata?.namespace as string | undefined), obj, next);
  }

  // ---- PodDisruptionBudget status ----

  private syncPdbs(ns: string): void {
    const pdbType = this.core.registry.byGroupPlural("policy", "poddisruptionbudgets")!;
    const pods = this.core.store.list("/pods", ns);
    for (const pdb of this.core.store.list("policy/poddisruptionbudgets", ns)) {
      if (pdb.metadata?.deletionTimestamp) continue;
      const computed = computePdbStatus(pdb, pods);
      const status: Record<string, any> = {
        ...clone((pdb.status as Record<string, any> | undefined) ?? {}),
        ...computed.status,
      };
      const allowed = computed.status.disruptionsAllowed > 0;
      status.conditions = upsertCondition(status.conditions, {
        type: "DisruptionAllowed",
        status: allowed ? "True" : "False",
        reason: allowed ? "SufficientPods" : "InsufficientPods",
        message: "",
        observedGeneration: pdb.metadata?.generation as number | undefined,
      });
      if (deepEqual(status, pdb.status)) continue;
      this.core.commitUpdate(this.ctx(pdbType, ns), pdb, { ...pdb, status }, "status");
    }
  }
}

function splitResource(resource: string): [string, string] {
  const i = resource.indexOf("/");
  return [resource.slice(0, i), resource.slice(i + 1)];
}

/** Sets a condition by type, keeping lastTransitionTime when the status did not change. */
export function upsertCondition(
  conditions: unknown,
  c: { type: string; status: string; reason: string; message: string; observedGeneration?: number },
): Record<string, unknown>[] {
  const { type, status, reason, message, observedGeneration } = c;
  const list = Array.isArray(conditions) ? (conditions as Record<string, unknown>[]).map((c) => ({ ...c })) : [];
  const existing = list.find((c) => c.type === type);
  const next: Record<string, unknown> = { type, status, reason, message, lastTransitionTime: nowTimestamp() };
  if (observedGeneration !== undefined) next.observedGeneration = observedGeneration;
  if (existing) {
    if (existing.status === status) next.lastTransitionTime = existing.lastTransitionTime;
    Object.assign(existing, next);
    for (const k of Object.keys(existing)) if (!(k in next)) delete existing[k];
    return list;
  }
  return [...list, next];
}
