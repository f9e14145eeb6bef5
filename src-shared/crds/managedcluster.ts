// ManagedCluster: one EKS cluster an organisation optimises (local = this cluster, remote = via its agent).
import { z } from "zod";
import { Conditions, ObservedGeneration, defineKind, namespaceName, objectName, rfc3339 } from "./common.js";

/** AWS's limits on a tag key and value; Karpenter's EC2NodeClass also refuses empty ones and more than 20 per term. */
const TAG_KEY_MAX = 128;
const TAG_VALUE_MAX = 256;
const TAGS_MAX = 20;

/**
 * Karpenter's EC2NodeClass refuses empty tag keys and values (its CEL rules) and more than 20 tags per selector term, so
 * such a selector is refused here, at `kubectl apply`, rather than on every write of the cluster's EC2NodeClasses. An
 * empty selector would select every subnet or security group of the account: leave it out to get the defaults.
 */
const TagSelector = (what: string): z.ZodType<Record<string, string>> =>
  z
    .record(z.string(), z.string().min(1).max(TAG_VALUE_MAX))
    .describe(`AWS tags (key: value) that select the ${what} Karpenter's EC2NodeClass uses ('*' as a value: any value).`)
    .meta({
      minProperties: 1,
      maxProperties: TAGS_MAX,
      "x-kubernetes-validations": [
        {
          rule: `self.all(k, k != '' && size(k) <= ${TAG_KEY_MAX})`,
          message: `tag keys must be 1 to ${TAG_KEY_MAX} characters (Karpenter refuses empty ones)`,
        },
      ],
    })
    .superRefine((tags, ctx) => {
      const count = Object.keys(tags).length;
      if (count === 0 || count > TAGS_MAX)
        ctx.addIssue({ code: "custom", message: `must hold 1 to ${TAGS_MAX} tags (leave it out to use the defaults)` });
      for (const key of Object.keys(tags))
        if (key === "" || key.length > TAG_KEY_MAX)
          ctx.addIssue({
            code: "custom",
            message: `tag keys must be 1 to ${TAG_KEY_MAX} characters (Karpenter refuses empty ones)`,
            path: [key],
          });
    });

export const ManagedClusterSpec = z
  .object({
    mode: z
      .enum(["local", "remote"])
      .default("local")
      .describe("local: the operator acts on the cluster it runs in; remote: it hands work to the cluster's agent as AgentActions."),
    displayName: z.string().max(253).optional().describe("Human-friendly name shown in the dashboard."),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/)
      .optional()
      .describe("AWS region of the cluster, e.g. us-east-1; selects the price book (without it, the nodes' region label)."),
    k8sVersion: z
      .string()
      .regex(/^v?\d+\.\d+(\.\d+)?$/)
      .optional()
      .describe("Kubernetes version of the cluster as reported by the agent or the user, e.g. 1.31."),
    agentTokenSecretRef: z
      .object({
        name: objectName(
          "Name of the Secret in the installation's release namespace (the facade's, <namespace>.<cluster>-agent-token).",
        ),
        key: z.string().default("token-hash").describe("Key in the Secret that holds the token's hash."),
      })
      .optional()
      .describe("Secret holding the hash of the per-cluster agent token (the token itself is shown once, never stored)."),
    defaultTemplate: z
      .string()
      .optional()
      .describe("The cluster's default NodeTemplate (same namespace): its NodePool gets the highest Karpenter weight, so it is tried first."),
    workloadNamespaces: z
      .array(namespaceName("A namespace of this cluster that holds the organisation's workloads."))
      .max(1000)
      .optional()
      .describe(
        "Local cluster only: the namespaces that hold this organisation's workloads; hibernation scales nothing elsewhere. Absent: every namespace except system namespaces and other organisations' namespaces.",
      ),
    aws: z
      .object({
        subnetSelector: TagSelector("subnets").optional(),
        securityGroupSelector: TagSelector("security groups").optional(),
        nodeRole: z
          .string()
          // Karpenter's EC2NodeClass refuses an empty role; leave the field out to get the defaults.
          .min(1)
          .optional()
          .describe("IAM role for nodes Karpenter launches (leave it out to use the chart's or Karpenter's default)."),
        amiAlias: z
          .string()
          .max(30)
          // Karpenter's EC2NodeClass rules: these families only, and Windows at latest only
          .regex(
            /^((al2|al2023|bottlerocket)@[a-zA-Z0-9.-]+|(windows2019|windows2022|windows2025)@latest)$/,
            "must be family@version with a family of al2, al2023, bottlerocket (any version) or windows2019, " +
              "windows2022, windows2025 (latest only), as Karpenter's EC2NodeClass accepts",
          )
          .optional()
          .describe("Karpenter AMI alias, e.g. al2023@latest."),
      })
      .optional()
      .describe("AWS settings rendered into the cluster's EC2NodeClass."),
  })
  .describe("Desired state of a ManagedCluster.");
