// Sleep and wake as decision entries, end to end: the hibernation controller's sleep entry names the NodePools and the
// nodes that go, each priced with source and date, and the sleep's projected saving until the scheduled wake; its wake
// entry names what returns. GET /activity/live and GET /client/costs/export show both; a pass or a restarted
// controller that changes nothing adds none.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerHibernationController } from "../../operator/controllers/hibernation/controller.js";
import type { KubeObject } from "../../src-shared/kube/index.js";
import { loadSnapshotPriceBook } from "../../src-shared/pricing/snapshot/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { eventually } from "../support/cluster.js";
import { startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";
import { designateLocalCluster } from "../support/local-cluster.js";

const HS = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule" } as const;
const AE = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "AuditEntry" } as const;
const ACTOR = "system:hibernation";
const HOUR_MS = 3_600_000;

let f: TestFacade;
let owner: SignedUp;
let manager: ControllerManager | undefined;
const book = loadSnapshotPriceBook("us-east-1");
// The controller's clock: fixed, so the sleep's period (until the override ends) is known exactly.
const nowMs = Math.floor(Date.now() / 1000) * 1000;
const spotZone = [...book.spot.get("c5.large")!.keys()].sort()[0]!;
const onDemand = book.onDemand.get("m5.large")!;
const spot = book.spot.get("c5.large")!.get(spotZone)!;

async function startOperator(): Promise<void> {
  manager = new ControllerManager({ client: f.client });
  await registerHibernationController({ manager, client: f.client, nowMs: () => nowMs });
  manager.start();
  await manager.waitForCacheSync();
}

function node(name: string, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: { "karpenter.sh/nodepool": "batch", "topology.kubernetes.io/region": "us-east-1", ...labels },
    },
  };
}

async function entries(): Promise<Array<{ event: string; after: Record<string, any> }>> {
  const list = await f.client.list<KubeObject & { spec: { actor: string; event: string; after: Record<string, any> } }>(
    { ...AE, namespace: owner.namespace },
  );
  return list.items
    .filter((e) => e.spec.actor === ACTOR)
    .sort((a, b) => (a.spec as any).sequence - (b.spec as any).sequence)
    .map((e) => ({ event: e.spec.event, after: e.spec.after }));
}

async function feed(): Promise<Array<Record<string, any>>> {
  const res = await f.call("GET", "/activity/live?limit=500", { token: owner.accessToken });
  expect(res.status).toBe(200);
  return (res.body.events as Array<Record<string, any>>).filter((e) => e.actor === ACTOR);
}

async function csvRows(): Promise<string[]> {
  const csv = await f.call("GET", "/client/costs/export", { token: owner.accessToken });
  expect(csv.status).toBe(200);
  return csv.text.trim().split("\r\n");
}

async function state(): Promise<string | undefined> {
  const s = await f.client.getIfExists<any>({ ...HS, namespace: owner.namespace, name: "nights" });
  return s?.status?.state;
}

const override = (action: "sleep" | "wake"): Record<string, unknown> => ({
  action,
  from: new Date(nowMs - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
  durationHours: 48,
});

beforeAll(async () => {
  f = await startTestFacade({}, { crds: "all" });
  owner = await f.signup("Sleep Corp");
  await designateLocalCluster(f.client, { namespace: owner.namespace, name: "home", spec: { region: "us-east-1" } });
  await f.client.create({
    apiVersion: "karpenter.sh/v1",
    kind: "NodePool",
    metadata: { name: "batch" },
    spec: {
      template: {
        spec: {
          nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" },
          requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["spot", "on-demand"] }],
        },
      },
    },
  });
  const od = { "node.kubernetes.io/instance-type": "m5.large", "karpenter.sh/capacity-type": "on-demand" };
  await f.client.create(node("batch-a", od));
  await f.client.create(node("batch-b", od));
  await f.client.create(
    node("batch-c", {
      "node.kubernetes.io/instance-type": "c5.large",
      "karpenter.sh/capacity-type": "spot",
      "topology.kubernetes.io/zone": spotZone,
    }),
  );
  await startOperator();
  // Awake all week: the controller records the capacity it would put to sleep, and no transition.
  await f.client.create({
    ...HS,
    metadata: { name: "nights", namespace: owner.namespace },
    spec: {
      clusterRef: { name: "home" },
      timezone: "UTC",
      weekly: [{ days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], start: "00:00", end: "24:00" }],
    },
  });
  await eventually(async () => (await state()) === "awake", 15_000, "the schedule awake");
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  await f?.stop();
});

const hourly = Math.round((2 * onDemand.usdPerHour + spot.usdPerHour) * 10_000) / 10_000;

