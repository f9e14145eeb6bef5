// Validation ratcheting (CRDValidationRatcheting, on since Kubernetes 1.30): errors on unchanged values pass on update.
import type { Cause } from "./types.js";
import { isPlainObject } from "./types.js";

/** `spec.a[0].b` -> ["spec", "a", 0, "b"]; undefined for paths we cannot walk (e.g. `<nil>`). */
function parseFieldPath(field: string): (string | number)[] | undefined {
  if (!field || field === "<nil>") return undefined;
  const steps: (string | number)[] = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]|\[([^\]]*)\]/g)) {
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    else return undefined;
  }
  return steps;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isPlainObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  );
}

/**
 * Whether the value at `field` is unchanged between old and new. List items are only correlated when the whole
 * list is unchanged (upstream correlates map-list items by key; index correlation would be wrong for edited lists).
 */
function unchangedAt(oldObject: unknown, newObject: unknown, field: string): boolean {
  const steps = parseFieldPath(field);
  if (!steps) return false;
  let o: unknown = oldObject;
  let n: unknown = newObject;
  for (const step of steps) {
    if (typeof step === "number" && !same(o, n)) return false;
    o = (o as Record<string | number, unknown> | undefined)?.[step];
    n = (n as Record<string | number, unknown> | undefined)?.[step];
    if (o === undefined || n === undefined) return false;
  }
  return same(o, n);
}

/** Missing required fields and duplicates are reported even when unchanged (they are not value validations). */
const neverRatcheted = new Set(["FieldValueRequired", "FieldValueDuplicate"]);

/** Drops causes on values that did not change in this update. */
export function ratchet(causes: Cause[], oldObject: unknown, newObject: unknown): Cause[] {
  if (oldObject === undefined) return causes;
  return causes.filter((c) => neverRatcheted.has(c.reason) || !unchangedAt(oldObject, newObject, c.field));
}
