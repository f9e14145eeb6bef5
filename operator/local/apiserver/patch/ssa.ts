// Server-side apply and managedFields bookkeeping (structured-merge-diff semantics, fieldsV1 encoding).
import { isPlainObject } from "../schema/types.js";
import { ApiError } from "../status.js";
import {
  canonicalJson,
  fieldSetOf,
  fromFieldsV1,
  isPrefix,
  keyElement,
  keyPath,
  pathKey,
  pathString,
  removeAt,
  toFieldsV1,
  valueAt,
  type FieldPath,
} from "./fieldpath.js";
import type { TypeInfo } from "./typeinfo.js";

type Obj = Record<string, any>;

/** metav1.ManagedFieldsEntry. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fieldsType: "FieldsV1";
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** Which fields a write may touch: the main resource ignores `status` when a status subresource exists. */
export interface WriteScope {
  /** "status" for writes through the /status subresource. */
  subresource?: string;
  /** Whether the resource has a status subresource (then the main resource never owns status). */
  statusSubresource: boolean;
}

/** metadata fields the field manager never tracks (fieldmanager's stripMeta), plus status/spec per subresource. */
const untrackedMeta = [
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "managedFields",
  "selfLink",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
];

/**
 * The part of an object whose fields are tracked for this write scope: new top-level and metadata maps, the values
 * below shared with `obj` (callers only read it; copying whole objects here was a large part of every apply).
 */
export function trackedPart(obj: Obj | undefined, scope: WriteScope): Obj {
  if (!obj) return {};
  if (scope.subresource === "status") return obj.status === undefined ? {} : { status: obj.status };
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  if (isPlainObject(rest.metadata)) {
    const metadata: Obj = { ...rest.metadata };
    for (const f of untrackedMeta) delete metadata[f];
    if (Object.keys(metadata).length === 0) delete rest.metadata;
    else rest.metadata = metadata;
  }
  if (scope.statusSubresource) delete rest.status;
  return rest;
}

interface Manager {
  entry: Omit<ManagedFieldsEntry, "fieldsV1" | "fieldsType">;
  set: Set<string>;
}

function managersOf(obj: Obj | undefined): Manager[] {
  const entries = (obj?.metadata?.managedFields ?? []) as ManagedFieldsEntry[];
  return entries.map(({ fieldsV1, fieldsType: _t, ...entry }) => ({ entry, set: fromFieldsV1(fieldsV1) }));
}

function sameIdentity(a: Manager["entry"], b: Manager["entry"]): boolean {
  return a.manager === b.manager && a.operation === b.operation && (a.subresource ?? "") === (b.subresource ?? "");
}

function encode(managers: Manager[]): ManagedFieldsEntry[] {
  return managers
    .filter((m) => m.set.size > 0)
    .map((m) => {
      const { subresource, ...rest } = m.entry;
      const out: ManagedFieldsEntry = { ...rest, fieldsType: "FieldsV1", fieldsV1: toFieldsV1(m.set) };
      if (subresource) out.subresource = subresource;
      return out;
    });
}

/** Whether the value at `path` differs: leaves by value, list items and set members by existence. */
function changedAt(before: unknown, after: unknown, path: FieldPath): boolean {
  const last = path[path.length - 1] ?? "";
  const a = valueAt(before, path);
  const b = valueAt(after, path);
  if (last.startsWith("k:") || last.startsWith("v:")) return (a === undefined) !== (b === undefined);
  return canonicalJson(a) !== canonicalJson(b);
}

interface ListMerge {
  live: unknown[];
  applied: unknown[];
  liveIds: string[];
  appliedIds: string[];
  merge: (live: unknown, applied: unknown) => unknown;
}

/**
 * structured-merge-diff's list order (typed/merge.go visitListItems): applied items keep the applied order, live-only
 * items keep their place relative to the items around them, shared items are merged.
 */
