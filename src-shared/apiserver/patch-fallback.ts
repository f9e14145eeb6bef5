// Minimal JSON merge patch (RFC 7386) and JSON patch (RFC 6902), used until/unless the patch/ module provides them.
import { badRequest, ApiError } from "./status.js";
import { clone, deepEqual, isObject } from "./objects.js";

/** RFC 7386: objects merge recursively, null deletes, everything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

function unescape(seg: string): string {
  return seg.replace(/~1/g, "/").replace(/~0/g, "~");
}

function parsePointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw badRequest(`invalid JSON pointer "${path}"`);
  return path.slice(1).split("/").map(unescape);
}

function parentOf(doc: unknown, segs: string[], path: string): { parent: any; last: string } {
  let cur: any = doc;
  for (const s of segs.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(s)] : isObject(cur) ? cur[s] : undefined;
    if (cur === undefined) throw new ApiError(422, "Invalid", `the server rejected our request due to an error in our request: doc is missing path: "${path}"`);
  }
  return { parent: cur, last: segs[segs.length - 1]! };
}

function getAt(doc: unknown, path: string): unknown {
  let cur: any = doc;
  for (const s of parsePointer(path)) {
    cur = Array.isArray(cur) ? cur[Number(s)] : isObject(cur) ? cur[s] : undefined;
    if (cur === undefined) throw new ApiError(422, "Invalid", `the server rejected our request due to an error in our request: doc is missing path: "${path}"`);
  }
  return cur;
}

function removeAt(doc: unknown, path: string): unknown {
  const { parent, last } = parentOf(doc, parsePointer(path), path);
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!(i >= 0 && i < parent.length)) throw new ApiError(422, "Invalid", `the server rejected our request due to an error in our request: doc is missing path: "${path}"`);
    return parent.splice(i, 1)[0];
  }
  if (!isObject(parent) || !(last in parent)) {
    throw new ApiError(422, "Invalid", `the server rejected our request due to an error in our request: doc is missing path: "${path}": missing value`);
  }
  const v = parent[last];
  delete parent[last];
  return v;
}

function addAt(doc: unknown, path: string, value: unknown): unknown {
  const segs = parsePointer(path);
  if (segs.length === 0) return clone(value);
  const { parent, last } = parentOf(doc, segs, path);
  if (Array.isArray(parent)) {
    const i = last === "-" ? parent.length : Number(last);
    if (!(i >= 0 && i <= parent.length)) throw new ApiError(422, "Invalid", `the server rejected our request due to an error in our request: add operation index out of bounds: "${path}"`);
    parent.splice(i, 0, clone(value));
  } else if (isObject(parent)) parent[last] = clone(value);
  else throw new ApiError(422, "Invalid", `the server rejected our request due to an error in our request: doc is missing path: "${path}"`);
  return doc;
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

/** RFC 6902 operations add/remove/replace/move/copy/test. */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest("json patch must be an array of operations");
  let doc = clone(target);
  for (const raw of ops as JsonPatchOp[]) {
    if (!raw || typeof raw.op !== "string" || typeof raw.path !== "string") throw badRequest("invalid json patch operation");
    switch (raw.op) {
      case "add":
        doc = addAt(doc, raw.path, raw.value);
        break;
      case "remove":
        removeAt(doc, raw.path);
        break;
      case "replace":
        removeAt(doc, raw.path);
        doc = addAt(doc, raw.path, raw.value);
        break;
      case "move": {
        const v = removeAt(doc, raw.from ?? "");
        doc = addAt(doc, raw.path, v);
        break;
      }
      case "copy":
        doc = addAt(doc, raw.path, getAt(doc, raw.from ?? ""));
        break;
      case "test":
        if (!deepEqual(getAt(doc, raw.path), raw.value)) {
          throw new ApiError(422, "Invalid", `the server rejected our request due to an error in our request: testing value ${raw.path} failed`);
        }
        break;
      default:
        throw badRequest(`unknown json patch operation "${raw.op}"`);
    }
  }
  return doc;
}
