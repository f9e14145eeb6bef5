// OptimizationPolicy: how aggressively one cluster is optimised (Karpenter on/off, strategy, bin-packing, exclusions).
import { z } from "zod";
import { ClusterRef, Conditions, ObservedGeneration, defineKind, namespaceName, rfc3339 } from "./common.js";

const Toggle = (what: string) =>
  z
    .object({ enabled: z.boolean().default(false).describe(`Whether ${what} is on.`) })
    .describe(`Settings for ${what}.`);

export const OptimizationPolicySpec = z
  .object({
    clusterRef: ClusterRef,
    karpenter: z
      .object({
        enabled: z.boolean().default(true).describe("Whether the operator manages Karpenter NodePools for the cluster."),
      })
      // The whole default, not {}: the API server then fills it when the object is absent, so `kubectl get` shows the
      // setting in force (src-shared/karpenter/policy.ts effectivePolicy applies the same).
      .default({ enabled: true })
      .describe("Karpenter management."),
    strategy: z
      .enum(["lowest-price", "capacity-optimized", "price-capacity-optimized"])
      .default("price-capacity-optimized")
      .describe("Spot allocation strategy used when choosing instance types."),
    binpack: z
      .object({
        aggressiveness: z
          .number()
          .int()
          .min(0)
          .max(100)
          .default(50)
          .describe("0 = never consolidate, 100 = consolidate as soon as nodes are underutilised."),
      })
      .default({ aggressiveness: 50 })
      .describe("Bin-packing (consolidation) settings."),
    spotFallback: Toggle("falling back to On-Demand when Spot capacity is unavailable").optional(),
    azSpread: Toggle("spreading nodes across availability zones").optional(),
    exclusions: z
      .object({
        namespaces: z
          .array(namespaceName("A namespace."))
          // A set: a namespace listed twice is a mistake the API server refuses ("Duplicate value"), as the facade does.
          .meta({ "x-kubernetes-list-type": "set" })
          .optional()
          .describe("Namespaces whose pods the optimizer never disrupts (they get karpenter.sh/do-not-disrupt)."),
      })
      .optional()
      .describe("What the optimizer leaves alone."),
  })
  .describe("Desired state of an OptimizationPolicy (one per cluster).");
export type OptimizationPolicySpec = z.infer<typeof OptimizationPolicySpec>;
/** The spec as written (defaults optional), e.g. for building an object to apply. */

export const OptimizationPolicyStatus = z
  .object({
    observedGeneration: ObservedGeneration.optional(),
    applied: z
      .object({
        nodePools: z.array(z.string().describe("A NodePool name.")).optional().describe("NodePools the policy was applied to."),
        consolidationPolicy: z
          .string()
          .optional()
          .describe("Karpenter disruption.consolidationPolicy written to the NodePools."),
        consolidateAfter: z.string().optional().describe("Karpenter disruption.consolidateAfter written to the NodePools."),
        excludedNamespaces: z
          .array(z.string().describe("A namespace."))
          .optional()
          .describe("Not written by the operator (the exclusions in force are spec.exclusions)."),
        appliedAt: rfc3339("Not written by the operator (the Ready condition's lastTransitionTime says when it last changed).").optional(),
      })
      .optional()
      .describe("What was last applied to the cluster."),
    conditions: Conditions.optional(),
  })
  .describe("Observed state of an OptimizationPolicy.");
export type OptimizationPolicyStatus = z.infer<typeof OptimizationPolicyStatus>;

export const OptimizationPolicyKind = defineKind({
  kind: "OptimizationPolicy",
  plural: "optimizationpolicies",
  shortNames: ["op", "optpol"],
  description: "How one cluster is optimised: Karpenter management, Spot allocation strategy, bin-packing, fallback, AZ spread and exclusions.",
  spec: OptimizationPolicySpec,
  status: OptimizationPolicyStatus,
  printerColumns: [
    { name: "Cluster", type: "string", jsonPath: ".spec.clusterRef.name" },
    { name: "Strategy", type: "string", jsonPath: ".spec.strategy" },
    { name: "Binpack", type: "integer", jsonPath: ".spec.binpack.aggressiveness" },
    { name: "Karpenter", type: "boolean", jsonPath: ".spec.karpenter.enabled" },
    // the Ready condition's reason: which of a cluster's policies is in force (InForce) and which are not (Duplicate)
    { name: "Status", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
  ],
});
export const OptimizationPolicy = OptimizationPolicyKind.resource;
export type OptimizationPolicy = z.infer<typeof OptimizationPolicy>;
