// JSON merge patch (RFC 7386) and JSON patch (RFC 6902) with the apiserver's error statuses.
import { isPlainObject } from "../schema/types.js";
import { ApiError, badRequest } from "../status.js";
import { canonicalJson } from "./fieldpath.js";
import { jsonMergePatch } from "../../../../src-shared/kube/merge-patch.js";

export { jsonMergePatch };

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  value?: unknown;
  from?: string;
}

/** The apiserver answers a patch that cannot be applied with 422 and the library's message as the cause. */
function patchFailure(message: string): ApiError {
  return new ApiError(422, "Invalid", "the server rejected our request due to an error in our request", {
    causes: [{ reason: "UnexpectedServerResponse", message }],
  });
}

function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw patchFailure(`json: invalid pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

type Container = Record<string, unknown> | unknown[];

function resolveParent(
  doc: unknown,
  tokens: string[],
  op: string,
  pointer: string,
): { parent: Container; key: string } {
  let cur: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(t)] : isPlainObject(cur) ? cur[t] : undefined;
    if (cur === undefined || cur === null)
      throw patchFailure(
        `${op} operation does not apply: doc is missing path: ${JSON.stringify(pointer)}: missing value`,
      );
  }
  if (!Array.isArray(cur) && !isPlainObject(cur)) {
    throw patchFailure(
      `${op} operation does not apply: doc is missing path: ${JSON.stringify(pointer)}: missing value`,
    );
  }
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

function arrayIndex(arr: unknown[], key: string, allowEnd: boolean, pointer: string): number {
  if (key === "-" && allowEnd) return arr.length;
  const i = Number(key);
  const max = allowEnd ? arr.length : arr.length - 1;
  if (!/^\d+$/.test(key) || i > max)
    throw patchFailure(`Unable to access invalid index: ${key}: invalid index referenced: ${pointer}`);
  return i;
}

function getValue(doc: unknown, pointer: string, op: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const { parent, key } = resolveParent(doc, tokens, op, pointer);
  const v = Array.isArray(parent) ? parent[arrayIndex(parent, key, false, pointer)] : parent[key];
  if (v === undefined)
    throw patchFailure(`${op} operation does not apply: doc is missing key: ${pointer}: missing value`);
  return v;
}

function add(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return structuredClone(value);
  const { parent, key } = resolveParent(doc, tokens, "add", pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, pointer), 0, structuredClone(value));
  else parent[key] = structuredClone(value);
  return doc;
}

function remove(doc: unknown, pointer: string, op = "remove"): unknown {
  const tokens = parsePointer(pointer);
  const { parent, key } = resolveParent(doc, tokens, op, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false, pointer), 1);
  else if (parent[key] === undefined)
    throw patchFailure(`${op} operation does not apply: doc is missing key: ${pointer}: missing value`);
  else delete parent[key];
  return doc;
}

function testOp(doc: unknown, op: JsonPatchOperation): unknown {
  let actual: unknown;
  try {
    actual = getValue(doc, op.path, "test");
  } catch {
    actual = undefined;
  }
  if (canonicalJson(actual) !== canonicalJson(op.value ?? null))
    throw patchFailure(`testing value ${op.path} failed: test failed`);
  return doc;
}

const operations: Record<JsonPatchOperation["op"], (doc: unknown, op: JsonPatchOperation) => unknown> = {
  add: (doc, op) => add(doc, op.path, op.value),
  remove: (doc, op) => remove(doc, op.path),
  replace: (doc, op) => {
    getValue(doc, op.path, "replace");
    return add(remove(doc, op.path, "replace"), op.path, op.value);
  },
  move: (doc, op) => {
    const value = getValue(doc, op.from ?? "", "move");
    return add(remove(doc, op.from ?? "", "move"), op.path, value);
  },
  copy: (doc, op) => add(doc, op.path, getValue(doc, op.from ?? "", "copy")),
  test: testOp,
};

function applyOne(doc: unknown, op: JsonPatchOperation): unknown {
  const apply = Object.hasOwn(operations, op.op) ? operations[op.op] : undefined;
  if (!apply) throw badRequest(`Unexpected kind: ${String(op.op)}`);
  return apply(doc, op);
}

/** Validates the shape of a JSON patch document (400 when it is not one, as the apiserver's decoder does). */
export function parseJsonPatch(body: unknown): JsonPatchOperation[] {
  if (!Array.isArray(body)) throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  for (const op of body) {
    if (!isPlainObject(op) || typeof op.op !== "string" || typeof op.path !== "string")
      throw badRequest("invalid JSON Patch");
  }
  return body as JsonPatchOperation[];
}

/** RFC 6902: applies the operations in order to a copy; a failing operation (incl. `test`) throws a 422 ApiError. */
export function applyJsonPatch(doc: unknown, body: unknown): unknown {
  let out = structuredClone(doc);
  for (const op of parseJsonPatch(body)) out = applyOne(out, op);
  return out;
}
