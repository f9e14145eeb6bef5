// Dashboard figures over HTTP: KPI, projection and composition of the (sole) local cluster, which the operator's
// ManagedCluster status controller measures from its Node/Pod objects and prices from the shipped price snapshot,
// status-only figures for remote clusters, the activity feed and the 30-day cost CSV from AuditEntries; and no
// organisation ever sees another's nodes, entries or decisions.
import { designateLocalCluster } from "../support/local-cluster.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalogPriceBook } from "../../src-shared/pricing/catalog/index.js";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";
import { startStatusController, type RunningStatusController } from "../support/status-controller.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };
const HS = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule" };
const HOURS = 730;

const book = loadCatalogPriceBook("us-east-1");
const od = (t: string): number => book.onDemand.get(t)!.usdPerHour;
const spot = (t: string, zoneId: string): number => book.spot.get(t)!.get(zoneId)!.usdPerHour;

function node([name, type, capacity, zoneId, ready, memory]: [string, string, string, string, boolean, string]): Record<
  string,
  unknown
> {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "node.kubernetes.io/instance-type": type,
        "karpenter.sh/capacity-type": capacity,
        "topology.k8s.aws/zone-id": zoneId,
        "topology.kubernetes.io/zone": "us-east-1a",
      },
    },
    status: {
      allocatable: { cpu: "1930m", memory, pods: "29" },
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    },
  };
}

function pod([name, nodeName, cpu, memory, phase = "Running"]: [
  string,
  string | undefined,
  string,
  string,
  string?,
]): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      containers: [{ name: "app", image: "busybox", resources: { requests: { cpu, memory } } }],
    },
    status: { phase },
  };
}

let f: ResourceFacade;
let controller: RunningStatusController;
beforeAll(async () => {
  f = await startResourceFacade();
  // home is the cluster the operator runs in, as the installer designates it.
  await designateLocalCluster(f.client, { namespace: f.orgA, name: "home", spec: { region: "us-east-1" } });
  await f.client.create({ ...MC, metadata: { name: "far", namespace: f.orgB }, spec: { mode: "remote" } });
  await f.client.patch(
    { ...MC, namespace: f.orgB, name: "far" },
    { status: { nodeCount: 5, spotPercentage: 40, monthlyCostUsd: 900, efficiencyScore: 60 } },
    { type: "merge", subresource: "status" },
  );
  const nodes = [
    node(["n1", "m7i.large", "spot", "use1-az1", true, "6903Mi"]),
    node(["n2", "c7a.large", "spot", "use1-az2", false, "3000Mi"]),
    node(["n3", "m7i.large", "on-demand", "use1-az1", true, "6903Mi"]),
  ];
  for (const n of nodes) {
    const { status, ...rest } = n;
    await f.client.create(rest as never);
    await f.client.patch(
      { apiVersion: "v1", kind: "Node", name: String((n.metadata as { name: string }).name) },
      { status },
      { type: "merge", subresource: "status" },
    );
  }
  for (const p of [
    pod(["a", "n1", "1", "2Gi"]),
    pod(["b", "n3", "965m", "1Gi"]),
    pod(["done", "n2", "1", "1Gi", "Succeeded"]),
    pod(["pending", undefined, "4", "4Gi", "Pending"]),
  ]) {
    const { status, ...rest } = p;
    await f.client.create(rest as never);
    await f.client.patch(
      { apiVersion: "v1", kind: "Pod", namespace: "default", name: String((p.metadata as { name: string }).name) },
      { status },
      { type: "merge", subresource: "status" },
    );
  }
  await f.facade.facades[0]!.audit.record({
    namespace: f.orgA,
    actor: "system:agent",
    event: "Spot interruption notice",
    resource: "cluster/home/node/n2",
    outcome: "success",
  });
  await f.client.create({
    ...HS,
    metadata: { name: "home", namespace: f.orgA },
    spec: { clusterRef: { name: "home" }, timezone: "UTC", weekly: [{ days: ["Mon"], start: "08:00", end: "18:00" }] },
  });
  await f.client.patch(
    { ...HS, namespace: f.orgA, name: "home" },
    { status: { projectedMonthlySavingsUsd: 50 } },
    { type: "merge", subresource: "status" },
  );
  controller = startStatusController(f.client);
  await eventually(
    () => {
      const home = f.cache.cluster(f.orgA, "home")?.status;
      return (
        home?.nodeCount === 3 &&
        home.readyNodes === 2 &&
        home.interruptions7d === 1 &&
        home.cpuUtilisation === (1000 + 965) / (3 * 1930) &&
        f.cache.hibernationSchedules(f.orgA)[0]?.status?.projectedMonthlySavingsUsd === 50 &&
        f.cache.cluster(f.orgB, "far")?.status?.nodeCount === 5
      );
    },
    10_000,
    "the status controller's figures of home (3 nodes, 2 ready, 1 interruption, both pods) and the seeded far and schedule in the facade's cache",
  );
});
afterAll(async () => {
  await controller?.stop();
  await f?.stop();
});

