// Unknown is not zero, over HTTP: an unpriced node, a cluster that has not reported and a partly priced fleet give
// null money figures with the reason (never 0, never a partial sum passed off as the whole); totals name what they
// leave out; bin-packing and hibernation savings come from recorded state (the last plan, the controller's figure) or
// are null with the reason; unknown interruptions earn no points; money in JSON is rounded to cents in one place; node
// counts and Spot shares of clusters that have not reported are null with the reason, and node totals leave them out;
// feed lines that are no decision have no saving (null with the reason).
import { designateLocalCluster } from "../support/local-cluster.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { ADMIN } from "../support/facade.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";
import { startStatusController, type RunningStatusController } from "../support/status-controller.js";
import { loadSnapshotPriceBook } from "../../src-shared/pricing/snapshot/index.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };
const HS = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule" };
const HOURS = 730;

function node(name: string, type: string, capacity: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "node.kubernetes.io/instance-type": type, "karpenter.sh/capacity-type": capacity } },
  };
}

let f: ResourceFacade;
let controller: RunningStatusController;
const status = async (ns: string, name: string, body: Record<string, unknown>): Promise<void> => {
  await f.client.patch({ ...MC, namespace: ns, name }, { status: body }, { type: "merge", subresource: "status" });
};

beforeAll(async () => {
  f = await startResourceFacade();
  // orgA: the sole local cluster (the operator's status controller measures its nodes), in us-east-1 whose prices the
  // shipped snapshot has. home is the cluster the operator runs in, as the installer designates it (only then are these
  // nodes its nodes).
  await designateLocalCluster(f.client, { namespace: f.orgA, name: "home", spec: { region: "us-east-1" } });
  for (const [name, type, capacity] of [
    ["n-od", "m5.large", "on-demand"],
    ["n-odd", "zz9.galactic", "on-demand"],
  ] as const) {
    await f.client.create(node(name, type, capacity) as never);
    await f.client.patch(
      { apiVersion: "v1", kind: "Node", name },
      { status: { allocatable: { cpu: "2", memory: "8Gi" }, conditions: [{ type: "Ready", status: "True" }] } },
      { type: "merge", subresource: "status" },
    );
  }
  // orgB: two remote clusters, one reported (with float noise in its figures), one never heard from.
  await f.client.create({ ...MC, metadata: { name: "seen", namespace: f.orgB }, spec: { mode: "remote" } });
  await f.client.create({ ...MC, metadata: { name: "silent", namespace: f.orgB }, spec: { mode: "remote" } });
  await status(f.orgB, "seen", {
    nodeCount: 4,
    spotPercentage: 50,
    monthlyCostUsd: 100.47600000000003,
    baselineMonthlyCostUsd: 160,
    unpricedNodes: 0,
    prices: { source: "snapshot", asOf: "2026-07-20T13:44:30Z" },
  });
  controller = startStatusController(f.client);
  await eventually(
    () =>
      f.cache.cluster(f.orgA, "home")?.status?.unpricedNodes === 1 &&
      f.cache.cluster(f.orgA, "home")?.status?.readyNodes === 2 &&
      f.cache.cluster(f.orgB, "seen")?.status?.nodeCount === 4 &&
      f.cache.cluster(f.orgB, "silent") !== undefined,
    10_000,
    "the status controller's figures of home (2 ready nodes, 1 unpriced) and the seeded seen and silent in the facade's cache",
  );
});
afterAll(async () => {
  await controller?.stop();
  await f?.stop();
});

