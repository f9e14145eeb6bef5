// API semantics over the store: create/update/delete with Kubernetes metadata rules, status subresource, finalizers, lists.
import { randomUUID } from "node:crypto";
import { admitCreate } from "./admission.js";
import { decodeBuiltinObject } from "./builtin-decode.js";
import { applyBuiltinDefaults, podQosClass } from "./defaults.js";
import { crdSchemaCauses } from "./schema/structural.js";
import type { ResourceRegistry, ResourceType } from "./registry.js";
import { groupVersion, hasStatusSubresource, resourceKey, storageKey } from "./registry.js";
import { validateEvent } from "./events.js";
import { jobTemplateUpdateCauses, workloadSelectorCauses } from "./workloads.js";
import type { KubeObject, ObjectPredicate } from "./selectors.js";
import { parseFieldSelector, parseLabelSelector } from "./selectors.js";
import type { StatusCause } from "./status.js";
import { alreadyExists, badRequest, conflict, expired, forbidden, invalid, notFound, ApiError } from "./status.js";
import type { ObjectStore, StoreEvent } from "./store.js";
import { objectKey } from "./store.js";
import {
  clone,
  deepEqual,
  dns1123LabelError,
  dns1123SubdomainError,
  generatedSuffix,
  isObject,
  meta,
  nowTimestamp,
  pathSegmentError,
  specPart,
} from "./objects.js";

/** Who asked for a write: HTTP requests are reported to the fault injector's onWrite; controllers' writes are not. */
export type WriteOrigin = "http" | "internal";

/** Per-request parameters of a write. */
export interface WriteContext {
  rt: ResourceType;
  /** The API version of the request (CRs answer in it). */
  version: string;
  namespace?: string;
  dryRun?: boolean;
  fieldManager?: string;
  origin: WriteOrigin;
  /** The HTTP verb reported to onWrite ("create", "update", "patch", "delete"). */
  verb?: string;
  /** `?fieldValidation=` (Strict | Warn | Ignore): what to do with unknown fields of custom resources. */
  fieldValidation?: string;
  /** Warnings for `Warning: 299 - "..."` response headers, filled during the write. */
  warnings?: string[];
  /** managedFields were already computed (server-side apply): do not record an Update entry. */
  managedFieldsDone?: boolean;
  /** The body is the request's own decoded copy (HTTP): it is stored as it is, without another copy. */
  ownedBody?: boolean;
  /** Set when the write came through a resource stored as another (events.k8s.io/v1): the version the client used. */
  requestGroupVersion?: string;
}

/** A committed write as controllers and the fault injector see it. */
export interface CommittedWrite {
  verb: string;
  rt: ResourceType;
  event: StoreEvent;
  origin: WriteOrigin;
}

/** Validation + defaulting + pruning of a custom resource against its CRD schema (the schema/ module). */
export type CustomResourceValidator = (input: {
  crd: Record<string, unknown>;
  version: string;
  object: KubeObject;
  oldObject?: KubeObject;
  subresource?: "status";
  fieldValidation?: string;
}) => { object: KubeObject; causes: StatusCause[]; message?: string; badRequestMessage?: string; warnings?: string[] };

/** Keeps `metadata.managedFields` for non-apply writes (the patch/ field manager); identity when absent. */
export type ManagedFieldsUpdater = (input: {
  rt: ResourceType;
  version: string;
  manager: string;
  operation: "Update";
  oldObject?: KubeObject;
  newObject: KubeObject;
  subresource?: string;
}) => KubeObject;

/** Options of DELETE (query + DeleteOptions body). */
export interface DeleteOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  /** Pods only: overrides spec.terminationGracePeriodSeconds; 0 deletes at once. */
  gracePeriodSeconds?: number;
}

/** Result of a delete: the object (still present with deletionTimestamp, or as deleted) and whether it is gone. */
export interface DeleteResult {
  object: KubeObject;
  deleted: boolean;
}

/** Parameters of a list. */
export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continueToken?: string;
}

/** A list result before it is wrapped as XxxList. */
export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

/** Namespaces the NamespaceLifecycle admission plugin refuses to delete. */
const IMMORTAL_NAMESPACES = new Set(["default", "kube-system", "kube-public"]);

const TERMINATING_MESSAGE = (ns: string): string =>
  `unable to create new content in namespace ${ns} because it is being terminated`;

/** Presents a stored object in the requested API version (conversion strategy None: only apiVersion changes). */
export function present(stored: KubeObject, rt: ResourceType, version: string): KubeObject {
  const obj = rt.storedAs ? rt.storedAs.fromStored(stored) : stored;
  const apiVersion = groupVersion(rt.group, version);
  if (obj.apiVersion === apiVersion && obj.kind === rt.kind) return obj;
  return { ...obj, apiVersion, kind: rt.kind };
}

/** Initial status for kinds whose strategy resets status on create. */
function initialStatus(rt: ResourceType): Record<string, unknown> | undefined {
  if (rt.group === "" && rt.kind === "Pod") return { phase: "Pending" };
  if (rt.group === "" && rt.kind === "Namespace") return { phase: "Active" };
  if (rt.crd) return undefined;
  return {};
}

/** The storage semantics of kube-apiserver's generic registry, over an ObjectStore. */
export class ApiCore {
  validateCustom?: CustomResourceValidator;
  updateManagedFields?: ManagedFieldsUpdater;
  private readonly listeners = new Set<(w: CommittedWrite) => void>();

