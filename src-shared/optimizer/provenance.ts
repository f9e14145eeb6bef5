// The prices behind a plan's figures, for the provenance spotctl plan and the re-plan report with them.
import { oldestAsOf } from "../pricing/freshness.js";
import type { PriceBook } from "../pricing/types.js";
import type { Plan } from "./types.js";

/**
 * Each price source behind a plan's figures — its nodes' prices and, for the baseline, their types' On-Demand prices —
 * with the oldest date it gives ("unknown" when one of its prices is undated).
 */
export function planPriceDates(plan: Pick<Plan, "nodes">, book: Pick<PriceBook, "onDemand">): Map<string, string> {
  const dates = new Map<string, string[]>();
  const see = (source: string, asOf: string): void => {
    const seen = dates.get(source);
    if (seen) seen.push(asOf);
    else dates.set(source, [asOf]);
  };
  for (const n of plan.nodes) {
    see(n.priceSource, n.priceAsOf);
    const od = book.onDemand.get(n.instanceType);
    if (od) see(od.source, od.asOf);
  }
  return new Map([...dates].map(([source, asOfs]) => [source, oldestAsOf(asOfs)!]));
}
