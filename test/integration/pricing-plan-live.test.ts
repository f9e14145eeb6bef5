// `spotctl plan` without --data but with AWS credentials: prices come live from (a local AWS-shaped) EC2 and Pricing API.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const bin = resolve(import.meta.dirname, "../../bin/spotctl.mjs");
let server: Server;
let endpoint: string;
let pricesUp = true;

const TYPES = `<item><instanceType>m5.large</instanceType><vCpuInfo><defaultVCpus>2</defaultVCpus></vCpuInfo><memoryInfo><sizeInMiB>8192</sizeInMiB></memoryInfo>
<processorInfo><supportedArchitectures><item>x86_64</item></supportedArchitectures></processorInfo>
<networkInfo><maximumNetworkInterfaces>3</maximumNetworkInterfaces><ipv4AddressesPerInterface>10</ipv4AddressesPerInterface></networkInfo></item>`;
const SPOT = `<item><availabilityZone>us-east-1c</availabilityZone><instanceType>m5.large</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>0.0371</spotPrice><timestamp>2026-11-23T12:00:00.000Z</timestamp></item>`;
const PRODUCT = JSON.stringify({
  product: { attributes: { instanceType: "m5.large" } },
  terms: { OnDemand: { t: { priceDimensions: { d: { unit: "Hrs", pricePerUnit: { USD: "0.0960000000" } } } } } },
});

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (!pricesUp) {
        res.writeHead(500, { "content-type": "text/xml" });
        res.end(
          "<Response><Errors><Error><Code>InternalError</Code><Message>down</Message></Error></Errors></Response>",
        );
        return;
      }
      if (String(req.headers["x-amz-target"] ?? "").endsWith("GetProducts")) {
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify({ FormatVersion: "aws_v1", PriceList: [PRODUCT] }));
        return;
      }
      const action = new URLSearchParams(body).get("Action");
      const [set, inner] =
        action === "DescribeInstanceTypes" ? ["instanceTypeSet", TYPES] : ["spotPriceHistorySet", SPOT];
      res.writeHead(200, { "content-type": "text/xml" });
      res.end(
        `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><${set}>${inner}</${set}></${action}Response>`,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function plan(): Promise<{ stdout: string; stderr: string }> {
  const file = join(mkdtempSync(join(tmpdir(), "plan-live-")), "pods.csv");
  writeFileSync(file, "app,cpu_millicores,memory_mib,count\nweb,500,1024,3\n");
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: "AKIDFAKE",
    AWS_SECRET_ACCESS_KEY: "fake",
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: "us-east-1",
  };
  return run(process.execPath, [bin, "plan", "--pods", file], { env, encoding: "utf8" });
}

describe("spotctl plan with AWS credentials", () => {
  it("plans with live Spot history and Pricing API prices", async () => {
    pricesUp = true;
    const out = JSON.parse((await plan()).stdout);
    expect(out.nodes).toEqual([
      expect.objectContaining({
        instanceType: "m5.large",
        capacityType: "spot",
        zone: "us-east-1c",
        hourlyUsd: 0.0371,
        onDemandHourlyUsd: 0.096,
        priceSource: "spot-history",
      }),
    ]);
    // the node's Spot price and the baseline's On-Demand price, dated by the older (the Spot history's timestamp)
    expect(out.prices).toMatchObject({ source: "pricing-api,spot-history", asOf: "2026-11-23T12:00:00.000Z" });
    expect(Date.parse(out.prices.bySource["pricing-api"])).toBeGreaterThanOrEqual(Date.parse("2026-11-23T12:00:00Z"));
  });

  it("falls back to the shipped snapshot, saying so, when AWS does not answer", async () => {
    pricesUp = false;
    const { stdout, stderr } = await plan();
    expect(stderr).toMatch(/AWS prices unavailable .*using the shipped price snapshot/);
    // the nodes' sources and the baseline's On-Demand one (the snapshot's), comma-separated
    expect(JSON.parse(stdout).prices.source).toMatch(/^(derived,)?snapshot$/);
  });
});
