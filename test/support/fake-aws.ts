// A local AWS-shaped endpoint for the price reads, answered as AWS does to the real SDK clients: Pricing GetProducts
// (JSON 1.1, PriceList strings, NextToken, ThrottlingException) and EC2 DescribeSpotPriceHistory (query protocol XML,
// nextToken, RequestLimitExceeded). Prices, throttling and failures are set per test.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeSpotPrice {
  type: string;
  zone: string;
  zoneId: string;
  usd: number;
  timestamp: string;
}

export interface FakeAws {
  url: string;
  /** Linux On-Demand USD/h by type for the region the Pricing API is asked about. */
  onDemand: Map<string, number>;
  spot: FakeSpotPrice[];
  /** Throttled answers still to give per action (GetProducts, DescribeSpotPriceHistory). */
  throttle: Map<string, number>;
  /** Actions that fail with a server error while listed. */
  broken: Set<string>;
  /** Every request: action and the region asked about (Pricing) or the page token. */
  requests: Array<{ action: string; token?: string; regionCode?: string }>;
  close(): Promise<void>;
}

const PRICE_PAGE = 100;
const SPOT_PAGE = 1000;

function product(type: string, region: string, usd: number): string {
  return JSON.stringify({
    product: { productFamily: "Compute Instance", attributes: { instanceType: type, regionCode: region } },
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
  return `<item><availabilityZone>${p.zone}</availabilityZone><availabilityZoneId>${p.zoneId}</availabilityZoneId><instanceType>${p.type}</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>${p.usd.toFixed(6)}</spotPrice><timestamp>${p.timestamp}</timestamp></item>`;
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

function getProducts(fake: FakeAws, body: string, res: ServerResponse): void {
  const input = JSON.parse(body) as { NextToken?: string; Filters?: Array<{ Field: string; Value: string }> };
  const regionCode = input.Filters?.find((f) => f.Field === "regionCode")?.Value ?? "";
  fake.requests.push({ action: "GetProducts", token: input.NextToken, regionCode });
  if (failed(fake, "GetProducts", res, true)) return;
  const all = [...fake.onDemand].map(([t, usd]) => product(t, regionCode, usd));
  const from = Number(input.NextToken ?? 0);
  const next = from + PRICE_PAGE < all.length ? String(from + PRICE_PAGE) : undefined;
  res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
  res.end(
    JSON.stringify({
      FormatVersion: "aws_v1",
      PriceList: all.slice(from, from + PRICE_PAGE),
      ...(next ? { NextToken: next } : {}),
    }),
  );
}

function spotHistory(fake: FakeAws, body: string, res: ServerResponse): void {
  const form = new URLSearchParams(body);
  const token = form.get("NextToken") ?? undefined;
  fake.requests.push({ action: "DescribeSpotPriceHistory", token });
  if (failed(fake, "DescribeSpotPriceHistory", res, false)) return;
  const from = Number(token ?? 0);
  const next = from + SPOT_PAGE < fake.spot.length ? String(from + SPOT_PAGE) : undefined;
  const items = fake.spot
    .slice(from, from + SPOT_PAGE)
    .map(spotItem)
    .join("");
  res.writeHead(200, { "content-type": "text/xml" });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><DescribeSpotPriceHistoryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><spotPriceHistorySet>${items}</spotPriceHistorySet>${next ? `<nextToken>${next}</nextToken>` : ""}</DescribeSpotPriceHistoryResponse>`,
  );
}

function handle(fake: FakeAws, req: IncomingMessage, body: string, res: ServerResponse): void {
  const target = req.headers["x-amz-target"];
  if (typeof target === "string" && target.endsWith(".GetProducts")) return getProducts(fake, body, res);
  const action = new URLSearchParams(body).get("Action");
  if (action === "DescribeSpotPriceHistory") return spotHistory(fake, body, res);
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
