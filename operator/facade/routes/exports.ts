// GET /client/costs/export: CSV of the last 30 days of optimisation decisions (from AuditEntries) with a TOTAL row.
import { z } from "zod";
import { defineRoute, type RouteDef } from "../http.js";
import { costExportCsv, costExportFilename } from "../services/decisions.js";
import { auditView } from "./activity.js";
import type { ResourceScope } from "../services/resource-scope.js";

const costsExport = (scope: ResourceScope): RouteDef =>
  defineRoute({
    method: "get",
    path: "/client/costs/export",
    summary:
      "CSV of the last 30 days of optimisation decisions; TOTAL row sums monthly projected savings (hourly × 730, or an entry's own figure named in its Reason)",
    tags: ["exports"],
    auth: "user",
    produces: "csv",
    query: z.object({ format: z.literal("csv").default("csv") }).strict(),
    response: z.string(),
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      ctx.res.setHeader("Content-Disposition", `attachment; filename="${costExportFilename(rc.now)}"`);
      return costExportCsv(rc.cache.auditEntries(rc.namespace).map(auditView), rc.now);
    },
  }) as RouteDef;

/** The export routes (reads of the cache only). */
export function createExportRoutes(scope: ResourceScope): RouteDef[] {
  return [costsExport(scope)];
}
