// AWS adapters against a local AWS-shaped endpoint, through the real SDK clients: XML/JSON serialisation, NextToken pagination, throttling retries, last-good prices.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EC2Client } from "@aws-sdk/client-ec2";
import { PricingClient } from "@aws-sdk/client-pricing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { describeInstanceShapes, describeLatestSpotPrices } from "../../src-shared/pricing/aws/ec2.js";
import { getOnDemandPrices, pricingEndpointRegion } from "../../src-shared/pricing/aws/pricing-api.js";
import { AwsPriceBookSource } from "../../src-shared/pricing/aws/source.js";
import { FAKE_CREDENTIALS, startFakeAws, type FakeAws, type FakeSpotPrice } from "../support/fake-aws.js";

const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 };

let fake: FakeAws;

const spotPrices = (): FakeSpotPrice[] => [
  { zone: "us-east-1a", type: "m5.large", usd: 0.04, timestamp: "2026-11-23T10:00:00.000Z" },
  { zone: "us-east-1a", type: "m5.large", usd: 0.0331, timestamp: "2026-11-23T12:00:00.000Z" },
  { zone: "us-east-1b", type: "m5.large", usd: 0.035, timestamp: "2026-11-23T11:00:00.000Z" },
  { zone: "us-east-1a", type: "m6g.xlarge", usd: 0.05, timestamp: "2026-11-23T11:30:00.000Z" },
];
/** The latest m5.large price in us-east-1a, which the tests move. */
const setLatestSpot = (usd: number): void => void (fake.spot[1]!.usd = usd);

const clients = (): { ec2: EC2Client; pricing: PricingClient } => ({
  ec2: new EC2Client({ region: "us-east-1", endpoint: fake.url, credentials: FAKE_CREDENTIALS, maxAttempts: 1 }),
  pricing: new PricingClient({
    region: "us-east-1",
    endpoint: fake.url,
    credentials: FAKE_CREDENTIALS,
    maxAttempts: 1,
  }),
});

beforeAll(async () => {
  fake = await startFakeAws();
  // Two pages of each answer.
  fake.pageSize = { GetProducts: 2, DescribeSpotPriceHistory: 2, DescribeInstanceTypes: 2 };
  fake.onDemand.set("m5.large", 0.096).set("m6g.xlarge", 0.154).set("g4dn.xlarge", 0.526);
  fake.instanceTypes.push(
    { type: "m5.large", vcpus: 2, memoryMiB: 8192, arch: "x86_64", enis: 3, ipsPerEni: 10 },
    { type: "m6g.xlarge", vcpus: 4, memoryMiB: 16384, arch: "arm64", enis: 4, ipsPerEni: 15 },
    {
      type: "g4dn.xlarge",
      vcpus: 4,
      memoryMiB: 16384,
      arch: "x86_64",
      enis: 3,
      ipsPerEni: 10,
      gpu: { name: "T4", manufacturer: "NVIDIA", count: 1, memoryMiB: 16384 },
    },
  );
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.throttle.clear();
  fake.broken.clear();
  fake.requests.length = 0;
  fake.spot = spotPrices();
});

describe("EC2 adapters", () => {
  it("reads every page of DescribeInstanceTypes into shapes with Karpenter allocatable", async () => {
    const shapes = await describeInstanceShapes(clients().ec2, fast);
    expect([...shapes.keys()].sort()).toEqual(["g4dn.xlarge", "m5.large", "m6g.xlarge"]);
    expect(fake.requests.map((r) => r.token)).toEqual([undefined, "page-1"]);
    expect(shapes.get("m5.large")).toMatchObject({
      family: "m5",
      category: "m",
      generation: 5,
      arch: "amd64",
      allocatable: { cpuMillicores: 1930, memoryMiB: 6903, pods: 29 },
    });
    expect(shapes.get("m6g.xlarge")!.arch).toBe("arm64");
    expect(shapes.get("g4dn.xlarge")!.gpu).toEqual({ count: 1, name: "t4", memoryMiB: 16384 });
  });

  it("keeps the latest Linux/UNIX Spot price per type and AZ across pages", async () => {
    const spot = await describeLatestSpotPrices(clients().ec2, new Date("2026-11-23T12:30:00Z"), fast);
    expect(fake.requests[0]!.body).toContain("ProductDescription.1=Linux%2FUNIX");
    expect(fake.requests.map((r) => r.token)).toEqual([undefined, "page-1"]);
    expect(spot.get("m5.large")!.get("us-east-1a")).toEqual({
      usdPerHour: 0.0331,
      source: "spot-history",
      asOf: "2026-11-23T12:00:00.000Z",
    });
    expect(spot.get("m5.large")!.get("us-east-1b")!.usdPerHour).toBe(0.035);
    expect(spot.get("m6g.xlarge")!.get("us-east-1a")!.usdPerHour).toBe(0.05);
  });

  it("retries throttling (RequestLimitExceeded) with backoff, then succeeds", async () => {
    fake.throttle.set("DescribeInstanceTypes", 2);
    const shapes = await describeInstanceShapes(clients().ec2, fast);
    expect(shapes.size).toBe(3);
    expect(fake.requests.filter((r) => r.action === "DescribeInstanceTypes")).toHaveLength(4);
  });

  it("gives up after the retry budget", async () => {
    fake.throttle.set("DescribeInstanceTypes", 10);
    await expect(describeInstanceShapes(clients().ec2, fast)).rejects.toMatchObject({ name: "RequestLimitExceeded" });
    expect(fake.requests).toHaveLength(fast.attempts);
  });
});

