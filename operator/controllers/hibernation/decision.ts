// The capacity a schedule puts to sleep (its NodePools' nodes, counted by type, capacity type and zone, each priced with
// source and date) and the decision fields of its sleep and wake entries, so the activity feed and the cost CSV show them.
import { NODEPOOL_LABEL, type ObservedObject } from "./desired.js";
import type { CompiledSchedule } from "../../../src-shared/schedule/index.js";
import { HOURS_PER_MONTH, nodePriceKey } from "../../../src-shared/fleet/fleet-metrics.js";
import { oldestAsOf } from "../../../src-shared/pricing/freshness.js";
import { hourlyUsdText as usd } from "../../../src-shared/pricing/rounding.js";
import { asleepHoursPerMonth, savingsDate, type NodeHourlyPrice, type SavingsProjection } from "./savings.js";

/** Nodes of one instance type, capacity type and zone, and the price of one of them (absent when unknown). */
export interface CapacityGroup {
  instanceType: string;
  capacityType: string;
  zone?: string;
  count: number;
  usdPerHour?: number;
  source?: string;
  asOf?: string;
}

/** What goes at a sleep and returns at the wake after it; `usdPerHour` is absent while any node is unpriced. */
export interface SleepingCapacity {
  nodePools: string[];
  nodes: CapacityGroup[];
  usdPerHour?: number;
}

function groupKey(g: Omit<CapacityGroup, "count">): string {
  return `${g.instanceType}|${g.capacityType}|${g.zone ?? ""}`;
}

/** One node as a group of one, priced when the price source knows its type. */
function nodeGroup(node: ObservedObject, price: NodeHourlyPrice | undefined): CapacityGroup {
  const key = nodePriceKey(node.metadata.labels ?? {});
  const group: CapacityGroup = {
    instanceType: key.instanceType ?? "",
    capacityType: key.capacityType,
    ...(key.zone ? { zone: key.zone } : {}),
    count: 1,
  };
  const p = price?.(key);
  return p ? { ...group, usdPerHour: p.usdPerHour, asOf: p.asOf, ...(p.source ? { source: p.source } : {}) } : group;
}

/** The nodes of the NodePools in `pools`, grouped and priced; pools and groups sorted so equal states compare equal. */
export function sleepingCapacity(input: {
  nodes: readonly ObservedObject[];
  pools: ReadonlySet<string>;
  price: NodeHourlyPrice | undefined;
}): SleepingCapacity {
  const groups = new Map<string, CapacityGroup>();
  for (const node of input.nodes) {
    if (!input.pools.has(node.metadata.labels?.[NODEPOOL_LABEL] ?? "")) continue;
    const g = nodeGroup(node, input.price);
    const found = groups.get(groupKey(g));
    if (found) found.count += 1;
    else groups.set(groupKey(g), g);
  }
  const nodes = [...groups.values()].sort((a, b) => groupKey(a).localeCompare(groupKey(b)));
  const priced = nodes.every((g) => g.usdPerHour !== undefined);
  const hourly = nodes.reduce((sum, g) => sum + (g.usdPerHour ?? 0) * g.count, 0);
  return {
    nodePools: [...input.pools].sort(),
    nodes,
    ...(priced ? { usdPerHour: Math.round(hourly * 10_000) / 10_000 } : {}),
  };
}

function summary(c: SleepingCapacity): string {
  if (c.nodes.length === 0) return "no nodes";
  return c.nodes.map((g) => `${g.count}x ${g.instanceType || "unknown type"} ${g.capacityType}`).join(", ");
}

/** Distinct sources and the oldest date of the prices used ("unknown" when one of them is undated). */
function provenance(c: SleepingCapacity): { priceSource?: string; pricesAsOf?: string } {
  const sources = [...new Set(c.nodes.map((g) => g.source).filter((s): s is string => Boolean(s)))].sort();
  const oldest = oldestAsOf(c.nodes.map((g) => g.asOf).filter((s): s is string => Boolean(s)));
  return {
    ...(sources.length > 0 ? { priceSource: sources.join(",") } : {}),
    ...(oldest ? { pricesAsOf: oldest } : {}),
  };
}

/**
 * The sleep's saving until the scheduled wake, at most a month's (the cost CSV's column is monthly): the hourly price of
 * what goes × those hours (none without a wake).
 */
