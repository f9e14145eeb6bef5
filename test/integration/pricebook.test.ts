// The operator's price book end to end: the price-book controller refreshes On-Demand (Pricing API) and Spot
// (DescribeSpotPriceHistory) through the real SDK against a local AWS-shaped endpoint that throttles, writes one
// ConfigMap per region, and the ManagedCluster status (PricesFresh, figures) and the facade's HTTP answers price from
// it; a restarted controller keeps the live prices and writes nothing; a failing refresh keeps the last good prices
// and says so; an old book is flagged stale.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerManagedClusterController } from "../../operator/controllers/managedcluster/status/controller.js";
import { createManagedClusterReconciler } from "../../operator/controllers/managedcluster/status/reconciler.js";
import { operatorPrices, priceBookConfigMaps } from "../../src-shared/pricing/operator-prices.js";
import { registerPriceBookController } from "../../operator/controllers/pricebook/controller.js";
import { createPriceBookReconciler, type RefreshSchedule } from "../../operator/controllers/pricebook/reconciler.js";
import type { KubeClient, KubeObject } from "../../src-shared/kube/index.js";
import { awsPriceFetcher } from "../../src-shared/pricing/aws/fetcher.js";
import { PRICE_BOOK_DATA_KEY, storedRegionPrices, type StoredBook } from "../../src-shared/pricing/book.js";
import { loadSnapshotPriceBook } from "../../src-shared/pricing/snapshot/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { DEFAULT_SYSTEM_NAMESPACE, localClusterFromConfigMap } from "../../src-shared/tenancy/cluster-target.js";
import { eventually } from "../support/cluster.js";
import { FAKE_CREDENTIALS, startFakeAws, type FakeAws } from "../support/fake-aws.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";
import { designateLocalCluster } from "../support/local-cluster.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };
const BOOK = {
  apiVersion: "v1",
  kind: "ConfigMap",
  namespace: DEFAULT_SYSTEM_NAMESPACE,
  name: "spot-optimizer-prices-us-east-1",
};
const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 };
const LONG: RefreshSchedule = { onDemandMs: 12 * 3_600_000, spotMs: 3_600_000, backoffBaseMs: 50, jitter: 0.1 };

let aws: FakeAws;
let f: ResourceFacade;
let manager: ControllerManager;

function node(name: string, capacity: string, zoneId: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "node.kubernetes.io/instance-type": "m5.large",
        "karpenter.sh/capacity-type": capacity,
        "topology.kubernetes.io/region": "us-east-1",
        "topology.kubernetes.io/zone": "us-east-1a",
        "topology.k8s.aws/zone-id": zoneId,
      },
    },
  };
}

async function storedBook(): Promise<{ book: StoredBook; resourceVersion: string }> {
  const cm = await f.client.get<KubeObject & { data: Record<string, string> }>(BOOK);
  return {
    book: JSON.parse(cm.data[PRICE_BOOK_DATA_KEY]!) as StoredBook,
    resourceVersion: cm.metadata!.resourceVersion!,
  };
}

type Cluster = KubeObject & {
  status?: {
    monthlyCostUsd?: number;
    prices?: { source: string; stale?: boolean };
    conditions?: Array<Record<string, string>>;
  };
};
const pricesFresh = (c: Cluster): Record<string, string> | undefined =>
  c.status?.conditions?.find((x) => x.type === "PricesFresh");

/** A client that counts the writes it sends (the API server also skips identical writes, so count requests). */
function countingClient(c: KubeClient): { client: KubeClient; writes: () => number } {
  let writes = 0;
  const counting = Object.create(c) as KubeClient;
  counting.patch = ((...args: Parameters<KubeClient["patch"]>) => (writes++, c.patch(...args))) as KubeClient["patch"];
  counting.create = ((...args: Parameters<KubeClient["create"]>) => (
    writes++,
    c.create(...args)
  )) as KubeClient["create"];
  counting.delete = ((...args: Parameters<KubeClient["delete"]>) => (
    writes++,
    c.delete(...args)
  )) as KubeClient["delete"];
  return { client: counting, writes: () => writes };
}