describe("a cluster with an unpriced node", () => {
  it("has monthly_cost null with unpriced_nodes and the reason naming the node, never a partial sum", async () => {
    const res = await f.call("GET", "/clusters/home", { token: f.token(f.orgA) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ node_count: 2, monthly_cost: null, unpriced_nodes: 1, figures_source: "nodes" });
    expect(res.body.monthly_cost_reason).toContain("1 of 2 node(s) without a known price");
    expect(res.body.monthly_cost_reason).toContain("n-odd");
  });

  it("counts in unpriced_clusters; the KPI money is null and names the cluster it leaves out", async () => {
    const kpi = await f.call("GET", "/metrics/kpi", { token: f.token(f.orgA) });
    expect(kpi.body).toMatchObject({ monthly_spend: null, net_savings: null, unpriced_clusters: 1, clusters: 1 });
    expect(kpi.body.not_in_totals).toEqual([{ cluster_id: "home", reason: expect.stringContaining("n-odd") }]);
    const projection = await f.call("GET", "/metrics/projection?timeframe=30d", { token: f.token(f.orgA) });
    expect(projection.body).toMatchObject({ unoptimized_cost: null, optimized_cost: null, potential_savings: null });
    expect(projection.body.breakdown.spot_replacement).toBeNull();
  });

  it("shows no interruption rate or fleet health while nothing records interruptions, and scores without that term", async () => {
    const res = await f.call("GET", "/clusters/home", { token: f.token(f.orgA) });
    expect(res.body.health_metrics).toMatchObject({ interruption_rate: null, fleet_health: null });
    // Each null says why, as every unknown figure does.
    expect(res.body.health_metrics.interruption_rate_reason).toMatch(/^Spot interruptions not recorded/);
    expect(res.body.health_metrics.fleet_health_reason).toBe(res.body.health_metrics.interruption_rate_reason);
    const kpi = await f.call("GET", "/metrics/kpi", { token: f.token(f.orgA) });
    expect(kpi.body).toMatchObject({ fleet_health: null });
    expect(kpi.body.fleet_health_reason).toMatch(/^Spot interruptions not recorded .*: home$/);
    // requested nothing on 2 on-demand nodes: U = 0, s = 0, and the unknown interruption term earns no points.
    expect(res.body.efficiency_score_value).toBe(0);
  });

  it("gets its cost once every node is priced", async () => {
    await f.client.delete({ apiVersion: "v1", kind: "Node", name: "n-odd" });
    const body = await eventually(async () => {
      const r = await f.call("GET", "/clusters/home", { token: f.token(f.orgA) });
      return r.body.node_count === 1 ? r.body : undefined;
    });
    const od = loadSnapshotPriceBook("us-east-1").onDemand.get("m5.large")!.usdPerHour;
    expect(body).toMatchObject({ unpriced_nodes: 0, monthly_cost_reason: null, price_source: "snapshot" });
    expect(body.monthly_cost).toBe(Math.round(od * HOURS * 100) / 100);
    // The shipped snapshot's date, judged against the default maximum age (168 h).
    expect(body.prices_stale).toBe(Date.now() - Date.parse(body.prices_as_of) > 168 * 3_600_000);
  });
});