function orderedMerge(m: ListMerge): unknown[] {
  const inApplied = new Set(m.appliedIds);
  const inLive = new Map(m.liveIds.map((id, i) => [id, i]));
  const shared = m.appliedIds.filter((id) => inLive.has(id));
  let nextShared = shared.shift();
  const merged = new Set<string>();
  const out: unknown[] = [];
  let l = 0;
  let r = 0;
  const takeApplied = (): void => {
    const id = m.appliedIds[r]!;
    const li = inLive.get(id);
    out.push(li === undefined ? structuredClone(m.applied[r]) : m.merge(m.live[li], m.applied[r]));
    merged.add(id);
    if (nextShared === id) nextShared = shared.shift();
    r++;
  };
  while (l < m.live.length || r < m.applied.length) {
    const lid = m.liveIds[l];
    const step = lid === undefined ? "applied" : listStep(lid, m.appliedIds[r], { inApplied, merged, nextShared });
    if (step === "skip") l++;
    else if (step === "live") {
      out.push(structuredClone(m.live[l]));
      l++;
    } else {
      if (step === "both") l++;
      takeApplied();
    }
  }
  return out;
}

/** One step of orderedMerge for the current live item `lid` against the current applied item `rid`. */
function listStep(
  lid: string,
  rid: string | undefined,
  s: { inApplied: Set<string>; merged: Set<string>; nextShared?: string },
): "both" | "skip" | "live" | "applied" {
  if (lid === rid) return "both";
  if (!s.inApplied.has(lid)) return "live";
  // A shared item waits until the applied order reaches it; already merged ones are skipped.
  if (s.merged.has(lid) || (rid !== undefined && s.nextShared !== undefined && s.nextShared !== lid)) return "skip";
  return "applied";
}

function mergeList(live: unknown[], applied: unknown[], typePath: string[], types: TypeInfo): unknown[] {
  const info = types.list(typePath);
  if (info.type === "atomic") return structuredClone(applied);
  const id = (item: unknown): string => (info.type === "set" ? canonicalJson(item) : keyElement(item, info.keys ?? []));
  return orderedMerge({
    live,
    applied,
    liveIds: live.map(id),
    appliedIds: applied.map(id),
    merge: (l, a) => (info.type === "map" ? mergeValue(l, a, [...typePath, "*"], types) : structuredClone(a)),
  });
}

/**
 * Applies a configuration onto a live value: maps merge, associative lists merge by key, sets union, else replace.
 * Neither input is changed and the result shares nothing with them; each live value is copied once (live keys keep
 * their order, new ones follow).
 */
export function mergeValue(live: unknown, applied: unknown, typePath: string[], types: TypeInfo): unknown {
  if (Array.isArray(applied) && Array.isArray(live)) return mergeList(live, applied, typePath, types);
  if (!isPlainObject(applied) || !isPlainObject(live) || types.atomicMap(typePath)) return structuredClone(applied);
  const out: Obj = { ...live };
  for (const k of Object.keys(out)) if (!Object.hasOwn(applied, k)) out[k] = structuredClone(out[k]);
  for (const [k, v] of Object.entries(applied)) {
    if (v === null) delete out[k];
    else out[k] = mergeValue(live[k], v, [...typePath, k], types);
  }
  return out;
}

/** A 409 with the apiserver's apply-conflict message and one FieldManagerConflict cause per field. */
export class ApplyConflictError extends ApiError {
  readonly conflicts: { manager: string; field: string }[];
  constructor(conflicts: { manager: Manager["entry"]; path: FieldPath }[]) {
    const printed = conflicts.map((c) => ({ manager: printManager(c.manager), field: pathString(c.path) }));
    super(409, "Conflict", conflictMessage(printed), {
      causes: printed.map((c) => ({
        reason: "FieldManagerConflict",
        message: `conflict with ${c.manager}`,
        field: c.field,
      })),
    });
    this.conflicts = conflicts.map((c) => ({ manager: c.manager.manager, field: pathString(c.path) }));
  }
}