beforeAll(async () => {
  aws = await startFakeAws();
  aws.onDemand.set("m5.large", 0.2).set("c5.large", 0.11);
  aws.spot.push(
    { type: "m5.large", zone: "us-east-1a", zoneId: "use1-az1", usd: 0.05, timestamp: "2026-10-01T00:00:00.000Z" },
    { type: "m5.large", zone: "us-east-1b", zoneId: "use1-az2", usd: 0.06, timestamp: "2026-10-02T00:00:00.000Z" },
  );
  // Both APIs throttle first: the refresh backs off and succeeds.
  aws.throttle.set("GetProducts", 2).set("DescribeSpotPriceHistory", 2);
  f = await startResourceFacade();
  await designateLocalCluster(f.client, { namespace: f.orgA, name: "home", spec: { region: "us-east-1" } });
  for (const n of [node("pb-od", "on-demand", "use1-az1"), node("pb-spot", "spot", "use1-az1")]) {
    await f.client.create(n);
    await f.client.patch(
      { apiVersion: "v1", kind: "Node", name: n.metadata!.name! },
      { status: { allocatable: { cpu: "2", memory: "8Gi" }, conditions: [{ type: "Ready", status: "True" }] } },
      { type: "merge", subresource: "status" },
    );
  }
  manager = new ControllerManager({ client: f.client });
  const fetcher = awsPriceFetcher({ endpoint: aws.url, credentials: FAKE_CREDENTIALS, retry: fast });
  registerPriceBookController({ manager, client: f.client, fetcher, schedule: LONG });
  registerManagedClusterController({ manager, client: f.client, prices: operatorPrices(manager) });
  manager.start();
  await manager.waitForCacheSync();
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  await f?.stop();
  await aws?.close();
});