describe("Pricing API adapter", () => {
  it("sends the Linux / Shared / no software / capacity Used filters and parses PriceList strings on every page", async () => {
    fake.throttle.set("GetProducts", 1);
    const prices = await getOnDemandPrices(clients().pricing, "us-east-1", new Date("2026-11-23T12:00:00Z"), fast);
    const filters = (JSON.parse(fake.requests[0]!.body) as { Filters: Array<{ Field: string; Value: string }> })
      .Filters;
    expect(Object.fromEntries(filters.map((f) => [f.Field, f.Value]))).toEqual({
      regionCode: "us-east-1",
      operatingSystem: "Linux",
      tenancy: "Shared",
      preInstalledSw: "NA",
      capacitystatus: "Used",
    });
    expect(fake.requests.map((r) => r.token)).toEqual([undefined, undefined, "page-1"]); // throttled once, then two pages
    expect(prices.get("m5.large")).toEqual({
      usdPerHour: 0.096,
      source: "pricing-api",
      asOf: "2026-11-23T12:00:00.000Z",
    });
    expect(prices.get("g4dn.xlarge")!.usdPerHour).toBe(0.526);
  });

  it("chooses the Pricing endpoint region for the cluster region", () => {
    expect(pricingEndpointRegion("us-west-2")).toBe("us-east-1");
    expect(pricingEndpointRegion("sa-east-1")).toBe("us-east-1");
    expect(pricingEndpointRegion("eu-west-1")).toBe("eu-central-1");
    expect(pricingEndpointRegion("me-south-1")).toBe("eu-central-1");
    expect(pricingEndpointRegion("ap-northeast-1")).toBe("ap-south-1");
  });
});

describe("AwsPriceBookSource", () => {
  it("refreshes on schedule, keeps the last good prices on failure, and restores them from its cache", async () => {
    let now = new Date("2026-11-23T12:30:00Z");
    const cacheFile = join(mkdtempSync(join(tmpdir(), "prices-")), "cache.json");
    const src = new AwsPriceBookSource({ region: "us-east-1", ...clients(), retry: fast, cacheFile, now: () => now });
    expect(src.current()).toBeUndefined();
    await src.refreshDue();
    const book = src.current()!;
    expect(book.onDemand.get("m5.large")!.source).toBe("pricing-api");
    expect(book.spot.get("m5.large")!.get("us-east-1a")!.usdPerHour).toBe(0.0331);
    expect(book.zones).toEqual(["us-east-1a", "us-east-1b"]);

    // 30 min later nothing is due; 61 min later only Spot is.
    fake.requests.length = 0;
    now = new Date("2026-11-23T13:00:00Z");
    await src.refreshDue();
    expect(fake.requests).toHaveLength(0);
    setLatestSpot(0.0299);
    now = new Date("2026-11-23T13:31:00Z");
    await src.refreshDue();
    expect(new Set(fake.requests.map((r) => r.action))).toEqual(new Set(["DescribeSpotPriceHistory"]));
    expect(src.current()!.spot.get("m5.large")!.get("us-east-1a")!.usdPerHour).toBe(0.0299);

    // Spot API down: the last good prices stay and the error is recorded.
    fake.broken.add("DescribeSpotPriceHistory");
    setLatestSpot(0.9999);
    now = new Date("2026-11-23T14:40:00Z");
    await src.refreshDue();
    expect(src.lastError).toMatchObject({ part: "spot" });
    expect(src.current()!.spot.get("m5.large")!.get("us-east-1a")!.usdPerHour).toBe(0.0299);

    // A new process starts from the cache before any call succeeds.
    const restarted = new AwsPriceBookSource({
      region: "us-east-1",
      ...clients(),
      retry: fast,
      cacheFile,
      now: () => now,
    });
    expect(restarted.current()!.spot.get("m5.large")!.get("us-east-1a")!.usdPerHour).toBe(0.0299);
    expect(restarted.current()!.onDemand.get("m6g.xlarge")!.usdPerHour).toBe(0.154);
  });
});
