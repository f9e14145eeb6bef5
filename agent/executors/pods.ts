// annotate with `params.pods`: the pods of the target Namespace whose annotations match `params.pods.when` get
// `params.annotations` (null removes one). How an OptimizationPolicy's exclusions reach a remote cluster: the operator
// knows namespaces from the heartbeat, not pod names, so the agent resolves them.
import { isNotFound, type KubeClient, type KubeObject } from "../../src-shared/kube/client.js";
import { AGENT_FIELD_MANAGER } from "./fields.js";
import { ActionError, ok, type ExecContext, type ExecOutcome } from "./types.js";

/** What the executor reads of a pod. */
type Pod = KubeObject & { status?: { phase?: string } };

/** Required values of a pod's annotations: a string must be equal, null means the key is absent. */
type When = Record<string, string | null>;

function whenOf(value: unknown): When {
  const when = (value as { when?: unknown } | null)?.when ?? {};
  if (typeof when !== "object" || when === null || Array.isArray(when))
    throw new ActionError("params.pods.when must be an object of string (or null for absent) values");
  for (const [k, v] of Object.entries(when))
    if (v !== null && typeof v !== "string") throw new ActionError(`params.pods.when.${k} must be a string or null`);
  return when as When;
}

function matches(pod: Pod, when: When): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return false;
  const annotations = pod.metadata?.annotations ?? {};
  return Object.entries(when).every(([k, v]) => (v === null ? annotations[k] === undefined : annotations[k] === v));
}

/** Annotates the namespace's matching pods; a pod gone meanwhile is skipped. `data.pods` counts those written. */
export async function annotatePods(ctx: ExecContext, annotations: Record<string, string | null>): Promise<ExecOutcome> {
  const { client, action } = ctx;
  if (action.target.kind !== "Namespace") throw new ActionError("params.pods needs a Namespace target");
  const namespace = action.target.name;
  const when = whenOf(action.params.pods);
  const pods = await client.listAll<Pod>({ apiVersion: "v1", kind: "Pod", namespace });
  let written = 0;
  for (const pod of pods.items.filter((p) => matches(p, when))) written += await annotateOne(client, pod, annotations);
  return ok(`set ${Object.keys(annotations).length} annotation(s) on ${written} pod(s) of namespace ${namespace}`, {
    pods: written,
  });
}

async function annotateOne(client: KubeClient, pod: Pod, annotations: Record<string, string | null>): Promise<number> {
  try {
    await client.patch(
      { apiVersion: "v1", kind: "Pod", namespace: pod.metadata?.namespace, name: pod.metadata?.name ?? "" },
      // Guarded by the version read: a pod changed since (e.g. annotated by someone else) is left to the next round.
      { metadata: { annotations, resourceVersion: pod.metadata?.resourceVersion } },
      { type: "merge", fieldManager: AGENT_FIELD_MANAGER },
    );
    return 1;
  } catch (err) {
    if (isNotFound(err) || (err as { statusCode?: number }).statusCode === 409) return 0;
    throw err;
  }
}
