// Wires the NodeTemplate reconciler into the controller manager: templates are the keys; clusters, policies, our
// NodePools / EC2NodeClasses and NodeClaims map to the templates they affect.
import type { AgentAction, ManagedCluster, NodeTemplate, OptimizationPolicy } from "../../../src-shared/crds/index.js";
import type { KubeClient, KubeObject } from "../../../src-shared/kube/index.js";
import { loadCatalogPriceBook } from "../../../src-shared/pricing/catalog/index.js";
import type { PriceBook } from "../../../src-shared/pricing/types.js";
import { keysNamingCluster, type LocalClusterRef } from "../../../src-shared/tenancy/cluster-target.js";
import {
  EventRecorder,
  objectKey,
  splitKey,
  type ControllerManager,
  type Informer,
  type KindRef,
} from "../../../src-shared/runtime/index.js";
import { type AwsDefaults, type SpotReturnTiming } from "./desired.js";
import {
  EC2NODECLASS_API,
  NODEPOOL_API,
  TEMPLATE_ANNOTATION,
  localClusterDesignation,
  cachedDesignation,
  karpenterName,
} from "../../../src-shared/karpenter/labels.js";
import { TEMPLATE_ACTION_LABEL } from "./executor.js";
import { informerCaches } from "./kube.js";
import { remoteView, templateKeysNamed } from "../../../src-shared/agent/remote-view.js";
import { snapshotRef } from "../../../src-shared/agent/snapshot.js";
import { agentObjectOwner } from "../../../src-shared/agent/placement.js";
import { createNodeTemplateReconciler } from "./reconciler.js";
import { actionOwner } from "../../../src-shared/agent/action-owner.js";
import { priceBookConfigMaps } from "../../../src-shared/pricing/operator-prices.js";
import type { DecisionAudit } from "../../../src-shared/audit/decisions.js";
import { createAuditChainStore } from "../../../src-shared/audit/writer.js";
import { MANAGED_CLUSTER, NODE_TEMPLATE, OPTIMIZATION_POLICY } from "../../../src-shared/crds/refs.js";

export interface NodeTemplateControllerOptions {
  manager: ControllerManager;
  client: KubeClient;
  /** Prices by region (the operator passes its price book); default: the shipped snapshot, which throws for other regions. */
  priceBook?: (region: string) => PriceBook | undefined;
  /** The chart's AWS values, used where a ManagedCluster's spec.aws leaves a setting out. */
  awsDefaults?: AwsDefaults;
  /** Where the installer's local-cluster designation lives (SPOTOPT_SYSTEM_NAMESPACE). */
  systemNamespace?: string;
  /** Replaces the designation lookup (the benchmark gives each namespace a local cluster); default the ConfigMap. */
  localCluster?: (namespace: string) => Promise<LocalClusterRef | undefined>;
  now?: () => Date;
  /** The return to Spot's settle and re-check intervals (default 30 and 5 minutes; tests shorten them). */
  spotReturn?: SpotReturnTiming;
  concurrency?: number;
  /** Where capacity decisions are recorded; default the organisations' audit chains (src-shared/audit). */
  audit?: DecisionAudit;
}

export const NODE_CLAIM: KindRef = { apiVersion: "karpenter.sh/v1", kind: "NodeClaim" };
/** Only the AgentActions this controller created (remote clusters' NodePools and EC2NodeClasses). */
const TEMPLATE_ACTIONS: KindRef = {
  apiVersion: "spotoptimizer.io/v1alpha1",
  kind: "AgentAction",
  labelSelector: TEMPLATE_ACTION_LABEL,
};

/** The shipped snapshot's price book per region, built once: it never changes while the operator runs. */
function snapshotBooks(): (region: string) => PriceBook {
  const books = new Map<string, PriceBook>();
  return (region) => {
    let book = books.get(region);
    if (!book) books.set(region, (book = loadCatalogPriceBook(region)));
    return book;
  };
}

