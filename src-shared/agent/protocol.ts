// The agent <-> facade wire protocol (heartbeat, pending actions, results): one zod definition for both sides.
import { z } from "zod";
import { hasLoneSurrogate, LONE_SURROGATE_MESSAGE } from "../unicode.js";
import { NOTICES_ACCEPTED_PER_HEARTBEAT } from "./notice-kinds.js";
import { ACTION_RESULT_MESSAGE_MAX } from "./action-limits.js";
import { parseQuantity } from "../fleet/quantity.js";

/** What a Kubernetes quantity's int64 holds: a node reporting more (or an exponent past a double, 9e999) is no node. */
const MAX_QUANTITY = 2 ** 63;

/** Newer agents may send fields this facade does not know: objects strip unknown keys instead of refusing them. */
const quantity = z
  .union([
    z
      .string()
      .max(64)
      // no sign: what a node can hold is never negative (a negative number is refused the same way)
      .regex(/^\+?\d+(\.\d+)?([eE][+-]?\d+|[KMGTPE]i?|[mun])?$/)
      .refine((q) => (parseQuantity(q) ?? Infinity) <= MAX_QUANTITY, { message: `must be at most ${MAX_QUANTITY}` }),
    z.number().min(0).max(MAX_QUANTITY),
  ])
  .describe("A Kubernetes quantity as the Node reports it (e.g. 3920m, 15Gi) or a plain number (cores, bytes, pods).");

/**
 * Names and kinds end up in audit entries and status: one the API server would store changed (an unpaired surrogate
 * becomes U+FFFD) would break the organisation's hash chain, so it is refused.
 */
const storableText = (schema: z.ZodString): z.ZodString =>
  schema.refine((s) => !hasLoneSurrogate(s), { message: LONE_SURROGATE_MESSAGE });

const shortText = (max: number): z.ZodString => storableText(z.string().min(1).max(max));

export const HeartbeatNode = z.object({
  name: shortText(253),
  instance_type: storableText(z.string().max(64)).nullable().optional(),
  capacity_type: z.enum(["spot", "on-demand", "unknown"]).default("unknown"),
  zone: storableText(z.string().max(64)).nullable().optional(),
  allocatable: z.object({ cpu: quantity.optional(), memory: quantity.optional(), pods: quantity.optional() }),
  cordoned: z.boolean().default(false),
  ready: z.boolean().optional(),
  node_pool: storableText(z.string().max(253)).nullable().optional(),
});
export type HeartbeatNode = z.infer<typeof HeartbeatNode>;

/** Pods grouped by namespace and request shape (the scheduler's effective request). */
export const HeartbeatPodGroup = z
  .object({
    namespace: shortText(63),
    cpu_millicores: z.number().int().min(0).max(10_000_000),
    memory_mib: z.number().int().min(0).max(100_000_000),
    count: z.number().int().min(1).max(1_000_000),
    /** How many of these pods are bound to a node (the rest are Pending). */
    scheduled: z.number().int().min(0).optional(),
    /** GPUs each pod asks for (nvidia.com/gpu). */
    gpus: z.number().int().min(0).max(1024).optional(),
    /** The pods' `kubernetes.io/arch` and `topology.kubernetes.io/zone` nodeSelector pins, when they have one. */
    arch: z.string().max(32).optional(),
    zone: z.string().max(64).optional(),
    /** DaemonSet or static (mirror) pods: one per node whatever the plan, so the replan leaves them out. */
    per_node: z.boolean().optional(),
    /** The pods carry `karpenter.sh/do-not-disrupt` (whatever its value: exclusions leave such a pod alone). */
    do_not_disrupt: z.boolean().optional(),
    /** The OptimizationPolicy (`namespace/name`) that protected them (`spotoptimizer.io/do-not-disrupt-by`). */
    protected_by: z.string().max(317).optional(),
  })
  .refine((g) => g.scheduled === undefined || g.scheduled <= g.count, {
    path: ["scheduled"],
    message: "more pods scheduled than the group has (count)",
  });
export type HeartbeatPodGroup = z.infer<typeof HeartbeatPodGroup>;

export const HeartbeatInterruption = z.object({
  node: shortText(253),
  at: z.iso.datetime({ offset: true }),
  kind: shortText(64).describe("e.g. spot-itn (instance-action notice), rebalance, karpenter-disruption, nth-taint."),
});
export type HeartbeatInterruption = z.infer<typeof HeartbeatInterruption>;

/**
 * The objects hibernation scales and the Karpenter objects the NodeTemplate controller writes, as the agent saw them
 * (the operator plans and checks a remote cluster from these). `annotations` carries only spotoptimizer.io keys.
 */
const NAMESPACED_OBJECT_KINDS: ReadonlySet<string> = new Set(["Deployment", "StatefulSet", "CronJob"]);

