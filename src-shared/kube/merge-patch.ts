// RFC 7386 JSON merge patch: what a merge-patch request does to an object, and the patch that takes an object's value
// to another, for callers that precompute them.

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** RFC 7386: objects merge recursively, null deletes, anything else (arrays included) replaces. */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = jsonMergePatch(out[k], v);
  }
  return out;
}

/**
 * The merge patch that takes `current` to `desired`: a key of `current` that `desired` lacks becomes null, so it is
 * removed rather than kept (a merge patch merges objects; e.g. the hourly price of capacity that is now unpriced).
 */
export function mergePatchTo(current: unknown, desired: unknown): unknown {
  if (!isPlainObject(current) || !isPlainObject(desired)) return desired;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(current)) out[k] = null;
  for (const [k, v] of Object.entries(desired)) if (v !== undefined) out[k] = mergePatchTo(current[k], v);
  return out;
}
