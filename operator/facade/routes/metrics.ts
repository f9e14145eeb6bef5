// Dashboard figures: GET /metrics/kpi, /metrics/projection, /metrics/composition over the organisation's clusters (or
// one cluster_id), computed from the cache with the formulas of docs/facade-metrics.md.
import { z } from "zod";
import { UnprocessableError } from "../errors.js";
import { defineRoute, type RouteDef } from "../http.js";
import {
  composition,
  fleetKpi,
  projection,
  timeframeDays,
  type ClusterFigures,
} from "../../../src-shared/fleet/fleet-metrics.js";
import { clusterFigures, clustersInScope } from "../services/fleet-view.js";
import { ClusterId, resourceContext, type ResourceContext } from "./shared.js";

const ScopeQuery = z.object({ cluster_id: ClusterId.optional() }).strict();

function figuresInScope(rc: ResourceContext, clusterId: string | undefined): ClusterFigures[] {
  return clustersInScope(rc.cache, rc.namespace, clusterId).map((c) => clusterFigures(rc.cache, c, rc));
}

const kpi = defineRoute({
  method: "get",
  path: "/metrics/kpi",
  summary:
    "KPI cards: monthly spend, net savings (vs the same nodes On-Demand), fleet health, nodes, Spot share, efficiency",
  tags: ["metrics"],
  auth: "user",
  memo: true,
  query: ScopeQuery,
  response: z.object({
    monthly_spend: z.number(),
    net_savings: z.number(),
    fleet_health: z.number().nullable(),
    active_nodes: z.number(),
    spot_percentage: z.number(),
    efficiency_score: z.string(),
    efficiency_score_value: z.number().nullable(),
    clusters: z.number(),
    unpriced_clusters: z.number(),
    savings_baseline: z.string(),
    price_source: z.string().nullable(),
    prices_as_of: z.string().nullable(),
  }),
  handler: async (ctx) => {
    const rc = resourceContext(ctx);
    return fleetKpi(figuresInScope(rc, ctx.query.cluster_id));
  },
});

const projectionRoute = defineRoute({
  method: "get",
  path: "/metrics/projection",
  summary:
    "Savings projection over a timeframe (e.g. 30d): unoptimised (all On-Demand) vs optimised cost, with breakdown",
  tags: ["metrics"],
  auth: "user",
  memo: true,
  query: z.object({ cluster_id: ClusterId.optional(), timeframe: z.string().max(8).default("30d") }).strict(),
  response: z.object({
    timeframe: z.string(),
    unoptimized_cost: z.number(),
    optimized_cost: z.number(),
    potential_savings: z.number(),
    breakdown: z.object({ spot_replacement: z.number(), bin_packing: z.number(), hibernation: z.number() }),
    savings_baseline: z.string(),
    price_source: z.string().nullable(),
    prices_as_of: z.string().nullable(),
  }),
  handler: async (ctx) => {
    const rc = resourceContext(ctx);
    const days = timeframeDays(ctx.query.timeframe);
    if (days === undefined)
      throw new UnprocessableError("query.timeframe: must be a number of days like 7d, 30d or 90d (1-366)");
    const clusters = clustersInScope(rc.cache, rc.namespace, ctx.query.cluster_id);
    const names = new Set(clusters.map((c) => c.metadata.name));
    const hibernationMonthlyUsd = rc.cache
      .hibernationSchedules(rc.namespace)
      .filter((s) => names.has(s.spec.clusterRef.name))
      .reduce((a, s) => a + (s.status?.projectedMonthlySavingsUsd ?? 0), 0);
    const figures = clusters.map((c) => clusterFigures(rc.cache, c, rc));
    return projection(figures, hibernationMonthlyUsd, { label: ctx.query.timeframe, days });
  },
});

const compositionRoute = defineRoute({
  method: "get",
  path: "/metrics/composition",
  summary: "Fleet composition in percent of nodes: by instance family and by lifecycle (Spot / On-Demand)",
  tags: ["metrics"],
  auth: "user",
  memo: true,
  query: ScopeQuery,
  response: z.object({
    by_family: z.record(z.string(), z.number()),
    by_lifecycle: z.object({ spot: z.number(), on_demand: z.number() }),
    node_counts: z.object({
      total: z.number(),
      by_family: z.record(z.string(), z.number()),
      spot: z.number(),
      on_demand: z.number(),
      unknown: z.number(),
    }),
  }),
  handler: async (ctx) => {
    const rc = resourceContext(ctx);
    return composition(figuresInScope(rc, ctx.query.cluster_id));
  },
});

export const metricsRoutes: RouteDef[] = [kpi, projectionRoute, compositionRoute];