export type ManagedClusterSpec = z.infer<typeof ManagedClusterSpec>;
/** The spec as written (defaults optional), e.g. for building an object to apply. */

/** Set by `POST /clusters/{id}/optimize`: the id of the re-plan job requested (and when). */
export const REPLAN_ANNOTATION = "spotoptimizer.io/replan-requested";
export const REPLAN_AT_ANNOTATION = "spotoptimizer.io/replan-requested-at";
/** The operator's replan controller writes the job id it last completed here, after status.lastPlan. */
export const REPLAN_DONE_ANNOTATION = "spotoptimizer.io/replan-completed";

export const LastPlan = z
  .object({
    jobId: z.string().min(1).describe("The re-plan job this result belongs to (annotation spotoptimizer.io/replan-requested)."),
    phase: z.enum(["Succeeded", "Failed"]).describe("Outcome of the job."),
    completedAt: rfc3339("When the job finished."),
    reason: z.string().optional().describe("CamelCase reason, e.g. Planned, NoPrices, NotReported."),
    message: z.string().max(4096).optional().describe("Human-readable details: what was planned with what, or why it failed."),
    hourlyCostUsd: z.number().min(0).optional().describe("Hourly price of the planned nodes in USD."),
    monthlyCostUsd: z.number().min(0).optional().describe("hourlyCostUsd x 730."),
    baselineHourlyCostUsd: z.number().min(0).optional().describe("Hourly price of the same nodes all On-Demand."),
    baselineMonthlyCostUsd: z.number().min(0).optional().describe("baselineHourlyCostUsd x 730 (of the unrounded figure)."),
    baseline: z.string().optional().describe("What the savings are measured against."),
    savingsPct: z
      .number()
      .optional()
      .describe("Savings against the baseline, in percent; absent when there is no baseline (no nodes planned)."),
    nodes: z
      .array(
        z.object({
          instanceType: z.string().describe("EC2 instance type, e.g. m5.large."),
          capacityType: z.enum(["spot", "on-demand"]).describe("Karpenter capacity type."),
          count: z.number().int().min(1).describe("Number of planned nodes of this type and capacity type."),
        })
        .describe("Planned nodes of one instance type and capacity type."),
      )
      .optional()
      .describe("Planned nodes, counted by instance type and capacity type."),
    podsPlanned: z.number().int().min(0).optional().describe("Pods the plan had to place (DaemonSet, static, finished and terminating pods excluded)."),
    unplacedPods: z.number().int().min(0).optional().describe("Pods no allowed instance type can hold."),
    prices: z
      .object({
        source: z.string().describe("Where the prices came from, e.g. snapshot, or derived+snapshot."),
        asOf: z.string().describe("Date of the oldest price the plan uses (unknown when one is undated)."),
      })
      .optional()
      .describe("Provenance of the prices behind the figures."),
  })
  .describe("Result of the last re-plan job (POST /clusters/{id}/optimize); a plan is shown, never applied to NodePools (not built).");
export type LastPlan = z.infer<typeof LastPlan>;

