// A local AWS-shaped endpoint for the price and instance reads, answered as AWS does to the real SDK clients: Pricing
// GetProducts (JSON 1.1, PriceList strings, NextToken, ThrottlingException), EC2 DescribeSpotPriceHistory and
// DescribeInstanceTypes (query protocol XML, nextToken, RequestLimitExceeded). Data, page sizes, throttling and
// failures are set per test.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeSpotPrice {
  type: string;
  zone: string;
  /** Absent: the answer names only the zone (as older AWS answers did). */
  zoneId?: string;
  usd: number;
  timestamp: string;
}

export interface FakeInstanceType {
  type: string;
  vcpus: number;
  memoryMiB: number;
  arch: "x86_64" | "arm64";
  enis: number;
  ipsPerEni: number;
  gpu?: { name: string; manufacturer: string; count: number; memoryMiB: number };
}

export type FakeAction = "GetProducts" | "DescribeSpotPriceHistory" | "DescribeInstanceTypes";

export interface FakeAws {
  url: string;
  /** Linux On-Demand USD/h by type for the region the Pricing API is asked about. */
  onDemand: Map<string, number>;
  /** Answered in this order, a page at a time. */
  spot: FakeSpotPrice[];
  instanceTypes: FakeInstanceType[];
  /** Items per page by action; the next page's token is `page-<n>`. */
  pageSize: Record<FakeAction, number>;
  /** Throttled answers still to give per action. */
  throttle: Map<string, number>;
  /** Actions that fail with a server error while listed. */
  broken: Set<string>;
  /** Every request: action, page token, the region asked about (Pricing) and the raw body. */
  requests: Array<{ action: string; token?: string; regionCode?: string; body: string }>;
  close(): Promise<void>;
}

function product(type: string, region: string, usd: number): string {
  return JSON.stringify({
    product: {
      productFamily: "Compute Instance",
      attributes: { instanceType: type, operatingSystem: "Linux", tenancy: "Shared", regionCode: region },
    },
    terms: {
      OnDemand: {
        "T.JRTCKXETXF": {
          priceDimensions: { "T.JRTCKXETXF.6YS6EN2CT7": { unit: "Hrs", pricePerUnit: { USD: String(usd) } } },
        },
      },
    },
  });
}

function spotItem(p: FakeSpotPrice): string {
  const zoneId = p.zoneId ? `<availabilityZoneId>${p.zoneId}</availabilityZoneId>` : "";
  return `<item><availabilityZone>${p.zone}</availabilityZone>${zoneId}<instanceType>${p.type}</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>${p.usd.toFixed(6)}</spotPrice><timestamp>${p.timestamp}</timestamp></item>`;
}

function typeItem(t: FakeInstanceType): string {
  const gpu = t.gpu
    ? `<gpuInfo><gpus><item><name>${t.gpu.name}</name><manufacturer>${t.gpu.manufacturer}</manufacturer><count>${t.gpu.count}</count><memoryInfo><sizeInMiB>${t.gpu.memoryMiB}</sizeInMiB></memoryInfo></item></gpus></gpuInfo>`
    : "";
  return `<item><instanceType>${t.type}</instanceType><vCpuInfo><defaultVCpus>${t.vcpus}</defaultVCpus></vCpuInfo><memoryInfo><sizeInMiB>${t.memoryMiB}</sizeInMiB></memoryInfo><processorInfo><supportedArchitectures><item>${t.arch}</item></supportedArchitectures></processorInfo><networkInfo><maximumNetworkInterfaces>${t.enis}</maximumNetworkInterfaces><ipv4AddressesPerInterface>${t.ipsPerEni}</ipv4AddressesPerInterface></networkInfo>${gpu}<bareMetal>false</bareMetal></item>`;
}

