// The labels, annotations and names by which the operator marks the Karpenter objects and ConfigMaps it owns; the
// NodeTemplate and OptimizationPolicy controllers, the facade and `spotctl render` all read them from here.
import { createHash } from "node:crypto";
import {
  DEFAULT_SYSTEM_NAMESPACE,
  LOCAL_CLUSTER_CONFIGMAP,
  localClusterFromConfigMap,
  type LocalClusterRef,
} from "../tenancy/cluster-target.js";

export const NODEPOOL_API = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
export const EC2NODECLASS_API = { apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass" } as const;
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "spot-optimizer";
export const TEMPLATE_NAMESPACE_LABEL = "spotoptimizer.io/template-namespace";
export const TEMPLATE_NAME_LABEL = "spotoptimizer.io/template";
export const CLUSTER_LABEL = "spotoptimizer.io/cluster";
/** `namespace/name` of the template, in full (labels cap values at 63 characters). */
export const TEMPLATE_ANNOTATION = "spotoptimizer.io/nodetemplate";
/**
 * Label on the AgentActions a NodeTemplate's objects are handed to a remote cluster's agent by: the template's name as a
 * label value (`labelValue`), with the full name in the annotation of the same key (src-shared/agent/action-owner.ts).
 */
export const TEMPLATE_ACTION_LABEL = "nodetemplate.spotoptimizer.io/template";
/**
 * The installer's local-cluster designation in the system namespace, watched by its name: Helm, which installs it,
 * sets its own managed-by label on everything it applies, so no label of ours is there to select it by.
 */
export function localClusterDesignation(systemNamespace: string = DEFAULT_SYSTEM_NAMESPACE): {
  apiVersion: "v1";
  kind: "ConfigMap";
  fieldSelector: string;
  namespace: string;
} {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    fieldSelector: `metadata.name=${LOCAL_CLUSTER_CONFIGMAP}`,
    namespace: systemNamespace,
  };
}

/** The designation as the informer of `localClusterDesignation` holds it (synced before any reconcile runs). */
export function cachedDesignation(
  cache: { get(namespace: string | undefined, name: string): unknown },
  systemNamespace: string = DEFAULT_SYSTEM_NAMESPACE,
): () => Promise<LocalClusterRef | undefined> {
  return localClusterFromConfigMap(async (ref) => cache.get(ref.namespace, ref.name), systemNamespace);
}

function slug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** `readable` slugged and cut so that it and 8 hex of sha256(`hashed`) fit a 63-character label value or DNS label. */
function withHash(readable: string, hashed: string): string {
  const hash = createHash("sha256").update(hashed).digest("hex").slice(0, 8);
  const cut = slug(readable).slice(0, 54).replace(/-+$/g, "");
  return cut ? `${cut}-${hash}` : hash;
}

/**
 * The cluster-unique name of the template's NodePool and EC2NodeClass: readable `namespace-name`, cut to fit the
 * 63-character `karpenter.sh/nodepool` label, plus a hash of `namespace/name` so that `a-b/c` and `a/b-c` differ.
 */
export function karpenterName(namespace: string, name: string): string {
  return withHash(`${namespace}-${name}`, `${namespace}/${name}`);
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * A label value standing for `value`: itself when it is a valid label value (so labels written before this existed
 * still match), else its readable start plus a hash. Object names reach 253 characters and labels only 63, so two
 * values may share a label: select by it, then compare the full value kept beside it.
 */
export function labelValue(value: string): string {
  return value.length <= 63 && LABEL_VALUE.test(value) ? value : withHash(value, value);
}
