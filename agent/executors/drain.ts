// drain: cordon, then evict the node's pods through the Eviction API (honouring PodDisruptionBudgets), retrying until
// the deadline; DaemonSet, mirror and finished pods stay. At the deadline `force: true` deletes what is left, else the
// action fails naming the pods that could not be evicted.
import type { V1Pod } from "@kubernetes/client-node";
import {
  KubeApiError,
  isConflict,
  isNotFound,
  type KubeClient,
  type KubeObject,
} from "../../src-shared/kube/client.js";
import { cordonNode } from "./node.js";
import { ok, requireKind, type ExecOutcome, type Executor } from "./types.js";

const RETRY_MS = 500;
const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

function podName(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
}

/** Pods a drain must move: not DaemonSet-owned, not mirror (static) pods, not finished. */
export function mustEvict(pod: V1Pod): boolean {
  if (pod.metadata?.annotations?.[MIRROR_ANNOTATION] !== undefined) return false;
  if ((pod.metadata?.ownerReferences ?? []).some((o) => o.kind === "DaemonSet" && o.controller === true)) return false;
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed";
}

async function podsOn(client: KubeClient, node: string): Promise<V1Pod[]> {
  const list = await client.listAll<KubeObject & V1Pod>(
    { apiVersion: "v1", kind: "Pod" },
    { fieldSelector: `spec.nodeName=${node}` },
  );
  return list.items.filter(mustEvict);
}

/** The pod's ref and uid (a precondition: the pod listed on the node, not a namesake recreated elsewhere since). */
function podRef(pod: V1Pod): {
  ref: { apiVersion: string; kind: string; namespace: string; name: string };
  uid?: string;
} {
  const meta = pod.metadata ?? {};
  return {
    ref: { apiVersion: "v1", kind: "Pod", namespace: meta.namespace ?? "default", name: meta.name ?? "" },
    uid: meta.uid,
  };
}

/** One eviction; "blocked" when a PDB (429) or a conflict (409, also a replaced pod's uid) says not now. */
async function evict(client: KubeClient, pod: V1Pod): Promise<"evicted" | "blocked"> {
  const { ref, uid } = podRef(pod);
  try {
    await client.request({
      method: "POST",
      path: `${await client.path(ref)}/eviction`,
      body: {
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name: ref.name, namespace: ref.namespace },
        deleteOptions: { preconditions: { uid } },
      },
    });
    return "evicted";
  } catch (err) {
    if (isNotFound(err)) return "evicted";
    if (err instanceof KubeApiError && (err.statusCode === 429 || err.statusCode === 409)) return "blocked";
    throw err;
  }
}

/** Deletes the pods listed on the node; one replaced since (409 on its uid) is another pod, left alone. */
async function forceDelete(client: KubeClient, pods: V1Pod[]): Promise<string[]> {
  const forced: string[] = [];
  for (const pod of pods) {
    const { ref, uid } = podRef(pod);
    try {
      if (await client.delete(ref, { preconditions: { uid } })) forced.push(podName(pod));
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  return forced.sort();
}

function notEvicted(node: string, left: V1Pod[], evicted: Set<string>): ExecOutcome {
  const names = left.map(podName).sort();
  return {
    status: "failed",
    message: `drain of ${node} reached its deadline with ${names.length} pod(s) not evicted (PodDisruptionBudget or terminating): ${names.slice(0, 10).join(", ")}`,
    data: { not_evicted: names, evicted: [...evicted].sort() },
  };
}

/** The deadline passed: drained after all, refused (pods left), or with `force` the rest deleted. */
async function atDeadline(opts: {
  client: Parameters<Executor>[0]["client"];
  node: string;
  force: boolean;
  evicted: Set<string>;
}): Promise<ExecOutcome> {
  const { client, node, evicted } = opts;
  const remaining = await podsOn(client, node);
  if (remaining.length === 0) return ok(`drained node ${node}`, { evicted: [...evicted].sort() });
  if (!opts.force) return notEvicted(node, remaining, evicted);
  const forced = await forceDelete(client, remaining);
  return ok(`drained node ${node}; deleted ${forced.length} pod(s) the deadline left (force)`, {
    evicted: [...evicted].sort(),
    forced,
  });
}

export const drain: Executor = async ({ client, action, deadlineMs, now = Date.now }) => {
  requireKind(action, ["Node"]);
  const node = action.target.name;
  const force = action.params.force === true;
  await cordonNode(client, node);
  const evicted = new Set<string>();
  for (;;) {
    const left = await podsOn(client, node);
    if (left.length === 0) return ok(`drained node ${node}`, { evicted: [...evicted].sort() });
    for (const pod of left) {
      if (pod.metadata?.deletionTimestamp) continue;
      if ((await evict(client, pod)) === "evicted") evicted.add(podName(pod));
    }
    if (now() >= deadlineMs) return atDeadline({ client, node, force, evicted });
    await new Promise((r) => setTimeout(r, Math.min(RETRY_MS, Math.max(0, deadlineMs - now()))));
  }
};