const spotN1 = (): number => spot("m7i.large", "use1-az1");
const spotN2 = (): number => spot("c7a.large", "use1-az2");
const monthly = (): number => (spotN1() + spotN2() + od("m7i.large")) * HOURS;
const baseline = (): number => (od("m7i.large") * 2 + od("c7a.large")) * HOURS;

describe("metrics from nodes, pods and prices", () => {
  it("GET /metrics/kpi follows docs/facade-metrics.md", async () => {
    const res = await f.call("GET", "/metrics/kpi", { token: f.token(f.orgA, "viewer") });
    expect(res.status).toBe(200);
    const cpu = (1000 + 965) / (3 * 1930);
    const mem = (2048 + 1024) / (6903 + 3000 + 6903);
    const interruption = 1 / 2;
    const score = Math.round(100 * (0.5 * ((cpu + mem) / 2) + 0.3 * (2 / 3) + 0.2 * (1 - interruption)));
    expect(res.body).toMatchObject({
      active_nodes: 3,
      spot_percentage: 67,
      fleet_health: Math.round(100 * (2 / 3) * (1 - interruption)),
      efficiency_score_value: score,
      price_source: [
        ...new Set([book.spot.get("m7i.large")!.get("use1-az1")!.source, book.onDemand.get("m7i.large")!.source]),
      ]
        .sort()
        .join("+"),
      savings_baseline: expect.stringContaining("On-Demand"),
    });
    expect(res.body.monthly_spend).toBeCloseTo(monthly(), 2);
    expect(res.body.net_savings).toBeCloseTo(baseline() - monthly(), 2);
    // the oldest date of the prices used, null (unknown) when one of them is undated (the snapshot's observed Spot)
    const used = [
      book.spot.get("m7i.large")!.get("use1-az1")!,
      book.spot.get("c7a.large")!.get("use1-az2")!,
      book.onDemand.get("m7i.large")!,
      book.onDemand.get("c7a.large")!,
    ].map((p) => p.asOf);
    expect(used).toContain("unknown");
    expect(res.body.prices_as_of).toBeNull();
  });

  it("GET /metrics/projection scales monthly figures to the timeframe, with the schedule's hibernation savings", async () => {
    const res = await f.call("GET", "/metrics/projection?cluster_id=home&timeframe=30d", { token: f.token(f.orgA) });
    expect(res.status).toBe(200);
    const factor = (30 * 24) / HOURS;
    expect(res.body.unoptimized_cost).toBeCloseTo(baseline() * factor, 1);
    expect(res.body.breakdown.spot_replacement).toBeCloseTo((baseline() - monthly()) * factor, 1);
    expect(res.body.breakdown.hibernation).toBeCloseTo(50 * factor, 1);
    // No re-plan yet: bin-packing savings are unknown, with the reason (not 0).
    expect(res.body.breakdown.bin_packing).toBeNull();
    expect(res.body.bin_packing.reason).toMatch(/re-plan/);
    expect(res.body.optimized_cost).toBeCloseTo((monthly() - 50) * factor, 1);
    expect(res.body.potential_savings).toBeCloseTo(res.body.unoptimized_cost - res.body.optimized_cost, 1);
    expect((await f.call("GET", "/metrics/projection?timeframe=forever", { token: f.token(f.orgA) })).status).toBe(422);
  });

  it("GET /metrics/composition gives percent by family and lifecycle", async () => {
    const res = await f.call("GET", "/metrics/composition", { token: f.token(f.orgA) });
    expect(res.status).toBe(200);
    expect(res.body.by_family).toEqual({ m7i: 66.7, c7a: 33.3 });
    expect(res.body.by_lifecycle).toEqual({ spot: 66.7, on_demand: 33.3 });
    expect(res.body.node_counts).toMatchObject({ total: 3, spot: 2, on_demand: 1 });
  });

  it("GET /clusters/{id} of the local cluster shows measured health", async () => {
    const res = await f.call("GET", "/clusters/home", { token: f.token(f.orgA) });
    expect(res.body).toMatchObject({
      figures_source: "nodes",
      node_count: 3,
      health_metrics: { ready_nodes: 2, spot_nodes: 2, interruption_rate: 0.5, interruption_rate_reason: null },
    });
    // Known rate: the health is a number, with no reason.
    expect(res.body.health_metrics.fleet_health).toEqual(expect.any(Number));
    expect(res.body.health_metrics.fleet_health_reason).toBeNull();
    const kpi = await f.call("GET", "/metrics/kpi", { token: f.token(f.orgA) });
    expect(kpi.body.fleet_health).toEqual(expect.any(Number));
    expect(kpi.body.fleet_health_reason).toBeNull();
  });

  it("another organisation sees only its own (status-reported) cluster, never these nodes", async () => {
    const kpi = await f.call("GET", "/metrics/kpi", { token: f.token(f.orgB) });
    expect(kpi.body).toMatchObject({
      active_nodes: 5,
      spot_percentage: 40,
      monthly_spend: 900,
      efficiency_score: "C",
      fleet_health: null,
      clusters: 1,
    });
    const comp = await f.call("GET", "/metrics/composition", { token: f.token(f.orgB) });
    expect(comp.body.by_family).toEqual({});
    expect((await f.call("GET", "/metrics/kpi?cluster_id=home", { token: f.token(f.orgB) })).status).toBe(404);
    expect((await f.call("GET", "/metrics/projection?cluster_id=home", { token: f.token(f.orgB) })).status).toBe(404);
  });

  it("a mode-local cluster another organisation declares shows none of these nodes and hides none from the owner", async () => {
    await f.client.create({ ...MC, metadata: { name: "mine-too", namespace: f.orgB }, spec: { mode: "local" } });
    await eventually(
      () => f.cache.cluster(f.orgB, "mine-too")?.status?.conditions?.some((c) => c.type === "Measured"),
      10_000,
      "the status controller's Measured condition on mine-too in the facade's cache",
    );
    const claimed = await f.call("GET", "/clusters/mine-too", { token: f.token(f.orgB) });
    expect(claimed.status).toBe(200);
    expect(claimed.body).toMatchObject({ node_count: null, figures_source: "status" });
    const comp = await f.call("GET", "/metrics/composition?cluster_id=mine-too", { token: f.token(f.orgB) });
    expect(comp.body.by_family).toEqual({});
    const home = await f.call("GET", "/clusters/home", { token: f.token(f.orgA) });
    expect(home.body).toMatchObject({ node_count: 3, figures_source: "nodes" });
    await f.client.delete({ ...MC, namespace: f.orgB, name: "mine-too" });
  });
});

