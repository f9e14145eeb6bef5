// A schedule's savings figure once a node of its NodePools loses its price: the figure, its date and the capacity's
// hourly price go from the status (a status merge patch would keep what a write leaves out), and nothing is guessed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster } from "../support/cluster.js";
import type { LocalApiServer, WriteNotice } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { designateLocalCluster } from "../support/local-cluster.js";
import { generalPool, settleWrites } from "../support/hibernation-fixtures.js";
import { createHibernationReconciler } from "../../operator/controllers/hibernation/reconciler.js";
import { hibernationWriter, liveReader } from "../../operator/controllers/hibernation/kube.js";

const NS = "acme";
const HS = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule", namespace: NS, name: "nights" };
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

let server: LocalApiServer;
let client: KubeClient;
const notices: WriteNotice[] = [];
let reconcile: () => Promise<unknown>;

function poolNode(name: string, type: string): KubeObject {
  const labels = {
    "karpenter.sh/nodepool": "general",
    "node.kubernetes.io/instance-type": type,
    "karpenter.sh/capacity-type": "on-demand",
  };
  return { apiVersion: "v1", kind: "Node", metadata: { name, labels } };
}

async function status(): Promise<Record<string, any>> {
  return ((await client.get(HS)).status ?? {}) as Record<string, any>;
}

beforeAll(async () => {
  server = await startTestCluster({ crds: "all" });
  client = new KubeClient(server.kubeConfig);
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await designateLocalCluster(client, { namespace: NS });
  await client.create(generalPool());
  await client.create(poolNode("priced", "m5.large"));
  // Awake all week but one night three days from now: awake now, so the figure comes from the nodes seen now.
  const night = DAYS[(new Date(Date.now() + 3 * 86_400_000).getUTCDay() + 6) % 7]!;
  const weekly = [
    { days: DAYS.filter((d) => d !== night), start: "00:00", end: "24:00" },
    { days: [night], start: "00:00", end: "12:00" },
  ];
  await client.create({
    ...HS,
    metadata: { name: HS.name, namespace: NS },
    spec: { clusterRef: { name: "local" }, timezone: "UTC", weekly },
  } as KubeObject);
  server.faults.onWrite((w) => notices.push(w));
  const reconciler = createHibernationReconciler({
    reader: liveReader(client),
    writer: hibernationWriter(client),
    nowMs: () => Date.now(),
    price: ({ instanceType }) => (instanceType === "m5.large" ? { usdPerHour: 0.096, asOf: "2025-01-01" } : undefined),
  });
  reconcile = () => reconciler(`${NS}/${HS.name}`);
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("a hibernation schedule whose nodes lose their price", () => {
  it("drops the figure, its date and the capacity's hourly price, and then writes nothing more", async () => {
    await settleWrites(reconcile, () => notices.length);
    const before = await status();
    expect(before.state).toBe("awake");
    expect(before.projectedMonthlySavingsUsd).toBeGreaterThan(0);
    expect(before.savingsAsOf).toBeDefined();
    expect(before.sleepingCapacity.usdPerHour).toBe(0.096);

    await client.create(poolNode("unpriced", "zz9.galactic"));
    await settleWrites(reconcile, () => notices.length);
    const after = await status();
    expect(after.savingsBaseline).toMatch(/not computed: 1 node\(s\) without a known price/);
    expect(after).not.toHaveProperty("projectedMonthlySavingsUsd");
    expect(after).not.toHaveProperty("savingsAsOf");
    expect(after.sleepingCapacity.nodes).toHaveLength(2);
    expect(after.sleepingCapacity).not.toHaveProperty("usdPerHour");

    const writes = notices.length;
    await reconcile();
    expect(notices.length).toBe(writes);
  });
});