export const HeartbeatObject = z
  .object({
    kind: z.enum(["Deployment", "StatefulSet", "CronJob", "NodePool", "NodeClaim", "EC2NodeClass"]),
    namespace: z.string().max(63).optional(),
    name: shortText(253),
    resource_version: z.string().max(64).optional(),
    /** metadata.generation: a change of the spec by anyone moves it (how edits of our NodePools are noticed). */
    generation: z.number().int().min(0).optional(),
    creation_timestamp: z.string().max(64).optional(),
    deleting: z.boolean().optional(),
    annotations: z.record(z.string().max(253), z.string().max(8192)).optional(),
    labels: z.record(z.string().max(253), z.string().max(253)).optional(),
    /** replicas (Deployment, StatefulSet), suspend (CronJob), limits (NodePool). */
    replicas: z.number().int().min(0).nullable().optional(),
    suspend: z.boolean().nullable().optional(),
    limits: z
      .record(z.string().max(64), z.union([z.string().max(64), z.number()]))
      .nullable()
      .optional(),
  })
  .superRefine((o, ctx) => {
    // The object is named by kind, namespace and name: a write planned to it must reach that one object.
    const namespaced = NAMESPACED_OBJECT_KINDS.has(o.kind);
    if (namespaced && !o.namespace)
      ctx.addIssue({
        code: "custom",
        path: ["namespace"],
        message: `a ${o.kind} is namespaced: namespace is required`,
      });
    if (!namespaced && o.namespace !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["namespace"],
        message: `a ${o.kind} is cluster-scoped: it has no namespace`,
      });
  });
export type HeartbeatObject = z.infer<typeof HeartbeatObject>;

export const HEARTBEAT_LIMITS = {
  nodes: 10_000,
  podGroups: 50_000,
  /** pods in all groups together: above Kubernetes' own 150 000 a cluster, at the planner's limit */
  pods: 200_000,
  interruptions: NOTICES_ACCEPTED_PER_HEARTBEAT,
  objects: 20_000,
} as const;

export const Heartbeat = z
  .object({
    agent_version: shortText(64),
    k8s_version: shortText(64),
    nodes: z.array(HeartbeatNode).max(HEARTBEAT_LIMITS.nodes),
    pods: z.array(HeartbeatPodGroup).max(HEARTBEAT_LIMITS.podGroups),
    interruptions: z
      .array(HeartbeatInterruption)
      .max(HEARTBEAT_LIMITS.interruptions, {
        message: `more than ${HEARTBEAT_LIMITS.interruptions} interruption notices in one heartbeat`,
      })
      .default([]),
    /** How often this agent beats; liveness allows three missed beats. */
    heartbeat_interval_seconds: z.number().int().min(1).max(3600).optional(),
    objects: z.array(HeartbeatObject).max(HEARTBEAT_LIMITS.objects).optional(),
  })
  .refine((h) => h.pods.reduce((n, g) => n + g.count, 0) <= HEARTBEAT_LIMITS.pods, {
    path: ["pods"],
    message: `more than ${HEARTBEAT_LIMITS.pods} pods in all groups together`,
  })
  // A node counted twice would count twice in every figure made of the nodes.
  .refine((h) => new Set(h.nodes.map((n) => n.name)).size === h.nodes.length, {
    path: ["nodes"],
    message: "node names must be unique (a node is reported once)",
  });
export type Heartbeat = z.infer<typeof Heartbeat>;
export type HeartbeatInput = z.input<typeof Heartbeat>;

export const HeartbeatResponse = z.object({
  received_at: z.string(),
  next_heartbeat_seconds: z.number(),
  pending_actions: z.number().describe("Actions waiting for this cluster's agent (poll GET .../actions/pending)."),
  deferred_interruptions: z
    .array(HeartbeatInterruption)
    .optional()
    .describe(
      "Notices of this heartbeat another facade replica is still recording: send them again with the next heartbeat.",
    ),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

export const PendingAction = z.object({
  id: z.string(),
  type: z.string().describe("Action type; an agent that does not know it reports it as failed."),
  target: z.object({
    api_version: z.string().nullable(),
    kind: z.string(),
    namespace: z.string().nullable(),
    name: z.string(),
  }),
  params: z.record(z.string(), z.unknown()),
  attempt: z.number().int().min(1).describe("Lease number; the result must name it."),
  lease_expires_at: z.string().describe("After this instant the action may be handed out again."),
  deadline: z.string().describe("The agent stops working on the action at this instant (timeout or lease end)."),
  timeout_seconds: z.number().describe("Working time of this attempt; the agent measures it on its own clock."),
  lease_seconds: z.number().describe("Length of the lease (working time plus a margin for posting the result)."),
});
export type PendingAction = z.infer<typeof PendingAction>;

export const PendingActionsResponse = z.object({ actions: z.array(PendingAction) });
export type PendingActionsResponse = z.infer<typeof PendingActionsResponse>;

/** How deep an action result's `data` may nest: it is stored in the AgentAction's status and read back as JSON. */
export const RESULT_DATA_MAX_DEPTH = 32;

/** Levels of arrays and objects in a JSON value, counted without recursion (a hostile value may nest 100 000 deep). */
export function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

export const ActionResult = z.object({
  attempt: z.number().int().min(1),
  status: z.enum(["succeeded", "failed"]),
  message: z.string().max(ACTION_RESULT_MESSAGE_MAX).optional(),
  data: z
    .record(z.string(), z.unknown())
    .refine((d) => nestingDepth(d) <= RESULT_DATA_MAX_DEPTH, {
      message: `nested more than ${RESULT_DATA_MAX_DEPTH} levels deep`,
    })
    .optional(),
});
export type ActionResult = z.infer<typeof ActionResult>;

export const ActionResultResponse = z.object({
  id: z.string(),
  phase: z.enum(["Pending", "Running", "Succeeded", "Failed"]),
  attempt: z.number(),
  changed: z.boolean().describe("false when the same result had already been recorded."),
});
export type ActionResultResponse = z.infer<typeof ActionResultResponse>;
