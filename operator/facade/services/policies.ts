// The optimisation policy service: each change edits the cluster's one OptimizationPolicy in force (created on first
// use, named after and owned by the cluster) and names the NodePools the NodeTemplate controller will reshape.
import {
  NodeTemplateSpec,
  type ManagedCluster,
  type NodeTemplate,
  type OptimizationPolicy,
} from "../../../src-shared/crds/index.js";
import type { PriceBook } from "../../../src-shared/pricing/types.js";
import { desiredTemplate } from "../../controllers/nodetemplate/desired.js";
import { karpenterName } from "../../../src-shared/karpenter/labels.js";
import { effectivePolicy } from "../../../src-shared/karpenter/policy.js";
import { editPerClusterObject, targetCluster } from "./cluster-target.js";
import { settle, type ResourceContext } from "./resource-scope.js";

export type PolicyPatch = Record<string, unknown>;

export interface PolicyChanged {
  cluster: ManagedCluster;
  before?: OptimizationPolicy;
  after: OptimizationPolicy;
  /** The NodePools whose desired spec changes (a remote cluster's too: its agent applies them). */
  nodePoolsChanged: string[];
}

/** The NodeTemplate controller has narrowed the template's pool back to Spot (its SpotFallback condition says so). */
function narrowedToSpot(t: NodeTemplate): boolean {
  return (t.status?.conditions ?? []).some((c) => c.type === "SpotFallback" && c.reason === "ReturningToSpot");
}

/**
 * The NodePools whose desired spec differs between the policy before and after the edit, from the same pure builder
 * the NodeTemplate controller applies (the controller then writes them). The inputs the policy does not touch are held
 * as the controller last saw them: a pool narrowed back to Spot stays narrowed while Spot fallback remains on.
 */
function changedNodePools(
  rc: ResourceContext,
  cluster: ManagedCluster,
  policies: { before?: OptimizationPolicy | undefined; after: OptimizationPolicy },
): string[] {
  const clusterName = cluster.metadata.name ?? "";
  const book = rc.priceBookFor(cluster.spec.region);
  const catalog = book && "instanceTypes" in book ? (book as unknown as PriceBook) : undefined;
  const changed: string[] = [];
  for (const t of rc.cache.templates(rc.namespace).filter((x) => x.spec.clusterRef.name === clusterName)) {
    const spec = NodeTemplateSpec.safeParse(t.spec);
    if (!spec.success) continue;
    const pool = (policy: OptimizationPolicy | undefined): string =>
      JSON.stringify(
        desiredTemplate({
          template: { namespace: rc.namespace, name: t.metadata.name ?? "", spec: spec.data },
          cluster: { name: clusterName, spec: cluster.spec },
          policy: effectivePolicy(policy),
          isDefault: false,
          ...(catalog ? { catalog } : {}),
          narrowToSpot: narrowedToSpot(t),
        }).nodePool?.spec ?? null,
      );
    if (pool(policies.before) !== pool(policies.after))
      changed.push(karpenterName(rc.namespace, t.metadata.name ?? ""));
  }
  return changed.sort();
}

/** Merge-patches the cluster's policy (cluster_id, or the active cluster); concurrent changes on any replica all land. */
async function patchPolicy(
  rc: ResourceContext,
  input: { clusterId?: string | undefined; patch: PolicyPatch },
): Promise<PolicyChanged> {
  const cluster = await targetCluster(rc, input.clusterId);
  const result = await editPerClusterObject<OptimizationPolicy>(
    {
      rc,
      kind: "OptimizationPolicy",
      cluster,
      initial: { clusterRef: { name: cluster.metadata.name } },
      patch: () => input.patch,
    },
    () => rc.cache.policies(rc.namespace),
  );
  await settle(rc, "OptimizationPolicy", result.after);
  return { cluster, ...result, nodePoolsChanged: changedNodePools(rc, cluster, result) };
}

export interface PolicyService {
  patch: typeof patchPolicy;
}

export function createPolicyService(): PolicyService {
  return { patch: patchPolicy };
}
