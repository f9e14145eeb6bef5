// PricesFresh, the condition every ManagedCluster carries about its region's price book: how old it is, where each
// part came from, whether its refresh is failing.
import type { ConditionInput } from "../runtime/index.js";
import type { BookPart, RegionBook } from "./region-prices.js";

export const CONDITION_PRICES_FRESH = "PricesFresh";

function partText(label: string, p: BookPart): string {
  const error = p.error ? ` — refresh failing since ${p.error.since}: ${p.error.message}` : "";
  return `${label}: ${p.source} as of ${p.asOf}${error}`;
}

/**
 * PricesFresh of a cluster: True while its region's book is within the configured age. The message names each part's
 * source and date (it changes only when the book does, so a re-check writes nothing).
 */
export function pricesFreshCondition(prices: RegionBook): Omit<ConditionInput, "observedGeneration"> {
  const type = CONDITION_PRICES_FRESH;
  if (!prices.book || !prices.sources)
    return { type, status: "False", reason: "NoPrices", message: prices.reason ?? "no price book for the region" };
  const { onDemand, spot } = prices.sources;
  const failing = onDemand.error !== undefined || spot.error !== undefined;
  const message = `${partText("On-Demand", onDemand)}; ${partText("Spot", spot)}; Spot without a price: derived from On-Demand and the Spot Instance Advisor`;
  const live = onDemand.source === "pricing-api" && spot.source === "spot-history";
  const reason = prices.stale ? "Stale" : failing ? "RefreshFailing" : live ? "Refreshed" : "Snapshot";
  return { type, status: prices.stale ? "False" : "True", reason, message: message.slice(0, 1024) };
}
