// The activity feed and the 30-day cost CSV, both read from the organisation's AuditEntries (the one record of actions).
//
// An optimisation decision is an AuditEntry whose `after` carries (docs/facade-metrics.md, "Decision entries"):
//   { decision: "RESHAPE" | "SWITCH" | "RETURN_TO_SPOT" | ..., instanceId, instanceType, zone, oldPriceUsdPerHour,
//     newPriceUsdPerHour, reason, priceSource?, pricesAsOf? }
// The NodeTemplate controller writes one per change of a NodePool's instance or capacity types
// (src-shared/audit/decisions.ts), whose CSV figure is that change for the pool's nodes (`periodSavingsUsd`); the
// hibernation controller's sleep and wake entries are SLEEP / WAKE decisions whose CSV figure is the sleep's own
// projected saving (the same field), not hourly × 730. Only entries with both prices (and, for those with a
// `periodSavingsBaseline`, that figure) count in the CSV.
import { HOURS_PER_MONTH } from "../../../src-shared/fleet/fleet-metrics.js";
import { csvField } from "../../../src-shared/csv.js";
import { roundTo } from "../../../src-shared/pricing/rounding.js";

export interface AuditView {
  id: string;
  timestamp: string;
  actor: string;
  event: string;
  resource: string;
  outcome: string;
  before?: unknown;
  after?: unknown;
}

export interface Decision {
  timestamp: string;
  instanceId: string;
  instanceType: string;
  zone: string;
  oldPriceUsdPerHour: number;
  newPriceUsdPerHour: number;
  decision: string;
  reason: string;
  /** old − new, to the 4 decimals people see: a monthly figure of hourly × 730 is this × 730, so the columns agree. */
  hourlySavingsUsd: number;
  /** The CSV's projected figure: hourly × 730, or an entry's own `periodSavingsUsd`; undefined when unknown. */
  projectedUsd: number | undefined;
  /** What an entry's own figure is computed from (`periodSavingsBaseline`); undefined for hourly × 730. */
  projectedBasis: string | undefined;
}

function text(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/**
 * No instance is priced near this per hour, nor a sleep's saving near the other bound: a recorded figure beyond them (an
 * entry written by hand, a broken feed) is no price, and would turn totals into Infinity or into nonsense.
 */
export const MAX_HOURLY_USD = 10_000;
const MAX_PERIOD_USD = 1_000_000_000;

function within(v: unknown, min: number, max: number): number | undefined {
  return typeof v === "number" && v >= min && v <= max ? v : undefined;
}

function recordOf(after: unknown): Record<string, unknown> | undefined {
  return after !== null && typeof after === "object" && !Array.isArray(after)
    ? (after as Record<string, unknown>)
    : undefined;
}

/** The decision an entry records, or undefined when it records none (or lacks either price, or one is no price). */
export function decisionOf(entry: AuditView): Decision | undefined {
  const a = recordOf(entry.after);
  if (!a) return undefined;
  const oldPrice = within(a.oldPriceUsdPerHour, 0, MAX_HOURLY_USD);
  const newPrice = within(a.newPriceUsdPerHour, 0, MAX_HOURLY_USD);
  if (typeof a.decision !== "string" || oldPrice === undefined || newPrice === undefined) return undefined;
  const ownFigure = typeof a.periodSavingsBaseline === "string";
  const hourly = roundTo(oldPrice - newPrice, 4);
  return {
    timestamp: entry.timestamp,
    instanceId: text(a.instanceId),
    instanceType: text(a.instanceType),
    zone: text(a.zone),
    oldPriceUsdPerHour: oldPrice,
    newPriceUsdPerHour: newPrice,
    decision: a.decision,
    reason: text(a.reason),
    hourlySavingsUsd: hourly,
    projectedUsd: ownFigure ? within(a.periodSavingsUsd, -MAX_PERIOD_USD, MAX_PERIOD_USD) : hourly * HOURS_PER_MONTH,
    projectedBasis: ownFigure ? (a.periodSavingsBaseline as string) : undefined,
  };
}

/** Newest first; ties broken by id so paging is stable. */
export function newestFirst(entries: readonly AuditView[]): AuditView[] {
  return [...entries].sort((a, b) => b.timestamp.localeCompare(a.timestamp) || b.id.localeCompare(a.id));
}

export interface ActivityEvent {
  id: string;
  timestamp: string;
  action: string;
  savings: number | null;
  savings_reason: string | null;
  /** What `savings` is measured against; null when there is no figure. */
  savings_baseline: string | null;
  /** Where the decision's prices came from and the older of their dates, as recorded; null when not recorded. */
  price_source: string | null;
  prices_as_of: string | null;
  status: string;
  actor: string;
  resource: string;
}

export const NOT_A_DECISION = "not an optimisation decision: only decisions (switches, reshapes, sleeps, wakes) save";

/** The hourly USD a feed line's entry saved: a priced decision's price difference; null with the reason for a decision
 * recorded without both prices (unknown is not 0) and for an action that is no decision (a saving it has none of). */
function hourlySavings(entry: AuditView): { savings: number | null; savings_reason: string | null } {
  const decision = decisionOf(entry);
  if (decision) return { savings: decision.hourlySavingsUsd, savings_reason: null };
  const a = recordOf(entry.after);
  if (typeof a?.decision !== "string") return { savings: null, savings_reason: NOT_A_DECISION };
  const recorded = typeof a.oldPriceUsdPerHour === "number" && typeof a.newPriceUsdPerHour === "number";
  return {
    savings: null,
    savings_reason: recorded
      ? `the decision's recorded prices are no hourly prices (each must be 0 to ${MAX_HOURLY_USD} USD/h)`
      : "the decision was recorded without its old and new hourly prices",
  };
}

/** The baseline of a feed line's `savings`. */
export const ACTIVITY_SAVINGS_BASELINE =
  "the replaced capacity's hourly price less the new capacity's (USD per hour, both as recorded at the decision)";

/** The provenance a decision entry recorded with its prices (null for what it did not record). */
function recordedProvenance(entry: AuditView): { price_source: string | null; prices_as_of: string | null } {
  const a = recordOf(entry.after);
  return {
    price_source: typeof a?.priceSource === "string" ? a.priceSource : null,
    prices_as_of: typeof a?.pricesAsOf === "string" ? a.pricesAsOf : null,
  };
}

/** One feed line per audit entry; `savings` = hourly USD saved against the replaced capacity's price. */
export function activityEvent(entry: AuditView): ActivityEvent {
  const savings = hourlySavings(entry);
  return {
    id: entry.id,
    timestamp: entry.timestamp,
    action: entry.resource ? `${entry.event} (${entry.resource})` : entry.event,
    ...savings,
    savings_baseline: savings.savings === null ? null : ACTIVITY_SAVINGS_BASELINE,
    ...recordedProvenance(entry),
    status: entry.outcome,
    actor: entry.actor,
    resource: entry.resource,
  };
}

export function activityPage(
  entries: readonly AuditView[],
  page: { limit: number; offset: number },
): { events: ActivityEvent[]; total: number; limit: number; offset: number } {
  const sorted = newestFirst(entries);
  return {
    events: sorted.slice(page.offset, page.offset + page.limit).map(activityEvent),
    total: sorted.length,
    limit: page.limit,
    offset: page.offset,
  };
}

// ---- CSV ------------------------------------------------------------------------------------------------------

// The catalogue's columns, then where each row's prices came from and their date (empty where the decision recorded
// none): a figure without its source is no figure.
export const COST_CSV_HEADER =
  "Date,Instance ID,Instance Type,Availability Zone,Old Spot Price,New Spot Price,Hourly Savings,Monthly Projected,Decision,Reason,Price Source,Prices As Of";

/** What the TOTAL row's sum is measured against (in its Reason cell). */
export const COST_CSV_TOTAL_BASELINE =
  "sum of Monthly Projected: per row the replaced capacity's hourly price less the new capacity's (both as recorded " +
  "at the decision) × 730, or the projection its Reason names";

function usd(amount: number, decimals: number): string {
  const sign = amount < 0 ? "-" : "";
  return `${sign}$${Math.abs(amount).toFixed(decimals)}`;
}

function csvDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 19).replace("T", " ");
}

