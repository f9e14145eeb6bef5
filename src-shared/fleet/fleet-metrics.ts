// Fleet figures (KPI, projection, composition, efficiency) from nodes, pods and CR status: shared by the facade and the operator.
// The formulas are documented in docs/facade-metrics.md; keep the two in step.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { podRequest } from "./pod-request.js";
import { cpuMillicores, memoryMiB } from "./quantity.js";

/** Monthly = hourly × 730 (DESIGN.md, "Money"). */
export const HOURS_PER_MONTH = 730;

const WEEK_MS = 7 * 86_400_000;

/** A ManagedCluster with no mode is local (the CRD's default). */
export function isLocalCluster(cluster: { spec: { mode?: string } }): boolean {
  return (cluster.spec.mode ?? "local") === "local";
}

/**
 * Whether a cluster's figures may be measured from the Nodes this installation sees: only a `local` ManagedCluster,
 * and only when it is the sole local cluster across all organisations, so no tenant sees another tenant's nodes.
 */
export function ownsLocalNodes<C extends { spec: { mode?: string } }>(cluster: C, allClusters: readonly C[]): boolean {
  return isLocalCluster(cluster) && allClusters.filter(isLocalCluster).length === 1;
}

/**
 * Whether an audit resource names exactly this cluster: `<name>`, `cluster/<name>` or `cluster/<name>/...` (e.g.
 * `cluster/prod/node/n1`); `cluster/prod-eu/...` is not `prod`.
 */
export function resourceNamesCluster(resource: string, clusterName: string): boolean {
  if (clusterName === "") return false;
  return (
    resource === clusterName || resource === `cluster/${clusterName}` || resource.startsWith(`cluster/${clusterName}/`)
  );
}

/** Spot interruptions recorded for a cluster in the last 7 days: AuditEntries whose event says "interrupt" and whose resource names it. */
export function interruptions7d(
  entries: readonly { spec: { event: string; resource: string; timestamp?: string } }[],
  clusterName: string,
  nowMs: number,
): number {
  const since = nowMs - WEEK_MS;
  return entries.filter(
    (e) =>
      /interrupt/i.test(e.spec.event) &&
      resourceNamesCluster(e.spec.resource, clusterName) &&
      Date.parse(e.spec.timestamp ?? "") >= since,
  ).length;
}

/** A price with its provenance; structurally the pricing engine's `Price` (src-shared/pricing). */
export interface Price {
  usdPerHour: number;
  source: string;
  asOf: string;
}

/** The part of the pricing engine's `PriceBook` the facade reads: On-Demand by type, Spot by type and zone. */
export interface PriceBook {
  region?: string;
  onDemand: ReadonlyMap<string, Price>;
  spot: ReadonlyMap<string, ReadonlyMap<string, Price>>;
}

export type CapacityType = "spot" | "on-demand" | "unknown";

export interface NodeFacts {
  name: string;
  instanceType?: string;
  family?: string;
  capacityType: CapacityType;
  zone?: string;
  ready: boolean;
  allocatableMillicores: number;
  allocatableMiB: number;
  /** What the node costs per hour at its capacity type, when a price is known. */
  price?: Price;
  /** What the same node would cost On-Demand: the savings baseline. */
  onDemandPrice?: Price;
}

/** The measured inputs for one cluster. */
export interface ClusterUsage {
  nodes: NodeFacts[];
  requestedMillicores: number;
  requestedMiB: number;
  /** Spot interruptions recorded in the last 7 days. */
  interruptions7d: number;
}

/** What ManagedCluster.status reports, for clusters whose nodes the facade cannot see (remote clusters). */
export interface ReportedStatus {
  nodeCount?: number;
  spotPercentage?: number;
  monthlyCostUsd?: number;
  efficiencyScore?: number;
}

export interface ClusterFigures {
  /** "nodes" = computed from the cached Node and Pod objects; "status" = as reported in ManagedCluster.status. */
  source: "nodes" | "status";
  nodeCount: number;
  spotNodes: number;
  onDemandNodes: number;
  readyNodes: number | null;
  spotPercentage: number;
  cpuUtilisation: number | null;
  memoryUtilisation: number | null;
  interruptionRate: number | null;
  efficiencyScore: number | null;
  efficiencyGrade: string;
  fleetHealth: number | null;
  monthlyCostUsd: number | null;
  baselineMonthlyUsd: number | null;
  priceSources: string[];
  pricesAsOf: string | null;
  byFamily: Record<string, number>;
}