export const ManagedClusterStatus = z
  .object({
    observedGeneration: ObservedGeneration.optional(),
    agent: z
      .object({
        lastSeen: rfc3339("Time of the agent's last heartbeat.").optional(),
        version: z.string().optional().describe("Version of the agent that last reported."),
        health: z
          .enum(["healthy", "degraded", "unreachable", "unknown"])
          .optional()
          .describe("Agent health from the liveness Lease's (else the last heartbeat's) age: healthy or unreachable."),
      })
      .optional()
      .describe("What the cluster's agent last reported."),
    nodeCount: z.number().int().min(0).optional().describe("Number of nodes in the cluster."),
    spotPercentage: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .describe("Share of nodes running on Spot capacity, in percent."),
    spotNodes: z.number().int().min(0).optional().describe("Nodes on Spot capacity (label karpenter.sh/capacity-type, else eks.amazonaws.com/capacityType)."),
    onDemandNodes: z.number().int().min(0).optional().describe("Nodes on On-Demand capacity."),
    readyNodes: z.number().int().min(0).optional().describe("Nodes whose Ready condition is True."),
    nodesByFamily: z
      .record(z.string(), z.number().int().min(0))
      .optional()
      .describe("Nodes by instance family (the instance type before the dot; unknown without an instance type)."),
    cpuUtilisation: z
      .number()
      .min(0)
      .optional()
      .describe("Requested CPU of the pods on the nodes / their allocatable CPU (a ratio); absent without allocatable CPU."),
    memoryUtilisation: z
      .number()
      .min(0)
      .optional()
      .describe("Requested memory / allocatable memory (a ratio); absent without allocatable memory."),
    utilisationReason: z
      .string()
      .optional()
      .describe("Why cpuUtilisation or memoryUtilisation (and efficiencyScore) is absent although the cluster has nodes: the pods' requests exceed the nodes' allocatable, which cannot be right."),
    interruptions7d: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("Spot interruptions (notice kind spot-itn) of the last 7 days, by the notice's own time; absent while nothing reports them (unknown, not 0)."),
    interruptionRate: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe("min(1, interruptions7d / max(1, spot nodes)); absent while interruptions are unknown."),
    fleetHealth: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .describe("0-100: ready share x (1 - interruption rate); absent while the interruption rate is unknown."),
    monthlyCostUsd: z
      .number()
      .min(0)
      .optional()
      .describe(
        "Current compute cost per month in USD (hourly price x 730). Absent while any node has no known price (condition Priced says which): never a partial sum.",
      ),
    baselineMonthlyCostUsd: z
      .number()
      .min(0)
      .optional()
      .describe("What the same nodes would cost per month On-Demand (the savings baseline); absent like monthlyCostUsd."),
    unpricedNodes: z.number().int().min(0).optional().describe("Nodes without a known price."),
    prices: z
      .object({
        source: z.string().describe("Where the prices came from: pricing-api, spot-history, snapshot, derived (joined with +)."),
        asOf: z.string().describe("Date of the oldest price used (RFC 3339 or YYYY-MM-DD; unknown when one is undated)."),
        stale: z.boolean().optional().describe("True when the price book is older than the configured maximum age."),
      })
      .optional()
      .describe("Provenance of the prices behind monthlyCostUsd."),
    efficiencyScore: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .describe("0-100 score from requested/allocatable, spot share and interruption rate (formula in docs/)."),
    lastPlan: LastPlan.optional(),
    conditions: Conditions.optional(),
  })
  .describe("Observed state of a ManagedCluster.");
export type ManagedClusterStatus = z.infer<typeof ManagedClusterStatus>;

export const ManagedClusterKind = defineKind({
  kind: "ManagedCluster",
  plural: "managedclusters",
  shortNames: ["mc", "mcluster"],
  description: "A Kubernetes cluster that Spot Optimizer manages for an organisation (one organisation = one namespace).",
  spec: ManagedClusterSpec,
  status: ManagedClusterStatus,
  printerColumns: [
    { name: "Mode", type: "string", jsonPath: ".spec.mode" },
    { name: "Region", type: "string", jsonPath: ".spec.region" },
    { name: "Nodes", type: "integer", jsonPath: ".status.nodeCount" },
    { name: "Spot%", type: "number", jsonPath: ".status.spotPercentage" },
    // the condition, not status.agent: a local cluster has no agent reporting (the operator acts), so that stayed empty
    { name: "Agent", type: "string", jsonPath: '.status.conditions[?(@.type=="AgentConnected")].reason' },
  ],
});
export const ManagedCluster = ManagedClusterKind.resource;
export type ManagedCluster = z.infer<typeof ManagedCluster>;