function periodSavings(
  hourly: number,
  period: { nowMs: number; wakeMs: number | undefined },
): { periodSavingsUsd?: number; periodSavingsBaseline: string } {
  if (period.wakeMs === undefined)
    return { periodSavingsBaseline: "no scheduled wake: the saving of this sleep is not projected" };
  const untilWake = Math.max(0, period.wakeMs - period.nowMs) / 3_600_000;
  const hours = Math.min(untilWake, HOURS_PER_MONTH);
  const span =
    hours < untilWake ? `the first ${HOURS_PER_MONTH} h of the ${untilWake.toFixed(1)} h` : `the ${hours.toFixed(1)} h`;
  return {
    periodSavingsUsd: Math.round(hourly * hours * 100) / 100,
    periodSavingsBaseline: `${usd(hourly)}/h of nodes that went, for ${span} until the scheduled wake at ${new Date(period.wakeMs).toISOString()}`,
  };
}

/**
 * The decision fields of a sleep (`SLEEP`: the capacity's hourly price → 0) or a wake (`WAKE`: 0 → that price), read by
 * the activity feed and the cost CSV (src-shared/audit/decisions.ts's field names). An unpriced capacity carries no
 * prices, only the reason.
 */
export function transitionDecision(input: {
  to: string;
  cluster: string;
  schedule: string;
  capacity: SleepingCapacity | undefined;
  nowMs: number;
  wakeMs: number | undefined;
}): Record<string, unknown> {
  const c = input.capacity ?? { nodePools: [], nodes: [] };
  const asleep = input.to === "asleep";
  const pools = c.nodePools.length > 0 ? `NodePool(s) ${c.nodePools.join(", ")}` : "no NodePools";
  const count = c.nodes.reduce((n, g) => n + g.count, 0);
  const hourly = c.usdPerHour;
  const reason = asleep
    ? `Schedule ${input.schedule} put the cluster to sleep: ${count} node(s) of ${pools} go`
    : `Schedule ${input.schedule} woke the cluster: ${pools} return (${count} node(s) before the sleep)`;
  const prices =
    hourly === undefined
      ? { unpriced: `${c.nodes.filter((g) => g.usdPerHour === undefined).length} node type(s) without a known price` }
      : { oldPriceUsdPerHour: asleep ? hourly : 0, newPriceUsdPerHour: asleep ? 0 : hourly };
  const period =
    hourly === undefined
      ? {}
      : asleep
        ? periodSavings(hourly, { nowMs: input.nowMs, wakeMs: input.wakeMs })
        : { periodSavingsUsd: 0, periodSavingsBaseline: "costs resume; the saving of the sleep is on its SLEEP entry" };
  return {
    decision: asleep ? "SLEEP" : "WAKE",
    instanceId: `cluster/${input.cluster}`,
    instanceType: summary(c),
    zone: [...new Set(c.nodes.map((g) => g.zone).filter(Boolean))].sort().join(" "),
    nodePools: c.nodePools,
    nodes: c.nodes,
    ...prices,
    ...period,
    ...provenance(c),
    reason,
  };
}

/**
 * The savings figure while asleep: the nodes are gone, so it is priced from the capacity last seen awake, with the
 * schedule as it is now (an override or edit made while asleep changes the asleep hours, not the nodes).
 */
export function projectFromCapacity(input: {
  schedule: CompiledSchedule;
  nowMs: number;
  capacity: SleepingCapacity;
}): SavingsProjection {
  const { capacity } = input;
  const nodes = capacity.nodes.reduce((n, g) => n + g.count, 0);
  const hours = asleepHoursPerMonth(input.schedule, input.nowMs);
  const baseline = `${nodes} Karpenter node(s) of the hibernated NodePools (as last seen awake) running 24x7; asleep ${hours.toFixed(1)} h of a 730 h month`;
  const unpriced = capacity.nodes.filter((g) => g.usdPerHour === undefined).reduce((n, g) => n + g.count, 0);
  if (capacity.usdPerHour === undefined || unpriced > 0)
    return { savingsBaseline: `${baseline}; not computed: ${unpriced} node(s) without a known price` };
  // a node group without a date counts as undated
  const oldest = savingsDate(capacity.nodes.map((g) => g.asOf ?? "unknown"));
  return {
    projectedMonthlySavingsUsd: Math.round(capacity.usdPerHour * hours * 100) / 100,
    savingsBaseline: baseline,
    ...(oldest ? { savingsAsOf: oldest } : {}),
  };
}
