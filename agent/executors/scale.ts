// scale (Deployment / StatefulSet, the replica count it replaces saved on the object) and restore (puts it back).
import { isConflict, isNotFound, type KubeClient, type KubeObject } from "../../src-shared/kube/client.js";
import { AGENT_FIELD_MANAGER, ORIGINAL_REPLICAS_ANNOTATION } from "./fields.js";
import { ActionError, ok, requireKind, targetRef, type Executor } from "./types.js";

const SCALABLE = ["Deployment", "StatefulSet"] as const;

type Scalable = KubeObject & { spec?: { replicas?: number } };

async function read(client: KubeClient, ref: ReturnType<typeof targetRef>): Promise<Scalable> {
  try {
    return await client.get<Scalable>(ref);
  } catch (err) {
    if (isNotFound(err)) throw new ActionError(`${ref.kind} ${ref.namespace ?? ""}/${ref.name} not found`);
    throw err;
  }
}

function replicasParam(params: Record<string, unknown>): number {
  const r = params.replicas;
  if (typeof r !== "number" || !Number.isInteger(r) || r < 0)
    throw new ActionError("scale needs params.replicas, a whole number >= 0");
  return r;
}

/** Retries a read-modify-write whose resourceVersion guard answered 409 (another writer got in between). */
async function withConflictRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isConflict(err) || attempt >= 5) throw err;
    }
  }
}

export const scale: Executor = (ctx) => withConflictRetry(() => scaleOnce(ctx));
export const restore: Executor = (ctx) => withConflictRetry(() => restoreOnce(ctx));

/**
 * The replica count saved on the object; one edited into something else is refused rather than restored as null
 * (which a merge patch would turn into the default of one replica).
 */
function savedReplicas(ref: ReturnType<typeof targetRef>, live: Scalable): number | undefined {
  const saved = live.metadata?.annotations?.[ORIGINAL_REPLICAS_ANNOTATION];
  if (saved === undefined) return undefined;
  if (!/^\d{1,9}$/.test(saved))
    throw new ActionError(
      `${ref.kind} ${ref.name}: annotation ${ORIGINAL_REPLICAS_ANNOTATION} is ${JSON.stringify(saved)}, not a replica count`,
    );
  return Number(saved);
}

/**
 * One merge patch sets the replicas and, the first time only, saves the original next to them: a repeated delivery
 * never overwrites the saved original with the scaled value, and a crash can never leave one without the other.
 */
const scaleOnce: Executor = async ({ client, action }) => {
  requireKind(action, SCALABLE);
  const replicas = replicasParam(action.params);
  const ref = targetRef(action);
  const live = await read(client, ref);
  const current = live.spec?.replicas ?? 1;
  const saved = savedReplicas(ref, live);
  const original = saved ?? current;
  if (current === replicas && saved !== undefined)
    return ok(`${ref.kind} ${ref.name} already at ${replicas} replica(s)`, { original_replicas: original });
  await client.patch(
    ref,
    {
      metadata: {
        resourceVersion: live.metadata?.resourceVersion,
        annotations: { [ORIGINAL_REPLICAS_ANNOTATION]: String(original) },
      },
      spec: { replicas },
    },
    { type: "merge", fieldManager: AGENT_FIELD_MANAGER },
  );
  return ok(`scaled ${ref.kind} ${ref.name} from ${current} to ${replicas} replica(s)`, {
    original_replicas: original,
    previous_replicas: current,
  });
};

/** Puts back the saved replica count and removes the annotation; nothing saved means nothing to restore. */
const restoreOnce: Executor = async ({ client, action }) => {
  requireKind(action, SCALABLE);
  const ref = targetRef(action);
  const live = await read(client, ref);
  const original = savedReplicas(ref, live);
  if (original === undefined) return ok(`${ref.kind} ${ref.name} has nothing saved to restore`);
  await client.patch(
    ref,
    {
      metadata: {
        resourceVersion: live.metadata?.resourceVersion,
        annotations: { [ORIGINAL_REPLICAS_ANNOTATION]: null },
      },
      spec: { replicas: original },
    },
    { type: "merge", fieldManager: AGENT_FIELD_MANAGER },
  );
  return ok(`restored ${ref.kind} ${ref.name} to ${original} replica(s)`, { restored_replicas: original });
};
