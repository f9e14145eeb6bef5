// The six PATCH /policies/* endpoints: each merge-patches one part of the cluster's OptimizationPolicy in force (the
// oldest naming it; created on first use, named after and owned by the cluster); the NodeTemplate controller reshapes
// the cluster's NodePools from it.
import { z } from "zod";
import {
  NodeTemplateSpec,
  namespaceName,
  type ManagedCluster,
  type OptimizationPolicy,
} from "../../../src-shared/crds/index.js";
import { defineRoute, type RouteDef } from "../http.js";
import { targetCluster, upsertPerClusterObject } from "../services/cluster-target.js";
import { ClusterId, resourceContext, settle, specOf, type ResourceContext } from "./shared.js";
import type { PriceBook } from "../../../src-shared/pricing/types.js";
import { desiredTemplate, karpenterName } from "../../controllers/nodetemplate/desired.js";
import { effectivePolicy } from "../../controllers/optimizationpolicy/desired.js";

const PolicyResponse = z.object({
  success: z.boolean(),
  broadcast: z.string(),
  cluster_id: z.string(),
  policy: z.record(z.string(), z.unknown()),
  policy_name: z.string(),
  node_pools_changed: z.array(z.string()),
});

type SpecPatch = Record<string, unknown>;

async function patchPolicy(
  rc: ResourceContext,
  cluster: ManagedCluster,
  patch: SpecPatch,
): Promise<{ before?: OptimizationPolicy; after: OptimizationPolicy }> {
  const result = await upsertPerClusterObject({
    rc,
    kind: "OptimizationPolicy",
    cluster,
    existing: rc.cache.policies(rc.namespace),
    create: { clusterRef: { name: cluster.metadata.name }, ...patch },
    patch,
  });
  await settle(rc, "OptimizationPolicy", result.after);
  return result;
}

function broadcast(cluster: ManagedCluster, policyName: string, changed: string[]): string {
  const head = `OptimizationPolicy ${policyName} of cluster ${cluster.metadata.name ?? ""} updated`;
  if (cluster.spec.mode === "remote")
    return `${head}; cluster ${cluster.metadata.name ?? ""} is remote: the operator writes no NodePools for it yet`;
  if (changed.length === 0) return `${head}; no NodePool of the cluster changes`;
  return `${head}; the operator reshapes ${changed.length} NodePool(s): ${changed.join(", ")}`;
}

/**
 * The NodePools whose desired spec differs between the policy before and after the edit, from the same pure builder
 * the NodeTemplate controller applies (the controller then writes them).
 */
function changedNodePools(
  rc: ResourceContext,
  cluster: ManagedCluster,
  policies: { before?: OptimizationPolicy; after: OptimizationPolicy },
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
        }).nodePool?.spec ?? null,
      );
    if (pool(policies.before) !== pool(policies.after))
      changed.push(karpenterName(rc.namespace, t.metadata.name ?? ""));
  }
  return changed.sort();
}

interface PolicyEndpoint<B extends { cluster_id?: string }> {
  path: string;
  summary: string;
  event: string;
  body: z.ZodType<B>;
  toSpec: (body: B) => SpecPatch;
}

function policyRoute<B extends { cluster_id?: string }>(def: PolicyEndpoint<B>): RouteDef {
  return defineRoute({
    method: "patch",
    path: def.path,
    summary: `${def.summary} (cluster_id, or the organisation's active cluster)`,
    tags: ["policies"],
    auth: "user",
    body: def.body,
    response: PolicyResponse,
    handler: async (ctx) => {
      const rc = resourceContext(ctx);
      const cluster = await targetCluster(rc, ctx.body.cluster_id);
      const clusterName = cluster.metadata.name ?? "";
      const { before, after } = await patchPolicy(rc, cluster, def.toSpec(ctx.body));
      ctx.audit({
        event: def.event,
        resource: `optimizationpolicy/${after.metadata.name ?? clusterName}`,
        before: specOf(before),
        after: specOf(after),
      });
      const policyName = after.metadata.name ?? clusterName;
      const changed = cluster.spec.mode === "remote" ? [] : changedNodePools(rc, cluster, { before, after });
      return {
        success: true,
        broadcast: broadcast(cluster, policyName, changed),
        cluster_id: clusterName,
        policy: specOf(after) ?? {},
        policy_name: policyName,
        node_pools_changed: changed,
      };
    },
  }) as RouteDef;
}

const clusterId = { cluster_id: ClusterId.optional() };

export const policyRoutes: RouteDef[] = [
  policyRoute({
    path: "/policies/karpenter",
    summary: "Turn Karpenter management on or off (and optionally set the Spot allocation strategy)",
    event: "Updated Karpenter policy",
    body: z
      .object({
        enabled: z.boolean(),
        strategy: z.enum(["lowest-price", "capacity-optimized", "price-capacity-optimized"]).optional(),
        ...clusterId,
      })
      .strict(),
    toSpec: (b) => ({ karpenter: { enabled: b.enabled }, ...(b.strategy ? { strategy: b.strategy } : {}) }),
  }),
  policyRoute({
    path: "/policies/strategy",
    summary: "Set the Spot allocation strategy",
    event: "Updated provisioning strategy",
    body: z
      .object({ strategy: z.enum(["lowest-price", "capacity-optimized", "price-capacity-optimized"]), ...clusterId })
      .strict(),
    toSpec: (b) => ({ strategy: b.strategy }),
  }),
  policyRoute({
    path: "/policies/binpack",
    summary: "Set bin-packing (consolidation) aggressiveness 0-100",
    event: "Updated bin-packing aggressiveness",
    body: z.object({ aggressiveness: z.number().int().min(0).max(100), ...clusterId }).strict(),
    toSpec: (b) => ({ binpack: { aggressiveness: b.aggressiveness } }),
  }),
  policyRoute({
    path: "/policies/fallback",
    summary: "Enable or disable falling back to On-Demand when Spot is unavailable",
    event: "Updated Spot fallback",
    body: z.object({ enabled: z.boolean(), ...clusterId }).strict(),
    toSpec: (b) => ({ spotFallback: { enabled: b.enabled } }),
  }),
  policyRoute({
    path: "/policies/spread",
    summary: "Enable or disable spreading nodes across availability zones",
    event: "Updated AZ spread",
    body: z.object({ enabled: z.boolean(), ...clusterId }).strict(),
    toSpec: (b) => ({ azSpread: { enabled: b.enabled } }),
  }),
  policyRoute({
    path: "/policies/exclusions",
    summary: "Replace the list of namespaces the optimizer never disrupts",
    event: "Updated namespace exclusions",
    body: z
      .object({
        namespaces: z
          .array(namespaceName("A namespace."))
          .max(500)
          .refine((a) => new Set(a).size === a.length, "namespaces must be unique"),
        ...clusterId,
      })
      .strict(),
    toSpec: (b) => ({ exclusions: { namespaces: b.namespaces } }),
  }),
];
