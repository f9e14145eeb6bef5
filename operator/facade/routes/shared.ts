// Schemas the resource routes share (ids, success answers, what a money total rests on).
import { z } from "zod";
import { objectName } from "../../../src-shared/crds/index.js";

/** A cluster id as the API takes it: the ManagedCluster's name. */
export const ClusterId = objectName("Cluster id (the ManagedCluster's name).");

export const IdParams = z.object({ id: objectName("Object id (its name).") }).strict();

export const Success = z.object({ success: z.boolean() });

/** Clusters a money total leaves out (no monthly cost), each with why. */
export const NotInTotals = z
  .array(z.object({ cluster_id: z.string(), reason: z.string() }))
  .describe("Clusters the money totals leave out because their cost is unknown, each with the reason.");

/** Whether the prices behind a response's figures are older than the configured maximum age (null: there are none). */
export const PricesStale = z
  .boolean()
  .nullable()
  .describe(
    "The prices behind the figures are older than the configured maximum age; null where no price is behind them.",
  );

/** What a response's money totals rest on: the clusters left out, the savings baseline, the prices' source and age. */
export const TotalsBasis = {
  not_in_totals: NotInTotals,
  savings_baseline: z.string(),
  price_source: z.string().nullable(),
  prices_as_of: z.string().nullable(),
  prices_stale: PricesStale,
};

/** A bin-packing saving: its baseline, the oldest plan's time, what it leaves out, and the prices the plans used. */
export const BinPackingBasis = z.object({
  baseline: z.string(),
  as_of: z.string().nullable().describe("When the oldest re-plan behind the figure completed."),
  reason: z.string().nullable(),
  price_source: z.string().nullable().describe("Where the prices the re-plans used came from (joined with +)."),
  prices_as_of: z
    .string()
    .nullable()
    .describe("The oldest date of those prices; null when some re-plan's prices are undated or there is no figure."),
});

export const NetSavingsReason = z
  .string()
  .nullable()
  .describe("Why net savings are null, or which priced clusters they leave out (no On-Demand baseline).");