function printManager(entry: Manager["entry"]): string {
  let s = JSON.stringify(entry.manager);
  if (entry.subresource) s += ` with subresource ${JSON.stringify(entry.subresource)}`;
  if (entry.operation === "Update") s += ` using ${entry.apiVersion}${entry.time ? ` at ${entry.time}` : ""}`;
  return s;
}

function conflictMessage(conflicts: { manager: string; field: string }[]): string {
  if (conflicts.length === 1)
    return `Apply failed with 1 conflict: conflict with ${conflicts[0]!.manager}: ${conflicts[0]!.field}`;
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.field]);
  const lines: string[] = [];
  for (const m of [...byManager.keys()].sort())
    lines.push(`conflicts with ${m}:`, ...byManager.get(m)!.map((f) => `- ${f}`));
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
}

export interface ServerSideApplyArgs extends WriteScope {
  /** The stored object, or undefined when the apply creates it. */
  live?: Obj;
  /** The applied configuration (the request body). */
  applied: Obj;
  manager: string;
  force: boolean;
  /** RFC 3339 time recorded in the manager's entry. */
  now: string;
  types: TypeInfo;
}

/** Every proper prefix of an applied path: the apply writes something below these. */
function appliedAncestors(appliedSet: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const k of appliedSet) {
    const path = keyPath(k);
    for (let n = 1; n < path.length; n++) out.add(pathKey(path.slice(0, n)));
  }
  return out;
}

interface ApplyReach {
  applied: Set<string>;
  ancestors: Set<string>;
}

/**
 * Whether the apply writes this owned field: it sets it, replaces a value above it as a whole, or writes below a
 * scalar (turning it into a map). Writing into a map or list someone else owns is not a conflict.
 */
function touchedByApply(reach: ApplyReach, key: string, live: unknown): boolean {
  if (reach.applied.has(key)) return true;
  const path = keyPath(key);
  for (let n = path.length - 1; n > 0; n--) if (reach.applied.has(pathKey(path.slice(0, n)))) return true;
  if (!reach.ancestors.has(key)) return false;
  const value = valueAt(live, path);
  return value === null || typeof value !== "object";
}

function findConflicts(
  args: ServerSideApplyArgs,
  others: Manager[],
  appliedSet: Set<string>,
  merged: Obj,
): { manager: Manager; path: FieldPath }[] {
  const out: { manager: Manager; path: FieldPath }[] = [];
  const reach: ApplyReach = { applied: appliedSet, ancestors: appliedAncestors(appliedSet) };
  for (const m of others) {
    for (const k of m.set) {
      if (touchedByApply(reach, k, args.live) && changedAt(args.live, merged, keyPath(k)))
        out.push({ manager: m, path: keyPath(k) });
    }
  }
  return out;
}

/** Removes fields the manager applied before and omits now, unless another manager owns them (or something below). */
function removeDropped(merged: Obj, previous: Set<string>, applied: Set<string>, others: Manager[]): void {
  // Owning a parent map (`"f:labels":{".":{}}`) does not protect its fields; owning the field or something inside does.
  const ownedByOthers = (path: FieldPath): boolean =>
    others.some((m) => [...m.set].some((k) => isPrefix(path, keyPath(k))));
  // A map/list the manager owned itself (e.g. `"f:clusterRef":{".":{}}` after kubectl's client-side-apply migration)
  // stays while the applied configuration still sets something inside it.
  const appliedPaths = [...applied].map(keyPath);
  const stillApplied = (path: FieldPath): boolean => appliedPaths.some((a) => isPrefix(path, a));
  const dropped = [...previous]
    .filter((k) => !applied.has(k))
    .map(keyPath)
    .filter((p) => !ownedByOthers(p) && !stillApplied(p));
  // Remove top-most paths only: a dropped list item takes its fields with it (they identify the item).
  const topMost = dropped.filter((p) => !dropped.some((q) => q.length < p.length && isPrefix(q, p)));
  topMost.sort((a, b) => b.length - a.length);
  for (const path of topMost) {
    removeAt(merged, path);
    pruneEmptyParents(merged, path, (p) => applied.has(pathKey(p)) || ownedByOthers(p));
  }
}

