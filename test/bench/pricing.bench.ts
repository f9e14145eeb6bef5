// Price-book benchmark: the operator's refresh of one region's book (every type of the shipped snapshot) through the
// real SDK against the local AWS-shaped endpoint, and the memory the book holds (ConfigMap text, decoded book);
// baseline in the same run: loading the shipped snapshot (read, parse, build the book).
import { readFileSync, statSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { priceBookConfigMaps } from "../../src-shared/pricing/operator-prices.js";
import { createPriceBookReconciler } from "../../operator/controllers/pricebook/reconciler.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { awsPriceFetcher } from "../../src-shared/pricing/aws/fetcher.js";
import {
  decodeBook,
  PRICE_BOOK_DATA_KEY,
  priceBookConfigMapName,
  type StoredBook,
} from "../../src-shared/pricing/book.js";
import {
  loadSnapshotPriceBook,
  readPriceSnapshot,
  snapshotFile,
  type PriceSnapshot,
} from "../../src-shared/pricing/snapshot/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";
import { startTestCluster } from "../support/cluster.js";
import { FAKE_CREDENTIALS, startFakeAws, type FakeAws } from "../support/fake-aws.js";

export const title = "Price book: refresh of every us-east-1 type through the AWS SDK, and the memory the book holds";

const REGION = "us-east-1";
const RUNS = 5;
const NAME = priceBookConfigMapName(REGION);

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(2)} MiB`;

/** AWS's answer for the region: every snapshot type's On-Demand price and a Spot price per type and zone. */
function serveRegion(aws: FakeAws, snapshot: PriceSnapshot): void {
  const zoneNames = snapshot.zones.map((_, i) => `${REGION}${String.fromCharCode(97 + i)}`);
  for (const [type, t] of Object.entries(snapshot.types)) {
    if (t.onDemandUsd === null) continue;
    aws.onDemand.set(type, t.onDemandUsd);
    snapshot.zones.forEach((zoneId, i) => {
      // Without an observed price, a per-zone spread around the derived one: AWS answers differ by zone.
      const usd = t.spotUsdByZone?.[zoneId] ?? (t.derivedSpotUsd ?? t.onDemandUsd! * 0.4) * (1 + i / 100);
      aws.spot.push({ type, zone: zoneNames[i]!, zoneId, usd, timestamp: "2026-11-23T12:00:00.000Z" });
    });
  }
}

/** Heap the value returned by `build` keeps alive, after full collections. */
function heldBytes(build: () => unknown): { bytes: number; value: unknown } {
  gc();
  const before = process.memoryUsage().heapUsed;
  const value = build();
  gc();
  return { bytes: process.memoryUsage().heapUsed - before, value };
}

function baseline(): { ms: number; heap: number } {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    JSON.parse(readFileSync(snapshotFile(REGION), "utf8"));
    loadSnapshotPriceBook(REGION);
    times.push(performance.now() - start);
  }
  const held = heldBytes(() => [JSON.parse(readFileSync(snapshotFile(REGION), "utf8")), loadSnapshotPriceBook(REGION)]);
  return { ms: median(times), heap: held.bytes };
}

type BookMap = KubeObject & { data?: Record<string, string> };

async function refreshes(
  client: KubeClient,
  aws: FakeAws,
): Promise<{ ms: number[]; fetch: { onDemand: number[]; spot: number[] }; requests: number }> {
  const manager = new ControllerManager({ client });
  const configMaps = manager.informer<BookMap>(priceBookConfigMaps());
  manager.start();
  await manager.waitForCacheSync();
  const fetcher = awsPriceFetcher({ endpoint: aws.url, credentials: FAKE_CREDENTIALS });
  const timed = { onDemand: [] as number[], spot: [] as number[] };
  const timing = {
    onDemand: async (region: string, at: Date): ReturnType<typeof fetcher.onDemand> => {
      const start = performance.now();
      const out = await fetcher.onDemand(region, at);
      timed.onDemand.push(performance.now() - start);
      return out;
    },
    spot: async (region: string, at: Date): ReturnType<typeof fetcher.spot> => {
      const start = performance.now();
      const out = await fetcher.spot(region, at);
      timed.spot.push(performance.now() - start);
      return out;
    },
  };
  const ms: number[] = [];
  try {
    for (let i = 0; i <= RUNS; i++) {
      // A new reconciler each run (as after a restart), with both parts due at once.
      const reconcile = createPriceBookReconciler({
        client,
        configMaps,
        namespace: DEFAULT_SYSTEM_NAMESPACE,
        regionsInUse: () => new Set([REGION]),
        fetcher: timing,
        schedule: { onDemandMs: 1, spotMs: 1, backoffBaseMs: 1000, jitter: 0 },
      });
      aws.requests.length = 0;
      const start = performance.now();
      await reconcile(`${DEFAULT_SYSTEM_NAMESPACE}/${NAME}`);
      // The first run also warms the SDK clients and writes the snapshot book first: not counted.
      if (i > 0) ms.push(performance.now() - start);
      const written = await client.get<BookMap>({
        ...priceBookConfigMaps(),
        namespace: DEFAULT_SYSTEM_NAMESPACE,
        name: NAME,
      });
      while (
        configMaps.get(DEFAULT_SYSTEM_NAMESPACE, NAME)?.metadata?.resourceVersion !== written.metadata?.resourceVersion
      )
        await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await manager.stop();
  }
  timed.onDemand.shift();
  timed.spot.shift();
  return { ms, fetch: timed, requests: aws.requests.length };
}

export async function run(): Promise<void> {
  const snapshot = readPriceSnapshot(REGION);
  const base = baseline();
  const aws = await startFakeAws();
  serveRegion(aws, snapshot);
  const server = await startTestCluster();
  const client = new KubeClient(server.kubeConfig);
  try {
    await client
      .create({ apiVersion: "v1", kind: "Namespace", metadata: { name: DEFAULT_SYSTEM_NAMESPACE } })
      .catch(() => undefined);
    const r = await refreshes(client, aws);
    const cm = await client.get<BookMap>({ ...priceBookConfigMaps(), namespace: DEFAULT_SYSTEM_NAMESPACE, name: NAME });
    const text = cm.data![PRICE_BOOK_DATA_KEY]!;
    const stored = JSON.parse(text) as StoredBook;
    const held = heldBytes(() => decodeBook(JSON.parse(text) as StoredBook));
    const fileBytes = statSync(snapshotFile(REGION)).size;
    const refreshMs = median(r.ms);
    console.log(
      `AWS answer served: ${aws.onDemand.size} On-Demand prices, ${aws.spot.length} Spot prices ` +
        `(${r.requests} requests per refresh); book: ${Object.keys(stored.onDemand).length} On-Demand types ` +
        `(sources ${stored.sources.onDemand.source}/${stored.sources.spot.source}), ${Object.keys(stored.spot).length} Spot types`,
    );
    console.log(
      `baseline: load the shipped snapshot (read, parse, build the book): ${base.ms.toFixed(1)} ms (median of ${RUNS})`,
    );
    console.log(
      `refresh: both parts from AWS, merge, apply the ConfigMap: ${refreshMs.toFixed(1)} ms median of ${RUNS} ` +
        `(${(refreshMs / base.ms).toFixed(1)}× the baseline); Pricing API ${median(r.fetch.onDemand).toFixed(1)} ms, ` +
        `DescribeSpotPriceHistory ${median(r.fetch.spot).toFixed(1)} ms`,
    );
    console.log(
      `memory: ConfigMap ${mib(Buffer.byteLength(text))} (${(Buffer.byteLength(text) / fileBytes).toFixed(2)}× the ` +
        `snapshot file's ${mib(fileBytes)}; a ConfigMap holds at most 1 MiB); decoded book held: ` +
        `${mib(held.bytes)} heap (${(held.bytes / base.heap).toFixed(2)}× the snapshot's ${mib(base.heap)} parsed + built)`,
    );
  } finally {
    client.close();
    await server.stop();
    await aws.close();
  }
}