  constructor(
    readonly registry: ResourceRegistry,
    readonly store: ObjectStore,
  ) {}

  /** Subscribes to every committed write (controllers: GC, namespaces, CRDs, PDB status; persistence). */
  onCommit(listener: (w: CommittedWrite) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(rt: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const obj = this.store.get(storageKey(rt), objectKey(rt.namespaced ? namespace : undefined, name));
    if (!obj) throw notFound(rt, name);
    return obj;
  }

  tryGet(rt: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(storageKey(rt), objectKey(rt.namespaced ? namespace : undefined, name));
  }

  /** Filters for a list or watch. */
  selectors(rt: ResourceType, labelSelector?: string, fieldSelector?: string): ObjectPredicate {
    const l = parseLabelSelector(labelSelector);
    const f = parseFieldSelector(fieldSelector, rt.kind);
    return (o) => l(o) && f(o);
  }

  list(rt: ResourceType, namespace: string | undefined, opts: ListOptions): ListResult {
    const match = this.selectors(rt, opts.labelSelector, opts.fieldSelector);
    const filtered = Boolean(opts.labelSelector || opts.fieldSelector);
    let snapshotRv = this.store.rv;
    let startAfter: string | undefined;
    let all: KubeObject[];
    if (opts.continueToken) {
      const token = decodeContinue(opts.continueToken);
      if (token.rv < this.store.oldestValidRv) {
        throw expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        );
      }
      snapshotRv = token.rv;
      startAfter = token.start;
      all = this.store.listAt(storageKey(rt), snapshotRv, rt.namespaced ? namespace : undefined);
    } else {
      all = this.store.list(storageKey(rt), rt.namespaced ? namespace : undefined);
    }
    const candidates = startAfter === undefined ? all : all.filter((o) => keyOf(o) > startAfter);
    const matching = candidates.filter(match);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : undefined;
    if (limit === undefined || matching.length <= limit)
      return { items: matching, resourceVersion: String(snapshotRv) };
    const page = matching.slice(0, limit);
    const result: ListResult = {
      items: page,
      resourceVersion: String(snapshotRv),
      continueToken: encodeContinue(snapshotRv, keyOf(page[page.length - 1]!)),
    };
    if (!filtered) result.remainingItemCount = matching.length - limit;
    return result;
  }

  /** POST: a new object. */
  create(reqCtx: WriteContext, body: unknown): KubeObject {
    const { ctx, obj } = this.toStorage(reqCtx, this.decodeBuiltin(reqCtx, this.checkBody(reqCtx, body)));
    const { rt } = ctx;
    const m = meta(obj);
    if (!m.name && m.generateName) m.name = `${m.generateName as string}${generatedSuffix()}`;
    this.validateMetadata(rt, obj);
    if (rt.namespaced) {
      m.namespace = ctx.namespace;
      this.requireLiveNamespace(rt, ctx.namespace!, m.name as string);
    } else delete m.namespace;
    if (this.tryGet(rt, ctx.namespace, m.name as string)) throw alreadyExists(rt, m.name as string);
    initNewObject(rt, ctx.version, obj);
    admitCreate(rt, obj, { services: () => this.store.list(resourceKey(this.registry.lookup("", "v1", "services")!)) });
    // The status create reset is written as Go writes it (non-omitempty zero values included).
    const filled = rt.crd ? obj : decodeBuiltinObject(obj, groupVersion(rt.group, ctx.version), rt.kind)?.object;
    let out = this.validate(ctx, (filled as KubeObject | undefined) ?? obj, undefined, undefined);
    out = this.withManagedFields(ctx, out, undefined, undefined);
    if (ctx.dryRun) return out;
    const rv = this.store.nextRv();
    meta(out).resourceVersion = String(rv);
    const ev = this.store.put(storageKey(rt), keyOf(out), out, rv);
    this.emit({ verb: ctx.verb ?? "create", rt, event: ev, origin: ctx.origin });
    return out;
  }

  /**
   * PUT (main resource or `status`): `body` replaces the object under the status-subresource rules.
   * Returns the stored object (unchanged object when the update is a no-op, as etcd skips identical writes).
   */
  update(ctx: WriteContext, name: string, body: unknown, subresource?: "status"): KubeObject {
    const { rt } = ctx;
    const incoming = this.checkBody(ctx, body);
    const im = meta(incoming);
    if (im.name !== undefined && im.name !== name) {
      throw badRequest(`the name of the object (${String(im.name)}) does not match the name on the URL (${name})`);
    }
    im.name = name;
    // Leases, as upstream's strategy: a PUT of one that does not exist creates it, and one without a resourceVersion
    // is refused (custom resources as well)
    const lease = rt.group === "coordination.k8s.io" && rt.kind === "Lease";
    const existing = lease && !subresource ? this.tryGet(rt, ctx.namespace, name) : undefined;
    if (lease && !subresource && !existing)
      return this.create({ ...ctx, verb: "update" }, { ...incoming, metadata: im });
    const cur = existing ?? this.get(rt, ctx.namespace, name);
    if (
      im.resourceVersion !== undefined &&
      im.resourceVersion !== "" &&
      im.resourceVersion !== cur.metadata!.resourceVersion
    ) {
      throw conflict(rt, name);
    }
    if ((im.resourceVersion === undefined || im.resourceVersion === "") && (rt.crd || lease)) {
      throw invalid(rt, name, [
        {
          reason: "FieldValueInvalid",
          message: "Invalid value: 0x0: must be specified for an update",
          field: "metadata.resourceVersion",
        },
      ]);
    }
    return this.commitUpdate(ctx, cur, incoming, subresource);
  }

