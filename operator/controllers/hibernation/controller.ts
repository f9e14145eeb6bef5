// Wires the hibernation reconciler into the controller manager: schedule informer plus the kinds it scales.
import type { AuditWriter } from "../../../src-shared/audit/types.js";
import { createAuditChainStore } from "../../../src-shared/audit/writer.js";
import { ControllerStoppedError } from "./kube.js";
import type { KubeClient, KubeObject } from "../../../src-shared/kube/index.js";
import {
  EventRecorder,
  objectKey,
  type ControllerManager,
  type EventSink,
  type Informer,
} from "../../../src-shared/runtime/index.js";
import { createHibernationReconciler } from "./reconciler.js";
import { KIND_REFS, WORKLOAD_KINDS, snapshotRef, hibernationWriter, informerReader, type ReadKind } from "./kube.js";
import { SCHEDULE_LABEL } from "./executor.js";
import { agentObjectOwner } from "../../../src-shared/agent/placement.js";
import { localClusterDesignation } from "../../../src-shared/karpenter/labels.js";
import { actionOwner } from "../../../src-shared/agent/action-owner.js";
import {
  clusterRefName,
  DEFAULT_SYSTEM_NAMESPACE,
  keysNamingCluster,
} from "../../../src-shared/tenancy/cluster-target.js";
import { catalogPrices, type NodeHourlyPrice } from "./savings.js";

export interface HibernationControllerOptions {
  manager: ControllerManager;
  client: KubeClient;
  /** Default: the shipped price snapshot (src-shared/pricing/snapshot) by the nodes' region label. */
  price?: NodeHourlyPrice;
  /** Default: the facade's hash chain (src-shared/audit), so hibernation entries verify with the rest. */
  audit?: AuditWriter;
  nowMs?: () => number;
  /** Once true, every write of this controller throws (tests stop an instance mid-reconcile with it). */
  isStopped?: () => boolean;
  /** Where the local-cluster designation lives (default spot-optimizer-system). */
  systemNamespace?: string;
}

/**
 * Registers the `hibernation` controller. Any change to a workload, NodePool or NodeClaim enqueues every
 * schedule (one per cluster, so that is one key): the reconcile is level-based and cheap when nothing changed.
 * Karpenter's kinds are read as empty where the cluster does not serve them (their informers never start).
 */
export async function registerHibernationController(options: HibernationControllerOptions): Promise<void> {
  const { manager, client } = options;
  const informers: Partial<Record<ReadKind | "AgentAction" | "Snapshot" | "Designation", Informer>> = {
    HibernationSchedule: manager.informer(KIND_REFS.HibernationSchedule),
    ManagedCluster: manager.informer(KIND_REFS.ManagedCluster),
    // Organisation namespaces are never another organisation's to scale (labels read from this cache).
    Namespace: manager.informer(KIND_REFS.Namespace),
  };
  const scheduleKeys = (): string[] => informers.HibernationSchedule!.list().map((s) => objectKey(s));
  // A cluster's own changes (its ManagedCluster, its agent's snapshot) concern only the schedules naming it: with many
  // remote clusters reporting every minute, enqueuing every schedule would re-plan them all on each report.
  const schedulesOf = (namespace: string | undefined, cluster: string | undefined): string[] =>
    keysNamingCluster(informers.HibernationSchedule!.list({ namespace: namespace ?? "" }), cluster);
  // A remote cluster's side: its agent's snapshot and the AgentActions hibernation handed it.
  informers.AgentAction = manager.informer(KIND_REFS.AgentAction);
  const snapshots = snapshotRef(options.systemNamespace);
  informers.Snapshot = manager.informer(snapshots);
  const designation = localClusterDesignation(options.systemNamespace);
  informers.Designation = manager.informer(designation);
  const actionScheduleKeys = (action: KubeObject): string[] => {
    const schedule = actionOwner(action, SCHEDULE_LABEL);
    return schedule ? [`${action.metadata?.namespace ?? ""}/${schedule}`] : [];
  };
  const watched: ReadKind[] = [...WORKLOAD_KINDS, "Node", "NodePool", "NodeClaim"];
  for (const kind of [...WORKLOAD_KINDS, "Node"] as const) informers[kind] = manager.informer(KIND_REFS[kind]);
  // Where Karpenter is not installed these never list, and read as empty.
  for (const kind of ["NodePool", "NodeClaim"] as const)
    informers[kind] = (await manager.optionalInformer(KIND_REFS[kind])).informer;
  manager.addController({
    name: "hibernation",
    forKind: KIND_REFS.HibernationSchedule,
    watches: [
      ...watched.filter((k) => k !== "Node").map((kind) => ({ ...KIND_REFS[kind], mapToKeys: scheduleKeys })),
      { ...KIND_REFS.ManagedCluster, mapToKeys: (c) => schedulesOf(c.metadata?.namespace, c.metadata?.name) },
      // One schedule per cluster is in force: when it goes (or a sibling changes), a Duplicate may take over. The
      // schedule itself is left out: its own watch queues it, and a second run would read a cache behind its writes.
      {
        ...KIND_REFS.HibernationSchedule,
        mapToKeys: (s) => schedulesOf(s.metadata?.namespace, clusterRefName(s)).filter((key) => key !== objectKey(s)),
      },
      { ...KIND_REFS.AgentAction, mapToKeys: actionScheduleKeys },
      // In the release namespace: its labels say which organisation and cluster the snapshot reports.
      { ...snapshots, mapToKeys: (cm) => schedulesOf(agentObjectOwner(cm)?.namespace, agentObjectOwner(cm)?.cluster) },
      // A new designation decides again which schedule may act on the local cluster.
      { ...designation, mapToKeys: scheduleKeys },
    ],
    reconcile: createHibernationReconciler({
      reader: informerReader(informers, { client, systemNamespace: options.systemNamespace }),
      writer: hibernationWriter(client, options.isStopped),
      // Where the chart installs the operator, the facade and, on a remote cluster, usually the agent too.
      protectedNamespaces: [options.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE],
      nowMs: options.nowMs,
      price: options.price ?? catalogPrices(),
      audit: options.audit ?? guardedChain(client, options.isStopped),
      events: guardedEvents(client, options.isStopped),
    }),
    concurrency: 1,
  });
}

/** The audit chain store, refusing to start an append once the instance is stopped (like every other write). */
function guardedChain(
  client: KubeClient,
  isStopped: () => boolean = () => false,
): AuditWriter & Pick<ReturnType<typeof createAuditChainStore>, "readChain"> {
  const store = createAuditChainStore({ client });
  return {
    record: async (input) => {
      if (isStopped()) throw new ControllerStoppedError("hibernation controller was stopped");
      return store.record(input);
    },
    readChain: (namespace) => store.readChain(namespace),
  };
}

/** Events of a stopped instance are dropped like its other writes (Events are a courtesy, never retried). */
function guardedEvents(client: KubeClient, isStopped: () => boolean = () => false): EventSink {
  const recorder = new EventRecorder({ client, component: "spot-optimizer-hibernation" });
  return {
    normal: async (object, reason, message) => (isStopped() ? undefined : recorder.normal(object, reason, message)),
    warning: async (object, reason, message) => (isStopped() ? undefined : recorder.warning(object, reason, message)),
  };
}