/**
 * CSV of the decisions made in the 30 days before `now`, newest first, then a TOTAL row with the sum of the monthly
 * projected savings (monthly = hourly × 730, or the entry's own `periodSavingsUsd`).
 */
export function costExportCsv(entries: readonly AuditView[], now: Date): string {
  const fromMs = now.getTime() - 30 * 24 * 3600 * 1000;
  const rows: string[] = [COST_CSV_HEADER];
  let totalMonthlyUsd = 0;
  for (const entry of newestFirst(entries)) {
    const t = Date.parse(entry.timestamp);
    if (!(t >= fromMs && t <= now.getTime())) continue;
    const d = decisionOf(entry);
    if (!d || d.projectedUsd === undefined) continue;
    const hourly = d.hourlySavingsUsd;
    const monthly = d.projectedUsd;
    const provenance = recordedProvenance(entry);
    totalMonthlyUsd += Math.round(monthly * 100) / 100;
    rows.push(
      [
        csvDate(d.timestamp),
        csvField(d.instanceId),
        csvField(d.instanceType),
        csvField(d.zone),
        usd(d.oldPriceUsdPerHour, 4),
        usd(d.newPriceUsdPerHour, 4),
        usd(hourly, 4),
        usd(monthly, 2),
        csvField(d.decision),
        // A row whose monthly figure is not hourly × 730 says what it is instead.
        csvField(d.projectedBasis === undefined ? d.reason : `${d.reason}; projected: ${d.projectedBasis}`),
        csvField(provenance.price_source ?? ""),
        csvField(provenance.prices_as_of ?? ""),
      ].join(","),
    );
  }
  rows.push(`TOTAL,,,,,,,${usd(totalMonthlyUsd, 2)},,${csvField(COST_CSV_TOTAL_BASELINE)},,`);
  return `${rows.join("\r\n")}\r\n`;
}

/** `cost_savings_export_YYYY-MM-DD.csv`: the file name the dashboard saves the export under. */
export function costExportFilename(now: Date): string {
  return `cost_savings_export_${now.toISOString().slice(0, 10)}.csv`;
}
