// The five hibernation endpoints: each changes the cluster's HibernationSchedule in force (the oldest naming it; created
// on first use, named after the cluster and owned by it, as "always awake" so that creating it never puts anything to
// sleep); the hibernation controller acts.
import { z } from "zod";
import { MAX_SCHEDULE_EXCEPTIONS, type HibernationSchedule } from "../../../src-shared/crds/index.js";
import { UnprocessableError } from "../errors.js";
import { defineRoute, type RouteDef } from "../http.js";
import { clusterFigures } from "../services/fleet-view.js";
import { specOf, type ResourceContext, type ResourceScope } from "../services/resource-scope.js";
import { asleepHoursPerWeek, matrixToWeekly, MATRIX_SLOTS } from "../services/schedule-matrix.js";
import type { ScheduleService, ScheduleSpec } from "../services/schedules.js";
import { ClusterId, PricesStale } from "./shared.js";

const Timezone = z.string().min(1).max(64);
const clusterId = { cluster_id: ClusterId.optional() };

interface Change {
  /** Merge patch for the schedule's spec as it is now. */
  patch: (current: ScheduleSpec) => Record<string, unknown>;
  event: string;
}

interface HibernationEndpoint<B extends { cluster_id?: string }, R> {
  method: "post" | "patch";
  path: string;
  summary: string;
  body: z.ZodType<B>;
  response: z.ZodType<R>;
  change: (body: B, rc: ResourceContext) => Change;
  respond: (ctx: { body: B; rc: ResourceContext; after: HibernationSchedule; clusterName: string }) => R;
}

export interface HibernationRouteServices {
  scope: ResourceScope;
  schedules: ScheduleService;
}

/** A hibernation endpoint: the request turned into one change of the cluster's schedule, audited, then answered. */
function hibernationRoute<B extends { cluster_id?: string }, R>(
  { scope, schedules }: HibernationRouteServices,
  def: HibernationEndpoint<B, R>,
): RouteDef {
  return defineRoute({
    method: def.method,
    path: def.path,
    summary: `${def.summary} (cluster_id, or the caller's active account, else the only cluster; 409 rather than a guess)`,
    tags: ["hibernation"],
    auth: "user",
    body: def.body,
    response: def.response,
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      const change = def.change(ctx.body, rc);
      const { cluster, before, after } = await schedules.change(rc, {
        clusterId: ctx.body.cluster_id,
        patch: change.patch,
      });
      const clusterName = cluster.metadata.name ?? "";
      ctx.audit({
        event: change.event,
        resource: `hibernationschedule/${after.metadata.name ?? clusterName}`,
        before: specOf(before),
        after: specOf(after),
      });
      return def.respond({ body: ctx.body, rc, after, clusterName });
    },
  }) as RouteDef;
}

/** Keeps the endpoint's body and response types while it waits for its services. */
function endpoint<B extends { cluster_id?: string }, R>(
  def: HibernationEndpoint<B, R>,
): (services: HibernationRouteServices) => RouteDef {
  return (services) => hibernationRoute(services, def);
}

const ScheduleBody = z
  .object({
    cluster_id: ClusterId.optional(),
    schedule_matrix: z.array(z.union([z.literal(0), z.literal(1)])).length(MATRIX_SLOTS),
    timezone: Timezone.optional(),
  })
  .strict();

