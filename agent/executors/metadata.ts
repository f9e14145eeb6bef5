// annotate / label (e.g. karpenter.sh/do-not-disrupt): merge the given keys, null removes one (annotate with
// `params.pods`: the matching pods of a Namespace, pods.ts); patch (a JSON merge patch
// the operator rendered, e.g. hibernation's, guarded by expectations on the live object or the resourceVersion it
// carries); delete (a NodeClaim hibernation removes, or a NodePool / EC2NodeClass of ours).
import { KubeApiError, isNotFound, type KubeClient, type KubeObject } from "../../src-shared/kube/client.js";
import { jsonMergePatch } from "../../src-shared/kube/merge-patch.js";
import { APPLY_KINDS, OWNED_LABEL } from "./apply.js";
import { AGENT_FIELD_MANAGER } from "./fields.js";
import { annotatePods } from "./pods.js";
import { ActionError, ok, requireKind, targetRef, type ExecOutcome, type Executor } from "./types.js";

function stringMap(value: unknown, what: string): Record<string, string | null> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ActionError(`params.${what} must be an object of string (or null to remove) values`);
  for (const [k, v] of Object.entries(value))
    if (v !== null && typeof v !== "string") throw new ActionError(`params.${what}.${k} must be a string or null`);
  return value as Record<string, string | null>;
}

function metadataExecutor(field: "annotations" | "labels"): Executor {
  return async (ctx) => {
    const { client, action } = ctx;
    const values = stringMap(action.params[field], field);
    if (field === "annotations" && action.params.pods !== undefined) return annotatePods(ctx, values);
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

/** One precondition of a patch: the value at a JSON pointer (RFC 6901) of the live object; null = absent. */
interface Expectation {
  path: string;
  value: unknown;
}

function expectations(value: unknown): Expectation[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((e) => typeof e !== "object" || e === null || typeof e.path !== "string"))
    throw new ActionError("params.expect must be a list of {path, value} (path a JSON pointer)");
  return value as Expectation[];
}

function valueAt(object: unknown, pointer: string): unknown {
  let at: unknown = object;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (typeof at !== "object" || at === null) return null;
    at = (at as Record<string, unknown>)[key];
  }
  return at === undefined ? null : at;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function withoutResourceVersion(body: Record<string, unknown>): Record<string, unknown> {
  const metadata = body.metadata as Record<string, unknown> | undefined;
  if (metadata?.resourceVersion === undefined) return body;
  const { resourceVersion: _rv, ...rest } = metadata;
  return { ...body, metadata: rest };
}

/** True when applying the patch would change nothing: an earlier delivery of the same action already did it. */
function alreadyPatched(live: unknown, body: Record<string, unknown>): boolean {
  return same(jsonMergePatch(live, withoutResourceVersion(body)), live);
}

/**
 * One guarded attempt: nothing to do when the object already is as patched (a repeated delivery); else every
 * expectation must hold on the live object and the patch goes with that object's resourceVersion, so nothing can
 * slip in between the check and the write. Without expectations the patch's own resourceVersion (if any) guards it.
 */
async function patchOnce(ctx: Parameters<Executor>[0], body: Record<string, unknown>): Promise<ExecOutcome> {
  const ref = targetRef(ctx.action);
  const expect = expectations(ctx.action.params.expect);
  const live = await ctx.client.getIfExists<KubeObject>(ref);
  if (!live) throw new ActionError(`${ref.kind} ${ref.name} not found`);
  if (alreadyPatched(live, body)) return ok(`${ref.kind} ${ref.name} already as patched`);
  for (const e of expect ?? []) {
    const actual = valueAt(live, e.path);
    if (!same(actual, e.value ?? null))
      throw new ActionError(
        `${ref.kind} ${ref.name} changed since the patch was planned: ${e.path} is ${JSON.stringify(actual)}, expected ${JSON.stringify(e.value)}`,
      );
  }
  const guarded = expect
    ? {
        ...body,
        metadata: { ...((body.metadata as object | undefined) ?? {}), resourceVersion: live.metadata?.resourceVersion },
      }
    : body;
  await ctx.client.patch(ref, guarded, { type: "merge", fieldManager: AGENT_FIELD_MANAGER });
  return ok(`patched ${ref.kind} ${ref.name}`);
}

export const patch: Executor = async (ctx) => {
  const body = ctx.action.params.patch;
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new ActionError("patch needs params.patch, a JSON merge patch object");
  const ref = targetRef(ctx.action);
  for (let attempt = 1; ; attempt++) {
    try {
      return await patchOnce(ctx, body as Record<string, unknown>);
    } catch (err) {
      if (isNotFound(err)) throw new ActionError(`${ref.kind} ${ref.name} not found`);
      if (!(err instanceof KubeApiError && err.statusCode === 409)) throw err;
      // With expectations a 409 only means another write came in between: read again and re-check. Without them the
      // patch's own resourceVersion is stale for good (unless the next read finds it already applied).
      if (attempt >= 5) throw new ActionError(`${ref.kind} ${ref.name} changed since the patch was planned (409)`);
    }
  }
};

/**
 * delete: a NodeClaim (hibernation removes the claims of a NodePool it limited to zero) or a NodePool / EC2NodeClass of
 * ours (a NodeTemplate removed from a remote cluster; one without our managed-by label is refused). Gone = success.
 */
export const deleteObject: Executor = async ({ client, action }) => {
  requireKind(action, ["NodeClaim", ...APPLY_KINDS]);
  const ref = targetRef(action);
  for (let attempt = 1; ; attempt++) {
    try {
      return await deleteOnce(client, ref);
    } catch (err) {
      // A 409 only means a write of the object got in between: read it again and delete again (as apply retries),
      // rather than fail the action and leave the next try to the operator's backoff of 15 s and more.
      if (!(err instanceof KubeApiError && err.statusCode === 409) || attempt >= 5) throw err;
    }
  }
};

/**
 * One attempt: a NodePool / EC2NodeClass must still carry our label when read just before its DELETE, and the DELETE
 * holds to that read (uid and resourceVersion), so an object replaced or relabelled in between is not the one deleted.
 */
async function deleteOnce(client: KubeClient, ref: ReturnType<typeof targetRef>): Promise<ExecOutcome> {
  let preconditions: { uid?: string; resourceVersion?: string } | undefined;
  if (ref.kind !== "NodeClaim") {
    const live = await client.getIfExists<KubeObject>(ref);
    if (!live) return ok(`${ref.kind} ${ref.name} was already gone`);
    if (live.metadata?.labels?.[OWNED_LABEL.key] !== OWNED_LABEL.value)
      throw new ActionError(`${ref.kind} ${ref.name} is not managed by spot-optimizer; not deleted`);
    preconditions = { uid: live.metadata?.uid, resourceVersion: live.metadata?.resourceVersion };
  }
  const deleted = await client.delete(ref, { preconditions });
  return ok(deleted ? `deleted ${ref.kind} ${ref.name}` : `${ref.kind} ${ref.name} was already gone`);
}
