// The capacity decision a NodeTemplate's apply makes: how its NodePool's instance types or capacity types changed,
// each side priced from the region's book, so the audit chain (activity feed, cost CSV) records real changes only.
import type { AgentAction } from "../../../src-shared/crds/index.js";
import type { CapacityDecision, DecisionSide } from "../../../src-shared/audit/decisions.js";
import type { KubeObject } from "../../../src-shared/kube/index.js";
import type { PriceBook } from "../../../src-shared/pricing/types.js";
import { HOURS_PER_MONTH } from "../../../src-shared/fleet/fleet-metrics.js";
import { hourlyUsdText as usd, roundTo } from "../../../src-shared/pricing/rounding.js";

export const DECISION_ACTOR = "system:nodetemplate";
const CAPACITY_TYPE = "karpenter.sh/capacity-type";
const INSTANCE_TYPE = "node.kubernetes.io/instance-type";
const FAMILY = "karpenter.k8s.aws/instance-family";

interface PoolShape {
  capacityTypes: string[];
  instanceTypes: string[];
  families: string[];
}

/** The NodePool as it stood before this pass, and what identifies that version. */
export interface PreviousPool {
  pool: KubeObject;
  version: string;
}

type Requirement = { key?: string; operator?: string; values?: string[] };

function values(pool: KubeObject, key: string): string[] {
  const spec = pool.spec as { template?: { spec?: { requirements?: Requirement[] } } } | undefined;
  const found = spec?.template?.spec?.requirements?.find((r) => r.key === key && r.operator === "In");
  return [...(found?.values ?? [])].sort();
}

function shapeOf(pool: KubeObject): PoolShape {
  return {
    capacityTypes: values(pool, CAPACITY_TYPE),
    instanceTypes: values(pool, INSTANCE_TYPE),
    families: values(pool, FAMILY),
  };
}

const same = (a: readonly string[], b: readonly string[]): boolean => a.join(",") === b.join(",");

/**
 * Local cluster: the informer's NodePool. Remote cluster: the manifest of the NodePool's latest finished apply whose
 * instance or capacity types differ from `desired` (the agent's earlier apply, kept until the new one has succeeded).
 */
export function previousPool(input: {
  local?: KubeObject;
  actions: readonly AgentAction[];
  desired: KubeObject;
}): PreviousPool | undefined {
  if (input.local) return { pool: input.local, version: input.local.metadata?.resourceVersion ?? "" };
  const name = input.desired.metadata?.name;
  const next = shapeOf(input.desired);
  const earlier = input.actions
    .filter((a) => a.spec.type === "apply" && a.spec.target.kind === "NodePool" && a.spec.target.name === name)
    .filter((a) => a.status?.phase === "Succeeded")
    .map((a) => ({ a, pool: (a.spec.params as { manifest?: KubeObject } | undefined)?.manifest }))
    .filter((x): x is { a: AgentAction; pool: KubeObject } => x.pool !== undefined && changed(shapeOf(x.pool), next))
    .sort((x, y) => (y.a.status?.completedAt ?? "").localeCompare(x.a.status?.completedAt ?? ""));
  const latest = earlier[0];
  return latest ? { pool: latest.pool, version: latest.a.metadata.name ?? "" } : undefined;
}

function changed(a: PoolShape, b: PoolShape): boolean {
  return !same(a.capacityTypes, b.capacityTypes) || !same(a.instanceTypes, b.instanceTypes);
}

function cheapestSpot(
  book: PriceBook,
  type: string,
): { usd: number; source: string; asOf: string; zone: string } | undefined {
  let best: { usd: number; source: string; asOf: string; zone: string } | undefined;
  for (const [zone, p] of book.spot.get(type) ?? [])
    if (!best || p.usdPerHour < best.usd) best = { usd: p.usdPerHour, source: p.source, asOf: p.asOf, zone };
  return best;
}

function priced(book: PriceBook, type: string, spot: boolean): DecisionSide | undefined {
  if (spot) {
    const s = cheapestSpot(book, type);
    return s && { instanceType: type, usdPerHour: s.usd, source: s.source, asOf: s.asOf, zone: s.zone };
  }
  const od = book.onDemand.get(type);
  return od && { instanceType: type, usdPerHour: od.usdPerHour, source: od.source, asOf: od.asOf };
}

