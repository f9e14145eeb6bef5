// Decision entries: what a controller records in the organisation's audit chain when it changes capacity (old and new
// instance type or pool, each price with its source and date, the reason), written once per change.
import { createHash } from "node:crypto";
import type { AuditRecord, AuditWriter } from "./types.js";
import { oldestAsOf } from "../pricing/freshness.js";

/** One side of a change: the cheapest instance type the capacity allows and its hourly price (null when unpriced). */
export interface DecisionSide {
  instanceType: string;
  usdPerHour: number | null;
  source?: string;
  asOf?: string;
  zone?: string;
}

export interface CapacityDecision {
  /** The organisation's namespace (its chain). */
  namespace: string;
  /** `system:<controller>`. */
  actor: string;
  event: string;
  resource: string;
  /** e.g. RESHAPE, SWITCH, RETURN_TO_SPOT. */
  decision: string;
  /** What was changed, e.g. a NodePool's name. */
  instanceId: string;
  reason: string;
  old: DecisionSide;
  new: DecisionSide;
  /** Identifies this one change (the object, the state it changed from and the state it changed to). */
  change: unknown;
  /**
   * The change's own projected saving and what it is computed from (the cost CSV's figure instead of hourly × 730);
   * without `savingsUsd` it is not projected, and the reason is the baseline.
   */
  period?: { savingsUsd?: number; baseline: string };
  /** The state before and after the change (kept in the entry's before / after beside the decision fields). */
  beforeState?: Record<string, unknown>;
  afterState?: Record<string, unknown>;
}

/** The chain writer plus the read a writer needs to recognise an entry it already wrote. */
export type DecisionAudit = AuditWriter & { readChain(namespace: string): Promise<{ entries: AuditRecord[] }> };

/** Stable per change: the same change seen again (a retry, a restart, a lagging cache) gives the same key. */
export function decisionKey(change: unknown): string {
  return createHash("sha256").update(JSON.stringify(change)).digest("hex").slice(0, 32);
}

/** Both prices' sources and the older date ("unknown" when one is undated), as one label each (only what is known). */
function provenance(d: CapacityDecision): { priceSource?: string; pricesAsOf?: string } {
  const sources = [...new Set([d.old.source, d.new.source].filter((s): s is string => Boolean(s)))].sort();
  const oldest = oldestAsOf([d.old.asOf, d.new.asOf].filter((s): s is string => Boolean(s)));
  return {
    ...(sources.length > 0 ? { priceSource: sources.join(",") } : {}),
    ...(oldest ? { pricesAsOf: oldest } : {}),
  };
}

/** A side as stored: an unknown price is left out with the reason (the API server may drop a null, breaking the hash). */
function storedSide(side: DecisionSide): Record<string, unknown> {
  const { usdPerHour, ...rest } = side;
  return usdPerHour === null ? { ...rest, unpriced: `no price for ${side.instanceType || "the pool"}` } : { ...side };
}

/** The entry's `after`: the fields the activity feed and the cost CSV read, and the change's key. */
export function decisionAfter(d: CapacityDecision): Record<string, unknown> {
  return {
    ...d.afterState,
    decision: d.decision,
    decisionKey: decisionKey(d.change),
    instanceId: d.instanceId,
    instanceType: d.new.instanceType,
    oldInstanceType: d.old.instanceType,
    zone: d.new.zone ?? "",
    ...(d.old.usdPerHour !== null ? { oldPriceUsdPerHour: d.old.usdPerHour } : {}),
    ...(d.new.usdPerHour !== null ? { newPriceUsdPerHour: d.new.usdPerHour } : {}),
    oldPrice: storedSide(d.old),
    newPrice: storedSide(d.new),
    ...provenance(d),
    ...(d.period?.savingsUsd !== undefined ? { periodSavingsUsd: d.period.savingsUsd } : {}),
    ...(d.period ? { periodSavingsBaseline: d.period.baseline } : {}),
    reason: d.reason,
  };
}

/**
 * Appends the decision unless the chain already holds one with its key; true when it wrote one. Reads the chain only
 * when called, i.e. when a controller has just made a change, never on a reconcile that changes nothing.
 */
export async function recordDecision(audit: DecisionAudit, d: CapacityDecision): Promise<boolean> {
  const key = decisionKey(d.change);
  const { entries } = await audit.readChain(d.namespace);
  if (entries.some((e) => (e.after as { decisionKey?: unknown } | null)?.decisionKey === key)) return false;
  await audit.record({
    namespace: d.namespace,
    actor: d.actor,
    event: d.event,
    resource: d.resource,
    outcome: "success",
    ...(d.beforeState ? { before: d.beforeState } : {}),
    after: decisionAfter(d),
  });
  return true;
}