  /** Applies the update rules to `incoming` (already merged with `cur` for patches) and commits it. */
  commitUpdate(reqCtx: WriteContext, cur: KubeObject, incoming: KubeObject, subresource?: string): KubeObject {
    const { ctx, obj: decoded } = this.toStorage(reqCtx, this.decodeBuiltin(reqCtx, incoming));
    const { rt } = ctx;
    let next = subresource === "status" ? statusUpdate(cur, decoded) : mainUpdate(rt, ctx.version, cur, decoded);
    if (subresource !== "status") applyBuiltinDefaults(rt, next);
    checkNoNewFinalizers(rt, cur, next);
    if (subresource !== "status" && rt.group === "" && rt.kind === "Pod") checkPodSpecUpdate(rt, cur, next);
    if (subresource !== "status") checkImmutableFields(rt, cur, next);
    this.validateMetadata(rt, next);
    next = this.validate(ctx, next, cur, subresource === "status" ? "status" : undefined);
    // After defaulting, as upstream: removing a field that defaults back to the same value is no spec change.
    if (rt.tracksGeneration) meta(next).generation = nextGeneration(rt, ctx.version, cur, next);
    next = this.withManagedFields(ctx, next, cur, subresource);
    meta(next).resourceVersion = cur.metadata!.resourceVersion;
    if (deepEqual(next, cur)) return cur;
    if (ctx.dryRun) return next;
    const rv = this.store.nextRv();
    meta(next).resourceVersion = String(rv);
    const ev =
      cur.metadata!.deletionTimestamp && deletionComplete(rt, next)
        ? this.store.remove(storageKey(rt), keyOf(cur), next, rv)!
        : this.store.put(storageKey(rt), keyOf(cur), next, rv);
    this.emit({ verb: ctx.verb ?? "update", rt, event: ev, origin: ctx.origin });
    return next;
  }

  /** DELETE: sets deletionTimestamp while finalizers (or a pod's grace period) remain, else removes the object. */
  delete(ctx: WriteContext, name: string, opts: DeleteOptions): DeleteResult {
    const { rt } = ctx;
    const cur = this.get(rt, ctx.namespace, name);
    if (rt.group === "" && rt.plural === "namespaces" && IMMORTAL_NAMESPACES.has(name)) {
      throw forbidden(rt, name, `namespaces "${name}" is forbidden: this namespace may not be deleted`);
    }
    checkDeletePreconditions(rt, cur, opts.preconditions);
    const grace = podGracePeriodSeconds(rt, cur, opts.gracePeriodSeconds);
    if (cur.metadata!.deletionTimestamp) {
      const shortened =
        grace !== undefined && grace < ((cur.metadata!.deletionGracePeriodSeconds as number | undefined) ?? 0);
      if (!shortened || opts.dryRun) return { object: cur, deleted: false };
      return { object: this.shortenGrace(ctx, cur, grace), deleted: false };
    }
    const finalizers = finalizersForDelete(cur, opts.propagationPolicy);
    const isNamespace = rt.group === "" && rt.plural === "namespaces";
    const nsFinalizers = isNamespace ? ((cur.spec?.finalizers as string[] | undefined) ?? []) : [];
    if (finalizers.length > 0 || nsFinalizers.length > 0 || (grace ?? 0) > 0) {
      return {
        object: this.markDeleting(ctx, cur, { finalizers, graceSeconds: grace ?? 0, dryRun: opts.dryRun }),
        deleted: false,
      };
    }
    if (opts.dryRun) return { object: cur, deleted: true };
    return { object: this.removeNow(ctx, cur), deleted: true };
  }