describe("hibernation decision entries", () => {
  it("an awake schedule records no decision", async () => {
    await manager!.idle();
    expect(await entries()).toEqual([]);
    expect(await feed()).toEqual([]);
  }, 30_000);

  it("a sleep records SLEEP: the pools and nodes that go, priced, with the saving until the scheduled wake", async () => {
    await f.client.patch(
      { ...HS, namespace: owner.namespace, name: "nights" },
      { spec: { override: override("sleep") } },
      { type: "merge" },
    );
    const [sleep, ...more] = await eventually(async () => ((await entries()).length > 0 ? entries() : undefined));
    expect(more).toEqual([]);
    expect(sleep!.event).toBe("hibernation.sleep");
    const periodHours = (nowMs - 60_000 + 48 * HOUR_MS - nowMs) / HOUR_MS;
    expect(sleep!.after).toMatchObject({
      decision: "SLEEP",
      instanceId: "cluster/home",
      nodePools: ["batch"],
      oldPriceUsdPerHour: hourly,
      newPriceUsdPerHour: 0,
      periodSavingsUsd: Math.round(hourly * periodHours * 100) / 100,
      priceSource: [...new Set([onDemand.source, spot.source])].sort().join(","),
      pricesAsOf: [onDemand.asOf, spot.asOf].sort()[0],
    });
    expect(sleep!.after.nodes).toEqual([
      {
        instanceType: "c5.large",
        capacityType: "spot",
        zone: spotZone,
        count: 1,
        usdPerHour: spot.usdPerHour,
        source: spot.source,
        asOf: spot.asOf,
      },
      {
        instanceType: "m5.large",
        capacityType: "on-demand",
        count: 2,
        usdPerHour: onDemand.usdPerHour,
        source: onDemand.source,
        asOf: onDemand.asOf,
      },
    ]);
    expect(sleep!.after.reason).toMatch(/put the cluster to sleep: 3 node\(s\) of NodePool\(s\) batch go/);

    const events = await feed();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: "hibernation.sleep (cluster/home)", savings: hourly });
    const rows = await csvRows();
    const row = rows.find((r) => r.includes(",SLEEP,"))!;
    expect(row.split(",").slice(1, 6)).toEqual([
      "cluster/home",
      '"1x c5.large spot',
      ' 2x m5.large on-demand"',
      spotZone,
      `$${hourly.toFixed(4)}`,
    ]);
    const period = `$${(Math.round(hourly * periodHours * 100) / 100).toFixed(2)}`;
    expect(row).toContain(`,$0.0000,$${hourly.toFixed(4)},${period},SLEEP,`);
    expect(rows.at(-1)!.startsWith(`TOTAL,,,,,,,${period},,"sum of Monthly Projected`)).toBe(true);
  }, 30_000);

  it("the facade's hibernation savings are the controller's one figure, from the same priced nodes", async () => {
    const schedule = await f.client.get<any>({ ...HS, namespace: owner.namespace, name: "nights" });
    const monthly = schedule.status.projectedMonthlySavingsUsd as number;
    expect(monthly).toBeGreaterThan(0);
    expect(schedule.status.sleepingCapacity.usdPerHour).toBe(hourly);
    // The 48 h override: its asleep share of the four reference weeks, as the controller computes it.
    expect(schedule.status.savingsBaseline).toMatch(/^3 Karpenter node\(s\) .*; asleep \d+\.\d h of a 730 h month$/);
    const expected = Math.round(monthly * ((30 * 24) / 730) * 100) / 100;
    // Hibernation savings count only for a cluster whose cost is known: home's status reports the three nodes' cost.
    await f.client.patch(
      { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster", namespace: owner.namespace, name: "home" },
      {
        status: { nodeCount: 3, monthlyCostUsd: hourly * 730, baselineMonthlyCostUsd: hourly * 730, unpricedNodes: 0 },
      },
      { type: "merge", subresource: "status" },
    );
    const projection = await eventually(
      async () => {
        const r = await f.call("GET", "/metrics/projection?timeframe=30d", { token: owner.accessToken });
        return r.body.breakdown.hibernation === expected ? r.body : undefined;
      },
      10_000,
      "the facade's projection showing the controller's figure",
    );
    expect(projection.hibernation.reason).toBeNull();
  }, 30_000);

  it("a pass that changes nothing, and a restarted controller, add no entry", async () => {
    await manager!.idle();
    await manager!.stop();
    await startOperator();
    await manager!.idle();
    expect(await state()).toBe("asleep");
    expect((await entries()).length).toBe(1);
    expect(await feed()).toHaveLength(1);
  }, 30_000);

  it("a wake records WAKE: the same pools and nodes return; the CSV's total stays the sleep's saving", async () => {
    const sleep = (await entries())[0]!;
    await f.client.patch(
      { ...HS, namespace: owner.namespace, name: "nights" },
      { spec: { override: override("wake") } },
      { type: "merge" },
    );
    const all = await eventually(async () => ((await entries()).length === 2 ? entries() : undefined));
    const wake = all[1]!;
    expect(wake.event).toBe("hibernation.wake");
    expect(wake.after).toMatchObject({
      decision: "WAKE",
      instanceId: "cluster/home",
      nodePools: ["batch"],
      oldPriceUsdPerHour: 0,
      newPriceUsdPerHour: hourly,
      periodSavingsUsd: 0,
    });
    expect(wake.after.nodes).toEqual(sleep.after.nodes);
    expect(wake.after.reason).toMatch(/woke the cluster: NodePool\(s\) batch return/);
    const events = await feed();
    expect(events.map((e) => e.savings)).toEqual([-hourly, hourly]);
    const rows = await csvRows();
    expect(rows.find((r) => r.includes(",WAKE,"))).toContain(
      `,$${hourly.toFixed(4)},-$${hourly.toFixed(4)},$0.00,WAKE,`,
    );
    expect(rows.at(-1)!.startsWith(`TOTAL,,,,,,,$${sleep.after.periodSavingsUsd.toFixed(2)},,"sum of`)).toBe(true);
    await manager!.idle();
    expect((await entries()).length).toBe(2);
  }, 30_000);
});