/**
 * A remote cluster reported: its templates check their objects against the report, and gone templates it still names
 * (in its own namespace) are swept.
 */
function reportedKeys(cm: KubeObject, templatesOfCluster: (namespace: string, cluster: string) => string[]): string[] {
  // The snapshot lives in the release namespace: its labels say which organisation and cluster it reports.
  const owner = agentObjectOwner(cm);
  if (!owner) return [];
  const view = remoteView(cm);
  return [
    ...templatesOfCluster(owner.namespace, owner.cluster),
    ...(view ? templateKeysNamed(view, owner.namespace) : []),
  ];
}

/** A NodeClaim maps to the template of its NodePool (the return to Spot reads the pool's On-Demand claims). */
function claimWatch(
  nodePools: { get(ns: undefined, name: string): KubeObject | undefined },
  named: (o: KubeObject) => string[],
): KindRef & { mapToKeys: (c: KubeObject) => string[] } {
  return {
    ...NODE_CLAIM,
    mapToKeys: (c) => {
      const pool = c.metadata?.labels?.["karpenter.sh/nodepool"];
      const owner = pool ? nodePools.get(undefined, pool) : undefined;
      return owner ? named(owner) : [];
    },
  };
}

/** The templates of one cluster (namespace and name). */
function templateKeysOf(templates: Informer<NodeTemplate>, namespace: string | undefined, cluster: string): string[] {
  return keysNamingCluster(templates.list({ namespace: namespace ?? "" }), cluster);
}

/** The other templates of the template's cluster. */
function siblingKeys(templates: Informer<NodeTemplate>, t: NodeTemplate): string[] {
  const own = objectKey(t);
  return templateKeysOf(templates, t.metadata.namespace, t.spec.clusterRef.name).filter((k) => k !== own);
}

/** A Karpenter object maps to the template its annotation names. */
function named(o: KubeObject): string[] {
  const key = o.metadata?.annotations?.[TEMPLATE_ANNOTATION];
  return key ? [key] : [];
}

/**
 * A Karpenter object maps to the template its annotation names; one without it (someone else's) to the template whose
 * generated name it holds, so that template applies as soon as the object that blocked it goes.
 */
function karpenterKeys(templates: Informer<NodeTemplate>): (o: KubeObject) => string[] {
  const generated = new Map<string, string>();
  const nameOf = (key: string): string => {
    let name = generated.get(key);
    if (name === undefined) {
      const { namespace, name: template } = splitKey(key);
      generated.set(key, (name = karpenterName(namespace ?? "", template)));
    }
    return name;
  };
  return (o) => {
    const marked = named(o);
    if (marked.length > 0) return marked;
    const keys = templates.keys();
    // Names of deleted templates are dropped now and then rather than tracked.
    if (generated.size > 2 * keys.length + 100) generated.clear();
    return keys.filter((key) => nameOf(key) === o.metadata?.name);
  };
}

/** An AgentAction maps to the template it names. */
function actionKeys(a: KubeObject): string[] {
  const name = actionOwner(a, TEMPLATE_ACTION_LABEL);
  return name ? [`${a.metadata?.namespace ?? ""}/${name}`] : [];
}

/** Watches of the objects whose specs decide a template's NodePool: siblings, cluster, policy, designation, prices. */
function specWatches(
  templates: Informer<NodeTemplate>,
  systemNamespace: string | undefined,
): Array<KindRef & { mapToKeys: (o: KubeObject) => string[] }> {
  const ofCluster = (namespace: string | undefined, cluster: string): string[] =>
    templateKeysOf(templates, namespace, cluster);
  return [
    // A sibling's isDefault or deletion moves the cluster's default, and with it every sibling's weight. The template
    // itself is left out: its own watch queues it, and a second run would read a cache behind the first one's writes.
    { ...NODE_TEMPLATE, mapToKeys: (t) => siblingKeys(templates, t as NodeTemplate) },
    { ...MANAGED_CLUSTER, mapToKeys: (c) => ofCluster(c.metadata?.namespace, c.metadata?.name ?? "") },
    {
      ...OPTIMIZATION_POLICY,
      mapToKeys: (p) => ofCluster(p.metadata?.namespace, (p as OptimizationPolicy).spec.clusterRef.name),
    },
    // A new local-cluster designation decides again which templates get NodePools here.
    {
      ...localClusterDesignation(systemNamespace),
      mapToKeys: () => templates.keys(),
    },
    // Refreshed prices re-rank instance types (the status shows each type's price and its source).
    { ...priceBookConfigMaps(systemNamespace), mapToKeys: () => templates.keys() },
  ];
}

