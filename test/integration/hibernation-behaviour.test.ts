// Hibernation reconciler behaviour against the local API server: grace period, user changes while asleep, enforce, savings.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster } from "../support/cluster.js";
import type { LocalApiServer, WriteNotice } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { EventRecorder } from "../../src-shared/runtime/index.js";
import { designateLocalCluster } from "../support/local-cluster.js";
import { deployment as teamDeployment, generalPool, settleWrites } from "../support/hibernation-fixtures.js";
import { createHibernationReconciler } from "../../operator/controllers/hibernation/reconciler.js";
import { hibernationWriter, liveReader } from "../../operator/controllers/hibernation/kube.js";
import { SAVED_ANNOTATION } from "../../operator/controllers/hibernation/desired.js";

const NS = "acme";
const TEAM = "team-a";
const HS = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule", namespace: NS, name: "nightly" };
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

let server: LocalApiServer;
let client: KubeClient;
const notices: WriteNotice[] = [];
/** The reconciler's clock: real time plus what the test fast-forwards. */
let offsetMs = 0;
const reconcile = (): ReturnType<ReturnType<typeof createHibernationReconciler>> => reconciler(`${NS}/${HS.name}`);
let reconciler: ReturnType<typeof createHibernationReconciler>;

const deployment = (name: string, replicas: number): KubeObject => teamDeployment(TEAM, name, replicas);
const settle = (): Promise<number> => settleWrites(reconcile, () => notices.length);

async function replicas(name: string): Promise<{ replicas: unknown; saved: unknown }> {
  const d = await client.get({ apiVersion: "apps/v1", kind: "Deployment", namespace: TEAM, name });
  const raw = d.metadata?.annotations?.[SAVED_ANNOTATION];
  return {
    replicas: (d.spec as Record<string, unknown>).replicas,
    saved: raw === undefined ? undefined : JSON.parse(raw),
  };
}

async function status(): Promise<Record<string, any>> {
  return ((await client.get(HS)).status ?? {}) as Record<string, any>;
}

const patchSpec = (spec: Record<string, unknown>): Promise<KubeObject> => client.patch(HS, { spec }, { type: "merge" });

