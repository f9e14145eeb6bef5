// HibernationSchedule: when a cluster is awake (weekly windows or a 168-hour matrix), with exceptions, overrides and pre-warm.
import { z } from "zod";
import { ClusterRef, Conditions, ObservedGeneration, defineKind, namespaceName, rfc3339 } from "./common.js";

/** Date exceptions one schedule holds at most: a year's worth. */
export const MAX_SCHEDULE_EXCEPTIONS = 366;

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;
export const Weekday = z.enum(WEEKDAYS).describe("Day of the week in the schedule's time zone.");
export type Weekday = z.infer<typeof Weekday>;

export const AwakeWindow = z
  .object({
    days: z
      .array(Weekday)
      .min(1)
      .max(7)
      .describe("Days on which the window starts (a window crossing midnight belongs to the day it starts)."),
    start: z
      .string()
      .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/)
      .describe("Local start time HH:MM, inclusive."),
    end: z
      .string()
      .regex(/^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/)
      .describe("Local end time HH:MM, exclusive; 24:00 = end of day; earlier than start = crosses midnight."),
  })
  .describe("An awake window; everything outside all windows is asleep.")
  .meta({ "x-kubernetes-validations": [{ rule: "self.start != self.end", message: "start and end must differ" }] });
export type AwakeWindow = z.infer<typeof AwakeWindow>;

export const ScheduleException = z
  .object({
    date: z.iso.date().describe("Local date YYYY-MM-DD the exception covers (the whole local day)."),
    action: z.enum(["force_sleep", "force_awake"]).describe("force_sleep or force_awake for the whole date."),
  })
  .describe("A date on which the weekly schedule does not apply, e.g. a holiday.");
export type ScheduleException = z.infer<typeof ScheduleException>;

export const ScheduleOverride = z
  .object({
    action: z.enum(["wake", "sleep"]).describe("wake or sleep the cluster regardless of the schedule."),
    from: rfc3339("Instant (RFC 3339) the override starts."),
    durationHours: z
      .number()
      .gt(0)
      .max(8760)
      .describe("Elapsed hours the override lasts, from 'from'."),
  })
  .describe("A manual override with an expiry; beats exceptions and the weekly schedule.");
export type ScheduleOverride = z.infer<typeof ScheduleOverride>;

const HOURS_PER_WEEK = 168;

export const HibernationScheduleSpec = z
  .object({
    clusterRef: ClusterRef,
    timezone: z
      .string()
      .min(1)
      .default("UTC")
      .describe("IANA time zone the schedule is evaluated in, e.g. Europe/Berlin."),
    weekly: z
      .array(AwakeWindow)
      .optional()
      .describe("Awake windows by weekday; mutually exclusive with matrix."),
    matrix: z
      .array(z.number().int().min(0).max(1).describe("1 = awake, 0 = asleep."))
      .length(HOURS_PER_WEEK)
      .optional()
      .describe("168 hourly values, index day*24+hour, Monday = 0, 1 = awake; mutually exclusive with weekly."),
    exceptions: z
      .array(ScheduleException)
      .max(MAX_SCHEDULE_EXCEPTIONS)
      .optional()
      .describe("Whole-date exceptions (holidays, launch days); at most 366."),
    override: ScheduleOverride.optional(),
    prewarmMinutes: z
      .number()
      .int()
      .min(0)
      .max(1440)
      .default(0)
      .describe("Wake this many minutes before a scheduled awake window starts (not on exception dates)."),
    excludedNamespaces: z
      .array(namespaceName("A namespace."))
      .optional()
      .describe("Namespaces never put to sleep (kube-system, Karpenter's and ours are always excluded)."),
    enforce: z
      .boolean()
      .default(false)
      .describe("If true, replica counts changed by users while asleep are reverted; otherwise they are left alone."),
    gracePeriodMinutes: z
      .number()
      .int()
      .min(0)
      .max(1440)
      .default(15)
      .describe("Minutes a workload created while asleep runs before it is put to sleep."),
  })
  .describe("Desired state of a HibernationSchedule (one per cluster).")
  .meta({
    "x-kubernetes-validations": [
      { rule: "!(has(self.weekly) && has(self.matrix))", message: "weekly and matrix are mutually exclusive" },
      // Without either the schedule has no awake hours to evaluate: refuse it at the API, not later in status.
      { rule: "has(self.weekly) || has(self.matrix)", message: "one of weekly or matrix is required" },
    ],
  })
  .superRefine((spec, ctx) => {
    if (spec.weekly !== undefined && spec.matrix !== undefined) {
      ctx.addIssue({ code: "custom", message: "weekly and matrix are mutually exclusive", path: ["matrix"] });
    }
    if (spec.weekly === undefined && spec.matrix === undefined) {
      ctx.addIssue({ code: "custom", message: "one of weekly or matrix is required", path: ["weekly"] });
    }
    spec.weekly?.forEach((window, index) => {
      if (window.start === window.end) {
        ctx.addIssue({ code: "custom", message: "start and end must differ", path: ["weekly", index, "end"] });
      }
    });
  });
