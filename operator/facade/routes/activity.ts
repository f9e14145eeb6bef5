// GET /activity/live: the organisation's recent actions (its AuditEntries, users' and controllers'), newest first.
import { z } from "zod";
import type { AuditEntry } from "../../../src-shared/crds/index.js";
import { defineRoute, type RouteDef } from "../http.js";
import { activityPage, type AuditView } from "../services/decisions.js";
import type { ResourceScope } from "../services/resource-scope.js";

/** An AuditEntry CR as the decision/activity services read it. */
export function auditView(e: AuditEntry): AuditView {
  return {
    id: e.metadata.name ?? "",
    timestamp: e.spec.timestamp ?? e.metadata.creationTimestamp ?? "",
    actor: e.spec.actor,
    event: e.spec.event,
    resource: e.spec.resource,
    outcome: e.spec.outcome,
    before: e.spec.before,
    after: e.spec.after,
  };
}

const live = (scope: ResourceScope): RouteDef =>
  defineRoute({
    method: "get",
    path: "/activity/live",
    summary: "Recent optimisation and user actions, newest first (limit/offset, total)",
    tags: ["dashboard"],
    auth: "user",
    query: z
      .object({
        limit: z.coerce.number().int().min(1).max(500).default(50),
        offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
      })
      .strict(),
    response: z.object({
      events: z.array(
        z.object({
          id: z.string(),
          timestamp: z.string(),
          action: z.string(),
          savings: z
            .number()
            .nullable()
            .describe(
              "Hourly USD saved against the replaced capacity's price; null when a decision lacks a price or the entry is no decision",
            ),
          savings_reason: z.string().nullable().describe("Why savings is null."),
          savings_baseline: z.string().nullable().describe("What savings is measured against; null with no figure."),
          price_source: z
            .string()
            .nullable()
            .describe("Source(s) of the decision's prices as recorded (e.g. snapshot, spot-history); null if none."),
          prices_as_of: z
            .string()
            .nullable()
            .describe('The older of the decision\'s two price dates as recorded ("unknown" when one is undated).'),
          status: z.string(),
          actor: z.string(),
          resource: z.string(),
        }),
      ),
      total: z.number(),
      limit: z.number(),
      offset: z.number(),
    }),
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      return activityPage(rc.cache.auditEntries(rc.namespace).map(auditView), ctx.query);
    },
  }) as RouteDef;

/** The activity routes (reads of the cache only). */
export function createActivityRoutes(scope: ResourceScope): RouteDef[] {
  return [live(scope)];
}
