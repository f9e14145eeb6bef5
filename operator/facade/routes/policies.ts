// The six PATCH /policies/* endpoints: each merge-patches one part of the cluster's OptimizationPolicy in force (the
// oldest naming it; created on first use, named after and owned by the cluster); the NodeTemplate controller reshapes
// the cluster's NodePools from it.
import { z } from "zod";
import { namespaceName, type ManagedCluster } from "../../../src-shared/crds/index.js";
import { defineRoute, type RouteDef } from "../http.js";
import type { PolicyPatch, PolicyService } from "../services/policies.js";
import { specOf, type ResourceScope } from "../services/resource-scope.js";
import { ClusterId } from "./shared.js";

const PolicyResponse = z.object({
  success: z.boolean(),
  broadcast: z.string(),
  cluster_id: z.string(),
  policy: z.record(z.string(), z.unknown()),
  policy_name: z.string(),
  node_pools_changed: z.array(z.string()),
});

function broadcast(cluster: ManagedCluster, policyName: string, changed: string[]): string {
  const head = `OptimizationPolicy ${policyName} of cluster ${cluster.metadata.name ?? ""} updated`;
  if (changed.length === 0) return `${head}; no NodePool of the cluster changes`;
  const by = cluster.spec.mode === "remote" ? ` through the agent of cluster ${cluster.metadata.name ?? ""}` : "";
  return `${head}; the operator reshapes ${changed.length} NodePool(s)${by}: ${changed.join(", ")}`;
}

export interface PolicyRouteServices {
  scope: ResourceScope;
  policies: PolicyService;
}

interface PolicyEndpoint<B extends { cluster_id?: string }> {
  path: string;
  summary: string;
  event: string;
  body: z.ZodType<B>;
  toSpec: (body: B) => PolicyPatch;
}

/** A policy endpoint: the request turned into one patch of the cluster's policy, audited, then answered. */
function policyRoute<B extends { cluster_id?: string }>(
  def: PolicyEndpoint<B>,
): (services: PolicyRouteServices) => RouteDef {
  return ({ scope, policies }) =>
    defineRoute({
      method: "patch",
      path: def.path,
      summary: `${def.summary} (cluster_id, or the caller's active account, else the only cluster; 409 rather than a guess)`,
      tags: ["policies"],
      auth: "user",
      body: def.body,
      response: PolicyResponse,
      handler: async (ctx) => {
        const rc = scope.context(ctx.auth);
        const { cluster, before, after, nodePoolsChanged } = await policies.patch(rc, {
          clusterId: ctx.body.cluster_id,
          patch: def.toSpec(ctx.body),
        });
        const clusterName = cluster.metadata.name ?? "";
        const policyName = after.metadata.name ?? clusterName;
        ctx.audit({
          event: def.event,
          resource: `optimizationpolicy/${policyName}`,
          before: specOf(before),
          after: specOf(after),
        });
        return {
          success: true,
          broadcast: broadcast(cluster, policyName, nodePoolsChanged),
          cluster_id: clusterName,
          policy: specOf(after) ?? {},
          policy_name: policyName,
          node_pools_changed: nodePoolsChanged,
        };
      },
    }) as RouteDef;
}

const clusterId = { cluster_id: ClusterId.optional() };

const POLICY_ROUTES = [
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

/** The six policy routes over the policy service. */
export function createPolicyRoutes(services: PolicyRouteServices): RouteDef[] {
  return POLICY_ROUTES.map((route) => route(services));
}