export const SAVINGS_BASELINE = "the same nodes at On-Demand prices (same packing)";

const ZERO_NODES_GRADE = "N/A";

/** Letter grade for a 0–100 efficiency score. */
export function efficiencyGrade(score: number | null): string {
  if (score === null) return ZERO_NODES_GRADE;
  if (score >= 85) return "A";
  if (score >= 70) return "B";
  if (score >= 55) return "C";
  if (score >= 40) return "D";
  return "F";
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/**
 * efficiency = 100 × (0.5 × U + 0.3 × S + 0.2 × (1 − I)), U = mean(cpu requested ÷ allocatable, memory requested ÷
 * allocatable) each clamped to [0,1], S = spot nodes ÷ nodes, I = min(1, interruptions in 7 days ÷ max(1, spot nodes)).
 * null without nodes: there is nothing to score.
 */
export function efficiencyScore(
  u: { cpu: number; memory: number },
  spotShare: number,
  interruptionRate: number,
): number {
  const utilisation = (clamp01(u.cpu) + clamp01(u.memory)) / 2;
  return Math.round(100 * (0.5 * utilisation + 0.3 * clamp01(spotShare) + 0.2 * (1 - clamp01(interruptionRate))));
}

/** fleet health = 100 × (ready nodes ÷ nodes) × (1 − I). */
export function fleetHealth(readyShare: number, interruptionRate: number): number {
  return Math.round(100 * clamp01(readyShare) * (1 - clamp01(interruptionRate)));
}

function sumPrices(
  nodes: NodeFacts[],
  pick: (n: NodeFacts) => Price | undefined,
): { usd: number | null; used: Price[] } {
  const used = nodes.map(pick).filter((p): p is Price => p !== undefined);
  // A partial sum would understate the bill: only a fully priced fleet gets a figure.
  if (nodes.length > 0 && used.length < nodes.length) return { usd: null, used };
  return { usd: used.reduce((acc, p) => acc + p.usdPerHour * HOURS_PER_MONTH, 0), used };
}

function oldest(dates: string[]): string | null {
  const known = dates.filter((d) => d !== "unknown").sort();
  return known[0] ?? null;
}

function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}

function countByFamily(nodes: readonly NodeFacts[]): Record<string, number> {
  const byFamily: Record<string, number> = {};
  for (const node of nodes) {
    const family = node.family ?? "unknown";
    byFamily[family] = (byFamily[family] ?? 0) + 1;
  }
  return byFamily;
}

interface Scores {
  interruptionRate: number | null;
  efficiencyScore: number | null;
  fleetHealth: number | null;
}

function scores(
  usage: ClusterUsage,
  counts: { n: number; spot: number; ready: number },
  u: { cpu: number | null; memory: number | null },
): Scores {
  if (counts.n === 0) return { interruptionRate: null, efficiencyScore: null, fleetHealth: null };
  const interruptionRate = clamp01(usage.interruptions7d / Math.max(1, counts.spot));
  return {
    interruptionRate,
    efficiencyScore: efficiencyScore(
      { cpu: u.cpu ?? 0, memory: u.memory ?? 0 },
      counts.spot / counts.n,
      interruptionRate,
    ),
    fleetHealth: fleetHealth(counts.ready / counts.n, interruptionRate),
  };
}