describe("a partly reported fleet", () => {
  it("sums the reported cluster, names the silent one, and rounds money to cents", async () => {
    const list = await f.call("GET", "/clusters", { token: f.token(f.orgB) });
    const byId = Object.fromEntries(list.body.clusters.map((c: any) => [c.id, c]));
    expect(byId.seen).toMatchObject({ monthly_cost: 100.48, prices_as_of: "2026-07-20T13:44:30Z" });
    expect(byId.silent).toMatchObject({ monthly_cost: null, unpriced_nodes: null });
    expect(byId.silent.monthly_cost_reason).toMatch(/^not reported/);
    // No price is behind the silent cluster's figures: how old they are is unknown, not fresh.
    expect(byId.silent).toMatchObject({ price_source: null, prices_as_of: null, prices_stale: null });
    expect(typeof byId.seen.prices_stale).toBe("boolean");
    const kpi = await f.call("GET", "/metrics/kpi", { token: f.token(f.orgB) });
    expect(kpi.body).toMatchObject({ monthly_spend: 100.48, net_savings: 59.52, unpriced_clusters: 1, clusters: 2 });
    expect(kpi.body.not_in_totals).toEqual([{ cluster_id: "silent", reason: expect.stringMatching(/^not reported/) }]);
    expect(kpi.text).not.toMatch(/\d\.\d{5,}/);
    // Fleet health: unknown for the reported cluster (no interruption record), and the silent one named too.
    expect(kpi.body.fleet_health).toBeNull();
    expect(kpi.body.fleet_health_reason).toMatch(/^Spot interruptions not recorded .*: seen; not reported: silent$/);
  });

  it("shows the silent cluster's node counts and Spot share as null with the reason, never 0", async () => {
    const res = await f.call("GET", "/clusters/silent", { token: f.token(f.orgB) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ node_count: null, spot_percentage: null });
    expect(res.body.node_count_reason).toMatch(/^not reported/);
    expect(res.body.spot_percentage_reason).toMatch(/^not reported/);
    expect(res.body.health_metrics).toMatchObject({ spot_nodes: null, on_demand_nodes: null });
    const seen = await f.call("GET", "/clusters/seen", { token: f.token(f.orgB) });
    expect(seen.body).toMatchObject({ node_count: 4, node_count_reason: null, spot_percentage: 50 });
    expect(seen.body.health_metrics).toMatchObject({ spot_nodes: 2, on_demand_nodes: 2 });
  });

  it("counts nodes over the clusters that reported and names the one left out", async () => {
    const kpi = await f.call("GET", "/metrics/kpi", { token: f.token(f.orgB) });
    expect(kpi.body).toMatchObject({ active_nodes: 4, spot_percentage: 50 });
    expect(kpi.body.active_nodes_reason).toBe("not included (not reported): silent");
    const comp = await f.call("GET", "/metrics/composition", { token: f.token(f.orgB) });
    expect(comp.body.by_lifecycle).toEqual({ spot: 50, on_demand: 50 });
    expect(comp.body.node_counts).toMatchObject({ total: 4, spot: 2, on_demand: 2, unknown: 0 });
    expect(comp.body.node_counts_reason).toBe("not included (not reported): silent");
  });

  it("derives bin_packing from the last successful plan (baseline, as_of) and is null with the reason before one", async () => {
    const before = await f.call("GET", "/metrics/projection?timeframe=30d", { token: f.token(f.orgB) });
    expect(before.body.breakdown.bin_packing).toBeNull();
    expect(before.body.bin_packing.reason).toMatch(/re-plan/);
    await status(f.orgB, "seen", {
      lastPlan: {
        jobId: "job-1",
        phase: "Succeeded",
        completedAt: "2026-11-20T10:00:00Z",
        monthlyCostUsd: 60.476,
        prices: { source: "snapshot", asOf: "2026-07-20T13:44:30Z" },
      },
    });
    const after = await eventually(async () => {
      const r = await f.call("GET", "/metrics/projection?timeframe=30d", { token: f.token(f.orgB) });
      return r.body.breakdown.bin_packing !== null ? r.body : undefined;
    });
    const factor = (30 * 24) / HOURS;
    expect(after.breakdown.bin_packing).toBe(Math.round((100.47600000000003 - 60.476) * factor * 100) / 100);
    expect(after.bin_packing).toMatchObject({
      as_of: "2026-11-20T10:00:00Z",
      baseline: expect.stringContaining("re-plan"),
    });
    // The silent cluster is not in the plan figure, and that is said.
    expect(after.bin_packing.reason).toMatch(/1 cluster\(s\) .* not included/);
    expect(after.not_in_totals).toEqual([{ cluster_id: "silent", reason: expect.stringMatching(/^not reported/) }]);
  });

  it("takes hibernation savings from the controller's figure, or null with its reason", async () => {
    await f.client.create({
      ...HS,
      metadata: { name: "seen", namespace: f.orgB },
      spec: {
        clusterRef: { name: "seen" },
        timezone: "UTC",
        weekly: [{ days: ["Mon"], start: "08:00", end: "18:00" }],
      },
    });
    await f.client.patch(
      { ...HS, namespace: f.orgB, name: "seen" },
      { status: { savingsBaseline: "2 Karpenter node(s) ...; not computed: 1 node(s) without a known price" } },
      { type: "merge", subresource: "status" },
    );
    const unknown = await eventually(async () => {
      const r = await f.call("GET", "/metrics/projection?timeframe=30d", { token: f.token(f.orgB) });
      return r.body.hibernation.reason !== null ? r.body : undefined;
    });
    expect(unknown.breakdown.hibernation).toBeNull();
    expect(unknown.hibernation.reason).toContain("without a known price");
    await f.client.patch(
      { ...HS, namespace: f.orgB, name: "seen" },
      { status: { projectedMonthlySavingsUsd: 20, savingsBaseline: "2 node(s) of the hibernated NodePools" } },
      { type: "merge", subresource: "status" },
    );
    const known = await eventually(async () => {
      const r = await f.call("GET", "/metrics/projection?timeframe=30d", { token: f.token(f.orgB) });
      return r.body.breakdown.hibernation !== null ? r.body : undefined;
    });
    expect(known.breakdown.hibernation).toBe(Math.round(20 * ((30 * 24) / HOURS) * 100) / 100);
    expect(known.hibernation.reason).toBeNull();
    // The re-plan of "seen" (40 a month cheaper) saves only in the hours its hibernation leaves awake.
    const awake = 1 - 20 / 100.47600000000003;
    expect(known.breakdown.bin_packing).toBe(Math.round(40 * awake * ((30 * 24) / HOURS) * 100) / 100);
    expect(known.bin_packing.baseline).toMatch(/, in the hours hibernation leaves awake$/);
  });
});

