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
    arms: z
      .array(LabArm)
      .min(1)
      // maxItems also bounds the cost the API server estimates for the rules below.
      .max(8)
      // Keyed by name: results (status.arms) and the winner name an arm, so two arms of one name are refused.
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .describe("The arms compared: exactly one for live-switch, at least two for parallel; names are unique."),
    durationHours: z
      .number()
      // Under an hour a run sees no interruptions or savings worth comparing; it also refuses near-zero typos.
      .min(1)
      .max(720)
      .default(24)
      .describe("How long the experiment runs, in hours (1-720)."),
  })
  .describe("Desired state of a LabExperiment.")
  .meta({
    "x-kubernetes-validations": [
      // A comparison side by side needs two sides; a live switch replaces one target with one model.
      { rule: "self.mode != 'parallel' || size(self.arms) >= 2", message: "mode parallel needs at least two arms" },
      { rule: "self.mode != 'live-switch' || size(self.arms) == 1", message: "mode live-switch takes exactly one arm" },
    ],
  })
  .superRefine((spec, ctx) => {
    if (spec.mode === "parallel" && spec.arms.length < 2)
      ctx.addIssue({ code: "custom", message: "mode parallel needs at least two arms", path: ["arms"] });
    if (spec.mode === "live-switch" && spec.arms.length !== 1)
      ctx.addIssue({ code: "custom", message: "mode live-switch takes exactly one arm", path: ["arms"] });
    spec.arms.forEach((arm, index) => {
      if (spec.arms.findIndex((a) => a.name === arm.name) !== index)
        ctx.addIssue({ code: "custom", message: `duplicate arm name ${arm.name}`, path: ["arms", index, "name"] });
    });
  });
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