/** Drops maps and lists left empty by a removal unless someone owns them (or they are still applied). */
function pruneEmptyParents(obj: Obj, path: FieldPath, owned: (p: FieldPath) => boolean): void {
  for (let n = path.length - 1; n > 0; n--) {
    const parent = path.slice(0, n);
    const value = valueAt(obj, parent);
    const empty =
      (isPlainObject(value) && Object.keys(value).length === 0) || (Array.isArray(value) && value.length === 0);
    if (!parent[n - 1]!.startsWith("f:") || !empty || owned(parent)) return;
    removeAt(obj, parent);
  }
}

/** The manager entries of the live object; an object never written with a manager belongs to "before-first-apply". */
function liveManagers(args: ServerSideApplyArgs, apiVersion: string): Manager[] {
  const managers = managersOf(args.live);
  if (!args.live || managers.length > 0) return managers;
  const entry = { manager: "before-first-apply", operation: "Update" as const, apiVersion, time: args.now };
  return [
    { entry, set: fieldSetOf(trackedPart(args.live, { statusSubresource: args.statusSubresource }), args.types) },
  ];
}

function sameSets(a: Manager[], b: Manager[]): boolean {
  const key = (ms: Manager[]): string =>
    canonicalJson(
      ms
        .filter((m) => m.set.size > 0)
        .map((m) => [m.entry.manager, m.entry.operation, m.entry.subresource ?? "", [...m.set].sort()]),
    );
  return key(a) === key(b);
}

function withoutManagedFields(obj: Obj | undefined): unknown {
  if (!obj) return undefined;
  const { managedFields: _m, ...meta } = (obj.metadata ?? {}) as Obj;
  return { ...obj, metadata: meta };
}

function mergedObject(args: ServerSideApplyArgs, applied: Obj): Obj {
  const base: Obj = args.live ?? { apiVersion: args.applied.apiVersion, kind: args.applied.kind, metadata: {} };
  // mergeValue copies what it keeps: the stored object is never changed.
  const merged = mergeValue(base, applied, [], args.types) as Obj;
  if (!args.live) mergeIdentity(merged, args.applied);
  merged.apiVersion = args.applied.apiVersion ?? merged.apiVersion;
  return merged;
}

/**
 * Server-side apply: sets the applied fields, removes fields this manager applied before and omits now (unless
 * another manager owns them), and throws ApplyConflictError when another manager owns a field the apply changes
 * (unless `force`, which moves ownership). Returns the merged object with metadata.managedFields updated; a no-op
 * apply returns the live object untouched (same managedFields times), so it causes no write.
 */
export function serverSideApply(args: ServerSideApplyArgs): { object: Obj; managedFields: ManagedFieldsEntry[] } {
  const me = entryFor(args.manager, "Apply", args.applied, args);
  const managers = liveManagers(args, me.apiVersion);
  const original = managers.map((m) => ({ entry: m.entry, set: new Set(m.set) }));
  const tracked = trackedPart(args.applied, args);
  const appliedSet = fieldSetOf(tracked, args.types);
  const previous = managers.find((m) => sameIdentity(m.entry, me))?.set ?? new Set<string>();
  const others = managers.filter((m) => !sameIdentity(m.entry, me));
  const merged = mergedObject(args, tracked);

  const conflicts = findConflicts(args, others, appliedSet, merged);
  if (conflicts.length > 0 && !args.force)
    throw new ApplyConflictError(conflicts.map((c) => ({ manager: c.manager.entry, path: c.path })));
  for (const c of conflicts) c.manager.set.delete(pathKey(c.path));

  removeDropped(merged, previous, appliedSet, others);
  const updated = placeEntry(managers, { entry: me, set: appliedSet });
  if (isNoop(args.live, merged, () => sameSets(updated, original))) {
    return {
      object: structuredClone(args.live!),
      managedFields: args.live!.metadata!.managedFields as ManagedFieldsEntry[],
    };
  }
  const managedFields = encode(updated);
  merged.metadata = { ...(merged.metadata ?? {}), managedFields };
  return { object: merged, managedFields };
}

