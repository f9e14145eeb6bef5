// Strategic merge patch for built-in kinds: merge keys per field, $patch / $retainKeys / $deleteFromPrimitiveList directives.
import { isPlainObject } from "../schema/types.js";
import { badRequest } from "../status.js";
import { canonicalJson } from "./fieldpath.js";
import type { TypeInfo } from "./typeinfo.js";

type Obj = Record<string, unknown>;
const DELETE = Symbol("delete");

/** Removes directive keys from a value being inserted as-is. */
function clean(value: unknown): unknown {
  if (Array.isArray(value))
    return value.filter((v) => !(isPlainObject(v) && v.$patch !== undefined && Object.keys(v).length === 1)).map(clean);
  if (!isPlainObject(value)) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith("$")) out[k] = clean(v);
  return out;
}

function mergeKeyedList(original: unknown[], patch: unknown[], mergeKey: string, ctx: Ctx): unknown[] {
  if (patch.some((p) => isPlainObject(p) && p.$patch === "replace")) {
    return patch.filter((p) => !(isPlainObject(p) && p.$patch === "replace")).map(clean);
  }
  let out = structuredClone(original);
  for (const item of patch) {
    if (!isPlainObject(item))
      throw badRequest(`unable to find api field in struct for the merge key ${JSON.stringify(mergeKey)}`);
    const key = canonicalJson(item[mergeKey]);
    const i = out.findIndex((o) => isPlainObject(o) && canonicalJson(o[mergeKey]) === key);
    if (item.$patch === "delete") {
      out = out.filter((o) => !(isPlainObject(o) && canonicalJson(o[mergeKey]) === key));
    } else if (i < 0) {
      out.push(clean(item));
    } else {
      out[i] = mergeValue(out[i], item, { ...ctx, path: [...ctx.path, "*"] });
    }
  }
  return out;
}

function mergeList(original: unknown, patch: unknown[], ctx: Ctx): unknown[] {
  const info = ctx.types.list(ctx.path);
  const orig = Array.isArray(original) ? original : [];
  if (info.type === "map" && info.keys?.[0]) return mergeKeyedList(orig, patch, info.keys[0], ctx);
  if (info.type === "set") {
    const out = [...orig];
    for (const v of patch) if (!out.some((o) => canonicalJson(o) === canonicalJson(v))) out.push(v);
    return out;
  }
  return clean(patch) as unknown[];
}

interface Ctx {
  types: TypeInfo;
  path: string[];
}

function applyDirectives(out: Obj, patch: Obj): void {
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$deleteFromPrimitiveList/") && Array.isArray(v)) {
      const field = k.slice("$deleteFromPrimitiveList/".length);
      const list = out[field];
      if (Array.isArray(list)) out[field] = list.filter((x) => !v.some((d) => canonicalJson(d) === canonicalJson(x)));
    }
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
}

function mergeMap(original: unknown, patch: Obj, ctx: Ctx): unknown {
  if (patch.$patch === "delete") return DELETE;
  if (patch.$patch === "replace") return clean(patch);
  if (patch.$patch !== undefined) throw badRequest(`Unknown patch type: ${String(patch.$patch)}`);
  if (ctx.types.atomicMap(ctx.path)) return clean(patch);
  const out: Obj = isPlainObject(original) ? structuredClone(original) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$")) continue;
    const merged = v === null ? DELETE : mergeValue(out[k], v, { ...ctx, path: [...ctx.path, k] });
    if (merged === DELETE) delete out[k];
    else out[k] = merged;
  }
  applyDirectives(out, patch);
  return out;
}

function mergeValue(original: unknown, patch: unknown, ctx: Ctx): unknown {
  if (Array.isArray(patch)) return mergeList(original, patch, ctx);
  if (isPlainObject(patch)) return mergeMap(original, patch, ctx);
  return patch;
}

/**
 * Applies a strategic merge patch (application/strategic-merge-patch+json) to a built-in object. Lists merge by
 * the field's patchMergeKey (from `types`), primitive merge lists union, other lists are replaced.
 * Custom resources do not support it: the apiserver answers 415 (see `strategicMergePatchSupported`).
 */
export function strategicMergePatch(original: unknown, patch: unknown, types: TypeInfo): unknown {
  if (!isPlainObject(patch))
    throw badRequest("the body of the request was not a valid strategic merge patch: expected a JSON object");
  const out = mergeMap(original, patch, { types, path: [] });
  return out === DELETE ? {} : out;
}

/** Strategic merge patch is served for built-in resources only; custom resources answer 415 Unsupported Media Type. */
export function strategicMergePatchSupported(resource: { crd?: unknown }): boolean {
  return resource.crd === undefined;
}
