// What the NodeTemplate reconciler reads, from the manager's informer caches, and the rule for the cluster's default.
import type { AgentAction, ManagedCluster, NodeTemplate, OptimizationPolicy } from "../../../src-shared/crds/index.js";
import type { KubeObject } from "../../../src-shared/kube/index.js";
import type { Informer } from "../../../src-shared/runtime/index.js";
import { MANAGED_BY, MANAGED_BY_LABEL, TEMPLATE_ANNOTATION } from "../../../src-shared/karpenter/labels.js";
import { TEMPLATE_ACTION_LABEL } from "./executor.js";
import { remoteView, templateKeysNamed, type RemoteView } from "../../../src-shared/agent/remote-view.js";
import { snapshotOf, snapshotsOf } from "../../../src-shared/agent/snapshot.js";
import { agentObjectOwner } from "../../../src-shared/agent/placement.js";
import { isOwnedBy, ownerSelector } from "../../../src-shared/agent/action-owner.js";

export interface TemplateCaches {
  template(namespace: string, name: string): NodeTemplate | undefined;
  templates(namespace: string): NodeTemplate[];
  cluster(namespace: string, name: string): ManagedCluster | undefined;
  policies(namespace: string): OptimizationPolicy[];
  karpenterObject(kind: string, name: string): KubeObject | undefined;
  /** Names of our NodePools / EC2NodeClasses whose template annotation is `key`. */
  objectNamesOf(key: string): string[];
  /** Template keys named by our NodePools / EC2NodeClasses (for the orphan sweep). */
  templateKeysOfObjects(): string[];
  /** Creation times of the pool's NodeClaims that run On-Demand. */
  onDemandClaimsCreatedMs(poolName: string): number[];
  /** The pool's NodeClaims (its nodes), or undefined where this cluster serves no NodeClaims to count. */
  poolNodeClaims(poolName: string): number | undefined;
  /** The AgentActions this controller created for a template of a remote cluster. */
  actionsOf(namespace: string, templateName: string): AgentAction[];
  /** A remote cluster's latest heartbeat report (undefined before its agent reported). */
  remoteView(namespace: string, clusterName: string): RemoteView | undefined;
  /** The reports of every remote cluster of the namespace (where a deleted template's objects may still be). */
  remoteViews(namespace: string): RemoteView[];
}

export interface TemplateInformers {
  templates: Informer<NodeTemplate>;
  clusters: Informer<ManagedCluster>;
  policies: Informer<OptimizationPolicy>;
  nodePools: Informer<KubeObject>;
  nodeClasses: Informer<KubeObject>;
  nodeClaims?: Informer<KubeObject>;
  actions?: Informer<AgentAction>;
  /** The facade's heartbeat snapshot ConfigMaps (remote clusters), in the release namespace. */
  snapshots?: Informer<KubeObject>;
  /** That namespace; default DEFAULT_SYSTEM_NAMESPACE. */
  releaseNamespace?: string | undefined;
}

function ours(o: KubeObject): boolean {
  return (
    o.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY &&
    o.metadata?.annotations?.[TEMPLATE_ANNOTATION] !== undefined
  );
}

export function informerCaches(i: TemplateInformers): TemplateCaches {
  const managed = (): KubeObject[] => [...i.nodePools.list(), ...i.nodeClasses.list()].filter(ours);
  const views = (namespace?: string): RemoteView[] =>
    snapshotsOf(i.snapshots, namespace).flatMap((cm) => remoteView(cm) ?? []);
  // Keys named in a report count only within the organisation its labels name (the cluster's).
  const remoteKeys = (): string[] =>
    snapshotsOf(i.snapshots).flatMap((cm) => {
      const view = remoteView(cm);
      const owner = agentObjectOwner(cm);
      return view && owner ? templateKeysNamed(view, owner.namespace) : [];
    });
  return {
    template: (ns, name) => i.templates.get(ns, name),
    templates: (ns) => i.templates.list({ namespace: ns }),
    cluster: (ns, name) => i.clusters.get(ns, name),
    policies: (ns) => i.policies.list({ namespace: ns }),
    karpenterObject: (kind, name) => (kind === "NodePool" ? i.nodePools : i.nodeClasses).get(undefined, name),
    objectNamesOf: (key) =>
      managed()
        .filter((o) => o.metadata?.annotations?.[TEMPLATE_ANNOTATION] === key)
        .map((o) => o.metadata?.name ?? ""),
    templateKeysOfObjects: () => [
      ...new Set([...managed().map((o) => o.metadata!.annotations![TEMPLATE_ANNOTATION]!), ...remoteKeys()]),
    ],
    onDemandClaimsCreatedMs: (pool) =>
      (
        i.nodeClaims?.list({
          labelSelector: { "karpenter.sh/nodepool": pool, "karpenter.sh/capacity-type": "on-demand" },
        }) ?? []
      )
        .map((c) => Date.parse(c.metadata?.creationTimestamp ?? ""))
        .filter((ms) => Number.isFinite(ms)),
    poolNodeClaims: (pool) => i.nodeClaims?.list({ labelSelector: { "karpenter.sh/nodepool": pool } }).length,
    actionsOf: (namespace, templateName) =>
      (i.actions?.list({ namespace, labelSelector: ownerSelector(TEMPLATE_ACTION_LABEL, templateName) }) ?? []).filter(
        (a) => isOwnedBy(a, TEMPLATE_ACTION_LABEL, templateName),
      ),
    remoteView: (namespace, cluster) =>
      remoteView(snapshotOf(i.snapshots, { releaseNamespace: i.releaseNamespace, namespace, cluster })),
    remoteViews: (namespace) => views(namespace),
  };
}

function olderFirst(a: NodeTemplate, b: NodeTemplate): number {
  return (
    (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
    (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "")
  );
}

/**
 * The cluster's default template, decided the same way by every replica from what the API server holds:
 * 1. the template the ManagedCluster's spec.defaultTemplate names, when it is one of the cluster's templates (not being
 *    deleted);
 * 2. else the oldest (creationTimestamp, then name) of the cluster's templates with isDefault;
 * 3. else, when spec.defaultTemplate names a template that is gone or being deleted (the default was deleted, e.g. with
 *    kubectl), its successor: the oldest of the cluster's remaining templates, the rule DELETE /templates/{id} uses;
 * 4. else none (no template was ever made the default, or none is left).
 * spec.defaultTemplate is one field, so moving the default is one write that a conflict serialises; isDefault follows.
 */
export function effectiveDefault(templates: readonly NodeTemplate[], cluster: ManagedCluster): string | undefined {
  const mine = templates
    .filter((t) => t.spec.clusterRef.name === cluster.metadata.name && !t.metadata.deletionTimestamp)
    .sort(olderFirst);
  const named = mine.find((t) => t.metadata.name === cluster.spec.defaultTemplate);
  const flagged = mine.find((t) => t.spec.isDefault === true);
  const successor = cluster.spec.defaultTemplate ? mine[0] : undefined;
  return (named ?? flagged ?? successor)?.metadata.name;
}
