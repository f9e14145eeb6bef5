// apply: server-side apply of a manifest the operator rendered (a NodeTemplate's NodePool / EC2NodeClass on a remote
// cluster), under the agent's own field manager; only the kinds the operator renders are accepted.
import { KubeApiError, type KubeClient, type KubeObject } from "../../src-shared/kube/client.js";
import { TEMPLATE_ANNOTATION } from "../../src-shared/karpenter/labels.js";
import { applyObject } from "../../src-shared/runtime/apply.js";
import { AGENT_FIELD_MANAGER } from "./fields.js";
import { ActionError, ok, requireKind, targetRef, type Executor } from "./types.js";

/** What `apply` and `delete` may touch besides NodeClaims: Karpenter's objects the NodeTemplate controller renders. */
export const APPLY_KINDS = ["NodePool", "EC2NodeClass"] as const;
/** Only objects carrying this label may be deleted by a `delete` action (never a NodePool someone else made). */
export const OWNED_LABEL = { key: "app.kubernetes.io/managed-by", value: "spot-optimizer" } as const;

function manifestOf(params: Record<string, unknown>): KubeObject {
  const manifest = params.manifest;
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest))
    throw new ActionError("apply needs params.manifest, the object to server-side apply");
  return manifest as KubeObject;
}

/** The manifest must be the target (so the action's printer columns and RBAC review say what it writes). */
function checkIdentity(manifest: KubeObject, ref: ReturnType<typeof targetRef>): void {
  const m = manifest.metadata ?? {};
  if (manifest.apiVersion !== ref.apiVersion || manifest.kind !== ref.kind || m.name !== ref.name)
    throw new ActionError(
      `params.manifest is ${String(manifest.apiVersion)} ${String(manifest.kind)} ${String(m.name)}, not the target ${ref.apiVersion} ${ref.kind} ${ref.name}`,
    );
  if (m.labels?.[OWNED_LABEL.key] !== OWNED_LABEL.value)
    throw new ActionError(`params.manifest must carry the label ${OWNED_LABEL.key}=${OWNED_LABEL.value}`);
}

/**
 * The object under the target's name, refused when someone else made it: a forced apply would take it over, and a
 * later delete action would then remove it. Ours carries our label and the manifest's template annotation.
 */
async function liveTarget(
  client: KubeClient,
  ref: ReturnType<typeof targetRef>,
  manifest: KubeObject,
): Promise<KubeObject | null> {
  const live = await client.getIfExists<KubeObject>(ref);
  if (!live) return null;
  const template = manifest.metadata?.annotations?.[TEMPLATE_ANNOTATION];
  const mark = live.metadata;
  if (mark?.labels?.[OWNED_LABEL.key] !== OWNED_LABEL.value || mark.annotations?.[TEMPLATE_ANNOTATION] !== template)
    throw new ActionError(
      `${ref.kind} ${ref.name} exists but was not created by spot-optimizer for NodeTemplate ${template ?? "(none)"}; left untouched: delete or rename it to let the template apply`,
    );
  return live;
}

export const apply: Executor = async ({ client, action }) => {
  requireKind(action, APPLY_KINDS);
  const ref = targetRef(action);
  const manifest = manifestOf(action.params);
  checkIdentity(manifest, ref);
  for (let attempt = 1; ; attempt++) {
    try {
      // Nothing is sent when the live object already holds what we applied (a repeated delivery).
      const { changed, object } = await applyObject(client, manifest, {
        fieldManager: AGENT_FIELD_MANAGER,
        force: true,
        current: await liveTarget(client, ref, manifest),
      });
      // The generation it left: the operator compares the heartbeat's with it to notice edits made by hand.
      const data = typeof object.metadata?.generation === "number" ? { generation: object.metadata.generation } : {};
      return ok(changed ? `applied ${ref.kind} ${ref.name}` : `${ref.kind} ${ref.name} already as applied`, data);
    } catch (err) {
      // A forced apply conflicts only with a concurrent write; apply again (it is idempotent).
      if (!(err instanceof KubeApiError && err.statusCode === 409) || attempt >= 5) throw err;
    }
  }
};
