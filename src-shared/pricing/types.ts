// Price-book types: every dollar figure carries where it came from and when, so the UI can show "against what, as of when".

/**
 * Where a price came from: the Pricing API, EC2 Spot price history, the generated snapshot shipped in the repository,
 * or computed from another price (Spot from On-Demand and the Spot Instance Advisor's savings).
 */
export type PriceSource = "pricing-api" | "spot-history" | "snapshot" | "derived";

export interface Price {
  usdPerHour: number;
  source: PriceSource;
  /** ISO date or date-time of the snapshot the price was read from, or "unknown" when the source carries none. */
  asOf: string;
}

/** Hours in the month that AWS uses for monthly estimates (365 × 24 / 12). */
export const HOURS_PER_MONTH = 730;

/** Monthly = hourly × 730 (docs/pricing.md), the month every money figure uses. */
export function monthlyUsd(hourlyUsd: number): number {
  return hourlyUsd * HOURS_PER_MONTH;
}

export type CpuArch = "amd64" | "arm64";

/** The NodeTemplate CRD spells x86-64 `x86_64`, Kubernetes' node label `amd64`: both are accepted as input. */
const CPU_ARCH_SPELLINGS: Record<string, CpuArch> = { amd64: "amd64", x86_64: "amd64", arm64: "arm64" };

/** The architecture an input spelling names, or undefined for an unknown one. */
export function parseCpuArch(value: string): CpuArch | undefined {
  return Object.hasOwn(CPU_ARCH_SPELLINGS, value) ? CPU_ARCH_SPELLINGS[value] : undefined;
}

/** What the kubelet can actually schedule on a node of this type (Karpenter's computation), not raw capacity. */
export interface Allocatable {
  cpuMillicores: number;
  memoryMiB: number;
  pods: number;
}

export interface InstanceShape {
  name: string;
  /** e.g. "m6i" */
  family: string;
  /** e.g. "m" */
  category: string;
  /** e.g. 6 for m6i; a number in DescribeInstanceTypes-derived data */
  generation: number;
  arch: CpuArch;
  vcpu: number;
  memoryMiB: number;
  bareMetal: boolean;
  /** null when the type has no GPU */
  gpu: { count: number; name: string; memoryMiB: number } | null;
  allocatable: Allocatable;
}

/** Spot interruption frequency bucket of the Spot Instance Advisor: 0 = <5 %, 1 = 5–10 %, 2 = 10–15 %, 3 = 15–20 %, 4 = >20 %. */
export type InterruptionBucket = 0 | 1 | 2 | 3 | 4;

export interface SpotAdvice {
  /** Advisor's savings vs On-Demand, percent */
  savingsPct: number;
  interruptionBucket: InterruptionBucket;
}

/** Everything the optimizer needs to price capacity in one region. */
export interface PriceBook {
  region: string;
  /** AZ identifiers known for the region (from Spot price data), e.g. use1-az1 */
  zones: string[];
  instanceTypes: Map<string, InstanceShape>;
  onDemand: Map<string, Price>;
  /** type -> zone -> price */
  spot: Map<string, Map<string, Price>>;
  advice: Map<string, SpotAdvice>;
  /** the advisor feed's date ("unknown" or absent when the feed does not say): dates the prices derived from it */
  adviceAsOf?: string;
}

/**
 * Spot price missing for a type: the honest estimate from the advisor, labelled "derived"; dated by the older of the
 * On-Demand price and the advisor feed, "unknown" when either date is (a figure is as old as its oldest input).
 */
export function derivedSpotPrice(onDemand: Price, advice: SpotAdvice, adviceAsOf: string): Price {
  const asOf =
    adviceAsOf === "unknown" || onDemand.asOf === "unknown"
      ? "unknown"
      : adviceAsOf < onDemand.asOf
        ? adviceAsOf
        : onDemand.asOf;
  return { usdPerHour: onDemand.usdPerHour * (1 - advice.savingsPct / 100), source: "derived", asOf };
}

/**
 * Fills Spot prices for types that have an On-Demand price and advisor data but no Spot history:
 * the derived price applies in every known zone of the region (the advisor is per region, not per AZ).
 */
export function withDerivedSpotPrices(book: PriceBook): PriceBook {
  const spot = new Map(book.spot);
  for (const [type, od] of book.onDemand) {
    if (spot.has(type)) continue;
    const advice = book.advice.get(type);
    if (!advice) continue;
    const price = derivedSpotPrice(od, advice, book.adviceAsOf ?? "unknown");
    spot.set(type, new Map(book.zones.map((z) => [z, price])));
  }
  return { ...book, spot };
}
