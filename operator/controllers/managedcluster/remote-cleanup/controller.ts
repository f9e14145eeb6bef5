// The remote-cleanup controller: a remote ManagedCluster keeps a finalizer while NodeTemplates may have applied
// NodePools / EC2NodeClasses through its agent, so deleting the cluster (e.g. from the dashboard) first has the agent
// remove them — otherwise Karpenter would keep launching nodes from objects nothing manages any more.
import { remoteView, type RemoteView } from "../../../../src-shared/agent/remote-view.js";
import { snapshotOf, snapshotRef } from "../../../../src-shared/agent/snapshot.js";
import { agentObjectClusterKeys } from "../../../../src-shared/agent/placement.js";
import { AGENT_ACTION, MANAGED_CLUSTER, NODE_TEMPLATE } from "../../../../src-shared/crds/refs.js";
import { TEMPLATE_ACTION_LABEL } from "../../../../src-shared/karpenter/labels.js";
import { clusterRefName } from "../../../../src-shared/tenancy/cluster-target.js";
import type { KubeClient, KubeObject } from "../../../../src-shared/kube/index.js";
import {
  EventRecorder,
  type ControllerManager,
  type Informer,
  type KindRef,
  type ReconcileResult,
} from "../../../../src-shared/runtime/index.js";
import { REMOTE_CLEANUP_FINALIZER, decideCleanup, type CleanupDecision } from "./decision.js";

export interface RemoteCleanupControllerOptions {
  manager: ControllerManager;
  client: KubeClient;
  now?: () => Date;
  /** Where the facade keeps the agents' snapshots (SPOTOPT_SYSTEM_NAMESPACE, the release namespace). */
  systemNamespace?: string | undefined;
  /** No report for this long while deleting: the objects are left and said so (default 10 minutes). */
  giveUpMs?: number;
}

const TEMPLATE_ACTIONS: KindRef = { ...AGENT_ACTION, labelSelector: TEMPLATE_ACTION_LABEL };
const DEFAULT_GIVE_UP_MS = 10 * 60_000;

interface Caches {
  clusters: Informer;
  templates: Informer;
  actions: Informer;
  snapshots: Informer;
  releaseNamespace: string | undefined;
}

function keyOf(namespace: string | undefined, name: string | undefined): string[] {
  return name ? [`${namespace ?? ""}/${name}`] : [];
}

function viewOf(caches: Caches, namespace: string, name: string): RemoteView | undefined {
  return remoteView(
    snapshotOf(caches.snapshots, { releaseNamespace: caches.releaseNamespace, namespace, cluster: name }),
  );
}

function openActions(caches: Caches, namespace: string, name: string): number {
  return caches.actions
    .list({ namespace })
    .filter((a) => clusterRefName(a) === name)
    .filter((a) => !["Succeeded", "Failed"].includes((a as { status?: { phase?: string } }).status?.phase ?? ""))
    .length;
}

/** Adds or removes only our finalizer, guarded by the resourceVersion read (a 409 is retried by the queue). */
async function setFinalizer(client: KubeClient, cluster: KubeObject, on: boolean): Promise<void> {
  const current = cluster.metadata?.finalizers ?? [];
  const finalizers = on
    ? [...current, REMOTE_CLEANUP_FINALIZER]
    : current.filter((f) => f !== REMOTE_CLEANUP_FINALIZER);
  await client.patch(
    { ...MANAGED_CLUSTER, namespace: cluster.metadata?.namespace, name: cluster.metadata?.name ?? "" },
    { metadata: { resourceVersion: cluster.metadata?.resourceVersion, finalizers } },
    { type: "merge", fieldManager: "spot-optimizer-remote-cleanup" },
  );
}

async function carryOut(
  ctx: { client: KubeClient; events: EventRecorder },
  cluster: KubeObject,
  decision: CleanupDecision,
): Promise<ReconcileResult> {
  if (decision.action === "none") return decision.recheckMs ? { requeueAfterMs: decision.recheckMs } : {};
  if (decision.action === "remove" && decision.left && decision.left.length > 0)
    await ctx.events.warning(
      cluster,
      "RemoteObjectsLeft",
      `The cluster's agent stopped reporting or did not remove them within ten minutes: the NodePools and EC2NodeClasses of NodeTemplates ` +
        `${decision.left.join(", ")} may still be in that cluster; delete them there`,
    );
  await setFinalizer(ctx.client, cluster, decision.action === "add");
  return {};
}

/** What decides the cluster's finalizer, read from the caches. */
function cleanupInput(
  options: RemoteCleanupControllerOptions,
  caches: Caches,
  cluster: KubeObject,
): Parameters<typeof decideCleanup>[0] {
  const namespace = cluster.metadata?.namespace ?? "";
  const name = cluster.metadata?.name ?? "";
  const deletion = cluster.metadata?.deletionTimestamp;
  return {
    namespace,
    ...(deletion ? { deletionMs: Date.parse(deletion) } : {}),
    hasFinalizer: hasFinalizer(cluster),
    templates: caches.templates.list({ namespace }).filter((t) => clusterRefName(t) === name).length,
    view: viewOf(caches, namespace, name),
    openActions: openActions(caches, namespace, name),
    nowMs: (options.now?.() ?? new Date()).getTime(),
    giveUpMs: options.giveUpMs ?? DEFAULT_GIVE_UP_MS,
  };
}

function hasFinalizer(cluster: KubeObject): boolean {
  return (cluster.metadata?.finalizers ?? []).includes(REMOTE_CLEANUP_FINALIZER);
}

function reconciler(
  options: RemoteCleanupControllerOptions,
  caches: Caches,
): (key: string) => Promise<ReconcileResult> {
  const ctx = {
    client: options.client,
    events: new EventRecorder({ client: options.client, component: "spot-optimizer-remote-cleanup" }),
  };
  return async (key) => {
    const [namespace = "", name = ""] = key.split("/", 2);
    const cluster = caches.clusters.get(namespace, name);
    if (!cluster) return {};
    // A cluster that is (now) local has no agent to remove anything: the finalizer is not held there.
    if ((cluster as { spec?: { mode?: string } }).spec?.mode !== "remote")
      return hasFinalizer(cluster) ? carryOut(ctx, cluster, { action: "remove" }) : {};
    return carryOut(ctx, cluster, decideCleanup(cleanupInput(options, caches, cluster)));
  };
}

/** Registers the `remote-cleanup` controller (keyed by ManagedCluster; templates, actions and reports map to it). */
export function registerRemoteCleanupController(options: RemoteCleanupControllerOptions): void {
  const { manager } = options;
  const caches: Caches = {
    clusters: manager.informer(MANAGED_CLUSTER),
    templates: manager.informer(NODE_TEMPLATE),
    actions: manager.informer(TEMPLATE_ACTIONS),
    snapshots: manager.informer(snapshotRef(options.systemNamespace)),
    releaseNamespace: options.systemNamespace,
  };
  manager.addController({
    name: "remote-cleanup",
    forKind: MANAGED_CLUSTER,
    watches: [
      { ...NODE_TEMPLATE, mapToKeys: (t) => keyOf(t.metadata?.namespace, clusterRefName(t)) },
      { ...TEMPLATE_ACTIONS, mapToKeys: (a) => keyOf(a.metadata?.namespace, clusterRefName(a)) },
      { ...snapshotRef(options.systemNamespace), mapToKeys: agentObjectClusterKeys },
    ],
    reconcile: reconciler(options, caches),
    concurrency: 1,
  });
}
