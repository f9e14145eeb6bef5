// Turns a price book and a policy into purchasable offers (type × capacity type × zone) with the strategy's objective weight.
import type { InstanceShape, InterruptionBucket, PriceBook } from "../pricing/types.js";
import type { CapacityType, Offer, OptimizerPolicy, Strategy } from "./types.js";

/** Advisor has no bucket for the type: assume the worst, so unknown risk is never preferred. */
const UNKNOWN_BUCKET: InterruptionBucket = 4;

/**
 * Objective multiplier for a Spot offer in interruption bucket r (0 = <5 % … 4 = >20 %):
 * lowest-price ignores risk; capacity-optimized makes each riskier bucket cost 3× (so it picks the
 * lowest bucket unless that is over 3× dearer); price-capacity-optimized adds 15 % per bucket.
 */
export function strategyFactor(strategy: Strategy, bucket: InterruptionBucket): number {
  switch (strategy) {
    case "lowest-price":
      return 1;
    case "capacity-optimized":
      return 3 ** bucket;
    case "price-capacity-optimized":
      return 1 + 0.15 * bucket;
  }
}

/** Family filter entries match a family ("m6i") or a category ("m"). */
export function typeAllowed(shape: InstanceShape, policy: OptimizerPolicy): boolean {
  if (policy.families.length > 0 && !policy.families.some((f) => f === shape.family || f === shape.category))
    return false;
  if (policy.arch.length > 0 && !policy.arch.includes(shape.arch)) return false;
  if (shape.allocatable.pods < 1 || shape.allocatable.cpuMillicores <= 0) return false;
  return policy.allowType ? policy.allowType(shape) : true;
}

function cheapestZone(byZone: Map<string, { usdPerHour: number }>): string | undefined {
  let best: string | undefined;
  for (const [z, p] of byZone) if (best === undefined || p.usdPerHour < byZone.get(best)!.usdPerHour) best = z;
  return best;
}

function onDemandOffers(book: PriceBook, shape: InstanceShape, pinnedZones: ReadonlySet<string>): Offer[] {
  const od = book.onDemand.get(shape.name)!;
  const spot = book.spot.get(shape.name);
  const home = (spot && cheapestZone(spot)) ?? book.zones[0]!;
  const zones = new Set([home, ...[...pinnedZones].filter((z) => book.zones.includes(z))]);
  return [...zones].map((zone) => ({
    shape,
    capacityType: "on-demand",
    zone,
    price: od,
    onDemand: od,
    interruptionBucket: null,
    weightUsdPerHour: od.usdPerHour,
  }));
}

function spotOffers(
  book: PriceBook,
  shape: InstanceShape,
  strategy: Strategy,
  pinnedZones: ReadonlySet<string>,
): Offer[] {
  const od = book.onDemand.get(shape.name)!;
  const spot = book.spot.get(shape.name);
  if (!spot) return [];
  const bucket = book.advice.get(shape.name)?.interruptionBucket ?? UNKNOWN_BUCKET;
  const factor = strategyFactor(strategy, bucket);
  const zones = new Set([cheapestZone(spot)!, ...[...pinnedZones].filter((z) => spot.has(z))]);
  return [...zones].map((zone) => {
    const price = spot.get(zone)!;
    return {
      shape,
      capacityType: "spot",
      zone,
      price,
      onDemand: od,
      interruptionBucket: bucket,
      weightUsdPerHour: price.usdPerHour * factor,
    };
  });
}

/**
 * Offers for the allowed types that have an On-Demand price (needed for the baseline). Per type and
 * capacity type there is one offer in the cheapest zone, plus one in each zone some pod is pinned to
 * (when the type is offered there).
 */
export function buildOffers(
  book: PriceBook,
  policy: OptimizerPolicy,
  capacityTypes: CapacityType[],
  pinnedZones: ReadonlySet<string>,
): Offer[] {
  const offers: Offer[] = [];
  for (const [name, shape] of book.instanceTypes) {
    if (!book.onDemand.has(name) || !typeAllowed(shape, policy)) continue;
    if (capacityTypes.includes("on-demand")) offers.push(...onDemandOffers(book, shape, pinnedZones));
    if (capacityTypes.includes("spot")) offers.push(...spotOffers(book, shape, policy.strategy, pinnedZones));
  }
  return offers;
}
