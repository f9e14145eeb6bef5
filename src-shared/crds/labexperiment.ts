// LabExperiment: the schema of an experiment comparing optimisation models; no controller runs it (not built).
import { z } from "zod";
import { ClusterRef, Conditions, ObservedGeneration, defineKind, rfc3339 } from "./common.js";

export const LabArm = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
      .max(63)
      .describe("Arm name, e.g. a or b."),
    target: z.string().min(1).describe("What the arm runs on: a node name or EC2 instance id."),
    model: z.string().min(1).describe("Optimisation model (policy) the arm uses, e.g. Conservative-v1."),
  })
  .describe("One arm of the experiment.");
export type LabArm = z.infer<typeof LabArm>;

export const LabExperimentSpec = z
  .object({
    clusterRef: ClusterRef.optional(),
    mode: z.enum(["parallel", "live-switch"]).describe("parallel: arms run side by side; live-switch: the target is replaced live."),
    arms: z.array(LabArm).min(1).max(8).describe("The arms compared (one for live-switch, usually two for parallel)."),
    durationHours: z.number().gt(0).max(720).default(24).describe("How long the experiment runs, in hours."),
  })
  .describe("Desired state of a LabExperiment.");
export type LabExperimentSpec = z.infer<typeof LabExperimentSpec>;
/** The spec as written (defaults optional), e.g. for building an object to apply. */

export const LabArmResult = z
  .object({
    name: z.string().describe("Arm name from spec.arms."),
    savingsUsd: z.number().optional().describe("Savings in USD against the On-Demand baseline over the run so far."),
    interruptions: z.number().int().min(0).optional().describe("Spot interruptions seen on the arm."),
    bootTimeSeconds: z.number().min(0).optional().describe("Seconds from request to node Ready."),
    volumeDetachSeconds: z.number().min(0).optional().describe("Seconds to detach volumes (live-switch)."),
    spotRequestSeconds: z.number().min(0).optional().describe("Seconds to fulfil the Spot request (live-switch)."),
    totalDowntimeSeconds: z.number().min(0).optional().describe("Seconds the workload was unavailable (live-switch)."),
  })
  .describe("Measured results of one arm.");
export type LabArmResult = z.infer<typeof LabArmResult>;

export const LabExperimentStatus = z
  .object({
    observedGeneration: ObservedGeneration.optional(),
    phase: z
      .enum(["Pending", "Running", "Completed", "Graduated", "Failed"])
      .optional()
      .describe("Lifecycle phase of the experiment."),
    startedAt: rfc3339("When the experiment started.").optional(),
    completedAt: rfc3339("When the experiment finished.").optional(),
    arms: z.array(LabArmResult).optional().describe("Per-arm results."),
    winner: z.string().optional().describe("Name of the winning arm once completed."),
    conditions: Conditions.optional(),
  })
  .describe("Observed state of a LabExperiment.");
export type LabExperimentStatus = z.infer<typeof LabExperimentStatus>;

export const LabExperimentKind = defineKind({
  kind: "LabExperiment",
  plural: "labexperiments",
  shortNames: ["lab", "labx"],
  description:
    "An experiment comparing optimisation models on real nodes. Not built: no controller runs it, so spec is stored and status stays empty.",
  spec: LabExperimentSpec,
  status: LabExperimentStatus,
  printerColumns: [
    { name: "Mode", type: "string", jsonPath: ".spec.mode" },
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Winner", type: "string", jsonPath: ".status.winner" },
  ],
});
export const LabExperiment = LabExperimentKind.resource;
export type LabExperiment = z.infer<typeof LabExperiment>;