describe("price age", () => {
  it("flags figures whose prices are older than the configured maximum age, and only those", async () => {
    const kpi = async (): Promise<any> => (await f.call("GET", "/metrics/kpi", { token: f.token(f.orgB) })).body;
    const fresh = new Date(Date.now() - 3_600_000).toISOString();
    await status(f.orgB, "seen", { prices: { source: "pricing-api+spot-history", asOf: fresh } });
    const young = await eventually(async () => {
      const body = await kpi();
      return body.prices_as_of === fresh ? body : undefined;
    });
    expect(young.prices_stale).toBe(false);
    const old = new Date(Date.now() - 8 * 86_400_000).toISOString();
    await status(f.orgB, "seen", { prices: { source: "pricing-api+spot-history", asOf: old } });
    const aged = await eventually(async () => {
      const body = await kpi();
      return body.prices_as_of === old ? body : undefined;
    });
    expect(aged.prices_stale).toBe(true);
    await status(f.orgB, "seen", { prices: { source: "snapshot", asOf: "2026-07-20T13:44:30Z" } });
    await eventually(async () => ((await kpi()).prices_as_of === "2026-07-20T13:44:30Z" ? true : undefined));
  });
});

describe("platform totals", () => {
  it("GET /admin/stats computes total_savings against On-Demand and names every cluster it leaves out", async () => {
    const login = await f.call("POST", "/api/auth/token", { body: { email: ADMIN.email, password: ADMIN.password } });
    const token = login.body.access_token as string;
    const stats = await f.call("GET", "/admin/stats", { token });
    expect(stats.status).toBe(200);
    expect(stats.body.total_savings).toBe(59.52);
    expect(stats.body.savings_baseline).toContain("On-Demand");
    expect(stats.body.prices_as_of).toBe("2026-07-20T13:44:30Z");
    // home's cost (its one On-Demand node, priced by the status controller) saves nothing against On-Demand; silent
    // has no cost.
    expect(stats.body.not_in_totals.map((x: any) => x.cluster_id)).toEqual([`${f.orgB}/silent`]);
    // the same figure /metrics/projection gives: seen's re-plan saves 40 a month only in the hours hibernation leaves
    const awake = 1 - 20 / 100.47600000000003;
    expect(stats.body.bin_packing_savings.monthly).toBe(Math.round(40 * awake * 100) / 100);
    expect(stats.body.bin_packing_savings).toMatchObject({
      as_of: "2026-11-20T10:00:00Z",
      baseline: expect.stringMatching(/, in the hours hibernation leaves awake$/),
    });
    const clients = await f.call("GET", "/admin/clients", { token });
    const beta = clients.body.clients.find((c: any) => c.namespace === f.orgB);
    expect(beta).toMatchObject({ monthly_spend: 100.48, price_source: "snapshot", unpriced_clusters: 1 });
  });
});