describe("activity feed and cost export", () => {
  const decision = (instanceId: string, oldPrice: number, newPrice: number): Record<string, unknown> => ({
    decision: "SWITCH",
    instanceId,
    instanceType: "t3.medium",
    zone: "us-east-1a",
    oldPriceUsdPerHour: oldPrice,
    newPriceUsdPerHour: newPrice,
    reason: "Cost savings",
  });

  it("lists the organisation's entries newest first with total and paging", async () => {
    const audit = f.facade.facades[0]!.audit;
    await audit.record({
      namespace: f.orgA,
      actor: "system:optimizer",
      event: "Switched node to Spot",
      resource: "node/i-0x89",
      outcome: "success",
      after: decision("i-0x89", 0.0416, 0.0312),
    });
    await audit.record({
      namespace: f.orgB,
      actor: "system:optimizer",
      event: "Switched node to Spot",
      resource: "node/i-beta",
      outcome: "success",
      after: decision("i-beta", 1, 0.5),
    });
    await eventually(
      () =>
        f.cache.auditEntries(f.orgA).some((e) => e.spec.resource === "node/i-0x89") &&
        f.cache.auditEntries(f.orgB).some((e) => e.spec.resource === "node/i-beta"),
    );
    const all = await f.call("GET", "/activity/live?limit=50&offset=0", { token: f.token(f.orgA, "viewer") });
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(f.cache.auditEntries(f.orgA).length);
    expect(all.body.events[0]).toMatchObject({
      action: "Switched node to Spot (node/i-0x89)",
      savings: 0.0104,
      status: "success",
    });
    expect(all.body.events.some((e: any) => e.resource === "node/i-beta")).toBe(false);
    const page = await f.call("GET", "/activity/live?limit=1&offset=1", { token: f.token(f.orgA) });
    expect(page.body.events).toHaveLength(1);
    expect(page.body.events[0].id).toBe(all.body.events[1].id);
    expect((await f.call("GET", "/activity/live?limit=0", { token: f.token(f.orgA) })).status).toBe(422);
  });

  it("shows a decision recorded without a price as savings null with the reason, not 0", async () => {
    const audit = f.facade.facades[0]!.audit;
    const { oldPriceUsdPerHour: _old, newPriceUsdPerHour: _new, ...unpriced } = decision("i-unpriced", 1, 0.5);
    await audit.record({
      namespace: f.orgA,
      actor: "system:optimizer",
      event: "Switched node to Spot",
      resource: "node/i-unpriced",
      outcome: "success",
      after: unpriced,
    });
    const line = await eventually(async () => {
      const r = await f.call("GET", "/activity/live?limit=500", { token: f.token(f.orgA) });
      return r.body.events.find((e: any) => e.resource === "node/i-unpriced");
    });
    expect(line).toMatchObject({ savings: null, savings_reason: expect.stringContaining("without") });
  });

  it("exports the last 30 days of decisions as CSV with a TOTAL row (monthly = hourly × 730)", async () => {
    // An entry from 40 days ago, as an operator would have written it then: outside the window.
    await f.client.create({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "AuditEntry",
      metadata: { name: "legacy-decision", namespace: f.orgA },
      spec: {
        actor: "system:optimizer",
        event: "Switched node to Spot",
        resource: "node/i-old",
        outcome: "success",
        timestamp: new Date(Date.now() - 40 * 86_400_000).toISOString(),
        after: decision("i-old", 1, 0.1),
        prevHash: "",
      },
    });
    await eventually(() => f.cache.auditEntries(f.orgA).some((e) => e.metadata.name === "legacy-decision"));
    const res = await f.call("GET", "/client/costs/export", { token: f.token(f.orgA, "viewer") });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/csv");
    expect(res.headers.get("content-disposition")).toMatch(/cost_savings_export_\d{4}-\d{2}-\d{2}\.csv/);
    const lines = res.text.trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "Date,Instance ID,Instance Type,Availability Zone,Old Spot Price,New Spot Price,Hourly Savings,Monthly Projected,Decision,Reason,Price Source,Prices As Of",
    );
    expect(lines.slice(1, -1)).toEqual([
      expect.stringMatching(
        /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},i-0x89,t3\.medium,us-east-1a,\$0\.0416,\$0\.0312,\$0\.0104,\$7\.59,SWITCH,Cost savings,,$/,
      ),
    ]);
    expect(lines.at(-1)).toMatch(/^TOTAL,,,,,,,\$7\.59,,"sum of Monthly Projected: .*",,$/);
    const other = await f.call("GET", "/client/costs/export", { token: f.token(f.orgB) });
    expect(other.text).toContain("i-beta");
    expect(other.text).not.toContain("i-0x89");
    expect(other.text.trimEnd().split("\r\n").at(-1)).toMatch(/^TOTAL,,,,,,,\$365\.00,,/);
  });
});