export type HibernationScheduleSpec = z.infer<typeof HibernationScheduleSpec>;
/** The spec as written (defaults optional), e.g. for building an object to apply. */

const ManagedCount = (what: string) => z.number().int().min(0).describe(`Number of ${what} the schedule manages.`);

export const HibernationScheduleStatus = z
  .object({
    observedGeneration: ObservedGeneration.optional(),
    state: z.enum(["awake", "asleep"]).optional().describe("Current applied state of the cluster."),
    reason: z
      .string()
      .optional()
      .describe("Why the cluster is in this state: weekly, exception, override, prewarm or default."),
    lastTransitionTime: rfc3339("When the applied state last changed.").optional(),
    nextTransition: rfc3339("When the desired state next changes.").optional(),
    managed: z
      .object({
        deployments: ManagedCount("Deployments").optional(),
        statefulSets: ManagedCount("StatefulSets").optional(),
        cronJobs: ManagedCount("CronJobs").optional(),
        nodePools: ManagedCount("NodePools").optional(),
      })
      .optional()
      .describe("Objects put to sleep (or to be woken) by this schedule."),
    projectedMonthlySavingsUsd: z
      .number()
      .min(0)
      .optional()
      .describe(
        "Projected monthly savings in USD: nodes' hourly prices x asleep hours per month (730 h month). Absent while any of those nodes has no known price (savingsBaseline says why).",
      ),
    savingsBaseline: z
      .string()
      .optional()
      .describe("What the savings are measured against, e.g. the current nodes running 24x7."),
    savingsAsOf: rfc3339("Date of the oldest price the savings figure uses.").optional(),
    sleepingCapacity: z
      .object({
        nodePools: z.array(z.string().describe("A NodePool's name.")).describe("The NodePools the schedule puts to sleep."),
        nodes: z
          .array(
            z.object({
              instanceType: z.string().describe("The nodes' instance type (node.kubernetes.io/instance-type)."),
              capacityType: z.string().describe("spot or on-demand (karpenter.sh/capacity-type)."),
              zone: z.string().optional().describe("The nodes' zone, when labelled."),
              count: z.number().int().min(0).describe("How many such nodes."),
              usdPerHour: z.number().min(0).optional().describe("Price of one node; absent when unknown."),
              source: z.string().optional().describe("pricing-api, spot-history, snapshot or derived."),
              asOf: z.string().optional().describe("Date of that price."),
            }).describe("Nodes of one instance type, capacity type and zone."),
          )
          .describe("Their nodes counted by instance type, capacity type and zone, each priced from the price book."),
        usdPerHour: z
          .number()
          .min(0)
          .optional()
          .describe("Hourly price of all those nodes; absent while any of them has no known price."),
      })
      .optional()
      .describe(
        "The nodes of the NodePools this schedule puts to sleep, as last seen awake: what goes at a sleep and returns at the wake after it (the sleep and wake audit entries carry it).",
      ),
    conditions: Conditions.optional(),
  })
  .describe("Observed state of a HibernationSchedule.");
export type HibernationScheduleStatus = z.infer<typeof HibernationScheduleStatus>;

export const HibernationScheduleKind = defineKind({
  kind: "HibernationSchedule",
  plural: "hibernationschedules",
  shortNames: ["hs", "hibernation"],
  description: "When a cluster sleeps: awake windows in a time zone, date exceptions, a manual override and pre-warm; workloads scale to zero and nodes go away while asleep, and are restored exactly on wake.",
  spec: HibernationScheduleSpec,
  status: HibernationScheduleStatus,
  printerColumns: [
    { name: "Cluster", type: "string", jsonPath: ".spec.clusterRef.name" },
    { name: "Timezone", type: "string", jsonPath: ".spec.timezone" },
    { name: "State", type: "string", jsonPath: ".status.state" },
    // A future instant as a "date" column would print as an age (kubectl shows past ages only), so it is shown as text.
    { name: "Next", type: "string", jsonPath: ".status.nextTransition" },
    // the Ready condition's reason: why a schedule has no state (InvalidSpec, Duplicate, ClusterNotFound, ...)
    { name: "Status", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
  ],
});
export const HibernationSchedule = HibernationScheduleKind.resource;
export type HibernationSchedule = z.infer<typeof HibernationSchedule>;