describe("projection over a partly known fleet", () => {
  const projectionOf = async (query = ""): Promise<any> =>
    (await f.call("GET", `/metrics/projection?timeframe=30d${query}`, { token: f.token(f.orgB) })).body;

  it("takes no hibernation savings from a cluster whose cost is unknown, and names its schedule", async () => {
    const before = await projectionOf();
    await f.client.create({
      ...HS,
      metadata: { name: "silent-nights", namespace: f.orgB },
      spec: {
        clusterRef: { name: "silent" },
        timezone: "UTC",
        weekly: [{ days: ["Tue"], start: "08:00", end: "18:00" }],
      },
    });
    await f.client.patch(
      { ...HS, namespace: f.orgB, name: "silent-nights" },
      { status: { projectedMonthlySavingsUsd: 50, savingsBaseline: "3 node(s) of the hibernated NodePools" } },
      { type: "merge", subresource: "status" },
    );
    const after = await eventually(async () => {
      const body = await projectionOf();
      return body.hibernation.reason !== null ? body : undefined;
    });
    expect(after.hibernation.reason).toContain("silent-nights on silent");
    expect(after.breakdown.hibernation).toBe(before.breakdown.hibernation);
    // The silent cluster alone: its only schedule left out, the saving is unknown (null), not the 0 of no schedule.
    const silentOnly = await projectionOf("&cluster_id=silent");
    expect(silentOnly.breakdown.hibernation).toBeNull();
    expect(silentOnly.hibernation.reason).toBe("not known (cluster cost unknown): silent-nights on silent");
    expect(silentOnly).toMatchObject({ price_source: null, prices_stale: null });
    expect(after.optimized_cost).toBe(before.optimized_cost);
    expect(after.not_in_totals.map((x: any) => x.cluster_id)).toEqual(["silent"]);
  });

  it("leaves a priced cluster without an On-Demand baseline out of the Spot saving and names it", async () => {
    await f.client.create({ ...MC, metadata: { name: "nobase", namespace: f.orgB }, spec: { mode: "remote" } });
    await status(f.orgB, "nobase", {
      nodeCount: 1,
      spotPercentage: 100,
      monthlyCostUsd: 50,
      unpricedNodes: 0,
      prices: { source: "snapshot", asOf: "2026-07-20T13:44:30Z" },
    });
    const alone = await eventually(async () => {
      const body = await projectionOf("&cluster_id=nobase");
      return body.optimized_cost !== null ? body : undefined;
    });
    expect(alone.breakdown.spot_replacement).toBeNull();
    expect(alone.unoptimized_cost).toBeNull();
    expect(alone.spot_replacement.reason).toContain("nobase");
    const fleet = await projectionOf();
    const factor = (30 * 24) / HOURS;
    // seen's saving against its baseline (160 − 100.476) stands; nobase adds nothing and is named.
    expect(fleet.breakdown.spot_replacement).toBe(Math.round((160 - 100.47600000000003) * factor * 100) / 100);
    expect(fleet.spot_replacement.reason).toMatch(/not included: .*nobase/);
    expect(fleet.unoptimized_cost).toBeNull();
    expect(fleet.spot_replacement.baseline).toContain("On-Demand");
  });
});

