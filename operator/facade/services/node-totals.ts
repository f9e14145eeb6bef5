// Node totals over an organisation's clusters (/metrics/kpi, /metrics/composition): counted over the clusters that
// reported their nodes, null with the reason when none did, as money totals are over the priced clusters.
import { composition, fleetKpi, type FleetKpi } from "../../../src-shared/fleet/fleet-metrics.js";
import { NO_INTERRUPTION_RECORD, NO_NODES, type ClusterView } from "./fleet-view.js";

/** The KPI cards, with node figures that are null and explained while unknown. */
export type NodeKpi = Omit<FleetKpi, "active_nodes" | "spot_percentage"> & {
  fleet_health_reason: string | null;
  active_nodes: number | null;
  active_nodes_reason: string | null;
  spot_percentage: number | null;
  spot_percentage_reason: string | null;
};

export interface NodeComposition {
  by_family: Record<string, number>;
  by_lifecycle: { spot: number | null; on_demand: number | null };
  by_lifecycle_reason: string | null;
  node_counts: {
    total: number | null;
    by_family: Record<string, number>;
    spot: number | null;
    on_demand: number | null;
    unknown: number | null;
  };
  node_counts_reason: string | null;
}

interface Reported {
  reported: ClusterView[];
  /** No cluster in scope reported (a scope without clusters has a known total: none). */
  none: boolean;
  /** The clusters a node total leaves out, named; null when it leaves none out. */
  reason: string | null;
}

/** Whether a node total over these clusters leaves some out (they have not reported): it is then at least that. */
export function nodesLeftOut(figures: readonly ClusterView[]): boolean {
  return figures.some((f) => f.nodesReason !== null);
}

/** The clusters that have not reported their nodes, by id. */
function silentClusters(figures: readonly ClusterView[]): string[] {
  return figures.filter((f) => f.nodesReason !== null).map((f) => f.clusterId ?? "");
}

function reportedOf(figures: readonly ClusterView[]): Reported {
  const reported = figures.filter((f) => f.nodesReason === null);
  const silent = silentClusters(figures);
  const none = silent.length > 0 && reported.length === 0;
  // Counted, but what their agent last reported: the user must be able to tell these figures may be out of date.
  const stale = reported
    .filter((f) => f.disconnectedSince !== null)
    .map((f) => `${f.clusterId ?? ""} (since ${f.disconnectedSince})`);
  const staleText = stale.length > 0 ? `as last reported, agent disconnected: ${stale.join(", ")}` : null;
  if (silent.length === 0) return { reported, none, reason: staleText };
  const names = silent.join(", ");
  if (none) return { reported, none, reason: `not reported: ${names}` };
  return { reported, none, reason: [`not included (not reported): ${names}`, staleText].filter(Boolean).join("; ") };
}

/**
 * Why the fleet health is null, or the clusters its mean leaves out: those whose interruption rate is unknown, and
 * those that have not reported their nodes.
 */
function fleetHealthReason(figures: readonly ClusterView[]): string | null {
  const silent = silentClusters(figures);
  const counted = figures.filter((f) => f.nodesReason === null && f.nodeCount > 0);
  const left = counted.filter((f) => f.fleetHealth === null).map((f) => f.clusterId ?? "");
  const known = left.length < counted.length;
  const parts = [
    left.length > 0
      ? `${known ? `not included (${NO_INTERRUPTION_RECORD})` : NO_INTERRUPTION_RECORD}: ${left.join(", ")}`
      : null,
    silent.length > 0 ? `not ${known ? "included (not reported)" : "reported"}: ${silent.join(", ")}` : null,
  ].filter((p): p is string => p !== null);
  if (parts.length > 0) return parts.join("; ");
  return known ? null : NO_NODES;
}

/**
 * The KPI cards: money over the priced clusters (fleetKpi), node counts and the Spot share over the clusters that
 * reported; the Spot share of no nodes is null.
 */
export function nodeKpi(figures: ClusterView[]): NodeKpi {
  const { reported, none, reason } = reportedOf(figures);
  const kpi = { ...fleetKpi(figures), fleet_health_reason: fleetHealthReason(figures) };
  if (none)
    return {
      ...kpi,
      active_nodes: null,
      active_nodes_reason: reason,
      spot_percentage: null,
      spot_percentage_reason: reason,
    };
  const counted = fleetKpi(reported);
  const empty = counted.active_nodes === 0;
  return {
    ...kpi,
    active_nodes: counted.active_nodes,
    active_nodes_reason: reason,
    spot_percentage: empty ? null : counted.spot_percentage,
    spot_percentage_reason: empty ? NO_NODES : reason,
  };
}

/** Composition over the clusters that reported; percentages of no nodes are null. */
export function nodeComposition(figures: ClusterView[]): NodeComposition {
  const { reported, none, reason } = reportedOf(figures);
  const c = composition(reported);
  if (none)
    return {
      by_family: {},
      by_lifecycle: { spot: null, on_demand: null },
      by_lifecycle_reason: reason,
      node_counts: { total: null, by_family: {}, spot: null, on_demand: null, unknown: null },
      node_counts_reason: reason,
    };
  const empty = c.node_counts.total === 0;
  return {
    ...c,
    by_lifecycle: empty ? { spot: null, on_demand: null } : c.by_lifecycle,
    by_lifecycle_reason: empty ? NO_NODES : reason,
    node_counts_reason: reason,
  };
}
