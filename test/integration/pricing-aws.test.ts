// AWS adapters against a local AWS-shaped endpoint, through the real SDK clients: XML/JSON serialisation, NextToken pagination, throttling retries, last-good prices.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EC2Client } from "@aws-sdk/client-ec2";
import { PricingClient } from "@aws-sdk/client-pricing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { describeInstanceShapes, describeLatestSpotPrices } from "../../src-shared/pricing/aws/ec2.js";
import { getOnDemandPrices, pricingEndpointRegion } from "../../src-shared/pricing/aws/pricing-api.js";
import { AwsPriceBookSource } from "../../src-shared/pricing/aws/source.js";

const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 };

interface FakeAws {
  /** failures still to serve per action before answering */
  throttle: Map<string, number>;
  /** actions that fail (non-throttling) while set */
  broken: Set<string>;
  requests: Array<{ action: string; token?: string; body: string }>;
  spotPrice: string;
}

const fake: FakeAws = { throttle: new Map(), broken: new Set(), requests: [], spotPrice: "0.0331" };

const TYPES_PAGES = [
  `<item><instanceType>m5.large</instanceType><vCpuInfo><defaultVCpus>2</defaultVCpus></vCpuInfo><memoryInfo><sizeInMiB>8192</sizeInMiB></memoryInfo>
   <processorInfo><supportedArchitectures><item>x86_64</item></supportedArchitectures></processorInfo>
   <networkInfo><maximumNetworkInterfaces>3</maximumNetworkInterfaces><ipv4AddressesPerInterface>10</ipv4AddressesPerInterface></networkInfo><bareMetal>false</bareMetal></item>`,
  `<item><instanceType>m6g.xlarge</instanceType><vCpuInfo><defaultVCpus>4</defaultVCpus></vCpuInfo><memoryInfo><sizeInMiB>16384</sizeInMiB></memoryInfo>
   <processorInfo><supportedArchitectures><item>arm64</item></supportedArchitectures></processorInfo>
   <networkInfo><maximumNetworkInterfaces>4</maximumNetworkInterfaces><ipv4AddressesPerInterface>15</ipv4AddressesPerInterface></networkInfo><bareMetal>false</bareMetal></item>
   <item><instanceType>g4dn.xlarge</instanceType><vCpuInfo><defaultVCpus>4</defaultVCpus></vCpuInfo><memoryInfo><sizeInMiB>16384</sizeInMiB></memoryInfo>
   <processorInfo><supportedArchitectures><item>x86_64</item></supportedArchitectures></processorInfo>
   <networkInfo><maximumNetworkInterfaces>3</maximumNetworkInterfaces><ipv4AddressesPerInterface>10</ipv4AddressesPerInterface></networkInfo>
   <gpuInfo><gpus><item><name>T4</name><manufacturer>NVIDIA</manufacturer><count>1</count><memoryInfo><sizeInMiB>16384</sizeInMiB></memoryInfo></item></gpus></gpuInfo><bareMetal>false</bareMetal></item>`,
];

function spotPages(): string[] {
  return [
    `<item><availabilityZone>us-east-1a</availabilityZone><instanceType>m5.large</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>0.0400</spotPrice><timestamp>2026-11-23T10:00:00.000Z</timestamp></item>
     <item><availabilityZone>us-east-1a</availabilityZone><instanceType>m5.large</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>${fake.spotPrice}</spotPrice><timestamp>2026-11-23T12:00:00.000Z</timestamp></item>`,
    `<item><availabilityZone>us-east-1b</availabilityZone><instanceType>m5.large</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>0.0350</spotPrice><timestamp>2026-11-23T11:00:00.000Z</timestamp></item>
     <item><availabilityZone>us-east-1a</availabilityZone><instanceType>m6g.xlarge</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>0.0500</spotPrice><timestamp>2026-11-23T11:30:00.000Z</timestamp></item>`,
  ];
}