const saveSchedule = endpoint({
  method: "post",
  path: "/hibernation/schedule",
  summary: "Save the weekly schedule (168 slots, index day*24+hour, Monday = 0, 1 = awake) as weekly awake windows",
  body: ScheduleBody,
  response: z.object({
    success: z.boolean(),
    projected_savings: z
      .number()
      .nullable()
      .describe(
        "The hibernation controller's projected monthly savings (the nodes that go to sleep, priced); null until it has computed them for this version of the schedule.",
      ),
    projected_savings_baseline: z.string(),
    projected_savings_as_of: z.string().nullable(),
    asleep_hours_per_week: z.number(),
    weekly: z.array(z.object({ days: z.array(z.string()), start: z.string(), end: z.string() })),
    timezone: z.string(),
    cluster_id: z.string(),
    price_source: z
      .string()
      .nullable()
      .describe("Sources of the prices behind the cluster's cost (ManagedCluster.status), not of projected_savings."),
    prices_as_of: z
      .string()
      .nullable()
      .describe("Oldest date of those prices; the savings' own is projected_savings_as_of."),
    prices_stale: PricesStale,
  }),
  change: (body) => ({
    event: "Modified hibernation schedule",
    patch: () => ({
      weekly: matrixToWeekly(body.schedule_matrix),
      matrix: null,
      ...(body.timezone ? { timezone: body.timezone } : {}),
    }),
  }),
  respond: ({ body, rc, after, clusterName }) => {
    const cluster = rc.cache.cluster(rc.namespace, clusterName);
    const figures = cluster ? clusterFigures(cluster, rc) : undefined;
    return {
      success: true,
      ...controllerSavings(after),
      asleep_hours_per_week: asleepHoursPerWeek(body.schedule_matrix),
      weekly: after.spec.weekly ?? [],
      timezone: after.spec.timezone ?? "UTC",
      cluster_id: clusterName,
      price_source: figures && figures.priceSources.length > 0 ? figures.priceSources.join("+") : null,
      prices_as_of: figures?.pricesAsOf ?? null,
      prices_stale: figures?.pricesStale ?? null,
    };
  },
});

/**
 * The one hibernation savings figure: the controller's (HibernationSchedule.status, from the nodes that actually go to
 * sleep, priced), and only when it was computed for the schedule as just written; else null with the reason.
 */
function controllerSavings(schedule: HibernationSchedule): {
  projected_savings: number | null;
  projected_savings_baseline: string;
  projected_savings_as_of: string | null;
} {
  const status = schedule.status ?? {};
  if (status.observedGeneration === undefined || status.observedGeneration !== schedule.metadata.generation)
    return {
      projected_savings: null,
      projected_savings_baseline:
        "not computed yet: the hibernation controller prices the nodes that go to sleep once it has seen this schedule (GET /metrics/projection shows it then)",
      projected_savings_as_of: null,
    };
  return {
    projected_savings: status.projectedMonthlySavingsUsd ?? null,
    projected_savings_baseline: status.savingsBaseline ?? "not computed by the hibernation controller",
    projected_savings_as_of: status.savingsAsOf ?? null,
  };
}

/**
 * The exceptions with `added` (replacing one of its date), sorted. Those dated more than two days ago go: no time zone
 * is that far behind UTC, so they can never apply again, and a schedule is not left full of them. More than the CRD's
 * limit left is 422.
 */
function withException<E extends { date: string; action: string }>(
  current: E[],
  added: E,
  { now, timezone }: { now: Date; timezone: string | undefined },
): E[] {
  const today = todayIn(timezone, now);
  if (today !== undefined && added.date < today)
    throw new UnprocessableError(`date ${added.date} is past: today is ${today} in ${timezone ?? "UTC"}`);
  const oldest = new Date(now.getTime() - 2 * 86_400_000).toISOString().slice(0, 10);
  const kept = current.filter((e) => e.date !== added.date && e.date >= oldest);
  if (kept.length >= MAX_SCHEDULE_EXCEPTIONS)
    throw new UnprocessableError(
      `a schedule holds at most ${MAX_SCHEDULE_EXCEPTIONS} date exceptions from two days ago on`,
    );
  return [...kept, added].sort((a, b) => a.date.localeCompare(b.date));
}

/** Today's date (YYYY-MM-DD) in the schedule's time zone; undefined for a zone this runtime does not know. */
function todayIn(timezone: string | undefined, now: Date): string | undefined {
  try {
    return new Intl.DateTimeFormat("en-CA", {
      timeZone: timezone ?? "UTC",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    }).format(now);
  } catch {
    return undefined;
  }
}

/** The shortest override: a shorter one would end before the cluster has finished waking up or going to sleep. */
const MIN_OVERRIDE_HOURS = 0.25;