/** The cheapest type the pool allows at the capacity it prefers (Spot when allowed: Karpenter tries Spot first). */
function side(shape: PoolShape, book: PriceBook | undefined): DecisionSide {
  const spot = shape.capacityTypes.includes("spot");
  let best: DecisionSide | undefined;
  for (const type of book ? shape.instanceTypes : []) {
    const candidate = priced(book!, type, spot);
    if (candidate && (!best || candidate.usdPerHour! < best.usdPerHour!)) best = candidate;
  }
  return best ?? { instanceType: shape.instanceTypes[0] ?? `families ${shape.families.join(",")}`, usdPerHour: null };
}

function reasonOf(kind: string, from: PoolShape, to: PoolShape, by: { template: string; policy?: string }): string {
  const policy = by.policy ? `OptimizationPolicy ${by.policy}` : "no OptimizationPolicy (defaults)";
  if (kind === "RETURN_TO_SPOT")
    return `Spot has been healthy since the pool's last On-Demand launch: the NodePool is narrowed to Spot (spotFallback of ${policy})`;
  if (kind === "SWITCH")
    return `Capacity types ${from.capacityTypes.join(",")} → ${to.capacityTypes.join(",")} (NodeTemplate ${by.template}, ${policy})`;
  const added = to.instanceTypes.filter((t) => !from.instanceTypes.includes(t)).length;
  const removed = from.instanceTypes.filter((t) => !to.instanceTypes.includes(t)).length;
  return `Instance types ${from.instanceTypes.length} → ${to.instanceTypes.length} (+${added}, −${removed}) to follow NodeTemplate ${by.template}, ${policy} and prices`;
}

/**
 * A pool change's month: each of the pool's nodes moving from the cheapest type it allowed to the cheapest it allows,
 * for 730 h. Not projected where a price or the node count is unknown; an empty pool saves nothing yet.
 */
function poolPeriod(
  from: DecisionSide,
  to: DecisionSide,
  nodes: number | undefined,
): CapacityDecision["period"] | undefined {
  if (from.usdPerHour === null || to.usdPerHour === null) return undefined;
  if (nodes === undefined)
    return { baseline: "the pool's nodes could not be counted at the change (no NodeClaims seen): not projected" };
  // The CSV's hourly cell (4 decimals) × nodes × 730, so the row's figures agree.
  const perNode = roundTo(from.usdPerHour - to.usdPerHour, 4);
  return {
    savingsUsd: roundTo(perNode * nodes * HOURS_PER_MONTH, 2),
    baseline: `${nodes} node(s) of the pool at the change, each ${usd(from.usdPerHour)}/h (${from.instanceType}) → ${usd(to.usdPerHour)}/h (${to.instanceType}), for ${HOURS_PER_MONTH} h`,
  };
}

/** The decision of replacing `previous` by `desired`, or undefined when its instance and capacity types are unchanged. */
export function poolDecision(input: {
  namespace: string;
  template: { name: string; uid: string };
  cluster: string;
  previous: PreviousPool | undefined;
  desired: KubeObject;
  book: PriceBook | undefined;
  narrowToSpot: boolean;
  /** `namespace/name` of the OptimizationPolicy in force, which shaped the pool with the template. */
  policy?: string | undefined;
  /** The pool's nodes (NodeClaims) at the change; undefined where they cannot be counted. */
  nodes: number | undefined;
}): CapacityDecision | undefined {
  if (!input.previous) return undefined;
  const from = shapeOf(input.previous.pool);
  const to = shapeOf(input.desired);
  if (!changed(from, to)) return undefined;
  const switched = !same(from.capacityTypes, to.capacityTypes);
  const kind = !switched
    ? "RESHAPE"
    : input.narrowToSpot && same(to.capacityTypes, ["spot"])
      ? "RETURN_TO_SPOT"
      : "SWITCH";
  const pool = input.desired.metadata?.name ?? "";
  const [oldSide, newSide] = [side(from, input.book), side(to, input.book)];
  return {
    namespace: input.namespace,
    actor: DECISION_ACTOR,
    event: kind === "RESHAPE" ? "nodepool.reshape" : "nodepool.capacity-type",
    resource: `cluster/${input.cluster}/nodepool/${pool}`,
    decision: kind,
    instanceId: `nodepool/${pool}`,
    reason: reasonOf(kind, from, to, { template: `${input.namespace}/${input.template.name}`, policy: input.policy }),
    old: oldSide,
    new: newSide,
    period: poolPeriod(oldSide, newSide, input.nodes),
    change: { template: input.template.uid, pool, from: input.previous.version, to },
    beforeState: { ...from },
    afterState: { ...to },
  };
}