function failed(fake: FakeAws, action: string, res: ServerResponse, json: boolean): boolean {
  if (fake.broken.has(action)) {
    res.writeHead(500, { "content-type": json ? "application/x-amz-json-1.1" : "text/xml" });
    res.end(
      json
        ? JSON.stringify({ __type: "InternalErrorException", message: "internal error" })
        : `<Response><Errors><Error><Code>InternalError</Code><Message>internal error</Message></Error></Errors><RequestID>r</RequestID></Response>`,
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

/** The page a token asks for, and the token of the page after it. */
function pageOf<T>(items: readonly T[], token: string | undefined, size: number): { items: T[]; next?: string } {
  const n = token ? Number(token.replace("page-", "")) : 0;
  const from = n * size;
  return { items: items.slice(from, from + size), ...(from + size < items.length ? { next: `page-${n + 1}` } : {}) };
}

function getProducts(fake: FakeAws, body: string, res: ServerResponse): void {
  const input = JSON.parse(body) as { NextToken?: string; Filters?: Array<{ Field: string; Value: string }> };
  const regionCode = input.Filters?.find((f) => f.Field === "regionCode")?.Value ?? "";
  fake.requests.push({ action: "GetProducts", token: input.NextToken, regionCode, body });
  if (failed(fake, "GetProducts", res, true)) return;
  const all = [...fake.onDemand].map(([t, usd]) => product(t, regionCode, usd));
  const page = pageOf(all, input.NextToken, fake.pageSize.GetProducts);
  res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
  res.end(
    JSON.stringify({ FormatVersion: "aws_v1", PriceList: page.items, ...(page.next ? { NextToken: page.next } : {}) }),
  );
}

function ec2Query(fake: FakeAws, action: "DescribeSpotPriceHistory" | "DescribeInstanceTypes", body: string): string {
  const token = new URLSearchParams(body).get("NextToken") ?? undefined;
  fake.requests.push({ action, token, body });
  const spot = action === "DescribeSpotPriceHistory";
  const page = spot
    ? pageOf(fake.spot.map(spotItem), token, fake.pageSize[action])
    : pageOf(fake.instanceTypes.map(typeItem), token, fake.pageSize[action]);
  const set = spot ? "spotPriceHistorySet" : "instanceTypeSet";
  return `<?xml version="1.0" encoding="UTF-8"?><${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><${set}>${page.items.join("")}</${set}>${page.next ? `<nextToken>${page.next}</nextToken>` : ""}</${action}Response>`;
}

function handle(fake: FakeAws, req: IncomingMessage, body: string, res: ServerResponse): void {
  const target = req.headers["x-amz-target"];
  if (typeof target === "string" && target.endsWith(".GetProducts")) return getProducts(fake, body, res);
  const action = new URLSearchParams(body).get("Action");
  if (action === "DescribeSpotPriceHistory" || action === "DescribeInstanceTypes") {
    const xml = ec2Query(fake, action, body);
    if (failed(fake, action, res, false)) return;
    res.writeHead(200, { "content-type": "text/xml" });
    res.end(xml);
    return;
  }
  res.writeHead(400, { "content-type": "text/xml" });
  res.end(
    `<Response><Errors><Error><Code>InvalidAction</Code><Message>${action}</Message></Error></Errors></Response>`,
  );
}

/** Starts the endpoint on 127.0.0.1 (ephemeral port). */
export async function startFakeAws(): Promise<FakeAws> {
  const holder: { server?: Server } = {};
  const fake: FakeAws = {
    url: "",
    onDemand: new Map(),
    spot: [],
    instanceTypes: [],
    pageSize: { GetProducts: 100, DescribeSpotPriceHistory: 1000, DescribeInstanceTypes: 100 },
    throttle: new Map(),
    broken: new Set(),
    requests: [],
    close: () => new Promise<void>((resolve) => (holder.server ? holder.server.close(() => resolve()) : resolve())),
  };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => handle(fake, req, body, res));
  });
  holder.server = server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/** Fake credentials for the SDK clients (the endpoint does not check signatures). */
export const FAKE_CREDENTIALS = { accessKeyId: "AKIDFAKEFAKEFAKE", secretAccessKey: "fake-secret" };