const addException = endpoint({
  method: "post",
  path: "/hibernation/exception",
  summary: "Add (or replace) a whole-date exception: force_sleep or force_awake",
  body: z
    .object({ cluster_id: ClusterId.optional(), date: z.iso.date(), mode: z.enum(["force_sleep", "force_awake"]) })
    .strict(),
  response: z.object({
    success: z.boolean(),
    cluster_id: z.string(),
    exceptions: z.array(z.object({ date: z.string(), action: z.string() })),
  }),
  change: (body, rc) => ({
    event: "Added hibernation exception",
    patch: (current) => ({
      exceptions: withException(
        current.exceptions ?? [],
        { date: body.date, action: body.mode },
        { now: rc.now, timezone: current.timezone },
      ),
    }),
  }),
  respond: ({ after, clusterName }) => ({
    success: true,
    cluster_id: clusterName,
    exceptions: after.spec.exceptions ?? [],
  }),
});

const override = endpoint({
  method: "post",
  path: "/hibernation/override",
  summary: "Wake or sleep the cluster now for duration_hours, regardless of the schedule",
  body: z
    .object({
      cluster_id: ClusterId.optional(),
      action: z.enum(["wake", "sleep"]),
      duration_hours: z
        .number()
        .min(MIN_OVERRIDE_HOURS, `duration_hours must be at least ${MIN_OVERRIDE_HOURS} (15 minutes)`)
        .max(8760),
    })
    .strict(),
  response: z.object({ success: z.boolean(), expires_at: z.string(), cluster_id: z.string(), action: z.string() }),
  change: (body, rc) => ({
    event: body.action === "wake" ? "Manual wake-up" : "Manual sleep",
    patch: () => ({
      override: { action: body.action, from: rc.now.toISOString(), durationHours: body.duration_hours },
    }),
  }),
  respond: ({ after, clusterName }) => {
    const o = after.spec.override;
    const expires = o ? new Date(Date.parse(o.from) + o.durationHours * 3600 * 1000).toISOString() : "";
    return { success: true, expires_at: expires, cluster_id: clusterName, action: o?.action ?? "" };
  },
});

const setTimezone = endpoint({
  method: "patch",
  path: "/hibernation/tz",
  summary: "Set the IANA time zone the schedule is evaluated in",
  body: z.object({ timezone: Timezone, ...clusterId }).strict(),
  response: z.object({ success: z.boolean(), timezone: z.string(), cluster_id: z.string() }),
  change: (body) => ({ event: "Changed hibernation time zone", patch: () => ({ timezone: body.timezone }) }),
  respond: ({ after, clusterName }) => ({
    success: true,
    timezone: after.spec.timezone ?? "UTC",
    cluster_id: clusterName,
  }),
});

const setPrewarm = endpoint({
  method: "patch",
  path: "/hibernation/prewarm",
  summary: "Enable (with minutes, default 30) or disable pre-warming before awake windows",
  body: z
    .object({ enabled: z.boolean(), minutes: z.number().int().min(1).max(1440).optional(), ...clusterId })
    .strict(),
  response: z.object({
    success: z.boolean(),
    enabled: z.boolean(),
    prewarm_minutes: z.number(),
    cluster_id: z.string(),
  }),
  change: (body) => ({
    event: body.enabled ? "Enabled hibernation pre-warm" : "Disabled hibernation pre-warm",
    patch: () => ({ prewarmMinutes: body.enabled ? (body.minutes ?? 30) : 0 }),
  }),
  respond: ({ after, clusterName }) => {
    const minutes = after.spec.prewarmMinutes ?? 0;
    return { success: true, enabled: minutes > 0, prewarm_minutes: minutes, cluster_id: clusterName };
  },
});

/** The five hibernation routes over the schedule service. */
export function createHibernationRoutes(services: HibernationRouteServices): RouteDef[] {
  return [saveSchedule, addException, override, setTimezone, setPrewarm].map((route) => route(services));
}
