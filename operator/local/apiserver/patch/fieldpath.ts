// Field sets of structured-merge-diff: paths to owned fields, fieldsV1 encoding, and value lookup/removal by path.
import { isPlainObject, sortedKeys } from "../schema/types.js";
import type { TypeInfo } from "./typeinfo.js";

/** One path element in fieldsV1 syntax: `f:name`, `k:{"name":"x"}`, `v:"value"` or `i:3`. */
export type PathElement = string;
export type FieldPath = PathElement[];

const SEP = "\u0000";
export const pathKey = (p: FieldPath): string => p.join(SEP);
export const keyPath = (k: string): FieldPath => (k === "" ? [] : k.split(SEP));

/** Deterministic JSON (sorted keys): `k:` and `v:` elements and value comparison must not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export function keyElement(item: unknown, keys: string[]): PathElement {
  const key: Record<string, unknown> = {};
  for (const k of [...keys].sort()) if (isPlainObject(item) && item[k] !== undefined) key[k] = item[k];
  return `k:${canonicalJson(key)}`;
}

interface Walk {
  types: TypeInfo;
  out: Set<string>;
  /** Also record non-empty maps themselves (Update comparisons own a map they create: `"f:labels":{".":{},...}`). */
  maps: boolean;
}

/** The key of a child path: paths are walked as their joined keys, not copied element arrays. */
function childKey(key: string, el: PathElement): string {
  return key === "" ? el : key + SEP + el;
}

function walkList(list: unknown[], key: string, typePath: string[], w: Walk): void {
  const info = w.types.list(typePath);
  // An empty list is owned as a value (like an empty map), so that dropping it from a configuration removes it.
  if (info.type === "atomic" || list.length === 0) {
    w.out.add(key);
    return;
  }
  if (w.maps) w.out.add(key);
  for (const item of list) {
    if (info.type === "set") {
      w.out.add(childKey(key, `v:${canonicalJson(item)}`));
      continue;
    }
    const itemKey = childKey(key, keyElement(item, info.keys ?? []));
    w.out.add(itemKey);
    if (isPlainObject(item)) walkMap(item, itemKey, [...typePath, "*"], w);
  }
}

function walkMap(obj: Record<string, unknown>, key: string, typePath: string[], w: Walk): void {
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v === undefined) continue;
    walkValue(v, childKey(key, `f:${k}`), [...typePath, k], w);
  }
}

function walkValue(value: unknown, key: string, typePath: string[], w: Walk): void {
  if (Array.isArray(value)) walkList(value, key, typePath, w);
  else if (isPlainObject(value) && Object.keys(value).length > 0 && !w.types.atomicMap(typePath)) {
    // metadata itself is never tracked (fieldmanager strips it); its fields are.
    if (w.maps && key !== "f:metadata") w.out.add(key);
    walkMap(value, key, typePath, w);
  } else w.out.add(key);
}

/**
 * The set of fields an object sets: leaves, atomic lists/maps, associative-list items (and their fields) and set
 * members. Members of a list item include the item itself, as structured-merge-diff does.
 */
export function fieldSetOf(obj: Record<string, unknown>, types: TypeInfo, maps = false): Set<string> {
  const w: Walk = { types, out: new Set(), maps };
  walkMap(obj, "", [], w);
  return w.out;
}

/** Encodes a field set as metadata.managedFields[].fieldsV1 (`{"f:spec":{"f:replicas":{}}}`, "." marks an owned parent). */
export function toFieldsV1(set: Set<string>): Record<string, unknown> {
  const root: Record<string, any> = {};
  const members: Record<string, any>[] = [];
  for (const k of set) {
    let node = root;
    for (const el of keyPath(k)) node = node[el] ??= {};
    members.push(node);
  }
  for (const node of members) if (!("." in node) && Object.keys(node).length > 0) node["."] = {};
  // keys in code-unit order: "." comes before every `f:`, `k:`, `v:` and `i:` element
  return sortedKeys(root) as Record<string, unknown>;
}

/** Decodes fieldsV1 back to a field set. */
export function fromFieldsV1(tree: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (node: unknown, path: FieldPath): void => {
    if (!isPlainObject(node)) return;
    const children = Object.keys(node).filter((k) => k !== ".");
    if (path.length > 0 && (children.length === 0 || "." in node)) out.add(pathKey(path));
    for (const c of children) visit(node[c], [...path, c]);
  };
  visit(tree, []);
  return out;
}

function matchesKey(item: unknown, keyJson: string): boolean {
  const key = JSON.parse(keyJson) as Record<string, unknown>;
  return isPlainObject(item) && Object.entries(key).every(([k, v]) => canonicalJson(item[k]) === canonicalJson(v));
}

/** Index of the list item a `k:`, `v:` or `i:` element designates, or -1. */
export function findItem(list: unknown[], el: PathElement): number {
  if (el.startsWith("k:")) return list.findIndex((item) => matchesKey(item, el.slice(2)));
  if (el.startsWith("v:"))
    return list.findIndex((item) => canonicalJson(item) === canonicalJson(JSON.parse(el.slice(2))));
  if (el.startsWith("i:")) return Number(el.slice(2)) < list.length ? Number(el.slice(2)) : -1;
  return -1;
}

/** The value at a field path, or undefined. */
export function valueAt(obj: unknown, path: FieldPath): unknown {
  let cur: unknown = obj;
  for (const el of path) {
    if (el.startsWith("f:")) cur = isPlainObject(cur) ? cur[el.slice(2)] : undefined;
    else cur = Array.isArray(cur) ? cur[findItem(cur, el)] : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Deletes the field or list item at a path (no-op when absent). */
export function removeAt(obj: unknown, path: FieldPath): void {
  const parent = valueAt(obj, path.slice(0, -1));
  const last = path[path.length - 1];
  if (last === undefined) return;
  if (last.startsWith("f:") && isPlainObject(parent)) delete parent[last.slice(2)];
  else if (Array.isArray(parent)) {
    const i = findItem(parent, last);
    if (i >= 0) parent.splice(i, 1);
  }
}

/** fieldpath.Path.String(): `.spec.containers[name="nginx"].image`, `.metadata.finalizers[="x"]`. */
export function pathString(path: FieldPath): string {
  return path
    .map((el) => {
      if (el.startsWith("f:")) return `.${el.slice(2)}`;
      if (el.startsWith("v:")) return `[=${el.slice(2)}]`;
      if (el.startsWith("i:")) return `[${el.slice(2)}]`;
      const key = JSON.parse(el.slice(2)) as Record<string, unknown>;
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}]`;
    })
    .join("");
}

export function isPrefix(prefix: FieldPath, path: FieldPath): boolean {
  return prefix.length <= path.length && prefix.every((el, i) => path[i] === el);
}