  /** Sets deletionTimestamp (+ grace period, finalizers; namespaces go Terminating) and commits it. */
  private markDeleting(
    ctx: WriteContext,
    cur: KubeObject,
    d: { finalizers: string[]; graceSeconds: number; dryRun?: boolean },
  ): KubeObject {
    const next = clone(cur);
    const nm = meta(next);
    // Graceful pod deletion: deletionTimestamp is when the grace period ends, as upstream sets it.
    nm.deletionTimestamp = new Date(Date.now() + d.graceSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    nm.deletionGracePeriodSeconds = d.graceSeconds;
    if (d.finalizers.length > 0) nm.finalizers = d.finalizers;
    if (ctx.rt.group === "" && ctx.rt.plural === "namespaces")
      next.status = { ...(next.status ?? {}), phase: "Terminating" };
    if (d.dryRun) return next;
    const rv = this.store.nextRv();
    nm.resourceVersion = String(rv);
    const ev = this.store.put(storageKey(ctx.rt), keyOf(cur), next, rv);
    this.emit({ verb: ctx.verb ?? "delete", rt: ctx.rt, event: ev, origin: ctx.origin });
    return next;
  }

  /** Commits `next` as is (controllers' writes that bypass update rules, e.g. namespace finalize). */
  commitRaw(ctx: WriteContext, cur: KubeObject, next: KubeObject): KubeObject {
    const rv = this.store.nextRv();
    const out: KubeObject = { ...next, metadata: { ...next.metadata, resourceVersion: String(rv) } };
    const ev = this.store.put(storageKey(ctx.rt), keyOf(cur), out, rv);
    this.emit({ verb: ctx.verb ?? "update", rt: ctx.rt, event: ev, origin: ctx.origin });
    return out;
  }

  /** A second DELETE with a shorter grace period (e.g. 0: force) on a terminating pod. */
  private shortenGrace(ctx: WriteContext, cur: KubeObject, grace: number): KubeObject {
    const fins = (cur.metadata?.finalizers as string[] | undefined) ?? [];
    if (grace === 0 && fins.length === 0) return this.removeNow(ctx, cur);
    return this.commitRaw(ctx, cur, { ...cur, metadata: { ...cur.metadata, deletionGracePeriodSeconds: grace } });
  }

  /** Removes an object immediately (no finalizers left). */
  removeNow(ctx: WriteContext, cur: KubeObject): KubeObject {
    const rv = this.store.nextRv();
    const finalObj: KubeObject = { ...cur, metadata: { ...cur.metadata, resourceVersion: String(rv) } };
    const ev = this.store.remove(storageKey(ctx.rt), keyOf(cur), finalObj, rv);
    if (ev) this.emit({ verb: ctx.verb ?? "delete", rt: ctx.rt, event: ev, origin: ctx.origin });
    return finalObj;
  }

  /** Namespaced creates need an existing namespace that is not terminating. */
  requireLiveNamespace(rt: ResourceType, namespace: string, name: string): void {
    const nsType = this.registry.byGroupPlural("", "namespaces")!;
    const ns = this.tryGet(nsType, undefined, namespace);
    if (!ns) throw notFound(nsType, namespace);
    if (ns.metadata?.deletionTimestamp) {
      throw forbidden(
        rt,
        name,
        `${rt.group ? `${rt.plural}.${rt.group}` : rt.plural} "${name}" is forbidden: ${TERMINATING_MESSAGE(namespace)}`,
        [{ reason: "NamespaceTerminating", message: TERMINATING_MESSAGE(namespace), field: "metadata.namespace" }],
      );
    }
  }

  /** A write through a resource stored as another (events.k8s.io/v1 Events) continues in the stored form and type. */
  private toStorage(ctx: WriteContext, obj: KubeObject): { ctx: WriteContext; obj: KubeObject } {
    const via = ctx.rt.storedAs;
    const target = via && this.registry.byGroupPlural(via.group, via.plural);
    if (!via || !target) return { ctx, obj };
    const requestGroupVersion = groupVersion(ctx.rt.group, ctx.version);
    return {
      ctx: { ...ctx, rt: target, version: target.versions[0]!.name, requestGroupVersion },
      obj: via.toStored(obj),
    };
  }

  private emit(w: CommittedWrite): void {
    for (const l of this.listeners) l(w);
  }

  /** Common body checks: a JSON object whose apiVersion/kind/namespace agree with the URL. */
  private checkBody(ctx: WriteContext, body: unknown): KubeObject {
    if (!isObject(body)) throw badRequest("the body of the request must be a JSON object");
    const obj = (ctx.ownedBody ? body : clone(body)) as KubeObject;
    const { rt } = ctx;
    const gv = groupVersion(rt.group, ctx.version);
    if (obj.kind !== undefined && obj.kind !== rt.kind) {
      throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${rt.kind})`);
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== gv) {
      throw badRequest(
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${gv})`,
      );
    }
    obj.apiVersion = gv;
    obj.kind = rt.kind;
    const m = meta(obj);
    if (rt.namespaced && m.namespace !== undefined && m.namespace !== "" && m.namespace !== ctx.namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    return obj;
  }

  /**
   * A built-in object as the typed decoder reads it: wrong JSON types and bad base64 are 400 (nothing stored), unknown
   * fields are dropped (a `Warning` each, 400 under `fieldValidation=Strict`), quantities and times canonical, and a
   * Secret's write-only `stringData` merged into `data`.
   */
  private decodeBuiltin(ctx: WriteContext, obj: KubeObject): KubeObject {
    const { rt } = ctx;
    if (rt.crd) return obj;
    const r = decodeBuiltinObject(obj, groupVersion(rt.group, ctx.version), rt.kind);
    if (!r) return obj;
    const unknown = r.unknownFields.map((f) => `unknown field "${f}"`);
    if (unknown.length > 0 && ctx.fieldValidation === "Strict")
      throw badRequest(`strict decoding error: ${unknown.join(", ")}`);
    if (unknown.length > 0 && ctx.fieldValidation !== "Ignore") ctx.warnings?.push(...unknown);
    const out = r.object as KubeObject;
    if (rt.group === "" && rt.kind === "Secret") mergeStringData(out);
    return out;
  }

  private validateMetadata(rt: ResourceType, obj: KubeObject): void {
    const m = meta(obj);
    const name = m.name as string | undefined;
    if (!name) {
      throw invalid(rt, "", [
        {
          reason: "FieldValueRequired",
          message: "Required value: name or generateName is required",
          field: "metadata.name",
        },
      ]);
    }
    const err = nameError(rt, name);
    if (err)
      throw invalid(rt, name, [
        { reason: "FieldValueInvalid", message: `Invalid value: "${name}": ${err}`, field: "metadata.name" },
      ]);
    const causes = validateLabelsAndAnnotations(m);
    if (causes.length > 0) throw invalid(rt, name, causes);
  }

