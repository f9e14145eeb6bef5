// NodeTemplate: which instance families, architecture and capacity strategy a cluster's nodes may use.
import { z } from "zod";
import { ClusterRef, Conditions, ObservedGeneration, defineKind } from "./common.js";

const PricedInstanceType = (which: string) =>
  z
    .object({
      name: z.string().describe("EC2 instance type, e.g. m5.large."),
      hourlyUsd: z.number().min(0).describe("Hourly price in USD for the template's strategy."),
    })
    .describe(`The ${which} instance type the template allows.`);

/**
 * Limits of spec.families, shared with the facade's request schemas: Karpenter knows under 200 families, and every
 * entry is checked and may add a status warning, so an unbounded list would make an unbounded status.
 */
export const MAX_TEMPLATE_FAMILIES = 50;
export const MAX_FAMILY_NAME_LENGTH = 40;

/** A Kubernetes resource quantity as NodePool limits take it: a decimal number and an optional SI or binary suffix. */
const Quantity = z
  .string()
  .max(64)
  .regex(/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/, "must be a quantity such as 1000, 500m or 4000Gi");

export const NodeTemplateSpec = z
  .object({
    clusterRef: ClusterRef,
    families: z
      .array(
        z
          .string()
          .max(MAX_FAMILY_NAME_LENGTH)
          .regex(/^[a-z][a-z0-9-]*$/)
          .describe("EC2 instance family, e.g. m5, c6g, r7i."),
      )
      .min(1)
      .max(MAX_TEMPLATE_FAMILIES)
      .describe(`Instance families nodes may be launched from, e.g. [m5, c5]; at most ${MAX_TEMPLATE_FAMILIES}.`),
    architecture: z
      .enum(["x86_64", "arm64"])
      .default("x86_64")
      .describe("CPU architecture of the nodes."),
    strategy: z
      .enum(["SPOT", "ON_DEMAND", "HYBRID"])
      .default("HYBRID")
      .describe("Capacity type: SPOT only, ON_DEMAND only, or HYBRID (Spot preferred, On-Demand fallback)."),
    diskType: z
      .enum(["gp3", "gp2", "io1", "io2", "st1", "sc1"])
      .default("gp3")
      .describe("EBS volume type of the root disk."),
    diskSize: z.number().int().min(8).max(16384).default(20).describe("Root disk size in GiB."),
    isDefault: z
      .boolean()
      .default(false)
      .describe("Whether this is the cluster's default template (at most one per cluster)."),
    limits: z
      .object({
        cpu: Quantity.optional().describe("Most CPU the NodePool's nodes may have together, e.g. 1000 or 500m."),
        memory: Quantity.optional().describe("Most memory the NodePool's nodes may have together, e.g. 4000Gi."),
      })
      .strict()
      .optional()
      .describe(
        "Caps on the NodePool's capacity (its spec.limits): Karpenter launches no node past them. Absent: no cap. " +
          "Asleep, or with karpenter.enabled false in the policy, the pool is held at zero and woken to these.",
      ),
  })
  .describe("Desired state of a NodeTemplate.");
export type NodeTemplateSpec = z.infer<typeof NodeTemplateSpec>;
/** The spec as written (defaults optional), e.g. for building an object to apply. */
export type NodeTemplateSpecInput = z.input<typeof NodeTemplateSpec>;

export const NodeTemplateStatus = z
  .object({
    observedGeneration: ObservedGeneration.optional(),
    instanceTypes: z
      .object({
        count: z.number().int().min(0).describe("Number of instance types the template allows in the cluster's region."),
        cheapest: PricedInstanceType("cheapest").optional(),
        dearest: PricedInstanceType("dearest").optional(),
        asOf: z.string().optional().describe("Date of the oldest price the figures use (unknown when one is undated)."),
        source: z
          .string()
          .optional()
          .describe("Where the prices came from (pricing-api, spot-history, snapshot, derived; comma-separated)."),
      })
      .optional()
      .describe("Instance types the template resolves to, with their price range."),
    warnings: z
      .array(z.string().describe("One warning."))
      .optional()
      .describe("Problems found with the template, e.g. a family incompatible with the architecture."),
    conditions: Conditions.optional(),
  })
  .describe("Observed state of a NodeTemplate.");
export type NodeTemplateStatus = z.infer<typeof NodeTemplateStatus>;

export const NodeTemplateKind = defineKind({
  kind: "NodeTemplate",
  plural: "nodetemplates",
  shortNames: ["nt", "ntpl"],
  description: "A node template: the instance families, architecture and Spot/On-Demand strategy of a cluster's nodes; reconciled into a Karpenter NodePool and EC2NodeClass.",
  spec: NodeTemplateSpec,
  status: NodeTemplateStatus,
  printerColumns: [
    { name: "Cluster", type: "string", jsonPath: ".spec.clusterRef.name" },
    { name: "Strategy", type: "string", jsonPath: ".spec.strategy" },
    { name: "Families", type: "string", jsonPath: ".spec.families" },
    { name: "Default", type: "boolean", jsonPath: ".spec.isDefault" },
    { name: "Applied", type: "string", jsonPath: '.status.conditions[?(@.type=="Applied")].status' },
    { name: "Types", type: "integer", jsonPath: ".status.instanceTypes.count" },
  ],
});
export const NodeTemplate = NodeTemplateKind.resource;
export type NodeTemplate = z.infer<typeof NodeTemplate>;