/** Figures for a cluster whose nodes and pods are in the cache. */
export function figuresFromUsage(usage: ClusterUsage): ClusterFigures {
  const nodes = usage.nodes;
  const n = nodes.length;
  const spotNodes = nodes.filter((x) => x.capacityType === "spot").length;
  const readyNodes = nodes.filter((x) => x.ready).length;
  const cpu = ratio(
    usage.requestedMillicores,
    nodes.reduce((a, x) => a + x.allocatableMillicores, 0),
  );
  const memory = ratio(
    usage.requestedMiB,
    nodes.reduce((a, x) => a + x.allocatableMiB, 0),
  );
  const s = scores(usage, { n, spot: spotNodes, ready: readyNodes }, { cpu, memory });
  const cost = sumPrices(nodes, (x) => x.price);
  const baseline = sumPrices(nodes, (x) => x.onDemandPrice);
  const used = [...cost.used, ...baseline.used];
  return {
    source: "nodes",
    nodeCount: n,
    spotNodes,
    onDemandNodes: nodes.filter((x) => x.capacityType === "on-demand").length,
    readyNodes,
    spotPercentage: n > 0 ? Math.round((1000 * spotNodes) / n) / 10 : 0,
    cpuUtilisation: cpu,
    memoryUtilisation: memory,
    ...s,
    efficiencyGrade: efficiencyGrade(s.efficiencyScore),
    monthlyCostUsd: cost.usd,
    baselineMonthlyUsd: baseline.usd,
    priceSources: [...new Set(used.map((p) => p.source))].sort(),
    pricesAsOf: oldest(used.map((p) => p.asOf)),
    byFamily: countByFamily(nodes),
  };
}

/** Figures for a cluster known only through its ManagedCluster.status (what its agent or controller reported). */
export function figuresFromStatus(reported: ReportedStatus | undefined): ClusterFigures {
  const status: ReportedStatus = reported ?? {};
  const nodeCount = status.nodeCount ?? 0;
  const spotPercentage = status.spotPercentage ?? 0;
  const spotNodes = Math.round((nodeCount * spotPercentage) / 100);
  const score = nodeCount > 0 ? (status.efficiencyScore ?? null) : null;
  return {
    source: "status",
    nodeCount,
    spotNodes,
    onDemandNodes: nodeCount - spotNodes,
    readyNodes: null,
    spotPercentage,
    cpuUtilisation: null,
    memoryUtilisation: null,
    interruptionRate: null,
    efficiencyScore: score,
    efficiencyGrade: efficiencyGrade(score),
    fleetHealth: null,
    monthlyCostUsd: status.monthlyCostUsd ?? (nodeCount === 0 ? 0 : null),
    baselineMonthlyUsd: nodeCount === 0 ? 0 : null,
    priceSources: [],
    pricesAsOf: null,
    byFamily: {},
  };
}

// ---- nodes and pods -> usage ----------------------------------------------------------------------------------

function capacityTypeOf(labels: Record<string, string>): CapacityType {
  const raw = labels["karpenter.sh/capacity-type"] ?? labels["eks.amazonaws.com/capacityType"] ?? "";
  const v = raw.toLowerCase().replace("_", "-");
  if (v === "spot") return "spot";
  if (v === "on-demand") return "on-demand";
  return "unknown";
}

function zonePrice(book: PriceBook, instanceType: string, zone: string | undefined): Price | undefined {
  const byZone = book.spot.get(instanceType);
  if (!byZone || byZone.size === 0) return undefined;
  const exact = zone !== undefined ? byZone.get(zone) : undefined;
  if (exact) return exact;
  const prices = [...byZone.values()];
  // One price for every zone (e.g. a derived Spot price): the zone does not matter, nothing is derived.
  if (prices.every((p) => p.usdPerHour === prices[0]!.usdPerHour && p.source === prices[0]!.source)) return prices[0];
  // A node without a zone-id label only has its zone name (us-east-1a), whose AZ id differs per account: the mean over
  // the region's zones is then the honest figure, labelled derived.
  const mean = prices.reduce((a, p) => a + p.usdPerHour, 0) / prices.length;
  return { usdPerHour: mean, source: "derived", asOf: oldest(prices.map((p) => p.asOf)) ?? "unknown" };
}

function firstLabel(labels: Record<string, string>, keys: string[]): string | undefined {
  for (const key of keys) if (labels[key] !== undefined) return labels[key];
  return undefined;
}

