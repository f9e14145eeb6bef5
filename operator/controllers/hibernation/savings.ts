// Projected monthly savings of a schedule: the hourly prices of the nodes that go away × the hours asleep per month.
import { asleepMsBetween, type CompiledSchedule } from "../../../src-shared/schedule/index.js";
import { loadSnapshotPriceBook } from "../../../src-shared/pricing/snapshot/index.js";
import { nodePrice, nodePriceKey, type NodePriceKey, type PriceBook } from "../../../src-shared/fleet/fleet-metrics.js";
import { NODEPOOL_LABEL, type ObservedObject } from "./desired.js";
import { HOURS_PER_MONTH } from "../../../src-shared/pricing/types.js";
import { asOfMs, oldestAsOf } from "../../../src-shared/pricing/freshness.js";

/** Price of one node (by its labels' price key, as the cluster status reads them), or undefined when unknown. */
export type NodeHourlyPrice = (node: NodePriceKey) => { usdPerHour: number; asOf: string; source?: string } | undefined;

export interface SavingsProjection {
  /** Absent when it cannot be computed (no price source, or a node without a known price): unknown is not 0. */
  projectedMonthlySavingsUsd?: number;
  savingsBaseline: string;
  /** Oldest price snapshot used (RFC 3339), absent when no price was used. */
  savingsAsOf?: string;
}

const WEEK_MS = 7 * 86_400_000;
/** Four whole weeks: every weekday weighs the same, so a weekly schedule's share is the same from any start. */
const REFERENCE_MS = 4 * WEEK_MS;
const HOUR_MS = 3_600_000;

/**
 * The start of the hour containing `nowMs`: the reference window looks ahead (hours gone by, e.g. before an override,
 * are no saving to come), and the figure moves at most once an hour.
 */
export function referenceWindowStartMs(nowMs: number): number {
  return Math.floor(nowMs / HOUR_MS) * HOUR_MS;
}

/**
 * Asleep hours in a 730-hour month: the schedule's asleep share of the four weeks ahead (DST included), scaled to the
 * month, so a weekly schedule gives the same figure on any day; when an override or exception changes the 730 hours
 * ahead, their asleep hours counted as they fall: a one-off event happens once, and scaling it to the month's extra
 * days would count part of it twice. One outside those hours (a holiday months away, an override over) changes nothing.
 */
export function asleepHoursPerMonth(schedule: CompiledSchedule, nowMs: number): number {
  const startMs = referenceWindowStartMs(nowMs);
  const monthEndMs = startMs + HOURS_PER_MONTH * HOUR_MS;
  if (schedule.override !== undefined || schedule.exceptions.size > 0) {
    const asFalling = asleepMsBetween(schedule, startMs, monthEndMs);
    const weekly: CompiledSchedule = { ...schedule, exceptions: new Map(), override: undefined };
    if (asFalling !== asleepMsBetween(weekly, startMs, monthEndMs)) return asFalling / HOUR_MS;
  }
  return (asleepMsBetween(schedule, startMs, startMs + REFERENCE_MS) / REFERENCE_MS) * HOURS_PER_MONTH;
}

export function toRfc3339(asOf: string): string | undefined {
  const ms = asOfMs(asOf);
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z") : undefined;
}

/**
 * The date of a savings figure priced at these dates, in RFC 3339: the oldest; none (the figure's date is unknown)
 * when one of them is undated, as the snapshot's observed Spot prices are.
 */
export function savingsDate(asOfs: readonly string[]): string | undefined {
  const oldest = oldestAsOf(asOfs);
  return oldest === undefined || oldest === "unknown" ? undefined : toRfc3339(oldest);
}

/**
 * Savings against the baseline "these nodes running 24×7 at today's prices". Only nodes of NodePools the
 * schedule puts to sleep count (other nodes keep running). Unpriced nodes are named in the baseline, never guessed.
 */
export function projectSavings(input: {
  schedule: CompiledSchedule;
  nowMs: number;
  nodes: readonly ObservedObject[];
  sleepingNodePools: ReadonlySet<string>;
  price?: NodeHourlyPrice;
}): SavingsProjection {
  if (!input.price) return { savingsBaseline: "no price source configured: savings not computed" };
  const nodes = input.nodes.filter((n) => input.sleepingNodePools.has(n.metadata.labels?.[NODEPOOL_LABEL] ?? ""));
  let hourlyUsd = 0;
  let unpriced = 0;
  const asOfs: string[] = [];
  for (const node of nodes) {
    const price = input.price(nodePriceKey(node.metadata.labels ?? {}));
    if (!price) {
      unpriced += 1;
      continue;
    }
    hourlyUsd += price.usdPerHour;
    asOfs.push(price.asOf);
  }
  const hours = asleepHoursPerMonth(input.schedule, input.nowMs);
  const baseline = `${nodes.length} Karpenter node(s) of the hibernated NodePools running 24x7; asleep ${hours.toFixed(1)} h of a 730 h month`;
  // A partial sum would understate the savings as if it were the whole: no figure while a node is unpriced.
  if (unpriced > 0) return { savingsBaseline: `${baseline}; not computed: ${unpriced} node(s) without a known price` };
  const projection: SavingsProjection = {
    projectedMonthlySavingsUsd: Math.round(hourlyUsd * hours * 100) / 100,
    savingsBaseline: baseline,
  };
  const oldest = savingsDate(asOfs);
  if (oldest) projection.savingsAsOf = oldest;
  return projection;
}

/** The price book a node is priced from (src-shared/pricing's PriceBook, structurally). */
export type PriceBookLike = PriceBook;

/** A NodeHourlyPrice over a price book: the same lookup the ManagedCluster status prices nodes with. */
export function priceFromBook(book: PriceBookLike): NodeHourlyPrice {
  return (node) => nodePrice(book, node);
}

/** Prices from a region lookup (the operator's price book), read at every call so a refreshed book is used at once. */
export function regionBookPrices(bookOf: (region: string) => PriceBookLike | undefined): NodeHourlyPrice {
  return (node) => {
    const book = node.region === undefined ? undefined : bookOf(node.region);
    return book ? priceFromBook(book)(node) : undefined;
  };
}

/**
 * Prices from the shipped price snapshot, per the node's region label. A node without a region
 * label, or in a region the snapshot does not cover, has no price (and is named as unpriced, not guessed).
 */
export function catalogPrices(load: (region: string) => PriceBookLike = loadSnapshotPriceBook): NodeHourlyPrice {
  const books = new Map<string, NodeHourlyPrice | undefined>();
  return (node) => {
    if (node.region === undefined) return undefined;
    if (!books.has(node.region)) {
      try {
        books.set(node.region, priceFromBook(load(node.region)));
      } catch {
        books.set(node.region, undefined);
      }
    }
    return books.get(node.region)?.(node);
  };
}
