// The labels, annotations and names by which the operator marks the Karpenter objects and ConfigMaps it owns; the
// NodeTemplate and OptimizationPolicy controllers, the facade and `spotctl render` all read them from here.
import { createHash } from "node:crypto";
import { DEFAULT_SYSTEM_NAMESPACE } from "../tenancy/cluster-target.js";

export const NODEPOOL_API = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
export const EC2NODECLASS_API = { apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass" } as const;
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "spot-optimizer";
export const TEMPLATE_NAMESPACE_LABEL = "spotoptimizer.io/template-namespace";
export const TEMPLATE_NAME_LABEL = "spotoptimizer.io/template";
export const CLUSTER_LABEL = "spotoptimizer.io/cluster";
/** `namespace/name` of the template, in full (labels cap values at 63 characters). */
export const TEMPLATE_ANNOTATION = "spotoptimizer.io/nodetemplate";
/** Label on the AgentActions a NodeTemplate's objects are handed to a remote cluster's agent by (the template's name). */
export const TEMPLATE_ACTION_LABEL = "nodetemplate.spotoptimizer.io/template";
/**
 * The installer's local-cluster designation (and the other ConfigMaps we label) in the system namespace, to follow a
 * change of it; not every namespace's ConfigMaps.
 */
export function ourConfigMaps(systemNamespace: string = DEFAULT_SYSTEM_NAMESPACE): {
  apiVersion: "v1";
  kind: "ConfigMap";
  labelSelector: string;
  namespace: string;
} {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
    namespace: systemNamespace,
  };
}

function slug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/**
 * The cluster-unique name of the template's NodePool and EC2NodeClass: readable `namespace-name`, cut to fit the
 * 63-character `karpenter.sh/nodepool` label, plus a hash of `namespace/name` so that `a-b/c` and `a/b-c` differ.
 */
export function karpenterName(namespace: string, name: string): string {
  const hash = createHash("sha256").update(`${namespace}/${name}`).digest("hex").slice(0, 8);
  const readable = slug(`${namespace}-${name}`).slice(0, 54).replace(/-+$/g, "");
  return `${readable}-${hash}`;
}