  private validate(
    ctx: WriteContext,
    obj: KubeObject,
    old: KubeObject | undefined,
    subresource: "status" | undefined,
  ): KubeObject {
    const { rt } = ctx;
    if (rt.crd && this.validateCustom) {
      const r = this.validateCustom({
        crd: rt.crd,
        version: ctx.version,
        object: obj,
        oldObject: old,
        subresource,
        fieldValidation: ctx.fieldValidation,
      });
      if (r.badRequestMessage) throw badRequest(r.badRequestMessage);
      if (r.warnings && ctx.warnings) ctx.warnings.push(...r.warnings);
      if (r.causes.length > 0) {
        const err = invalid(rt, meta(obj).name as string, r.causes);
        if (!r.message) throw err;
        throw new ApiError(422, "Invalid", r.message, err.status.details);
      }
      return r.object;
    }
    const causes = validateBuiltin(rt, obj);
    if (rt.group === "" && rt.kind === "Event")
      causes.push(...validateEvent(obj, old, ctx.requestGroupVersion ?? "v1"));
    if (causes.length > 0) throw invalid(rt, meta(obj).name as string, causes);
    return obj;
  }

  private withManagedFields(
    ctx: WriteContext,
    obj: KubeObject,
    old: KubeObject | undefined,
    subresource: string | undefined,
  ): KubeObject {
    // An apply's managedFields come from serverSideApply; writes without a manager record nothing.
    if (!this.updateManagedFields || ctx.managedFieldsDone || ctx.fieldManager === undefined) return obj;
    const manager = ctx.fieldManager;
    return this.updateManagedFields({
      rt: ctx.rt,
      version: ctx.version,
      manager,
      operation: "Update",
      oldObject: old,
      newObject: obj,
      subresource,
    });
  }
}

/** Server-set metadata (uid, timestamps, generation), status reset and defaults of a new object. */
function initNewObject(rt: ResourceType, version: string, obj: KubeObject): void {
  const m = meta(obj);
  for (const k of [
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
  ])
    delete m[k];
  m.uid = randomUUID();
  m.creationTimestamp = nowTimestamp();
  if (rt.tracksGeneration) m.generation = 1;
  if (rt.resetStatusOnCreate || (rt.crd && hasStatusSubresource(rt, version))) {
    const s = initialStatus(rt);
    if (s === undefined) delete obj.status;
    else obj.status = s;
  }
  prepareCreate(rt, obj);
  applyBuiltinDefaults(rt, obj);
  if (rt.group === "" && rt.kind === "Pod") obj.status = { ...(obj.status ?? {}), qosClass: podQosClass(obj.spec) };
}

const POD_UPDATE_FORBIDDEN =
  "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/** A pod's spec is immutable except container images, activeDeadlineSeconds, added tolerations and removed scheduling gates. */
function checkPodSpecUpdate(rt: ResourceType, cur: KubeObject, next: KubeObject): void {
  const oldSpec = (cur.spec ?? {}) as Record<string, any>;
  const newSpec = clone((next.spec ?? {}) as Record<string, any>);
  for (const list of ["containers", "initContainers"]) {
    const olds = (oldSpec[list] as Record<string, any>[] | undefined) ?? [];
    const news = (newSpec[list] as Record<string, any>[] | undefined) ?? [];
    if (olds.length === news.length) news.forEach((c, i) => (c.image = olds[i]!.image));
  }
  const oldTolerations = (oldSpec.tolerations as unknown[] | undefined) ?? [];
  const newTolerations = (newSpec.tolerations as unknown[] | undefined) ?? [];
  if (oldTolerations.every((t) => newTolerations.some((n) => deepEqual(n, t))))
    newSpec.tolerations = oldSpec.tolerations;
  const oldGates = (oldSpec.schedulingGates as unknown[] | undefined) ?? [];
  if (((newSpec.schedulingGates as unknown[] | undefined) ?? []).every((g) => oldGates.some((o) => deepEqual(o, g))))
    newSpec.schedulingGates = oldSpec.schedulingGates;
  newSpec.activeDeadlineSeconds = oldSpec.activeDeadlineSeconds;
  if (deepEqual(oldSpec, newSpec)) return;
  throw invalid(rt, cur.metadata?.name as string, [
    { reason: "FieldValueForbidden", message: POD_UPDATE_FORBIDDEN, field: "spec" },
  ]);
}

/** Fields upstream's update validation treats as immutable, per kind: [path, message]. */
const IMMUTABLE_FIELDS: Record<string, string[]> = {
  "apps/Deployment": ["spec.selector"],
  "apps/ReplicaSet": ["spec.selector"],
  "apps/DaemonSet": ["spec.selector"],
  "apps/StatefulSet": ["spec.selector", "spec.serviceName", "spec.volumeClaimTemplates", "spec.podManagementPolicy"],
  "batch/Job": ["spec.selector", "spec.completionMode"],
  "/Service": ["spec.clusterIP"],
};

function valueAt(obj: KubeObject, path: string): unknown {
  let cur: any = obj;
  for (const seg of path.split(".")) cur = cur?.[seg];
  return cur;
}