describe("the operator's price book", () => {
  it("refreshes On-Demand and Spot from AWS through throttling into the region's ConfigMap, each price with source and date", async () => {
    const { book } = await eventually(
      async () => {
        const got = await f.client.getIfExists(BOOK).then((cm) => (cm ? storedBook() : undefined));
        return got?.book.sources.spot.source === "spot-history" && got.book.sources.onDemand.source === "pricing-api"
          ? got
          : undefined;
      },
      20_000,
      "a live price book",
    );
    // Each API was throttled twice and then answered.
    expect(aws.requests.filter((r) => r.action === "GetProducts").length).toBeGreaterThanOrEqual(3);
    expect(aws.requests.filter((r) => r.action === "DescribeSpotPriceHistory").length).toBeGreaterThanOrEqual(3);
    expect(aws.requests.find((r) => r.action === "GetProducts")?.regionCode).toBe("us-east-1");
    const at = book.sources.onDemand.refreshedAt!;
    expect(book.onDemand["m5.large"]).toEqual([0.2, "pricing-api", at]);
    // Spot is keyed by AZ id and dated by the refresh that saw it in effect.
    expect(book.spot["m5.large"]).toEqual({
      "use1-az1": [0.05, "spot-history", book.sources.spot.refreshedAt],
      "use1-az2": [0.06, "spot-history", book.sources.spot.refreshedAt],
    });
    // A type AWS did not answer for keeps the shipped snapshot's price, labelled as such.
    const snapshot = loadSnapshotPriceBook("us-east-1");
    expect(book.onDemand["r5.large"]).toEqual([
      snapshot.onDemand.get("r5.large")!.usdPerHour,
      "snapshot",
      expect.any(String),
    ]);
    // Without a Spot price: On-Demand × (1 − advisor savings), labelled derived, the same in every zone.
    const derived = Object.entries(book.spot).find(([, z]) => z["*"]?.[1] === "derived");
    expect(derived).toBeDefined();
  }, 30_000);

  it("prices the cluster's status and the facade's answers from the book, and PricesFresh says where from", async () => {
    const mc = await eventually(
      async () => {
        const c = await f.client.get<Cluster>({ ...MC, namespace: f.orgA, name: "home" });
        return pricesFresh(c)?.reason === "Refreshed" && c.status?.monthlyCostUsd !== undefined ? c : undefined;
      },
      20_000,
      "PricesFresh=Refreshed on the cluster",
    );
    expect(pricesFresh(mc)).toMatchObject({ status: "True" });
    expect(pricesFresh(mc)!.message).toMatch(/On-Demand: pricing-api as of .*; Spot: spot-history as of /);
    expect(mc.status?.monthlyCostUsd).toBe(Math.round((0.2 + 0.05) * 730 * 100) / 100);
    expect(mc.status?.prices?.source).toBe("pricing-api+spot-history");
    const res = await eventually(async () => {
      const r = await f.call("GET", "/clusters/home", { token: f.token(f.orgA) });
      return r.body.monthly_cost === 182.5 ? r : undefined;
    });
    expect(res.body.price_source).toMatch(/pricing-api/);
    expect(res.body.prices_stale).toBe(false);
  }, 30_000);

  it("a restarted controller keeps the live prices, asks AWS nothing before they are due and writes nothing", async () => {
    const before = await storedBook();
    const asked = aws.requests.length;
    const counting = countingClient(f.client);
    const reconcile = createPriceBookReconciler({
      client: counting.client,
      configMaps: manager.informer(priceBookConfigMaps()),
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      regionsInUse: () => new Set(["us-east-1"]),
      fetcher: awsPriceFetcher({ endpoint: aws.url, credentials: FAKE_CREDENTIALS, retry: fast }),
      schedule: LONG,
    });
    const result = await reconcile(`${DEFAULT_SYSTEM_NAMESPACE}/${BOOK.name}`);
    expect(counting.writes()).toBe(0);
    expect(aws.requests.length).toBe(asked);
    expect((await storedBook()).resourceVersion).toBe(before.resourceVersion);
    // It comes back when the Spot part is due (within the hour), not before.
    expect(result?.requeueAfterMs).toBeGreaterThan(0);
    expect(result?.requeueAfterMs).toBeLessThanOrEqual(3_600_000);
  });

  it("a failing refresh keeps the last good prices and records the failure (backing off), which PricesFresh shows", async () => {
    aws.broken.add("GetProducts");
    const due: RefreshSchedule = { ...LONG, onDemandMs: 1 };
    const reconcile = createPriceBookReconciler({
      client: f.client,
      configMaps: manager.informer(priceBookConfigMaps()),
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      regionsInUse: () => new Set(["us-east-1"]),
      fetcher: awsPriceFetcher({ endpoint: aws.url, credentials: FAKE_CREDENTIALS, retry: fast }),
      schedule: due,
    });
    const first = await reconcile(`${DEFAULT_SYSTEM_NAMESPACE}/${BOOK.name}`);
    const { book } = await storedBook();
    expect(book.onDemand["m5.large"]?.slice(0, 2)).toEqual([0.2, "pricing-api"]);
    expect(book.sources.onDemand.error?.message).toBeTruthy();
    // Backoff: the retry waits the base delay (± jitter), not the full interval.
    expect(first?.requeueAfterMs).toBeLessThan(3_600_000);
    const mc = await eventually(
      async () => {
        const c = await f.client.get<Cluster>({ ...MC, namespace: f.orgA, name: "home" });
        return pricesFresh(c)?.reason === "RefreshFailing" ? c : undefined;
      },
      20_000,
      "PricesFresh=RefreshFailing",
    );
    expect(pricesFresh(mc)!.message).toMatch(/On-Demand: pricing-api as of .* refresh failing since/);
    aws.broken.delete("GetProducts");
  }, 30_000);

  it("flags a book older than the configured age as stale in the figures that use it", async () => {
    await manager.stop();
    const later = new Date(Date.now() + 9 * 24 * 3_600_000);
    const informer = manager.informer(priceBookConfigMaps());
    const prices = storedRegionPrices({
      configMaps: () => informer.list(),
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      maxAgeMs: 7 * 24 * 3_600_000,
      now: () => later,
    });
    expect(prices("us-east-1").stale).toBe(true);
    const reconcile = createManagedClusterReconciler({
      client: f.client,
      clusters: manager.informer(MC),
      nodes: manager.informer({ apiVersion: "v1", kind: "Node" }),
      pods: manager.informer({ apiVersion: "v1", kind: "Pod" }),
      auditEntries: manager.informer({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "AuditEntry" }),
      prices,
      priceMaxAgeMs: 7 * 24 * 3_600_000,
      localCluster: localClusterFromConfigMap((ref) => f.client.getIfExists(ref)),
      now: () => later,
    });
    await reconcile(`${f.orgA}/home`);
    const mc = await f.client.get<Cluster>({ ...MC, namespace: f.orgA, name: "home" });
    expect(pricesFresh(mc)).toMatchObject({ status: "False", reason: "Stale" });
    expect(mc.status?.prices?.stale).toBe(true);
  }, 30_000);
});
