// Pricing API adapter: On-Demand Linux prices per instance type from GetProducts (shared tenancy, no software, capacity Used).
import { GetProductsCommand, type PricingClient } from "@aws-sdk/client-pricing";
import type { Price } from "../types.js";
import { withThrottlingRetry, type RetryOptions } from "./retry.js";

/**
 * The Pricing API is served from three regions only: us-east-1, eu-central-1 and ap-south-1.
 * Clusters in Europe, the Middle East and Africa use eu-central-1, Asia Pacific uses ap-south-1,
 * everything else us-east-1.
 */
export function pricingEndpointRegion(clusterRegion: string): string {
  if (/^(eu|me|af|il)-/.test(clusterRegion)) return "eu-central-1";
  if (/^ap-/.test(clusterRegion)) return "ap-south-1";
  return "us-east-1";
}

export const ON_DEMAND_FILTERS = (region: string): Array<{ Type: "TERM_MATCH"; Field: string; Value: string }> => [
  { Type: "TERM_MATCH", Field: "regionCode", Value: region },
  { Type: "TERM_MATCH", Field: "operatingSystem", Value: "Linux" },
  { Type: "TERM_MATCH", Field: "tenancy", Value: "Shared" },
  { Type: "TERM_MATCH", Field: "preInstalledSw", Value: "NA" },
  { Type: "TERM_MATCH", Field: "capacitystatus", Value: "Used" },
];

interface PriceListItem {
  product?: { attributes?: { instanceType?: string } };
  terms?: {
    OnDemand?: Record<string, { priceDimensions?: Record<string, { unit?: string; pricePerUnit?: { USD?: string } }> }>;
  };
}

/**
 * Hourly USD from one PriceList entry, or undefined when it has none. The wire format is a JSON
 * string; the SDK may hand it over as a string or as a lazy JSON string wrapper.
 */
export function parsePriceListItem(entry: unknown): { instanceType: string; usdPerHour: number } | undefined {
  const text = String(entry);
  const item = (text.startsWith("{") ? JSON.parse(text) : entry) as PriceListItem;
  const instanceType = item.product?.attributes?.instanceType;
  const usdPerHour = hourlyUsd(item);
  return instanceType && usdPerHour !== undefined ? { instanceType, usdPerHour } : undefined;
}

function hourlyUsd(item: PriceListItem): number | undefined {
  const dims = Object.values(item.terms?.OnDemand ?? {}).flatMap((term) => Object.values(term.priceDimensions ?? {}));
  const hourly = dims.find((dim) => dim.unit?.startsWith("Hr") && Number(dim.pricePerUnit?.USD) > 0);
  return hourly ? Number(hourly.pricePerUnit!.USD) : undefined;
}

/** On-Demand prices for every instance type in `region` (follows NextToken to the end). */
export async function getOnDemandPrices(
  pricing: PricingClient,
  region: string,
  now: Date,
  retry?: RetryOptions,
): Promise<Map<string, Price>> {
  const prices = new Map<string, Price>();
  const asOf = now.toISOString();
  let token: string | undefined;
  do {
    const page = await withThrottlingRetry(
      () =>
        pricing.send(
          new GetProductsCommand({
            ServiceCode: "AmazonEC2",
            Filters: ON_DEMAND_FILTERS(region),
            FormatVersion: "aws_v1",
            NextToken: token,
            MaxResults: 100,
          }),
        ),
      retry,
    );
    for (const text of page.PriceList ?? []) {
      const entry = parsePriceListItem(text);
      if (entry) prices.set(entry.instanceType, { usdPerHour: entry.usdPerHour, source: "pricing-api", asOf });
    }
    token = page.NextToken || undefined;
  } while (token);
  return prices;
}