/** 422 `field is immutable` for selectors and the like, and for data of ConfigMaps/Secrets marked immutable. */
function checkImmutableFields(rt: ResourceType, cur: KubeObject, next: KubeObject): void {
  if (rt.crd) return;
  const name = cur.metadata?.name as string;
  const causes: StatusCause[] = [];
  for (const path of IMMUTABLE_FIELDS[`${rt.group}/${rt.kind}`] ?? []) {
    const before = valueAt(cur, path);
    if (before !== undefined && !deepEqual(before, valueAt(next, path))) {
      causes.push({
        reason: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(valueAt(next, path))}: field is immutable`,
        field: path,
      });
    }
  }
  if (rt.group === "batch" && rt.kind === "Job") causes.push(...jobTemplateUpdateCauses(cur, next, deepEqual));
  if (rt.group === "" && (rt.kind === "ConfigMap" || rt.kind === "Secret") && cur.immutable === true) {
    for (const field of ["data", "binaryData", "stringData", "immutable"]) {
      if (!deepEqual(cur[field], next[field]))
        causes.push({
          reason: "FieldValueForbidden",
          message: "Forbidden: field is immutable when `immutable` is set",
          field,
        });
    }
  }
  if (causes.length > 0) throw invalid(rt, name, causes);
}

/** Upstream refuses new finalizers on an object that is being deleted (422). */
function checkNoNewFinalizers(rt: ResourceType, cur: KubeObject, next: KubeObject): void {
  if (!cur.metadata?.deletionTimestamp) return;
  const had = new Set<string>((cur.metadata.finalizers as string[] | undefined) ?? []);
  const added = ((next.metadata?.finalizers as string[] | undefined) ?? []).filter((f) => !had.has(f));
  if (added.length === 0) return;
  throw invalid(rt, cur.metadata.name as string, [
    {
      reason: "FieldValueForbidden",
      message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
      field: "metadata.finalizers",
    },
  ]);
}

/** generation + 1 when anything outside metadata (and status, when it is a subresource or a built-in) changed. */
function nextGeneration(rt: ResourceType, version: string, cur: KubeObject, next: KubeObject): number {
  const withoutStatus = hasStatusSubresource(rt, version) || !rt.crd;
  const changed = !deepEqual(specPart(cur, withoutStatus), specPart(next, withoutStatus));
  return ((cur.metadata?.generation as number | undefined) ?? 1) + (changed ? 1 : 0);
}

/** A deleting object goes once no finalizers (namespaces: also spec.finalizers) and no grace period remain. */
function deletionComplete(rt: ResourceType, next: KubeObject): boolean {
  const isNamespace = rt.group === "" && rt.plural === "namespaces";
  const finalizersGone =
    ((next.metadata?.finalizers as string[] | undefined) ?? []).length === 0 &&
    (!isNamespace || ((next.spec?.finalizers as string[] | undefined) ?? []).length === 0);
  return finalizersGone && ((next.metadata?.deletionGracePeriodSeconds as number | undefined) ?? 0) === 0;
}

/** DeleteOptions.preconditions: uid and resourceVersion must match (409 otherwise). */
function checkDeletePreconditions(rt: ResourceType, cur: KubeObject, pre: DeleteOptions["preconditions"]): void {
  const cm = cur.metadata!;
  const name = cm.name as string;
  if (pre?.uid && pre.uid !== cm.uid) {
    throw conflict(
      rt,
      name,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(cm.uid)}`,
    );
  }
  if (pre?.resourceVersion && pre.resourceVersion !== cm.resourceVersion) {
    throw conflict(
      rt,
      name,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(cm.resourceVersion)}`,
    );
  }
}

/** The object's finalizers plus the one its propagation policy needs (foregroundDeletion / orphan). */
function finalizersForDelete(cur: KubeObject, policy: DeleteOptions["propagationPolicy"]): string[] {
  const finalizers = [...((cur.metadata?.finalizers as string[] | undefined) ?? [])];
  if (policy === "Foreground" && !finalizers.includes("foregroundDeletion")) finalizers.push("foregroundDeletion");
  if (policy === "Orphan" && !finalizers.includes("orphan")) finalizers.push("orphan");
  return finalizers;
}

/**
 * The grace period of a pod deletion (undefined for other kinds): unscheduled and finished pods go at once, as
 * upstream's pod strategy decides; otherwise the request's gracePeriodSeconds or the pod's own (default 30).
 */
function podGracePeriodSeconds(rt: ResourceType, pod: KubeObject, requested: number | undefined): number | undefined {
  if (!(rt.group === "" && rt.kind === "Pod")) return undefined;
  if (!pod.spec?.nodeName) return 0;
  const phase = pod.status?.phase as string | undefined;
  if (phase === "Succeeded" || phase === "Failed") return 0;
  if (requested !== undefined && requested >= 0) return requested;
  const own = pod.spec?.terminationGracePeriodSeconds as number | undefined;
  return own !== undefined && own >= 0 ? own : 30;
}

/** The store key (`namespace/name`) of an object. */
export function keyOf(obj: KubeObject): string {
  return objectKey(obj.metadata?.namespace as string | undefined, obj.metadata?.name as string);
}

function nameError(rt: ResourceType, name: string): string | undefined {
  if (rt.group === "" && rt.plural === "namespaces") return dns1123LabelError(name);
  if (rt.group === "rbac.authorization.k8s.io") return pathSegmentError(name);
  return dns1123SubdomainError(name);
}

/** Upstream's IsValidLabelValue: one cause per rule broken, as a real API server lists them. */
function labelValueCauses(v: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const invalid = (why: string): StatusCause => ({
    reason: "FieldValueInvalid",
    message: `Invalid value: "${v}": ${why}`,
    field: "metadata.labels",
  });
  if (v.length > 63) causes.push(invalid("must be no more than 63 characters"));
  if (!/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v))
    causes.push(
      invalid(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
      ),
    );
  return causes;
}

function validateLabelsAndAnnotations(m: Record<string, any>): StatusCause[] {
  const causes: StatusCause[] = [];
  const labels = m.labels as Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (typeof v !== "string") {
      causes.push({
        reason: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(v)}: label values must be strings`,
        field: `metadata.labels`,
      });
    } else {
      causes.push(...labelValueCauses(v));
    }
    if (!/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(k)) {
      causes.push({
        reason: "FieldValueInvalid",
        message: `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
        field: "metadata.labels",
      });
    }
  }
  const annotations = Object.entries((m.annotations as Record<string, unknown> | undefined) ?? {});
  for (const [k, v] of annotations) {
    if (typeof v !== "string")
      causes.push({
        reason: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(v)}: annotation values must be strings`,
        field: `metadata.annotations.${k}`,
      });
  }
  const bytes = annotations.reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(String(v)), 0);
  if (bytes > MAX_ANNOTATION_BYTES)
    causes.push({
      reason: "FieldValueTooLong",
      message: `Too long: may not be more than ${MAX_ANNOTATION_BYTES} bytes`,
      field: "metadata.annotations",
    });
  return causes;
}