beforeAll(async () => {
  server = await startTestCluster({ crds: "all" });
  client = new KubeClient(server.kubeConfig);
  for (const name of [NS, TEAM]) await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  await designateLocalCluster(client, { namespace: NS });
  await client.create(deployment("web", 3));
  await client.create(deployment("api", 2));
  await client.create(generalPool());
  await client.create({
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: "ip-10-0-0-1",
      labels: {
        "karpenter.sh/nodepool": "general",
        "node.kubernetes.io/instance-type": "m5.large",
        "karpenter.sh/capacity-type": "on-demand",
      },
    },
  });
  await client.create({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "ip-10-0-0-2", labels: { "node.kubernetes.io/instance-type": "m5.large" } },
  });
  // Awake one hour a week, three days from now: asleep now, and asleep 167 of every 168 hours.
  const inThreeDays = DAYS[(new Date(Date.now() + 3 * 86_400_000).getUTCDay() + 6) % 7]!;
  await client.create({
    ...HS,
    metadata: { name: HS.name, namespace: NS },
    spec: {
      clusterRef: { name: "local" },
      timezone: "UTC",
      weekly: [{ days: [inThreeDays], start: "10:00", end: "11:00" }],
    },
  } as KubeObject);
  server.faults.onWrite((w) => notices.push(w));
  reconciler = createHibernationReconciler({
    reader: liveReader(client),
    writer: hibernationWriter(client),
    events: new EventRecorder({ client, component: "spot-optimizer-hibernation" }),
    nowMs: () => Date.now() + offsetMs,
    // m5.large On-Demand in us-east-1 as the test's price source; the other node is not in a NodePool.
    price: ({ instanceType }) => (instanceType === "m5.large" ? { usdPerHour: 0.096, asOf: "2025-01-01" } : undefined),
  });
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("hibernation reconciler", () => {
  it("sleeps, and projects savings from the NodePool's node price × asleep hours", async () => {
    await settle();
    const s = await status();
    expect(s.state).toBe("asleep");
    expect(await replicas("web")).toEqual({ replicas: 0, saved: { by: `${NS}/${HS.name}`, replicas: 3 } });
    // 0.096 USD/h × 730 h × 167/168 asleep = 69.6628… -> 69.66; the node outside any NodePool keeps running.
    expect(s.projectedMonthlySavingsUsd).toBe(69.66);
    expect(s.savingsAsOf).toBe("2025-01-01T00:00:00Z");
    expect(s.savingsBaseline).toMatch(/^1 Karpenter node/);
    expect(s.conditions.find((c: { type: string }) => c.type === "Ready")).toMatchObject({
      status: "True",
      reason: "Asleep",
    });
    const events = (await client.listAll({ apiVersion: "v1", kind: "Event", namespace: NS })).items as Array<
      Record<string, any>
    >;
    expect(events.filter((e) => e.involvedObject?.name === HS.name).map((e) => `${e.type} ${e.reason}`)).toEqual([
      "Normal Asleep",
    ]);
    // Level-based and idempotent: another run writes nothing.
    const before = notices.length;
    await reconcile();
    expect(notices.length).toBe(before);
  });

  it("gives a workload created while asleep its grace period, then puts it to sleep", async () => {
    await client.create(deployment("late", 2));
    await settle();
    expect(await replicas("late")).toEqual({ replicas: 2, saved: undefined });
    expect((await status()).conditions.find((c: { type: string }) => c.type === "Ready").message).toMatch(
      /1 new workload\(s\) in their grace period/,
    );
    offsetMs += 16 * 60_000;
    await settle();
    expect(await replicas("late")).toEqual({ replicas: 0, saved: { by: `${NS}/${HS.name}`, replicas: 2 } });
  });

  it("does not fight a replica count changed while asleep, unless enforce is set", async () => {
    await client.patch(
      { apiVersion: "apps/v1", kind: "Deployment", namespace: TEAM, name: "web" },
      { spec: { replicas: 5 } },
      { type: "merge" },
    );
    await settle();
    expect(await replicas("web")).toEqual({ replicas: 5, saved: { by: `${NS}/${HS.name}`, replicas: 3 } });
    await patchSpec({ enforce: true });
    await settle();
    expect(await replicas("web")).toEqual({ replicas: 0, saved: { by: `${NS}/${HS.name}`, replicas: 3 } });
    await patchSpec({ enforce: false });
    await client.patch(
      { apiVersion: "apps/v1", kind: "Deployment", namespace: TEAM, name: "api" },
      { spec: { replicas: 4 } },
      { type: "merge" },
    );
    await settle();
    expect((await replicas("api")).replicas).toBe(4);
  });

  it("wakes: restores what it saved, keeps what a user set while asleep, drops every annotation", async () => {
    await patchSpec({ weekly: [{ days: DAYS, start: "00:00", end: "24:00" }] });
    await settle();
    expect((await status()).state).toBe("awake");
    expect(await replicas("web")).toEqual({ replicas: 3, saved: undefined });
    expect(await replicas("late")).toEqual({ replicas: 2, saved: undefined });
    expect(await replicas("api")).toEqual({ replicas: 4, saved: undefined });
    const pool = await client.get({ apiVersion: "karpenter.sh/v1", kind: "NodePool", name: "general" });
    expect((pool.spec as Record<string, unknown>).limits).toEqual({ cpu: "100" });
    expect(pool.metadata?.annotations?.[SAVED_ANNOTATION]).toBeUndefined();
  });

  it("never acts on the operator's own cluster for a remote ManagedCluster; before its agent reports it waits", async () => {
    await client.create({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "ManagedCluster",
      metadata: { name: "far", namespace: NS },
      spec: { mode: "remote" },
    });
    await client.create({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "HibernationSchedule",
      metadata: { name: "far", namespace: NS },
      spec: { clusterRef: { name: "far" }, timezone: "UTC", weekly: [] },
    });
    const before = notices.length;
    await reconciler(`${NS}/far`);
    // Only the schedule's finalizer, the cluster's wake-before-delete finalizer, the status and a Warning event: no
    // workload, NodePool or AgentAction write (no report of the remote cluster to plan with).
    expect(notices.slice(before).map((n) => `${n.resource} ${n.resource === "events" ? "" : n.name}`)).toEqual([
      "hibernationschedules far",
      "managedclusters far",
      "hibernationschedules far",
      "events ",
    ]);
    const events = (await client.listAll({ apiVersion: "v1", kind: "Event", namespace: NS })).items as Array<
      Record<string, any>
    >;
    expect(events.filter((e) => e.involvedObject?.name === "far").map((e) => `${e.type} ${e.reason}`)).toEqual([
      "Warning AgentNotReported",
    ]);
    const far = await client.get({ ...HS, name: "far" });
    expect((far.status as any).conditions[0]).toMatchObject({
      type: "Ready",
      status: "False",
      reason: "AgentNotReported",
    });
    expect((far.status as any).state).toBeUndefined();
  });

  it("reports an invalid spec on the status and changes nothing", async () => {
    const before = await replicas("web");
    await patchSpec({ timezone: "Mars/Olympus_Mons", weekly: [{ days: ["Mon"], start: "00:00", end: "01:00" }] });
    await settle();
    const ready = (await status()).conditions.find((c: { type: string }) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "InvalidSpec" });
    expect(ready.message).toMatch(/^spec\.timezone: unknown time zone/);
    expect(await replicas("web")).toEqual(before);
  });
});