function product(type: string, usd: string): string {
  return JSON.stringify({
    product: {
      productFamily: "Compute Instance",
      attributes: { instanceType: type, operatingSystem: "Linux", tenancy: "Shared", regionCode: "us-east-1" },
    },
    terms: {
      OnDemand: {
        "ABC.JRTCKXETXF": {
          priceDimensions: { "ABC.JRTCKXETXF.6YS6EN2CT7": { unit: "Hrs", pricePerUnit: { USD: usd } } },
        },
      },
    },
  });
}
const PRICE_PAGES = [
  [product("m5.large", "0.0960000000")],
  [product("m6g.xlarge", "0.1540000000"), product("g4dn.xlarge", "0.5260000000")],
];

function ec2Xml(action: string, set: string, inner: string, next?: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><${set}>${inner}</${set}>${next ? `<nextToken>${next}</nextToken>` : ""}</${action}Response>`;
}

function page(token: string | undefined): number {
  return token ? Number(token.replace("page-", "")) : 0;
}

function failFirst(action: string, res: ServerResponse, json: boolean): boolean {
  if (fake.broken.has(action)) {
    res.writeHead(500, { "content-type": json ? "application/x-amz-json-1.1" : "text/xml" });
    res.end(
      json
        ? JSON.stringify({ __type: "InternalErrorException", message: "boom" })
        : `<Response><Errors><Error><Code>InternalError</Code><Message>boom</Message></Error></Errors><RequestID>r</RequestID></Response>`,
    );
    return true;
  }
  const left = fake.throttle.get(action) ?? 0;
  if (left <= 0) return false;
  fake.throttle.set(action, left - 1);
  if (json) {
    res.writeHead(400, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": "ThrottlingException" });
    res.end(JSON.stringify({ __type: "ThrottlingException", message: "Rate exceeded" }));
  } else {
    res.writeHead(503, { "content-type": "text/xml" });
    res.end(
      `<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>`,
    );
  }
  return true;
}

function handle(req: IncomingMessage, body: string, res: ServerResponse): void {
  const target = req.headers["x-amz-target"];
  if (typeof target === "string" && target.endsWith(".GetProducts")) {
    const input = JSON.parse(body) as { NextToken?: string; Filters: Array<{ Field: string; Value: string }> };
    fake.requests.push({ action: "GetProducts", token: input.NextToken, body });
    if (failFirst("GetProducts", res, true)) return;
    const n = page(input.NextToken);
    res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
    res.end(
      JSON.stringify({
        FormatVersion: "aws_v1",
        PriceList: PRICE_PAGES[n],
        ...(n + 1 < PRICE_PAGES.length ? { NextToken: `page-${n + 1}` } : {}),
      }),
    );
    return;
  }
  const form = new URLSearchParams(body);
  const action = form.get("Action") ?? "";
  const token = form.get("NextToken") ?? undefined;
  fake.requests.push({ action, token, body });
  if (failFirst(action, res, false)) return;
  const n = page(token);
  const pages = action === "DescribeInstanceTypes" ? TYPES_PAGES : spotPages();
  const set = action === "DescribeInstanceTypes" ? "instanceTypeSet" : "spotPriceHistorySet";
  res.writeHead(200, { "content-type": "text/xml" });
  res.end(ec2Xml(action, set, pages[n]!, n + 1 < pages.length ? `page-${n + 1}` : undefined));
}

let server: Server;
let endpoint: string;
const credentials = { accessKeyId: "AKIDFAKEFAKEFAKE", secretAccessKey: "fake-secret" };
const clients = (): { ec2: EC2Client; pricing: PricingClient } => ({
  ec2: new EC2Client({ region: "us-east-1", endpoint, credentials, maxAttempts: 1 }),
  pricing: new PricingClient({ region: "us-east-1", endpoint, credentials, maxAttempts: 1 }),
});

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => handle(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  fake.throttle.clear();
  fake.broken.clear();
  fake.requests.length = 0;
  fake.spotPrice = "0.0331";
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
    fake.spotPrice = "0.0299";
    now = new Date("2026-11-23T13:31:00Z");
    await src.refreshDue();
    expect(new Set(fake.requests.map((r) => r.action))).toEqual(new Set(["DescribeSpotPriceHistory"]));
    expect(src.current()!.spot.get("m5.large")!.get("us-east-1a")!.usdPerHour).toBe(0.0299);

    // Spot API down: the last good prices stay and the error is recorded.
    fake.broken.add("DescribeSpotPriceHistory");
    fake.spotPrice = "0.9999";
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