/** Upstream's limit on an object's annotations, keys and values together (TotalAnnotationSizeLimitB). */
const MAX_ANNOTATION_BYTES = 256 * 1024;

/** Light validation of built-in objects: the fields whose absence the real server rejects and our code relies on. */
function validateBuiltin(rt: ResourceType, obj: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  if (rt.group === "" && rt.kind === "Pod") {
    const containers = obj.spec?.containers as unknown;
    if (!Array.isArray(containers) || containers.length === 0) {
      causes.push({ reason: "FieldValueRequired", message: "Required value", field: "spec.containers" });
    } else {
      containers.forEach((c: any, i: number) => {
        if (!c?.name)
          causes.push({ reason: "FieldValueRequired", message: "Required value", field: `spec.containers[${i}].name` });
        if (!c?.image)
          causes.push({
            reason: "FieldValueRequired",
            message: "Required value",
            field: `spec.containers[${i}].image`,
          });
      });
    }
  }
  if (
    rt.group === "apps" &&
    obj.spec?.replicas !== undefined &&
    (typeof obj.spec.replicas !== "number" || obj.spec.replicas < 0 || !Number.isInteger(obj.spec.replicas))
  ) {
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(obj.spec.replicas)}: must be greater than or equal to 0`,
      field: "spec.replicas",
    });
  }
  if (rt.group === "apiextensions.k8s.io") causes.push(...validateCrd(obj));
  causes.push(...workloadSelectorCauses(rt, obj));
  if (rt.group === "" && (rt.kind === "ConfigMap" || rt.kind === "Secret")) causes.push(...validateDataSize(rt, obj));
  if (
    rt.group === "coordination.k8s.io" &&
    obj.spec?.leaseDurationSeconds !== undefined &&
    !(Number(obj.spec.leaseDurationSeconds) > 0)
  ) {
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(obj.spec.leaseDurationSeconds)}: must be greater than 0`,
      field: "spec.leaseDurationSeconds",
    });
  }
  return causes;
}

/** Upstream's limit on a ConfigMap's or Secret's values together (core.MaxSecretSize). */
const MAX_DATA_BYTES = 1024 * 1024;

/**
 * ValidateConfigMap / ValidateSecret: the values of data (and binaryData, decoded) together at most 1 MiB, in the
 * words of Kubernetes 1.32 and later (a Secret's stringData is merged into its data before validation).
 */
function validateDataSize(rt: ResourceType, obj: KubeObject): StatusCause[] {
  const text = (v: unknown): number => (typeof v === "string" ? Buffer.byteLength(v, "utf8") : 0);
  const binary = (v: unknown): number => (typeof v === "string" ? Buffer.from(v, "base64").length : 0);
  const values = (m: unknown, size: (v: unknown) => number): number =>
    m && typeof m === "object" ? Object.values(m).reduce((n: number, v) => n + size(v), 0) : 0;
  const total =
    rt.kind === "ConfigMap" ? values(obj.data, text) + values(obj.binaryData, binary) : values(obj.data, binary);
  if (total <= MAX_DATA_BYTES) return [];
  const message = `Too long: may not be more than ${MAX_DATA_BYTES} bytes`;
  // the ConfigMap's error is of the whole object: upstream prints its (empty) path as `[]`
  return [{ reason: "FieldValueTooLong", message, field: rt.kind === "ConfigMap" ? "[]" : "data" }];
}