// Last: a third organisation would show in the platform totals above.
describe("an organisation whose only cluster has not reported", () => {
  let token: string;
  beforeAll(async () => {
    const owner = await f.facade.signup("Gamma Corp");
    token = owner.accessToken;
    await f.client.create({ ...MC, metadata: { name: "quiet", namespace: owner.namespace }, spec: { mode: "remote" } });
    await f.facade.facades[0]!.audit.record({
      namespace: owner.namespace,
      actor: "system:agent",
      event: "spot.interruption",
      resource: "cluster/quiet/node/n1",
      outcome: "success",
    });
    await eventually(
      () =>
        f.cache.cluster(owner.namespace, "quiet") !== undefined &&
        f.cache.auditEntries(owner.namespace).some((e) => e.spec.event === "spot.interruption"),
      10_000,
      "quiet and its interruption entry in the facade's cache",
    );
  });

  it("has no node count or Spot share on its KPI cards (null with the reason), not 0", async () => {
    const kpi = await f.call("GET", "/metrics/kpi", { token });
    expect(kpi.status).toBe(200);
    expect(kpi.body).toMatchObject({ active_nodes: null, spot_percentage: null, monthly_spend: null, clusters: 1 });
    expect(kpi.body.active_nodes_reason).toBe("not reported: quiet");
    expect(kpi.body.spot_percentage_reason).toBe("not reported: quiet");
    expect(kpi.body.not_in_totals).toEqual([{ cluster_id: "quiet", reason: expect.stringMatching(/^not reported/) }]);
  });

  it("has no composition by lifecycle or node counts (null with the reason)", async () => {
    const comp = await f.call("GET", "/metrics/composition", { token });
    expect(comp.status).toBe(200);
    expect(comp.body.by_lifecycle).toEqual({ spot: null, on_demand: null });
    expect(comp.body.by_lifecycle_reason).toBe("not reported: quiet");
    expect(comp.body.node_counts).toEqual({ total: null, by_family: {}, spot: null, on_demand: null, unknown: null });
    expect(comp.body.node_counts_reason).toBe("not reported: quiet");
  });

  it("shows no saving for feed lines that are no decision (its signup, an interruption): null with the reason", async () => {
    const feed = await f.call("GET", "/activity/live?limit=500", { token });
    expect(feed.status).toBe(200);
    const events = feed.body.events as Array<{ action: string; savings: unknown; savings_reason: unknown }>;
    expect(events.some((e) => e.action.startsWith("spot.interruption"))).toBe(true);
    expect(events.length).toBeGreaterThan(1);
    for (const e of events)
      expect(e).toMatchObject({
        savings: null,
        savings_reason: expect.stringContaining("not an optimisation decision"),
      });
  });
});

describe("deleting an organisation whose clusters did not all report", () => {
  it("counts the reported cluster's nodes and names the silent one, not 0 for it", async () => {
    const login = await f.call("POST", "/api/auth/token", { body: { email: ADMIN.email, password: ADMIN.password } });
    const token = login.body.access_token as string;
    const clients = await f.call("GET", "/admin/clients", { token });
    const beta = clients.body.clients.find((c: any) => c.namespace === f.orgB);
    // What the API server holds: the clusters that reported a node count, and the one that never did.
    const held = (await f.client.list({ ...MC, namespace: f.orgB })).items as any[];
    const reported = held.filter((c) => c.status?.nodeCount !== undefined);
    expect(held.filter((c) => c.status?.nodeCount === undefined).map((c) => c.metadata.name)).toEqual(["silent"]);
    const del = await f.call("DELETE", `/admin/clients/${beta.id}`, { token });
    expect(del.status).toBe(200);
    expect(del.body.deleted_resources).toMatchObject({
      clusters: held.length,
      instances: reported.reduce((n, c) => n + c.status.nodeCount, 0),
      instances_reason: "not included (not reported): silent",
    });
    expect(del.body.deleted_resources.instances).toBeGreaterThan(0);
  });
});
