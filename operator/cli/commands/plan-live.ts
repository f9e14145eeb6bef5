// `spotctl plan`'s live AWS prices, in a module of its own: `plan` imports it (and the AWS SDK) only when credentials
// are configured and no --data is given, so a plan from files or the snapshot starts without loading the SDK.
import { EC2Client } from "@aws-sdk/client-ec2";
import { PricingClient } from "@aws-sdk/client-pricing";
import { AwsPriceBookSource } from "../../../src-shared/pricing/aws/source.js";
import { pricingEndpointRegion } from "../../../src-shared/pricing/aws/pricing-api.js";
import type { PriceBook } from "../../../src-shared/pricing/types.js";

/** The region's price book read from AWS now, or why it could not be read. */
export async function livePriceBook(region: string): Promise<{ book: PriceBook } | { error: string }> {
  const source = new AwsPriceBookSource({
    region,
    ec2: new EC2Client({ region, maxAttempts: 1 }),
    pricing: new PricingClient({ region: pricingEndpointRegion(region), maxAttempts: 1 }),
  });
  await source.refreshDue();
  const book = source.current();
  return book ? { book } : { error: source.lastError?.message ?? "no data" };
}
