// The orphan sweep on remote clusters: a template that is gone (deleted while the operator was down and its finalizer
// removed by hand) still named by NodePools / EC2NodeClasses in a remote cluster's report gets them deleted through
// `delete` AgentActions, and the finished actions are removed once a later report shows the objects gone (all of them
// once their cluster is gone).
import type { AgentAction } from "../../../src-shared/crds/index.js";
import { API_VERSION } from "../../../src-shared/crds/common.js";
import { type KubeClient } from "../../../src-shared/kube/index.js";
import { splitKey, type ReconcileResult } from "../../../src-shared/runtime/index.js";
import { EC2NODECLASS_API, NODEPOOL_API } from "../../../src-shared/karpenter/labels.js";
import { completedMs, remoteExecutor } from "./executor.js";
import type { TemplateCaches } from "./kube.js";
import { objectsNaming, reportAfter, type RemoteView } from "../../../src-shared/agent/remote-view.js";

const API_OF: Record<string, string> = { NodePool: NODEPOOL_API.apiVersion, EC2NodeClass: EC2NODECLASS_API.apiVersion };
/** Looked at again this often while a cluster's objects or finished actions are left (reports may not name it). */
const RECHECK_MS = 5_000;

async function dropFinished(client: KubeClient, actions: readonly AgentAction[]): Promise<void> {
  for (const a of actions) {
    if (a.status?.phase !== "Succeeded" && a.status?.phase !== "Failed") continue;
    await client.delete({
      apiVersion: API_VERSION,
      kind: "AgentAction",
      namespace: a.metadata.namespace,
      name: a.metadata.name ?? "",
    });
  }
}

/** One cluster: true while something is left to do or to confirm there. */
async function sweepCluster(input: {
  client: KubeClient;
  namespace: string;
  name: string;
  view: RemoteView;
  actions: readonly AgentAction[];
  nowMs: number;
}): Promise<boolean> {
  const { view, actions } = input;
  // A report that may predate the last action's outcome decides nothing (see RemoteView.settleMs).
  if (!reportAfter(view, Math.max(0, ...actions.map(completedMs)))) return true;
  const objects = objectsNaming(view, `${input.namespace}/${input.name}`);
  if (objects.length === 0) {
    await dropFinished(input.client, actions);
    return actions.some((a) => a.status?.phase !== "Succeeded" && a.status?.phase !== "Failed");
  }
  const executor = remoteExecutor(input.client, {
    namespace: input.namespace,
    clusterName: view.clusterName,
    template: { metadata: { name: input.name } },
    actions,
    view,
    nowMs: input.nowMs,
  });
  await executor.remove(objects.map((o) => ({ apiVersion: API_OF[o.kind] ?? "", kind: o.kind, name: o.name })));
  return true;
}

/** Sweeps every remote cluster of the key's namespace for objects of the gone template `key`. */
export async function sweepRemote(input: {
  client: KubeClient;
  caches: TemplateCaches;
  key: string;
  nowMs: number;
}): Promise<ReconcileResult> {
  const { namespace = "", name } = splitKey(input.key);
  const all = input.caches.actionsOf(namespace, name);
  // Actions for a cluster that is gone (removed though its agent never came back) will never be taken: no agent holds
  // its token any more, and each would keep the queue's health red.
  for (const a of all.filter((a) => !input.caches.cluster(namespace, a.spec.clusterRef.name)))
    await input.client.delete({ apiVersion: API_VERSION, kind: "AgentAction", namespace, name: a.metadata.name ?? "" });
  let left = false;
  for (const view of input.caches.remoteViews(namespace)) {
    const actions = all.filter((a) => a.spec.clusterRef.name === view.clusterName);
    if (await sweepCluster({ client: input.client, namespace, name, view, actions, nowMs: input.nowMs })) left = true;
  }
  return left ? { requeueAfterMs: RECHECK_MS } : {};
}
