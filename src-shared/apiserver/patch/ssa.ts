// Server-side apply and managedFields bookkeeping (structured-merge-diff semantics, fieldsV1 encoding).
import { isPlainObject } from "../schema/types.js";
import { ApiError } from "../status.js";
import {
  canonicalJson, fieldSetOf, fromFieldsV1, isPrefix, keyElement, keyPath, pathKey, pathString, removeAt, toFieldsV1, valueAt,
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
const untrackedMeta = ["name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"];

/** The part of an object whose fields are tracked for this write scope (a copy). */
export function trackedPart(obj: Obj | undefined, scope: WriteScope): Obj {
  if (!obj) return {};
  if (scope.subresource === "status") return obj.status === undefined ? {} : { status: structuredClone(obj.status) };
  const { apiVersion: _a, kind: _k, ...rest } = structuredClone(obj);
  if (isPlainObject(rest.metadata)) {
    for (const f of untrackedMeta) delete rest.metadata[f];
    if (Object.keys(rest.metadata).length === 0) delete rest.metadata;
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

function mergeList(live: unknown[], applied: unknown[], typePath: string[], types: TypeInfo): unknown[] {
  const info = types.list(typePath);
  if (info.type === "atomic") return structuredClone(applied);
  const out = structuredClone(live);
  for (const item of applied) {
    const id = info.type === "set" ? canonicalJson(item) : keyElement(item, info.keys ?? []);
    const i = out.findIndex((o) => (info.type === "set" ? canonicalJson(o) : keyElement(o, info.keys ?? [])) === id);
    if (i < 0) out.push(structuredClone(item));
    else if (info.type === "map") out[i] = mergeValue(out[i], item, [...typePath, "*"], types);
  }
  return out;
}

/** Applies a configuration onto a live value: maps merge, associative lists merge by key, sets union, else replace. */
export function mergeValue(live: unknown, applied: unknown, typePath: string[], types: TypeInfo): unknown {
  if (Array.isArray(applied) && Array.isArray(live)) return mergeList(live, applied, typePath, types);
  if (!isPlainObject(applied) || !isPlainObject(live) || types.atomicMap(typePath)) return structuredClone(applied);
  const out: Obj = structuredClone(live);
  for (const [k, v] of Object.entries(applied)) {
    if (v === null) delete out[k];
    else out[k] = mergeValue(out[k], v, [...typePath, k], types);
  }
  return out;
}

/** A 409 with the apiserver's apply-conflict message and one FieldManagerConflict cause per field. */
export class ApplyConflictError extends ApiError {
  readonly conflicts: { manager: string; field: string }[];
  constructor(conflicts: { manager: Manager["entry"]; path: FieldPath }[]) {
    const printed = conflicts.map((c) => ({ manager: printManager(c.manager), field: pathString(c.path) }));
    super(409, "Conflict", conflictMessage(printed), {
      causes: printed.map((c) => ({ reason: "FieldManagerConflict", message: `conflict with ${c.manager}`, field: c.field })),
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
  if (conflicts.length === 1) return `Apply failed with 1 conflict: conflict with ${conflicts[0]!.manager}: ${conflicts[0]!.field}`;
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.field]);
  const lines: string[] = [];
  for (const m of [...byManager.keys()].sort()) lines.push(`conflicts with ${m}:`, ...byManager.get(m)!.map((f) => `- ${f}`));
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

function findConflicts(args: ServerSideApplyArgs, others: Manager[], appliedSet: Set<string>, merged: Obj): { manager: Manager; path: FieldPath }[] {
  const out: { manager: Manager; path: FieldPath }[] = [];
  for (const m of others) {
    for (const k of m.set) {
      if (appliedSet.has(k) && changedAt(args.live, merged, keyPath(k))) out.push({ manager: m, path: keyPath(k) });
    }
  }
  return out;
}

/** Removes fields the manager applied before and omits now, unless another manager owns them (or something below). */
function removeDropped(merged: Obj, previous: Set<string>, applied: Set<string>, others: Manager[]): void {
  const ownedByOthers = (path: FieldPath): boolean =>
    others.some((m) => [...m.set].some((k) => isPrefix(path, keyPath(k)) || isPrefix(keyPath(k), path)));
  // A map/list the manager owned itself (e.g. `"f:clusterRef":{".":{}}` after kubectl's client-side-apply migration)
  // stays while the applied configuration still sets something inside it.
  const appliedPaths = [...applied].map(keyPath);
  const stillApplied = (path: FieldPath): boolean => appliedPaths.some((a) => isPrefix(path, a));
  const dropped = [...previous].filter((k) => !applied.has(k)).map(keyPath).filter((p) => !ownedByOthers(p) && !stillApplied(p));
  // Remove top-most paths only: a dropped list item takes its fields with it (they identify the item).
  const topMost = dropped.filter((p) => !dropped.some((q) => q.length < p.length && isPrefix(q, p)));
  topMost.sort((a, b) => b.length - a.length);
  for (const path of topMost) {
    removeAt(merged, path);
    pruneEmptyParents(merged, path, (p) => applied.has(pathKey(p)) || ownedByOthers(p));
  }
}

/** Drops maps left empty by a removal unless someone owns the map itself. */
function pruneEmptyParents(obj: Obj, path: FieldPath, owned: (p: FieldPath) => boolean): void {
  for (let n = path.length - 1; n > 0; n--) {
    const parent = path.slice(0, n);
    const value = valueAt(obj, parent);
    if (!parent[n - 1]!.startsWith("f:") || !isPlainObject(value) || Object.keys(value).length > 0 || owned(parent)) return;
    removeAt(obj, parent);
  }
}

/**
 * Server-side apply: sets the applied fields, removes fields this manager applied before and omits now (unless
 * another manager owns them), and throws ApplyConflictError when another manager owns a field the apply changes
 * (unless `force`, which moves ownership). Returns the merged object with metadata.managedFields updated.
 */
export function serverSideApply(args: ServerSideApplyArgs): { object: Obj; managedFields: ManagedFieldsEntry[] } {
  const me: Manager["entry"] = { manager: args.manager, operation: "Apply", apiVersion: String(args.applied.apiVersion ?? ""), time: args.now };
  if (args.subresource) me.subresource = args.subresource;
  let managers = managersOf(args.live);
  if (args.live && managers.length === 0) {
    // Objects created without a field manager are owned by "before-first-apply" on their first apply (upstream).
    const entry = { manager: "before-first-apply", operation: "Update" as const, apiVersion: me.apiVersion, time: args.now };
    managers = [{ entry, set: fieldSetOf(trackedPart(args.live, { statusSubresource: args.statusSubresource }), args.types) }];
  }
  const applied = trackedPart(args.applied, args);
  const appliedSet = fieldSetOf(applied, args.types);
  const previous = managers.find((m) => sameIdentity(m.entry, me))?.set ?? new Set<string>();
  const others = managers.filter((m) => !sameIdentity(m.entry, me));

  const base: Obj = structuredClone(args.live ?? { apiVersion: args.applied.apiVersion, kind: args.applied.kind, metadata: {} });
  const merged = mergeValue(base, applied, [], args.types) as Obj;
  if (!args.live) mergeIdentity(merged, args.applied);
  merged.apiVersion = args.applied.apiVersion ?? merged.apiVersion;

  const conflicts = findConflicts(args, others, appliedSet, merged);
  if (conflicts.length > 0 && !args.force) throw new ApplyConflictError(conflicts.map((c) => ({ manager: c.manager.entry, path: c.path })));
  for (const c of conflicts) c.manager.set.delete(pathKey(c.path));

  removeDropped(merged, previous, appliedSet, others);
  const updated = managers.some((m) => sameIdentity(m.entry, me))
    ? managers.map((m) => (sameIdentity(m.entry, me) ? { entry: me, set: appliedSet } : m))
    : [...managers, { entry: me, set: appliedSet }];
  const managedFields = encode(updated);
  merged.metadata = { ...(merged.metadata ?? {}), managedFields };
  return { object: merged, managedFields };
}

/** On create by apply, name/namespace/generateName come from the applied configuration. */
function mergeIdentity(merged: Obj, applied: Obj): void {
  merged.metadata ??= {};
  for (const f of ["name", "namespace", "generateName"]) if (applied.metadata?.[f] !== undefined) merged.metadata[f] = applied.metadata[f];
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

/**
 * managedFields after a non-apply write (create, update, merge/JSON/strategic patch): the manager takes the fields
 * it added or changed, others lose the fields that changed or vanished (structured-merge-diff Update).
 */
export function recordUpdate(args: RecordUpdateArgs): ManagedFieldsEntry[] {
  const me: Manager["entry"] = { manager: args.manager, operation: "Update", apiVersion: String(args.after.apiVersion ?? ""), time: args.now };
  if (args.subresource) me.subresource = args.subresource;
  const before = trackedPart(args.before, args);
  const after = trackedPart(args.after, args);
  const setBefore = fieldSetOf(before, args.types, true);
  const setAfter = fieldSetOf(after, args.types, true);
  const requested = args.after.metadata?.managedFields;
  const base = Array.isArray(requested) && canonicalJson(requested) !== canonicalJson(args.before?.metadata?.managedFields) ? args.after : args.before;
  const managers = managersOf(base);
  const touched = new Set<string>();
  // Maps and lists themselves are members only when added or removed; leaves also when their value changes.
  const leaves = fieldSetOf(after, args.types);
  for (const k of setAfter) if (!setBefore.has(k) || (leaves.has(k) && changedAt(before, after, keyPath(k)))) touched.add(k);
  const removed = [...setBefore].filter((k) => !setAfter.has(k));
  for (const m of managers) {
    if (sameIdentity(m.entry, me)) continue;
    for (const k of [...touched, ...removed]) m.set.delete(k);
  }
  const mine = managers.find((m) => sameIdentity(m.entry, me));
  const mySet = new Set([...(mine?.set ?? []), ...touched]);
  for (const k of removed) mySet.delete(k);
  const updated = mine ? managers.map((m) => (m === mine ? { entry: me, set: mySet } : m)) : [...managers, { entry: me, set: mySet }];
  return encode(updated);
}
