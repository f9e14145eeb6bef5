// Wires the OptimizationPolicy reconciler: policies are the keys; a sibling policy, the cluster or one of our NodePools
// changing re-evaluates every policy of that cluster.
import type { AgentAction, ManagedCluster, NodeTemplate, OptimizationPolicy } from "../../../src-shared/crds/index.js";
import type { KubeClient, KubeObject } from "../../../src-shared/kube/index.js";
import {
  EventRecorder,
  objectKey,
  type ControllerManager,
  type Informer,
  type KindRef,
} from "../../../src-shared/runtime/index.js";
import { PROTECTED_BY } from "./exclusions.js";
import { MANAGED_CLUSTER, NODE_TEMPLATE, OPTIMIZATION_POLICY } from "../../../src-shared/crds/refs.js";
import { keysNamingCluster } from "../../../src-shared/tenancy/cluster-target.js";
import {
  CLUSTER_LABEL,
  NODEPOOL_API,
  localClusterDesignation,
  cachedDesignation,
  TEMPLATE_NAMESPACE_LABEL,
} from "../../../src-shared/karpenter/labels.js";
import { createPolicyReconciler } from "./reconciler.js";
import { POLICY_ACTION_LABEL } from "./remote-exclusions.js";
import { remoteView } from "../../../src-shared/agent/remote-view.js";
import { actionOwner } from "../../../src-shared/agent/action-owner.js";
import { API_VERSION } from "../../../src-shared/crds/common.js";
import { snapshotRef } from "../../../src-shared/agent/snapshot.js";
import { agentObjectOwner } from "../../../src-shared/agent/placement.js";

const POD: KindRef = { apiVersion: "v1", kind: "Pod" };
const NAMESPACE: KindRef = { apiVersion: "v1", kind: "Namespace" };

export interface PolicyControllerOptions {
  manager: ControllerManager;
  client: KubeClient;
  /** Where the installer's local-cluster designation lives (SPOTOPT_SYSTEM_NAMESPACE). */
  systemNamespace?: string;
  now?: () => Date;
}

/** Only the AgentActions of remote exclusions. */
const POLICY_ACTIONS: KindRef = { apiVersion: API_VERSION, kind: "AgentAction", labelSelector: POLICY_ACTION_LABEL };

/**
 * A remote cluster reported (its policies check the protected pods, and policies it still names as protectors are
 * released), or an exclusion action finished.
 */
function remoteWatches(
  policiesOf: (namespace: string | undefined, cluster: string | undefined) => string[],
  systemNamespace: string | undefined,
): Array<KindRef & { mapToKeys: (o: KubeObject) => string[] }> {
  const reported = (cm: KubeObject): string[] => {
    // The snapshot lives in the release namespace: its labels say which organisation and cluster it reports.
    const owner = agentObjectOwner(cm);
    if (!owner) return [];
    const protectors = (remoteView(cm)?.pods ?? [])
      .map((g) => g.protected_by ?? "")
      .filter((key) => key.startsWith(`${owner.namespace}/`));
    return [...new Set([...policiesOf(owner.namespace, owner.cluster), ...protectors])];
  };
  const named = (a: KubeObject): string[] => {
    const name = actionOwner(a, POLICY_ACTION_LABEL);
    return name ? [`${a.metadata?.namespace ?? ""}/${name}`] : [];
  };
  return [
    { ...snapshotRef(systemNamespace), mapToKeys: reported },
    { ...POLICY_ACTIONS, mapToKeys: named },
  ];
}

/** A pod matters to the policies excluding its namespace and to the one that annotated it. */
function policyKeysOfPod(policies: Informer<OptimizationPolicy>, pod: KubeObject): string[] {
  const ns = pod.metadata?.namespace ?? "";
  const marker = pod.metadata?.annotations?.[PROTECTED_BY];
  const excluding = policies
    .list()
    .filter((p) => p.spec.exclusions?.namespaces?.includes(ns))
    .map((p) => objectKey(p));
  return [...new Set([...excluding, ...(marker ? [marker] : [])])];
}

/** The policies of one cluster (namespace and name). */
function policyKeysOf(
  policies: Informer<OptimizationPolicy>,
  namespace: string | undefined,
  cluster: string | undefined,
): string[] {
  return keysNamingCluster(policies.list({ namespace: namespace ?? "" }), cluster);
}

/** Registers the `optimizationpolicy` controller; the local cluster's NodePools are watched where Karpenter is served. */
export async function registerOptimizationPolicyController(options: PolicyControllerOptions): Promise<void> {
  const { manager, client } = options;
  const policies = manager.informer<OptimizationPolicy>(OPTIMIZATION_POLICY);
  const clusters = manager.informer<ManagedCluster>(MANAGED_CLUSTER);
  const { informer: nodePools } = await manager.optionalInformer<KubeObject>(NODEPOOL_API);
  const pods = manager.informer<KubeObject>(POD);
  const namespaces = manager.informer<KubeObject>(NAMESPACE);
  const templates = manager.informer<NodeTemplate>(NODE_TEMPLATE);
  const designation = manager.informer<KubeObject>(localClusterDesignation(options.systemNamespace));
  const policiesOfPod = (pod: KubeObject): string[] => policyKeysOfPod(policies, pod);
  const policiesOf = (namespace: string | undefined, cluster: string | undefined): string[] =>
    policyKeysOf(policies, namespace, cluster);
  const recorder = new EventRecorder({ client, component: "spot-optimizer-optimizationpolicy" });
  manager.addController({
    name: "optimizationpolicy",
    forKind: OPTIMIZATION_POLICY,
    watches: [
      // The oldest policy's deletion puts the next one in force.
      {
        ...OPTIMIZATION_POLICY,
        mapToKeys: (p) => policiesOf(p.metadata?.namespace, (p as OptimizationPolicy).spec.clusterRef.name),
      },
      { ...MANAGED_CLUSTER, mapToKeys: (c) => policiesOf(c.metadata?.namespace, c.metadata?.name) },
      { ...POD, mapToKeys: policiesOfPod },
      {
        ...localClusterDesignation(options.systemNamespace),
        mapToKeys: () => policies.keys(),
      },
      // A remote cluster's template applied (or not) by its agent changes what the policy reports.
      {
        ...NODE_TEMPLATE,
        mapToKeys: (t) => {
          const cluster = (t as NodeTemplate).spec.clusterRef.name;
          const remote = clusters.get(t.metadata?.namespace, cluster)?.spec.mode === "remote";
          return remote ? policiesOf(t.metadata?.namespace, cluster) : [];
        },
      },
      {
        ...NODEPOOL_API,
        mapToKeys: (p) =>
          policiesOf(p.metadata?.labels?.[TEMPLATE_NAMESPACE_LABEL], p.metadata?.labels?.[CLUSTER_LABEL]),
      },
      ...remoteWatches(policiesOf, options.systemNamespace),
    ],
    // Policies deleted while no operator led: the pods they protected still name them, so release those keys too.
    initialKeys: () => [...new Set(pods.list().flatMap((p) => p.metadata?.annotations?.[PROTECTED_BY] ?? []))],
    reconcile: createPolicyReconciler({
      client,
      policies,
      clusters,
      nodePools,
      templates,
      pods,
      namespaces,
      localCluster: cachedDesignation(designation, options.systemNamespace),
      snapshots: manager.informer<KubeObject>(snapshotRef(options.systemNamespace)),
      actions: manager.informer<AgentAction>(POLICY_ACTIONS),
      events: { normal: (o, r, m) => recorder.normal(o, r, m), warning: (o, r, m) => recorder.warning(o, r, m) },
      now: options.now,
    }),
  });
}
