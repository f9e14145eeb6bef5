// AgentAction: one idempotent unit of work for a cluster's agent (cordon, drain, scale, apply...), executed at least once.
import { z } from "zod";
import { ClusterRef, Conditions, ObservedGeneration, defineKind, rfc3339 } from "./common.js";
import { ACTION_TIMEOUT_SECONDS_MAX } from "../agent/action-limits.js";

export const AGENT_ACTION_TYPES = [
  "cordon",
  "uncordon",
  "drain",
  "scale",
  "annotate",
  "label",
  "restore",
  "delete-node",
  "apply",
  "delete",
  "patch",
  "suspend",
] as const;
export const AgentActionType = z.enum(AGENT_ACTION_TYPES).describe("What the agent does.");
export type AgentActionType = z.infer<typeof AgentActionType>;

export const AgentActionTarget = z
  .object({
    apiVersion: z.string().optional().describe("API version of the target, e.g. apps/v1 (core objects: v1)."),
    kind: z.string().min(1).describe("Kind of the target, e.g. Node, Deployment, NodePool."),
    namespace: z.string().optional().describe("Namespace of the target in the workload cluster (empty for cluster-scoped)."),
    name: z.string().min(1).describe("Name of the target."),
  })
  .describe("The object in the workload cluster the action acts on.");
export type AgentActionTarget = z.infer<typeof AgentActionTarget>;

export const AgentActionSpec = z
  .object({
    clusterRef: ClusterRef,
    type: AgentActionType,
    target: AgentActionTarget,
    params: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("Type-specific parameters (e.g. replicas for scale, a server-side-apply manifest for apply); free-form.")
      .meta({ "x-kubernetes-preserve-unknown-fields": true }),
    deadline: rfc3339("After this instant the agent must not start the action.").optional(),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(ACTION_TIMEOUT_SECONDS_MAX)
      .optional()
      .describe("How long the agent may work on one attempt (default by type: drain 300, others 60); the lease covers it."),
  })
  .describe("Desired state of an AgentAction.");
export type AgentActionSpec = z.infer<typeof AgentActionSpec>;
/** The spec as written (defaults optional), e.g. for building an object to apply. */

export const AgentActionStatus = z
  .object({
    observedGeneration: ObservedGeneration.optional(),
    phase: z
      .enum(["Pending", "Running", "Succeeded", "Failed"])
      .optional()
      .describe("Execution phase; unset until the agent first takes the action, which counts as Pending."),
    attempts: z.number().int().min(0).optional().describe("How many times the agent started the action."),
    startedAt: rfc3339("When the agent first started the action.").optional(),
    leaseExpiresAt: rfc3339(
      "End of the current attempt's lease; a Running action whose lease ended is handed out again.",
    ).optional(),
    completedAt: rfc3339("When the action reached Succeeded or Failed.").optional(),
    result: z
      .object({
        message: z.string().optional().describe("Human-readable outcome."),
        data: z
          .record(z.string(), z.unknown())
          .optional()
          .describe("Type-specific result data (e.g. previous replica count); free-form.")
          .meta({ "x-kubernetes-preserve-unknown-fields": true }),
      })
      .optional()
      .describe("What the agent reported."),
    conditions: Conditions.optional(),
  })
  .describe("Observed state of an AgentAction.");
export type AgentActionStatus = z.infer<typeof AgentActionStatus>;

export const AgentActionKind = defineKind({
  kind: "AgentAction",
  plural: "agentactions",
  shortNames: ["aa", "action"],
  description: "A unit of work the operator hands to a cluster's agent; executed at least once, idempotently.",
  spec: AgentActionSpec,
  status: AgentActionStatus,
  printerColumns: [
    { name: "Cluster", type: "string", jsonPath: ".spec.clusterRef.name" },
    { name: "Type", type: "string", jsonPath: ".spec.type" },
    { name: "Kind", type: "string", jsonPath: ".spec.target.kind" },
    { name: "Target", type: "string", jsonPath: ".spec.target.name" },
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Attempts", type: "integer", jsonPath: ".status.attempts" },
  ],
});
export const AgentAction = AgentActionKind.resource;
export type AgentAction = z.infer<typeof AgentAction>;