/** The structural checks of a CRD that the real apiextensions-apiserver rejects with 422. */
function validateCrd(obj: KubeObject): StatusCause[] {
  const spec = (obj.spec ?? {}) as Record<string, any>;
  const names = (spec.names ?? {}) as Record<string, any>;
  const causes: StatusCause[] = [];
  for (const [field, value] of [
    ["spec.group", spec.group],
    ["spec.names.plural", names.plural],
    ["spec.names.kind", names.kind],
  ] as const) {
    if (!value) causes.push({ reason: "FieldValueRequired", message: "Required value", field });
  }
  if (spec.scope !== "Namespaced" && spec.scope !== "Cluster") {
    causes.push({
      reason: "FieldValueNotSupported",
      message: `Unsupported value: ${JSON.stringify(spec.scope ?? "")}: supported values: "Cluster", "Namespaced"`,
      field: "spec.scope",
    });
  }
  causes.push(...validateCrdVersions(spec.versions), ...crdSchemaCauses(spec.versions));
  const expected = `${String(names.plural ?? "")}.${String(spec.group ?? "")}`;
  if (spec.group && names.plural && obj.metadata?.name !== expected) {
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: "${String(obj.metadata?.name)}": must be spec.names.plural+"."+spec.group`,
      field: "metadata.name",
    });
  }
  return causes;
}

function validateCrdVersions(versions: unknown): StatusCause[] {
  if (!Array.isArray(versions) || versions.length === 0)
    return [{ reason: "FieldValueRequired", message: "Required value", field: "spec.versions" }];
  if ((versions as { storage?: boolean }[]).filter((v) => v.storage).length !== 1) {
    return [
      {
        reason: "FieldValueInvalid",
        message: "Invalid value: must have exactly one version marked as storage version",
        field: "spec.versions",
      },
    ];
  }
  return [];
}

/** Kind-specific defaults on create. */
function prepareCreate(rt: ResourceType, obj: KubeObject): void {
  const m = meta(obj);
  if (rt.group === "" && rt.plural === "namespaces") {
    obj.spec = { ...(obj.spec ?? {}), finalizers: ["kubernetes"] };
    m.labels = { ...(m.labels ?? {}), "kubernetes.io/metadata.name": m.name };
  }
  if (rt.group === "apiextensions.k8s.io" && rt.plural === "customresourcedefinitions") {
    const f = (m.finalizers as string[] | undefined) ?? [];
    if (!f.includes("customresourcecleanup.apiextensions.k8s.io"))
      m.finalizers = [...f, "customresourcecleanup.apiextensions.k8s.io"];
  }
  if (rt.group === "batch" && rt.kind === "Job") generateJobSelector(rt, obj);
}

/**
 * A Job without `manualSelector: true` gets kube-apiserver's generated selector on create: its pods' template labels
 * name the Job (uid and name, new and legacy keys) and the selector matches its uid, so `kubectl logs job/…` and
 * label queries find exactly its pods. A selector of its own must then select that uid (else 422, as upstream).
 */
function generateJobSelector(rt: ResourceType, obj: KubeObject): void {
  const spec = (obj.spec ?? {}) as Record<string, any>;
  if (spec.manualSelector === true || !isObject(spec.template)) return;
  const { name, uid } = meta(obj) as { name: string; uid: string };
  const template = spec.template as Record<string, any>;
  template.metadata = isObject(template.metadata) ? template.metadata : {};
  const labels = (template.metadata.labels = isObject(template.metadata.labels) ? template.metadata.labels : {});
  for (const [key, value] of Object.entries(JOB_LABELS(name, uid))) if (labels[key] === undefined) labels[key] = value;
  spec.selector = isObject(spec.selector) ? spec.selector : {};
  spec.selector.matchLabels = isObject(spec.selector.matchLabels) ? spec.selector.matchLabels : {};
  const selected = (spec.selector.matchLabels[JOB_UID_LABEL] ??= uid);
  if (selected !== uid || labels[JOB_UID_LABEL] !== uid)
    throw invalid(rt, name, [
      {
        reason: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(spec.selector)}: \`selector\` not auto-generated`,
        field: "spec.selector",
      },
    ]);
  obj.spec = spec;
}

const JOB_UID_LABEL = "batch.kubernetes.io/controller-uid";
const JOB_LABELS = (name: string, uid: string): Record<string, string> => ({
  [JOB_UID_LABEL]: uid,
  "batch.kubernetes.io/job-name": name,
  "controller-uid": uid,
  "job-name": name,
});

/** Main-resource update: identity and lifecycle metadata come from the stored object; status too when it has a subresource. */
function mainUpdate(rt: ResourceType, version: string, cur: KubeObject, incoming: KubeObject): KubeObject {
  const next = incoming;
  const nm = meta(next);
  const cm = cur.metadata!;
  for (const k of [
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "namespace",
    "generateName",
  ]) {
    if (cm[k] === undefined) delete nm[k];
    else nm[k] = cm[k];
  }
  if (nm.managedFields === undefined && cm.managedFields !== undefined) nm.managedFields = cm.managedFields;
  if (hasStatusSubresource(rt, version)) {
    if (cur.status === undefined) delete next.status;
    else next.status = cur.status;
  }
  if (rt.group === "" && rt.plural === "namespaces") {
    next.spec = cur.spec;
    nm.labels = { ...(nm.labels ?? {}), "kubernetes.io/metadata.name": cm.name };
  }
  return next;
}

/** Status update: only `status` (and managedFields) change. */
function statusUpdate(cur: KubeObject, incoming: KubeObject): KubeObject {
  const next = clone(cur);
  if (incoming.status === undefined) delete next.status;
  else next.status = incoming.status;
  const im = incoming.metadata;
  if (im?.managedFields !== undefined) meta(next).managedFields = im.managedFields;
  return next;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv, start })).toString("base64");
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as { rv?: unknown; start?: unknown };
    if (typeof parsed.rv === "number" && typeof parsed.start === "string")
      return { rv: parsed.rv, start: parsed.start };
  } catch {
    // fall through to the error below
  }
  throw badRequest("invalid continue token");
}

export { ApiError };

/** Secret `stringData` is write-only: its values replace the same keys of `data` (base64) and it is never stored. */
function mergeStringData(secret: KubeObject): void {
  const stringData = secret.stringData as Record<string, string> | undefined;
  delete secret.stringData;
  if (!stringData) return;
  const data = { ...((secret.data as Record<string, string> | undefined) ?? {}) };
  for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(v, "utf8").toString("base64");
  secret.data = data;
}
