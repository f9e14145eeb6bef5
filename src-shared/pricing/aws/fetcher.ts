// AWS price reads for one region through the SDK's default credential chain (env, profile, IRSA, Pod Identity);
// AWS_ENDPOINT_URL (the SDK's own override) points them at another endpoint, e.g. a local AWS-shaped server in tests.
import { EC2Client } from "@aws-sdk/client-ec2";
import { PricingClient } from "@aws-sdk/client-pricing";
import type { Price } from "../types.js";
import { describeLatestSpotPrices } from "./ec2.js";
import { getOnDemandPrices, pricingEndpointRegion } from "./pricing-api.js";
import type { RetryOptions } from "./retry.js";

export interface AwsPriceFetcher {
  onDemand(region: string, now: Date): Promise<Map<string, Price>>;
  spot(region: string, now: Date): Promise<Map<string, Map<string, Price>>>;
}

export interface AwsPriceFetcherOptions {
  /** Endpoint of every client (tests); default the SDK's resolution (AWS_ENDPOINT_URL, else AWS). */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  retry?: RetryOptions;
}

/** On-Demand from the Pricing API, Spot from DescribeSpotPriceHistory; one client pair per region, throttling retried. */
export function awsPriceFetcher(options: AwsPriceFetcherOptions = {}): AwsPriceFetcher {
  const ec2 = new Map<string, EC2Client>();
  const pricing = new Map<string, PricingClient>();
  const base = {
    maxAttempts: 1,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
  const ec2For = (region: string): EC2Client => {
    let c = ec2.get(region);
    if (!c) ec2.set(region, (c = new EC2Client({ ...base, region })));
    return c;
  };
  const pricingFor = (region: string): PricingClient => {
    const endpointRegion = pricingEndpointRegion(region);
    let c = pricing.get(endpointRegion);
    if (!c) pricing.set(endpointRegion, (c = new PricingClient({ ...base, region: endpointRegion })));
    return c;
  };
  return {
    onDemand: (region, now) => getOnDemandPrices(pricingFor(region), region, now, options.retry),
    spot: (region, now) => describeLatestSpotPrices(ec2For(region), now, options.retry),
  };
}
