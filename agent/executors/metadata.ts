// annotate / label (e.g. karpenter.sh/do-not-disrupt): merge the given keys, null removes one; and patch (a JSON merge
// patch the operator rendered, e.g. hibernation's, guarded by the resourceVersion it carries).
import { KubeApiError, isNotFound } from "../../src-shared/kube/index.js";
import { AGENT_FIELD_MANAGER } from "./fields.js";
import { ActionError, ok, targetRef, type Executor } from "./types.js";

function stringMap(value: unknown, what: string): Record<string, string | null> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ActionError(`params.${what} must be an object of string (or null to remove) values`);
  for (const [k, v] of Object.entries(value))
    if (v !== null && typeof v !== "string") throw new ActionError(`params.${what}.${k} must be a string or null`);
  return value as Record<string, string | null>;
}

function metadataExecutor(field: "annotations" | "labels"): Executor {
  return async ({ client, action }) => {
    const values = stringMap(action.params[field], field);
    const ref = targetRef(action);
    try {
      await client.patch(ref, { metadata: { [field]: values } }, { type: "merge", fieldManager: AGENT_FIELD_MANAGER });
    } catch (err) {
      if (isNotFound(err)) throw new ActionError(`${ref.kind} ${ref.name} not found`);
      throw err;
    }
    return ok(
      `set ${Object.keys(values).length} ${field === "labels" ? "label" : "annotation"}(s) on ${ref.kind} ${ref.name}`,
    );
  };
}

export const annotate = metadataExecutor("annotations");
export const label = metadataExecutor("labels");

export const patch: Executor = async ({ client, action }) => {
  const body = action.params.patch;
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new ActionError("patch needs params.patch, a JSON merge patch object");
  const ref = targetRef(action);
  try {
    await client.patch(ref, body, { type: "merge", fieldManager: AGENT_FIELD_MANAGER });
  } catch (err) {
    if (isNotFound(err)) throw new ActionError(`${ref.kind} ${ref.name} not found`);
    // The object changed since the operator read it: fail this action; the operator plans again from fresh state.
    if (err instanceof KubeApiError && err.statusCode === 409)
      throw new ActionError(`${ref.kind} ${ref.name} changed since the patch was planned (409)`);
    throw err;
  }
  return ok(`patched ${ref.kind} ${ref.name}`);
};