function entryFor(
  manager: string,
  operation: "Apply" | "Update",
  obj: Obj,
  scope: WriteScope & { now: string },
): Manager["entry"] {
  const entry: Manager["entry"] = { manager, operation, apiVersion: String(obj.apiVersion ?? ""), time: scope.now };
  if (scope.subresource) entry.subresource = scope.subresource;
  return entry;
}

/** Replaces the manager's entry in place (keeping the order of managedFields), or appends it. */
function placeEntry(managers: Manager[], mine: Manager): Manager[] {
  const i = managers.findIndex((m) => sameIdentity(m.entry, mine.entry));
  return i < 0 ? [...managers, mine] : managers.map((m, j) => (j === i ? mine : m));
}

/** Nothing changed: neither the object nor who owns what (upstream then keeps managedFields and its times). */
function isNoop(live: Obj | undefined, merged: Obj, setsUnchanged: () => boolean): boolean {
  // A create has no live entries to compare with.
  if (!live?.metadata?.managedFields || !setsUnchanged()) return false;
  return canonicalJson(withoutManagedFields(merged)) === canonicalJson(withoutManagedFields(live));
}

/** On create by apply, name/namespace/generateName come from the applied configuration. */
function mergeIdentity(merged: Obj, applied: Obj): void {
  merged.metadata ??= {};
  for (const f of ["name", "namespace", "generateName"])
    if (applied.metadata?.[f] !== undefined) merged.metadata[f] = applied.metadata[f];
}

export interface RecordUpdateArgs extends WriteScope {
  /** The stored object before the write (undefined on create). */
  before?: Obj;
  /** The object about to be stored. */
  after: Obj;
  manager: string;
  now: string;
  types: TypeInfo;
}

/** Fields the write added, or whose value it changed (maps and lists themselves count only when added). */
function touchedFields(before: Obj, after: Obj, types: TypeInfo): { touched: Set<string>; removed: string[] } {
  const setBefore = fieldSetOf(before, types, true);
  const setAfter = fieldSetOf(after, types, true);
  const leaves = fieldSetOf(after, types);
  const touched = new Set<string>();
  for (const k of setAfter)
    if (!setBefore.has(k) || (leaves.has(k) && changedAt(before, after, keyPath(k)))) touched.add(k);
  return { touched, removed: [...setBefore].filter((k) => !setAfter.has(k)) };
}

/** The entries to start from: the request's managedFields when the client changed them (that resets them), else the stored ones. */
function baseManagers(args: RecordUpdateArgs): Manager[] {
  const requested = args.after.metadata?.managedFields;
  const changedByClient =
    Array.isArray(requested) && canonicalJson(requested) !== canonicalJson(args.before?.metadata?.managedFields);
  return managersOf(changedByClient ? args.after : args.before);
}

/**
 * managedFields after a non-apply write (create, update, merge/JSON/strategic patch): the manager takes the fields
 * it added or changed, others lose the fields that changed or vanished (structured-merge-diff Update). A write that
 * takes no field leaves the manager's entry (and its time) alone, so no-op updates stay no-ops.
 */
export function recordUpdate(args: RecordUpdateArgs): ManagedFieldsEntry[] {
  const me = entryFor(args.manager, "Update", args.after, args);
  const { touched, removed } = touchedFields(trackedPart(args.before, args), trackedPart(args.after, args), args.types);
  const managers = baseManagers(args);
  const lost = [...touched, ...removed];
  for (const m of managers) for (const k of lost) m.set.delete(k);
  if (touched.size === 0) return encode(managers);
  const mine = managers.find((m) => sameIdentity(m.entry, me));
  return encode(placeEntry(managers, { entry: me, set: new Set([...(mine?.set ?? []), ...touched]) }));
}
