// Fleet figures (KPI, projection, composition, efficiency) from nodes, pods and CR status: shared by the facade and the operator.
// The formulas are documented in docs/facade-metrics.md; keep the two in step.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { ManagedClusterStatus } from "../crds/managedcluster.js";
import { NOTICE_MAX_AHEAD_MS, NOTICE_WINDOW_MS, noticeTimeMs } from "../agent/notice-kinds.js";
import { podRequest } from "./pod-request.js";
import { cpuMillicores, memoryMiB } from "./quantity.js";
import { knownAsOf, oldestAsOf } from "../pricing/freshness.js";
import { HOURS_PER_MONTH } from "../pricing/types.js";

export { HOURS_PER_MONTH };

/** A ManagedCluster with no mode is local (the CRD's default). */
export function isLocalCluster(cluster: { spec: { mode?: string } }): boolean {
  return (cluster.spec.mode ?? "local") === "local";
}

/**
 * Whether a cluster's figures may be measured from the Nodes this installation sees: only the `local` ManagedCluster
 * the installer designated (src-shared/tenancy/cluster-target.ts), so no tenant sees the shared cluster's nodes by
 * declaring a cluster of its own local, and no such declaration hides them from the organisation that owns them.
 */
export function ownsLocalNodes(
  cluster: { metadata: { name?: string; namespace?: string }; spec: { mode?: string } },
  designated: { namespace: string; name: string } | undefined,
): boolean {
  return (
    isLocalCluster(cluster) &&
    designated !== undefined &&
    cluster.metadata.namespace === designated.namespace &&
    cluster.metadata.name === designated.name
  );
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

/** An AuditEntry as the interruption count reads it (`after.at` is the notice's own time). */
export interface InterruptionEntryView {
  spec: { event: string; resource: string; timestamp?: string; after?: unknown };
}

/**
 * Spot interruptions of a cluster in the last 7 days: AuditEntries whose event says "interrupt" and whose resource
 * names it, by when the interruption happened (the notice's `at`), not when it was recorded: a replayed old notice
 * is not a recent interruption. One dated further ahead than a notice can be is not counted either.
 */
export function interruptions7d(entries: readonly InterruptionEntryView[], clusterName: string, nowMs: number): number {
  const since = nowMs - NOTICE_WINDOW_MS;
  const until = nowMs + NOTICE_MAX_AHEAD_MS;
  return entries.filter((e) => {
    if (!/interrupt/i.test(e.spec.event) || !resourceNamesCluster(e.spec.resource, clusterName)) return false;
    const atMs = noticeTimeMs(e);
    return atMs >= since && atMs <= until;
  }).length;
}

/**
 * Interruptions recorded for a cluster in 7 days, or null while nothing reports them (unknown is not 0): a remote
 * cluster's agent reports its interruptions with every heartbeat, so the count is known once it has reported; for a
 * local cluster it is known once an interruption entry names it (nothing in this repository writes one for a local
 * cluster yet).
 */
export function recordedInterruptions(input: {
  entries: readonly InterruptionEntryView[];
  clusterName: string;
  nowMs: number;
  /** Remote clusters: whether the agent has reported (a heartbeat snapshot exists). */
  agentReported?: boolean;
}): number | null {
  const recorded =
    input.agentReported === true ||
    input.entries.some(
      (e) => /interrupt/i.test(e.spec.event) && resourceNamesCluster(e.spec.resource, input.clusterName),
    );
  return recorded ? interruptions7d(input.entries, input.clusterName, input.nowMs) : null;
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
  /** Spot interruptions recorded in the last 7 days; null while nothing reports them. */
  interruptions7d: number | null;
  /** Why no node could be priced (e.g. no prices for the region), when that is the case. */
  noPricesReason?: string;
  /** Whether the price book behind the prices is older than the configured age. */
  pricesStale?: boolean;
  /** Whether a price of this date is older than the configured age (src-shared/pricing/freshness.ts). */
  isStale?: (asOf: string) => boolean;
}

/** The figures of ManagedCluster.status (the status controller writes them; the facade only reads them). */
export type StatusFigures = Omit<ManagedClusterStatus, "observedGeneration" | "agent" | "lastPlan" | "conditions">;

/** The figures ManagedCluster.status holds, with the conditions that say why one is absent. */
export interface ReportedStatus extends StatusFigures {
  conditions?: ReadonlyArray<{ type: string; status: string; reason?: string; message?: string }>;
}

export interface ClusterFigures {
  /** The ManagedCluster's name, when the caller knows it (named in what totals leave out). */
  clusterId?: string;
  /**
   * Where the status controller measured the figures: "nodes" = the Nodes and Pods of the cluster the operator runs in;
   * "status" = anything else (the agent's heartbeat snapshot, another writer of the status, or nothing reported yet).
   */
  source: "nodes" | "status";
  nodeCount: number;
  spotNodes: number;
  onDemandNodes: number;
  readyNodes: number | null;
  spotPercentage: number;
  cpuUtilisation: number | null;
  memoryUtilisation: number | null;
  /** Why a utilisation (and so the efficiency score) is null although the cluster has nodes; null otherwise. */
  utilisationReason: string | null;
  interruptionRate: number | null;
  efficiencyScore: number | null;
  efficiencyGrade: string;
  fleetHealth: number | null;
  monthlyCostUsd: number | null;
  baselineMonthlyUsd: number | null;
  /** Nodes without a known price; null when not known (nothing reported). */
  unpricedNodes: number | null;
  /** Why monthlyCostUsd is null; null when it is known. */
  costReason: string | null;
  interruptions7d: number | null;
  priceSources: string[];
  pricesAsOf: string | null;
  /** The prices behind the figures are older than the configured age; null where no price is behind them. */
  pricesStale: boolean | null;
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
 * An unknown I (nothing reports interruptions) earns its term no points. null without nodes: nothing to score.
 */
export function efficiencyScore(
  u: { cpu: number; memory: number },
  spotShare: number,
  interruptionRate: number | null,
): number {
  const utilisation = (clamp01(u.cpu) + clamp01(u.memory)) / 2;
  const reliability = interruptionRate === null ? 0 : 1 - clamp01(interruptionRate);
  return Math.round(100 * (0.5 * utilisation + 0.3 * clamp01(spotShare) + 0.2 * reliability));
}

/** fleet health = 100 × (ready nodes ÷ nodes) × (1 − I); null while I is unknown. */
export function fleetHealth(readyShare: number, interruptionRate: number | null): number | null {
  if (interruptionRate === null) return null;
  return Math.round(100 * clamp01(readyShare) * (1 - clamp01(interruptionRate)));
}

function sumPrices(
  nodes: NodeFacts[],
  pick: (n: NodeFacts) => Price | undefined,
): { usd: number | null; used: Price[]; unpriced: string[] } {
  const used = nodes.map(pick).filter((p): p is Price => p !== undefined);
  const unpriced = nodes.filter((n) => pick(n) === undefined).map((n) => n.name);
  // A partial sum would understate the bill: only a fully priced fleet gets a figure.
  if (unpriced.length > 0) return { usd: null, used, unpriced };
  return { usd: used.reduce((acc, p) => acc + p.usdPerHour * HOURS_PER_MONTH, 0), used, unpriced };
}

/** At most this many unpriced nodes are named in a reason (the count is always given). */
const NAMED_NODES_MAX = 10;

/** Why a cluster has no monthly cost: the unpriced nodes, named (up to 10) and counted. */
export function unpricedReason(unpriced: readonly string[], nodeCount: number, noPricesReason?: string): string {
  const named = [...unpriced].sort().slice(0, NAMED_NODES_MAX).join(", ");
  const more = unpriced.length > NAMED_NODES_MAX ? ` and ${unpriced.length - NAMED_NODES_MAX} more` : "";
  const why = noPricesReason ? ` (${noPricesReason})` : "";
  return `${unpriced.length} of ${nodeCount} node(s) without a known price${why}: ${named}${more}`;
}

/** The oldest of these dates; null when there is none or one is undated (the figures' date is then unknown). */
function oldest(dates: string[]): string | null {
  return knownAsOf(oldestAsOf(dates));
}

function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}

/** requested ÷ allocatable per resource, each null when there is nothing allocatable or the figures disagree. */
interface Utilisation {
  cpu: number | null;
  memory: number | null;
  /** Set when a ratio is above 1: why it and the efficiency score are null. */
  reason: string | null;
}

/**
 * Pods bound to nodes cannot request more than the nodes can allocate (the scheduler admits them against it), so a
 * ratio above 1 means the requests or the allocatable are wrong (e.g. an agent's report): neither the ratio nor a
 * score built on it is shown, and the reason says what disagreed. Clamping it to 1 would show a full cluster instead.
 */
export function utilisationOf(usage: ClusterUsage): Utilisation {
  const allocatableMillicores = usage.nodes.reduce((a, x) => a + x.allocatableMillicores, 0);
  const allocatableMiB = usage.nodes.reduce((a, x) => a + x.allocatableMiB, 0);
  const cpu = ratio(usage.requestedMillicores, allocatableMillicores);
  const memory = ratio(usage.requestedMiB, allocatableMiB);
  const over = [
    ...(cpu !== null && cpu > 1
      ? [`${usage.requestedMillicores}m CPU requested of ${allocatableMillicores}m allocatable`]
      : []),
    ...(memory !== null && memory > 1
      ? [`${usage.requestedMiB} MiB memory requested of ${allocatableMiB} MiB allocatable`]
      : []),
  ];
  const why = [
    unreported(cpu, memory),
    over.length > 0 ? `reported requests exceed allocatable: ${over.join("; ")}` : "",
  ];
  return { cpu: withinOne(cpu), memory: withinOne(memory), reason: why.filter((w) => w !== "").join("; ") || null };
}

/** A share above 1 is no share (see utilisationOf). */
function withinOne(share: number | null): number | null {
  return share !== null && share > 1 ? null : share;
}

/** Nothing allocatable (no nodes, or nodes reporting none): the share is unknown, and says so ("" when both are known). */
function unreported(cpu: number | null, memory: number | null): string {
  const none = [cpu === null ? "CPU" : "", memory === null ? "memory" : ""].filter((r) => r !== "");
  return none.length > 0 ? `no allocatable ${none.join(" or ")} reported` : "";
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

function scores(usage: ClusterUsage, counts: { n: number; spot: number; ready: number }, u: Utilisation): Scores {
  if (counts.n === 0) return { interruptionRate: null, efficiencyScore: null, fleetHealth: null };
  const interruptionRate =
    usage.interruptions7d === null ? null : clamp01(usage.interruptions7d / Math.max(1, counts.spot));
  return {
    interruptionRate,
    // No score from figures that disagree (u.reason): its largest term would be made up.
    efficiencyScore:
      u.reason !== null
        ? null
        : efficiencyScore({ cpu: u.cpu ?? 0, memory: u.memory ?? 0 }, counts.spot / counts.n, interruptionRate),
    fleetHealth: fleetHealth(counts.ready / counts.n, interruptionRate),
  };
}

/** Figures for a cluster whose nodes and pods are in the cache. */
export function figuresFromUsage(usage: ClusterUsage): ClusterFigures {
  const nodes = usage.nodes;
  const n = nodes.length;
  const spotNodes = nodes.filter((x) => x.capacityType === "spot").length;
  const readyNodes = nodes.filter((x) => x.ready).length;
  const u = utilisationOf(usage);
  const s = scores(usage, { n, spot: spotNodes, ready: readyNodes }, u);
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
    cpuUtilisation: u.cpu,
    memoryUtilisation: u.memory,
    utilisationReason: u.reason,
    ...s,
    efficiencyGrade: efficiencyGrade(s.efficiencyScore),
    monthlyCostUsd: cost.usd,
    baselineMonthlyUsd: baseline.usd,
    unpricedNodes: cost.unpriced.length,
    costReason: cost.usd === null ? unpricedReason(cost.unpriced, n, usage.noPricesReason) : null,
    interruptions7d: usage.interruptions7d,
    priceSources: [...new Set(used.map((p) => p.source))].sort(),
    pricesAsOf: oldest(used.map((p) => p.asOf)),
    pricesStale:
      used.length === 0 ? null : usage.pricesStale === true || used.some((p) => usage.isStale?.(p.asOf) === true),
    byFamily: countByFamily(nodes),
  };
}

function conditionOf(
  status: ReportedStatus,
  type: string,
): { status: string; reason?: string; message?: string } | undefined {
  return status.conditions?.find((c) => c.type === type);
}

/** Why a status-reported cluster has no monthly cost: not reported yet, or what its Priced condition says. */
function statusCostReason(status: ReportedStatus): string {
  if (status.nodeCount === undefined) {
    const measured = conditionOf(status, "Measured");
    return measured?.status === "False" && measured.message
      ? `not reported: ${measured.message}`
      : "not reported: no figures in the cluster's status yet";
  }
  const priced = conditionOf(status, "Priced");
  if (priced?.status === "False" && priced.message) return priced.message;
  return "the cluster's status reports no monthly cost";
}

/** Measured=True with this reason: the status controller measured the Nodes and Pods of the cluster it runs in. */
export const MEASURED_FROM_NODES = "NodesMeasured";

/** Node counts as the status holds them; a status that gives only a Spot share (older writers) is split by it. */
function statusCounts(status: ReportedStatus): Pick<ClusterFigures, "nodeCount" | "spotNodes" | "onDemandNodes"> {
  const nodeCount = status.nodeCount ?? 0;
  const spotNodes = status.spotNodes ?? Math.round((nodeCount * (status.spotPercentage ?? 0)) / 100);
  return { nodeCount, spotNodes, onDemandNodes: status.onDemandNodes ?? nodeCount - spotNodes };
}

/**
 * A cluster's figures as its ManagedCluster.status holds them: the status controller computes every figure once, and
 * the facade shows them. What the status does not hold is unknown (null), never 0; a cluster that has not reported
 * has no money figures (null with the reason).
 */
export function figuresFromStatus(reported: ReportedStatus | undefined): ClusterFigures {
  const status: ReportedStatus = reported ?? {};
  const counts = statusCounts(status);
  const score = counts.nodeCount > 0 ? (status.efficiencyScore ?? null) : null;
  const measured = conditionOf(status, "Measured");
  return {
    source: measured?.status === "True" && measured.reason === MEASURED_FROM_NODES ? "nodes" : "status",
    ...counts,
    spotPercentage: status.spotPercentage ?? 0,
    ...statusHealth(status),
    efficiencyScore: score,
    efficiencyGrade: efficiencyGrade(score),
    ...statusMoney(status),
    byFamily: { ...(status.nodesByFamily ?? {}) },
  };
}

type HealthFigures = Pick<
  ClusterFigures,
  | "readyNodes"
  | "cpuUtilisation"
  | "memoryUtilisation"
  | "utilisationReason"
  | "interruptions7d"
  | "interruptionRate"
  | "fleetHealth"
>;

/** The figures the status leaves out while they are unknown: null then. */
function statusHealth(status: ReportedStatus): HealthFigures {
  return {
    readyNodes: status.readyNodes ?? null,
    cpuUtilisation: status.cpuUtilisation ?? null,
    memoryUtilisation: status.memoryUtilisation ?? null,
    utilisationReason: status.utilisationReason ?? null,
    interruptions7d: status.interruptions7d ?? null,
    interruptionRate: status.interruptionRate ?? null,
    fleetHealth: status.fleetHealth ?? null,
  };
}

type MoneyFigures = Pick<
  ClusterFigures,
  | "monthlyCostUsd"
  | "baselineMonthlyUsd"
  | "unpricedNodes"
  | "costReason"
  | "priceSources"
  | "pricesAsOf"
  | "pricesStale"
>;

function statusMoney(status: ReportedStatus): MoneyFigures {
  const prices = status.prices;
  const provenance = {
    priceSources: prices ? prices.source.split("+") : [],
    pricesAsOf: knownAsOf(prices?.asOf),
    pricesStale: prices ? prices.stale === true : null,
  };
  const monthly = status.monthlyCostUsd;
  if (monthly === undefined) {
    const unpriced = status.nodeCount === undefined ? null : (status.unpricedNodes ?? null);
    return {
      monthlyCostUsd: null,
      baselineMonthlyUsd: null,
      unpricedNodes: unpriced,
      costReason: statusCostReason(status),
      ...provenance,
    };
  }
  return {
    monthlyCostUsd: monthly,
    baselineMonthlyUsd: status.baselineMonthlyCostUsd ?? null,
    unpricedNodes: status.unpricedNodes ?? 0,
    costReason: null,
    ...provenance,
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

/** What a node is priced by, read from its labels: type, capacity type (unknown without a label) and zone. */
export interface NodePriceKey {
  instanceType?: string;
  capacityType: CapacityType;
  /** Zone name (us-east-1a). */
  zone?: string;
  /** AZ id (use1-az1, label topology.k8s.aws/zone-id): what Spot prices are keyed by. */
  zoneId?: string;
  region?: string;
}

/** The price key of a node's labels; every node price in the operator and facade is looked up through it. */
export function nodePriceKey(labels: Record<string, string>): NodePriceKey {
  const key: NodePriceKey = { capacityType: capacityTypeOf(labels) };
  const instanceType = firstLabel(labels, ["node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"]);
  const zone = firstLabel(labels, ["topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"]);
  const zoneId = labels["topology.k8s.aws/zone-id"];
  const region = firstLabel(labels, ["topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"]);
  if (instanceType !== undefined) key.instanceType = instanceType;
  if (zone !== undefined) key.zone = zone;
  if (zoneId !== undefined) key.zoneId = zoneId;
  if (region !== undefined) key.region = region;
  return key;
}

/**
 * A node's hourly price at its capacity type: Spot by AZ id (else zone name), On-Demand by type. A node without a
 * capacity-type label, or a Spot node without a Spot price, stays unpriced rather than guessed On-Demand.
 */
export function nodePrice(book: PriceBook, key: NodePriceKey): Price | undefined {
  const type = key.instanceType ?? "";
  if (key.capacityType === "spot") return zonePrice(book, type, key.zoneId ?? key.zone);
  return key.capacityType === "on-demand" ? book.onDemand.get(type) : undefined;
}

/** Reads a Node's labels and allocatable into NodeFacts, priced from the book when one is given. */
export function nodeFacts(node: V1Node, book?: PriceBook): NodeFacts {
  const key = nodePriceKey(node.metadata?.labels ?? {});
  const allocatable = node.status?.allocatable ?? {};
  const facts: NodeFacts = {
    name: String(node.metadata?.name),
    instanceType: key.instanceType,
    family: key.instanceType?.split(".")[0],
    capacityType: key.capacityType,
    zone: key.zone,
    ready: isReady(node),
    allocatableMillicores: cpuMillicores(allocatable.cpu),
    allocatableMiB: memoryMiB(allocatable.memory),
  };
  return book ? priced(facts, book, key) : facts;
}

/** Adds the node's price and its On-Demand baseline. */
function priced(facts: NodeFacts, book: PriceBook, key: NodePriceKey): NodeFacts {
  const onDemandPrice = book.onDemand.get(key.instanceType ?? "");
  const price = nodePrice(book, key);
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

/** A cluster a money total leaves out, and why. */
export interface LeftOut {
  cluster_id: string;
  reason: string;
}

export interface FleetKpi {
  monthly_spend: number | null;
  net_savings: number | null;
  /** why net_savings is null, or which priced clusters it leaves out */
  net_savings_reason: string | null;
  fleet_health: number | null;
  active_nodes: number;
  spot_percentage: number;
  efficiency_score: string;
  efficiency_score_value: number | null;
  clusters: number;
  unpriced_clusters: number;
  /** The clusters the money totals leave out, each with why. */
  not_in_totals: LeftOut[];
  savings_baseline: string;
  price_source: string | null;
  prices_as_of: string | null;
  prices_stale: boolean | null;
}

function weightedMean(pairs: Array<{ value: number | null; weight: number }>): number | null {
  const known = pairs.filter((p) => p.value !== null && p.weight > 0);
  const weight = known.reduce((a, p) => a + p.weight, 0);
  if (weight === 0) return null;
  return Math.round(known.reduce((a, p) => a + (p.value as number) * p.weight, 0) / weight);
}

/** Provenance of the prices behind a set of figures: sources joined, the oldest date, and whether any is stale. */
export function priceProvenance(figures: readonly ClusterFigures[]): {
  price_source: string | null;
  prices_as_of: string | null;
  prices_stale: boolean | null;
} {
  const sources = [...new Set(figures.flatMap((f) => f.priceSources))].sort();
  // a cluster priced with undated prices (pricesAsOf null) leaves the total undated too
  const undated = figures.some((f) => f.priceSources.length > 0 && f.pricesAsOf === null);
  const asOf = undated ? null : oldest(figures.map((f) => f.pricesAsOf).filter((d): d is string => d !== null));
  return {
    price_source: sources.length === 0 ? null : sources.join("+"),
    prices_as_of: asOf,
    // how old prices are is unknown where none is behind the figures
    prices_stale: sources.length === 0 ? null : figures.some((f) => f.pricesStale === true),
  };
}

/** Clusters without a monthly cost, named with the reason: what every money total leaves out. */
export function notInTotals(figures: readonly ClusterFigures[]): LeftOut[] {
  return figures
    .filter((f) => f.monthlyCostUsd === null)
    .map((f) => ({ cluster_id: f.clusterId ?? "", reason: f.costReason ?? "no monthly cost" }));
}

/** Σ of the known values; null when there are values and none is known (unknown is not 0). */
export function sumKnown(values: ReadonlyArray<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null);
  if (known.length === 0 && values.length > 0) return null;
  return known.reduce((a, v) => a + v, 0);
}

/** Monthly savings of a cluster against the same nodes On-Demand; null unless both figures are known. */
export function netSavingsUsd(f: ClusterFigures): number | null {
  return f.monthlyCostUsd !== null && f.baselineMonthlyUsd !== null ? f.baselineMonthlyUsd - f.monthlyCostUsd : null;
}

/**
 * Why net savings (Σ baseline − cost) is null, or which priced clusters it leaves out: a cluster whose cost is known
 * but whose On-Demand baseline is not (a node type without an On-Demand price) would otherwise drop out unnamed.
 */
export function netSavingsReason(figures: readonly ClusterFigures[]): string | null {
  const priced = figures.filter((f) => f.monthlyCostUsd !== null);
  if (priced.length === 0)
    return figures.length === 0 ? null : "no cluster in scope has a monthly cost (not_in_totals)";
  const unbased = priced.filter((f) => f.baselineMonthlyUsd === null).map((f) => f.clusterId ?? "");
  if (unbased.length === 0) return null;
  const which = unbased.length === priced.length ? "no priced cluster has" : "left out, priced but without";
  return `${which} an On-Demand baseline: ${unbased.join(", ")}`;
}

/**
 * The dashboard's KPI cards over all of an organisation's clusters. Money totals sum the clusters that have the
 * figure and name the others in not_in_totals; with none, they are null.
 */
export function fleetKpi(figures: ClusterFigures[]): FleetKpi {
  const nodes = figures.reduce((a, f) => a + f.nodeCount, 0);
  const spot = figures.reduce((a, f) => a + f.spotNodes, 0);
  const score = weightedMean(figures.map((f) => ({ value: f.efficiencyScore, weight: f.nodeCount })));
  const priced = figures.filter((f) => f.monthlyCostUsd !== null);
  return {
    monthly_spend: sumKnown(figures.map((f) => f.monthlyCostUsd)),
    net_savings: sumKnown(figures.map(netSavingsUsd)),
    net_savings_reason: netSavingsReason(figures),
    fleet_health: weightedMean(figures.map((f) => ({ value: f.fleetHealth, weight: f.nodeCount }))),
    active_nodes: nodes,
    spot_percentage: nodes > 0 ? Math.round((100 * spot) / nodes) : 0,
    efficiency_score: efficiencyGrade(score),
    efficiency_score_value: score,
    clusters: figures.length,
    unpriced_clusters: figures.length - priced.length,
    not_in_totals: notInTotals(figures),
    savings_baseline: SAVINGS_BASELINE,
    ...priceProvenance(priced),
  };
}

/** A savings figure with what it is measured against and when, or null with the reason. */
export interface SavingsFigure {
  monthlyUsd: number | null;
  baseline: string;
  asOf: string | null;
  reason: string | null;
  /** where the prices behind the plans came from, and the oldest's date (null: some plan's prices are undated) */
  priceSource: string | null;
  pricesAsOf: string | null;
}

/** The last plan of one cluster, as ManagedCluster.status.lastPlan holds it. */
export interface PlanView {
  phase: string;
  completedAt: string;
  monthlyCostUsd?: number;
  prices?: { source: string; asOf: string };
}

export const BIN_PACKING_BASELINE =
  "the cluster's current nodes at current prices vs the last re-plan of its pods (POST /clusters/{id}/optimize)";

function usablePlan(i: { figures: ClusterFigures; plan?: PlanView }): boolean {
  return i.plan?.phase === "Succeeded" && i.plan.monthlyCostUsd !== undefined && i.figures.monthlyCostUsd !== null;
}

/**
 * Bin-packing savings: Σ over clusters of (current monthly cost − the last successful plan's monthly cost), floored
 * at 0 (a plan dearer than today saves nothing), × the share of the cluster's cost its hibernation leaves
 * (`hibernationUsd`: re-packed nodes save only while they run, so the two savings compose rather than both counting
 * the hours asleep); null with the reason when no cluster has both a plan and a priced current cost. asOf is the
 * oldest plan's completion time.
 */
export function binPackingSavings(
  items: ReadonlyArray<{ figures: ClusterFigures; plan?: PlanView; hibernationUsd?: number }>,
): SavingsFigure {
  const usable = items.filter(usablePlan);
  if (usable.length === 0) {
    const reason =
      items.length === 0
        ? "no cluster in scope"
        : "no cluster has both a priced current cost and a successful re-plan (POST /clusters/{id}/optimize)";
    return {
      monthlyUsd: null,
      baseline: BIN_PACKING_BASELINE,
      asOf: null,
      reason,
      priceSource: null,
      pricesAsOf: null,
    };
  }
  const usd = usable.reduce((a, i) => {
    const current = i.figures.monthlyCostUsd as number;
    return a + Math.max(0, current - (i.plan?.monthlyCostUsd as number)) * awakeShare(current, i.hibernationUsd);
  }, 0);
  const left = items.length - usable.length;
  const slept = usable.some((i) => awakeShare(i.figures.monthlyCostUsd as number, i.hibernationUsd) < 1);
  return {
    monthlyUsd: usd,
    baseline: slept ? `${BIN_PACKING_BASELINE}, in the hours hibernation leaves awake` : BIN_PACKING_BASELINE,
    asOf: oldest(usable.map((i) => i.plan?.completedAt ?? "unknown")),
    reason: left > 0 ? `${left} cluster(s) without a successful re-plan or a priced cost are not included` : null,
    ...planPrices(usable.map((i) => i.plan!)),
  };
}

/**
 * The plans' price sources (each plan's own list split, then joined once) and the oldest date of their prices; null
 * where some plan recorded no prices (its source unknown) or undated ones.
 */
function planPrices(plans: readonly PlanView[]): { priceSource: string | null; pricesAsOf: string | null } {
  if (plans.some((p) => p.prices === undefined)) return { priceSource: null, pricesAsOf: null };
  const sources = [...new Set(plans.flatMap((p) => p.prices!.source.split(/[+,]/)))].sort();
  const dates = plans.map((p) => p.prices!.asOf);
  return { priceSource: sources.join("+"), pricesAsOf: dates.includes("unknown") ? null : oldest(dates) };
}

/** The hibernation controller's projected monthly savings over the schedules in scope, or null with the reason. */
export interface HibernationSavings {
  monthlyUsd: number | null;
  reason: string | null;
}

/** Σ of the schedules' controller-computed savings; schedules without one are named in the reason. */
export function hibernationSavings(
  schedules: ReadonlyArray<{ name: string; projectedMonthlySavingsUsd?: number; savingsBaseline?: string }>,
): HibernationSavings {
  const known = schedules.filter((s) => s.projectedMonthlySavingsUsd !== undefined);
  const missing = schedules.filter((s) => s.projectedMonthlySavingsUsd === undefined);
  const why = missing.map((s) => `${s.name}: ${s.savingsBaseline ?? "not computed by the controller yet"}`).join("; ");
  if (schedules.length === 0) return { monthlyUsd: 0, reason: null };
  if (known.length === 0) return { monthlyUsd: null, reason: why };
  return {
    monthlyUsd: known.reduce((a, s) => a + (s.projectedMonthlySavingsUsd as number), 0),
    reason: missing.length > 0 ? `not included: ${why}` : null,
  };
}

export interface Projection {
  timeframe: string;
  unoptimized_cost: number | null;
  optimized_cost: number | null;
  potential_savings: number | null;
  breakdown: { spot_replacement: number | null; bin_packing: number | null; hibernation: number | null };
  spot_replacement: { baseline: string; reason: string | null };
  bin_packing: {
    baseline: string;
    as_of: string | null;
    reason: string | null;
    price_source: string | null;
    prices_as_of: string | null;
  };
  hibernation: { baseline: string; reason: string | null };
  not_in_totals: LeftOut[];
  savings_baseline: string;
  price_source: string | null;
  prices_as_of: string | null;
  prices_stale: boolean | null;
}

/** Days covered by a timeframe like "30d" (1–366); undefined when malformed. */
export function timeframeDays(timeframe: string): number | undefined {
  const m = /^(\d{1,3})d$/.exec(timeframe);
  if (!m) return undefined;
  const days = Number(m[1]);
  return days >= 1 && days <= 366 ? days : undefined;
}

function scaled(x: number | null, factor: number): number | null {
  return x === null ? null : x * factor;
}

export const HIBERNATION_BASELINE =
  "the hibernated NodePools' nodes running 24x7, priced (HibernationSchedule.status.projectedMonthlySavingsUsd)";

/**
 * Savings cannot exceed the cost they come out of; with no cluster's cost known that bound is unknown too, and the
 * controller's figure (its own priced nodes) stands as it is rather than capped to 0.
 */
function cappedHibernation(monthlyUsd: number | null, current: number | undefined): number | null {
  if (monthlyUsd === null) return null;
  return current === undefined ? monthlyUsd : Math.min(current, monthlyUsd);
}

/** Spot saving of the priced clusters against their On-Demand baseline; those without one are left out and named. */
function spotReplacement(priced: readonly ClusterFigures[]): {
  usd: number | null;
  baselineUsd: number | null;
  reason: string | null;
} {
  const based = priced.filter((f) => f.baselineMonthlyUsd !== null);
  const missing = priced.filter((f) => f.baselineMonthlyUsd === null).map((f) => f.clusterId ?? "");
  const why = `no On-Demand baseline for: ${missing.join(", ")}`;
  if (based.length === 0)
    return { usd: null, baselineUsd: null, reason: priced.length === 0 ? "no priced cluster" : why };
  const usd = based.reduce(
    (a, f) => a + Math.max(0, (f.baselineMonthlyUsd as number) - (f.monthlyCostUsd as number)),
    0,
  );
  const whole = missing.length === 0;
  const baselineUsd = whole ? based.reduce((a, f) => a + (f.baselineMonthlyUsd as number), 0) : null;
  return { usd, baselineUsd, reason: whole ? null : `not included: ${why}` };
}

/** The share of a cluster's monthly cost its hibernation saving leaves (1 without one). */
function awakeShare(current: number, hibernation: number | undefined): number {
  return current > 0 && hibernation !== undefined ? 1 - Math.min(1, hibernation / current) : 1;
}

/** No cluster in scope: nothing runs, so every cost and saving is a known 0, as the KPI cards' totals are. */
function emptyProjection(binPackingBaseline: string, label: string): Projection {
  return {
    timeframe: label,
    unoptimized_cost: 0,
    optimized_cost: 0,
    potential_savings: 0,
    breakdown: { spot_replacement: 0, bin_packing: 0, hibernation: 0 },
    spot_replacement: { baseline: SAVINGS_BASELINE, reason: null },
    bin_packing: { baseline: binPackingBaseline, as_of: null, reason: null, price_source: null, prices_as_of: null },
    hibernation: { baseline: HIBERNATION_BASELINE, reason: null },
    not_in_totals: [],
    savings_baseline: SAVINGS_BASELINE,
    ...priceProvenance([]),
  };
}

/**
 * Savings projection over `days` for the clusters with a priced cost (the others are named in not_in_totals, and
 * their hibernation savings are left out by the caller): unoptimised = the same nodes On-Demand (null unless every
 * priced cluster has that baseline); spot_replacement = what Spot already saves against it, over the clusters that
 * have one; hibernation = the hibernation controller's projected savings; bin_packing = the last plans' re-pack
 * saving. optimized = current − the known savings; potential = the sum of the known savings. Each part is null with
 * its reason when unknown.
 */
export function projection(
  figures: ClusterFigures[],
  savings: { hibernation: HibernationSavings; binPacking: SavingsFigure },
  timeframe: { label: string; days: number },
): Projection {
  if (figures.length === 0) return emptyProjection(savings.binPacking.baseline, timeframe.label);
  const factor = (timeframe.days * 24) / HOURS_PER_MONTH;
  const priced = figures.filter((f) => f.monthlyCostUsd !== null);
  const none = priced.length === 0;
  const current = priced.reduce((a, f) => a + (f.monthlyCostUsd as number), 0);
  const spot = spotReplacement(priced);
  const hibernation = cappedHibernation(savings.hibernation.monthlyUsd, none ? undefined : current);
  const binPacking =
    savings.binPacking.monthlyUsd === null
      ? null
      : Math.min(current - (hibernation ?? 0), savings.binPacking.monthlyUsd);
  const optimized = current - (hibernation ?? 0) - (binPacking ?? 0);
  return {
    timeframe: timeframe.label,
    unoptimized_cost: scaled(spot.baselineUsd, factor),
    optimized_cost: none ? null : scaled(optimized, factor),
    potential_savings: none ? null : scaled(sumKnown([spot.usd, hibernation, binPacking]), factor),
    breakdown: {
      spot_replacement: scaled(spot.usd, factor),
      bin_packing: scaled(binPacking, factor),
      hibernation: scaled(hibernation, factor),
    },
    spot_replacement: { baseline: SAVINGS_BASELINE, reason: spot.reason },
    bin_packing: {
      baseline: savings.binPacking.baseline,
      as_of: savings.binPacking.asOf,
      reason: savings.binPacking.reason,
      price_source: savings.binPacking.priceSource,
      prices_as_of: savings.binPacking.pricesAsOf,
    },
    hibernation: { baseline: HIBERNATION_BASELINE, reason: savings.hibernation.reason },
    not_in_totals: notInTotals(figures),
    savings_baseline: SAVINGS_BASELINE,
    ...priceProvenance(priced),
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
