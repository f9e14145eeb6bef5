// Wires the replan reconciler into the controller manager: ManagedClusters are the keys; templates, policies and pods are read from caches.
import { snapshotRef } from "../../../../src-shared/agent/snapshot.js";
import { createAuditChainStore } from "../../../../src-shared/audit/writer.js";
import type { KubeClient } from "../../../../src-shared/kube/index.js";
import { loadSnapshotPriceBook } from "../../../../src-shared/pricing/snapshot/index.js";
import type { PriceBook } from "../../../../src-shared/pricing/types.js";
import { EventRecorder, type ControllerManager, type KindRef } from "../../../../src-shared/runtime/index.js";
import { cachedDesignation, localClusterDesignation } from "../../../../src-shared/karpenter/labels.js";
import { createReplanReconciler, type ReplanReconcilerOptions } from "./reconciler.js";
import { OptimizerWorker } from "../../../../src-shared/optimizer/in-worker.js";
import {
  HIBERNATION_SCHEDULE,
  MANAGED_CLUSTER,
  NODE_TEMPLATE,
  OPTIMIZATION_POLICY,
} from "../../../../src-shared/crds/refs.js";

export interface ReplanControllerOptions {
  manager: ControllerManager;
  client: KubeClient;
  /** Default: the shipped price snapshot (src-shared/pricing/snapshot); throws for a region it does not cover. */
  priceBook?: (region: string) => PriceBook;
  /** Default: the org's hash chain (src-shared/audit), so replan entries verify with the rest. */
  audit?: ReplanReconcilerOptions["audit"];
  /** Work budget of one plan (default 1000, about 1 ms of CPU per unit; see OptimizeInput.planBudgetMs). */
  planBudgetMs?: number;
  /** Where the installer's local-cluster designation lives (SPOTOPT_SYSTEM_NAMESPACE). */
  systemNamespace?: string;
  now?: () => Date;
}

const POD: KindRef = { apiVersion: "v1", kind: "Pod" };

/**
 * Registers the `replan` controller. A job is a one-shot request (the replan-requested annotation), so only the
 * ManagedCluster itself enqueues: pods, templates and policies are read at the time the job runs, and changing them
 * later does not re-run a finished job (a new POST /clusters/{id}/optimize does).
 */
export function registerReplanController(options: ReplanControllerOptions): void {
  const { manager, client } = options;
  const store = createAuditChainStore({ client });
  const recorder = new EventRecorder({ client, component: "spot-optimizer-replan" });
  const planner = new OptimizerWorker();
  manager.addController({
    name: "replan",
    forKind: MANAGED_CLUSTER,
    reconcile: createReplanReconciler({
      client,
      clusters: manager.informer(MANAGED_CLUSTER),
      templates: manager.informer(NODE_TEMPLATE),
      policies: manager.informer(OPTIMIZATION_POLICY),
      pods: manager.informer(POD),
      // Only the facade's heartbeat snapshots (remote clusters' pods) in the release namespace, not every ConfigMap.
      snapshots: manager.informer(snapshotRef(options.systemNamespace)),
      schedules: manager.informer(HIBERNATION_SCHEDULE),
      releaseNamespace: options.systemNamespace,
      priceBook: options.priceBook ?? loadSnapshotPriceBook,
      localCluster: cachedDesignation(
        manager.informer(localClusterDesignation(options.systemNamespace)),
        options.systemNamespace,
      ),
      audit: options.audit ?? store,
      events: { normal: (o, r, m) => recorder.normal(o, r, m), warning: (o, r, m) => recorder.warning(o, r, m) },
      planBudgetMs: options.planBudgetMs,
      now: options.now,
      // In a thread of its own: a plan of seconds must not stall Lease renewal, watches and the other controllers. One
      // thread only: the chart gives the operator one CPU, which a second solver thread would share (and its memory).
      optimize: (input) => planner.optimize({ ...input, threads: false }),
    }),
    // Plans are CPU-bound: one at a time bounds the operator's CPU to one plan budget.
    concurrency: 1,
    close: () => planner.close(),
  });
}
