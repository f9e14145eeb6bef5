// Dashboard figures: GET /metrics/kpi, /metrics/projection, /metrics/composition over the organisation's clusters (or
// one cluster_id), from the clusters' ManagedCluster.status (the status controller computes every figure once).
import { z } from "zod";
import { UnprocessableError } from "../errors.js";
import { defineRoute, type RouteDef } from "../http.js";
import {
  binPackingSavings,
  hibernationSavings,
  projection,
  timeframeDays,
  type ClusterFigures,
  type HibernationSavings,
} from "../../../src-shared/fleet/fleet-metrics.js";
import { binPackingItem, clusterFigures, clustersInScope, figuresInScope } from "../services/fleet-view.js";
import { nodeComposition, nodeKpi } from "../services/node-totals.js";
import type { ResourceContext, ResourceScope } from "../services/resource-scope.js";
import { BinPackingBasis, ClusterId, NetSavingsReason, TotalsBasis } from "./shared.js";

const ScopeQuery = z.object({ cluster_id: ClusterId.optional() }).strict();

/**
 * The hibernation savings of the schedules whose cluster has a priced cost: a cluster left out of the cost totals
 * contributes no savings to them either, and the reason names its schedules.
 */
function pricedHibernation(rc: ResourceContext, figures: readonly ClusterFigures[]): HibernationSavings {
  const priced = new Set(figures.filter((f) => f.monthlyCostUsd !== null).map((f) => f.clusterId));
  const inScope = new Set(figures.map((f) => f.clusterId));
  const schedules = rc.cache.hibernationSchedules(rc.namespace).filter((s) => inScope.has(s.spec.clusterRef.name));
  const kept = schedules.filter((s) => priced.has(s.spec.clusterRef.name));
  const left = schedules.filter((s) => !priced.has(s.spec.clusterRef.name));
  const savings = hibernationSavings(kept.map((s) => ({ name: s.metadata.name ?? "", ...s.status })));
  if (left.length === 0) return savings;
  const names = left.map((s) => `${s.metadata.name ?? ""} on ${s.spec.clusterRef.name}`).join(", ");
  // Every schedule left out: the saving is unknown, not the 0 of having no schedule.
  if (kept.length === 0) return { monthlyUsd: null, reason: `not known (cluster cost unknown): ${names}` };
  const why = `not included (cluster cost unknown): ${names}`;
  return { ...savings, reason: savings.reason === null ? why : `${savings.reason}; ${why}` };
}

/** The cluster's schedules' projected monthly hibernation saving; undefined when none has one. */
const kpi = (scope: ResourceScope): RouteDef =>
  defineRoute({
    method: "get",
    path: "/metrics/kpi",
    summary:
      "KPI cards: monthly spend, net savings (vs the same nodes On-Demand), fleet health, nodes, Spot share, efficiency",
    tags: ["metrics"],
    auth: "user",
    memo: true,
    query: ScopeQuery,
    response: z.object({
      monthly_spend: z.number().nullable().describe("Σ monthly cost of the priced clusters; null when none is priced."),
      net_savings: z.number().nullable(),
      net_savings_reason: NetSavingsReason,
      fleet_health: z.number().nullable(),
      fleet_health_reason: z
        .string()
        .nullable()
        .describe("Why fleet_health is null, or which clusters it leaves out (interruption rate unknown)."),
      active_nodes: z
        .number()
        .nullable()
        .describe("Σ nodes of the clusters that reported them; null when none in scope has."),
      active_nodes_reason: z
        .string()
        .nullable()
        .describe("Why active_nodes is null, or which clusters it leaves out (not reported)."),
      spot_percentage: z.number().nullable().describe("Spot share of active_nodes; null when they are unknown or 0."),
      spot_percentage_reason: z.string().nullable().describe("Why spot_percentage is null, or what it leaves out."),
      efficiency_score: z.string(),
      efficiency_score_value: z.number().nullable(),
      clusters: z.number(),
      unpriced_clusters: z.number(),
      ...TotalsBasis,
    }),
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      return nodeKpi(figuresInScope(rc, ctx.query.cluster_id));
    },
  }) as RouteDef;

const projectionRoute = (scope: ResourceScope): RouteDef =>
  defineRoute({
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
      unoptimized_cost: z.number().nullable(),
      optimized_cost: z.number().nullable(),
      potential_savings: z.number().nullable(),
      breakdown: z.object({
        spot_replacement: z.number().nullable(),
        bin_packing: z.number().nullable(),
        hibernation: z.number().nullable(),
      }),
      spot_replacement: z.object({ baseline: z.string(), reason: z.string().nullable() }),
      bin_packing: BinPackingBasis,
      hibernation: z.object({ baseline: z.string(), reason: z.string().nullable() }),
      ...TotalsBasis,
    }),
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      const days = timeframeDays(ctx.query.timeframe);
      if (days === undefined)
        throw new UnprocessableError("query.timeframe: must be a number of days like 7d, 30d or 90d (1-366)");
      const clusters = clustersInScope(rc.cache, rc.namespace, ctx.query.cluster_id);
      const figures = clusters.map((c) => clusterFigures(c, rc));
      const binPacking = binPackingSavings(clusters.map((c, i) => binPackingItem(rc.cache, c, figures[i]!)));
      return projection(
        figures,
        { hibernation: pricedHibernation(rc, figures), binPacking },
        { label: ctx.query.timeframe, days },
      );
    },
  }) as RouteDef;

const compositionRoute = (scope: ResourceScope): RouteDef =>
  defineRoute({
    method: "get",
    path: "/metrics/composition",
    summary: "Fleet composition in percent of nodes: by instance family and by lifecycle (Spot / On-Demand)",
    tags: ["metrics"],
    auth: "user",
    memo: true,
    query: ScopeQuery,
    response: z.object({
      by_family: z.record(z.string(), z.number()),
      by_lifecycle: z
        .object({ spot: z.number().nullable(), on_demand: z.number().nullable() })
        .describe("Percent of the reported nodes; null when no cluster in scope reported or there are no nodes."),
      by_lifecycle_reason: z.string().nullable().describe("Why by_lifecycle is null, or what it leaves out."),
      node_counts: z
        .object({
          total: z.number().nullable(),
          by_family: z.record(z.string(), z.number()),
          spot: z.number().nullable(),
          on_demand: z.number().nullable(),
          unknown: z.number().nullable(),
        })
        .describe("Nodes of the clusters that reported them; null when none in scope has."),
      node_counts_reason: z
        .string()
        .nullable()
        .describe("Why node_counts are null, or which clusters they leave out (not reported)."),
    }),
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      return nodeComposition(figuresInScope(rc, ctx.query.cluster_id));
    },
  }) as RouteDef;

/** The metrics routes (reads of the cache only). */
export function createMetricsRoutes(scope: ResourceScope): RouteDef[] {
  return [kpi(scope), projectionRoute(scope), compositionRoute(scope)];
}