/**
 * Registers the `nodetemplate` controller. Where this cluster serves no Karpenter NodePool and EC2NodeClass, the
 * templates of the local cluster say so (remote clusters' go through their agents all the same).
 */
export async function registerNodeTemplateController(options: NodeTemplateControllerOptions): Promise<void> {
  const { manager, client } = options;
  const templates = manager.informer<NodeTemplate>(NODE_TEMPLATE);
  const clusters = manager.informer<ManagedCluster>(MANAGED_CLUSTER);
  const policies = manager.informer<OptimizationPolicy>(OPTIMIZATION_POLICY);
  const pools = await manager.optionalInformer<KubeObject>(NODEPOOL_API);
  const classes = await manager.optionalInformer<KubeObject>(EC2NODECLASS_API);
  const [nodePools, nodeClasses] = [pools.informer, classes.informer];
  const karpenter = pools.served && classes.served;
  const nodeClaims = (await client.serves(NODE_CLAIM)) ? manager.informer<KubeObject>(NODE_CLAIM) : undefined;
  const designation = manager.informer<KubeObject>(localClusterDesignation(options.systemNamespace));
  const actions = manager.informer<AgentAction>(TEMPLATE_ACTIONS);
  const snapshotsRef = snapshotRef(options.systemNamespace);
  const snapshots = manager.informer<KubeObject>(snapshotsRef);
  const caches = informerCaches({
    templates,
    clusters,
    policies,
    nodePools,
    nodeClasses,
    nodeClaims,
    actions,
    snapshots,
    releaseNamespace: options.systemNamespace,
  });
  const templatesOfCluster = (namespace: string | undefined, cluster: string): string[] =>
    templateKeysOf(templates, namespace, cluster);
  const recorder = new EventRecorder({ client, component: "spot-optimizer-nodetemplate" });
  manager.addController({
    name: "nodetemplate",
    forKind: NODE_TEMPLATE,
    watches: [
      ...specWatches(templates, options.systemNamespace),
      { ...NODEPOOL_API, mapToKeys: karpenterKeys(templates) },
      { ...EC2NODECLASS_API, mapToKeys: karpenterKeys(templates) },
      // A remote cluster's agent finished (or failed) an action: the template's Applied follows it.
      { ...TEMPLATE_ACTIONS, mapToKeys: actionKeys },
      { ...snapshotsRef, mapToKeys: (cm) => reportedKeys(cm, templatesOfCluster) },
      ...(nodeClaims ? [claimWatch(nodePools, named)] : []),
    ],
    // Templates deleted while the operator was down: their objects still name them, so sweep those keys.
    initialKeys: () => caches.templateKeysOfObjects(),
    reconcile: createNodeTemplateReconciler({
      client,
      caches,
      priceBook: options.priceBook ?? snapshotBooks(),
      awsDefaults: options.awsDefaults,
      localCluster: options.localCluster ?? cachedDesignation(designation, options.systemNamespace),
      events: { normal: (o, r, m) => recorder.normal(o, r, m), warning: (o, r, m) => recorder.warning(o, r, m) },
      now: options.now,
      spotReturn: options.spotReturn,
      audit: options.audit ?? createAuditChainStore({ client }),
      karpenter,
    }),
    concurrency: options.concurrency ?? 4,
  });
}