function isReady(node: V1Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** Reads a Node's labels and allocatable into NodeFacts, priced from the book when one is given. */
export function nodeFacts(node: V1Node, book?: PriceBook): NodeFacts {
  const labels = node.metadata?.labels ?? {};
  const instanceType = firstLabel(labels, ["node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"]);
  const zone = firstLabel(labels, ["topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"]);
  const capacityType = capacityTypeOf(labels);
  const allocatable = node.status?.allocatable ?? {};
  const facts: NodeFacts = {
    name: String(node.metadata?.name),
    instanceType,
    family: instanceType?.split(".")[0],
    capacityType,
    zone,
    ready: isReady(node),
    allocatableMillicores: cpuMillicores(allocatable.cpu),
    allocatableMiB: memoryMiB(allocatable.memory),
  };
  return book ? priced(facts, book, labels["topology.k8s.aws/zone-id"] ?? zone) : facts;
}

/** Adds the node's price and its On-Demand baseline; Spot prices are keyed by AZ id (topology.k8s.aws/zone-id). */
function priced(facts: NodeFacts, book: PriceBook, zoneKey: string | undefined): NodeFacts {
  const type = facts.instanceType ?? "";
  const onDemandPrice = book.onDemand.get(type);
  const price = facts.capacityType === "spot" ? zonePrice(book, type, zoneKey) : onDemandPrice;
  return { ...facts, ...(onDemandPrice ? { onDemandPrice } : {}), ...(price ? { price } : {}) };
}

function holdsResources(pod: V1Pod, nodeNames: ReadonlySet<string>): boolean {
  const phase = pod.status?.phase;
  return (
    pod.spec?.nodeName !== undefined && nodeNames.has(pod.spec.nodeName) && phase !== "Succeeded" && phase !== "Failed"
  );
}

/** Sum of the effective requests (podRequest: what the scheduler reserves) of the pods that run, or are bound to run, on the given nodes. */
export function requestedOn(
  pods: readonly V1Pod[],
  nodeNames: ReadonlySet<string>,
): { millicores: number; mib: number } {
  let millicores = 0;
  let mib = 0;
  for (const pod of pods) {
    if (!holdsResources(pod, nodeNames)) continue;
    const request = podRequest(pod);
    millicores += request.cpuMillicores;
    mib += request.memoryMiB;
  }
  return { millicores, mib };
}

// ---- aggregation across an organisation's clusters ----------------------------------------------------------------

export interface FleetKpi {
  monthly_spend: number;
  net_savings: number;
  fleet_health: number | null;
  active_nodes: number;
  spot_percentage: number;
  efficiency_score: string;
  efficiency_score_value: number | null;
  clusters: number;
  unpriced_clusters: number;
  savings_baseline: string;
  price_source: string | null;
  prices_as_of: string | null;
}

function weightedMean(pairs: Array<{ value: number | null; weight: number }>): number | null {
  const known = pairs.filter((p) => p.value !== null && p.weight > 0);
  const weight = known.reduce((a, p) => a + p.weight, 0);
  if (weight === 0) return null;
  return Math.round(known.reduce((a, p) => a + (p.value as number) * p.weight, 0) / weight);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function priceProvenance(figures: ClusterFigures[]): { price_source: string | null; prices_as_of: string | null } {
  const sources = [...new Set(figures.flatMap((f) => f.priceSources))].sort();
  const asOf = oldest(figures.map((f) => f.pricesAsOf).filter((d): d is string => d !== null));
  return { price_source: sources.length === 0 ? null : sources.join("+"), prices_as_of: asOf };
}

/** The dashboard's KPI cards over all of an organisation's clusters. */
export function fleetKpi(figures: ClusterFigures[]): FleetKpi {
  const nodes = figures.reduce((a, f) => a + f.nodeCount, 0);
  const spot = figures.reduce((a, f) => a + f.spotNodes, 0);
  const spend = figures.reduce((a, f) => a + (f.monthlyCostUsd ?? 0), 0);
  const withBaseline = figures.filter((f) => f.monthlyCostUsd !== null && f.baselineMonthlyUsd !== null);
  const savings = withBaseline.reduce((a, f) => a + ((f.baselineMonthlyUsd ?? 0) - (f.monthlyCostUsd ?? 0)), 0);
  const score = weightedMean(figures.map((f) => ({ value: f.efficiencyScore, weight: f.nodeCount })));
  return {
    monthly_spend: round2(spend),
    net_savings: round2(savings),
    fleet_health: weightedMean(figures.map((f) => ({ value: f.fleetHealth, weight: f.nodeCount }))),
    active_nodes: nodes,
    spot_percentage: nodes > 0 ? Math.round((100 * spot) / nodes) : 0,
    efficiency_score: efficiencyGrade(score),
    efficiency_score_value: score,
    clusters: figures.length,
    unpriced_clusters: figures.filter((f) => f.nodeCount > 0 && f.monthlyCostUsd === null).length,
    savings_baseline: SAVINGS_BASELINE,
    ...priceProvenance(figures),
  };
}

export interface Projection {
  timeframe: string;
  unoptimized_cost: number;
  optimized_cost: number;
  potential_savings: number;
  breakdown: { spot_replacement: number; bin_packing: number; hibernation: number };
  savings_baseline: string;
  price_source: string | null;
  prices_as_of: string | null;
}

/** Days covered by a timeframe like "30d" (1–366); undefined when malformed. */
export function timeframeDays(timeframe: string): number | undefined {
  const m = /^(\d{1,3})d$/.exec(timeframe);
  if (!m) return undefined;
  const days = Number(m[1]);
  return days >= 1 && days <= 366 ? days : undefined;
}

/**
 * Savings projection over `days`: unoptimised = the same nodes On-Demand; spot_replacement = what Spot already saves
 * against that; hibernation = the schedules' projected monthly savings; bin_packing = 0 until the optimizer publishes a
 * re-pack plan (no invented figure). optimized = current cost − hibernation.
 */
export function projection(
  figures: ClusterFigures[],
  hibernationMonthlyUsd: number,
  timeframe: { label: string; days: number },
): Projection {
  const factor = (timeframe.days * 24) / HOURS_PER_MONTH;
  const current = figures.reduce((a, f) => a + (f.monthlyCostUsd ?? 0), 0);
  const baseline = figures.reduce((a, f) => a + (f.baselineMonthlyUsd ?? f.monthlyCostUsd ?? 0), 0);
  const spotReplacement = Math.max(0, baseline - current);
  const hibernation = Math.min(current, hibernationMonthlyUsd);
  const optimized = current - hibernation;
  return {
    timeframe: timeframe.label,
    unoptimized_cost: round2(baseline * factor),
    optimized_cost: round2(optimized * factor),
    potential_savings: round2((baseline - optimized) * factor),
    breakdown: {
      spot_replacement: round2(spotReplacement * factor),
      bin_packing: 0,
      hibernation: round2(hibernation * factor),
    },
    savings_baseline: SAVINGS_BASELINE,
    ...priceProvenance(figures),
  };
}

export interface Composition {
  by_family: Record<string, number>;
  by_lifecycle: { spot: number; on_demand: number };
  node_counts: { total: number; by_family: Record<string, number>; spot: number; on_demand: number; unknown: number };
}

function percentages(counts: Record<string, number>, total: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, count] of Object.entries(counts)) out[key] = total > 0 ? Math.round((1000 * count) / total) / 10 : 0;
  return out;
}

/** Fleet composition in percent of nodes (by family where nodes are visible, by lifecycle everywhere). */
export function composition(figures: ClusterFigures[]): Composition {
  const byFamily: Record<string, number> = {};
  for (const f of figures)
    for (const [family, count] of Object.entries(f.byFamily)) byFamily[family] = (byFamily[family] ?? 0) + count;
  const total = figures.reduce((a, f) => a + f.nodeCount, 0);
  const familyTotal = Object.values(byFamily).reduce((a, c) => a + c, 0);
  const spot = figures.reduce((a, f) => a + f.spotNodes, 0);
  const onDemand = figures.reduce((a, f) => a + f.onDemandNodes, 0);
  const lifecycle = percentages({ spot, on_demand: onDemand }, total);
  return {
    by_family: percentages(byFamily, familyTotal),
    by_lifecycle: { spot: lifecycle.spot, on_demand: lifecycle.on_demand },
    node_counts: { total, by_family: byFamily, spot, on_demand: onDemand, unknown: total - spot - onDemand },
  };
}
