// Tenant isolation of hibernation through real HTTP, kubectl and the real controller: only the organisation that owns
// the local cluster can put it to sleep, and only its own namespaces; a deleted cluster wakes first; one schedule per
// cluster is in force.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, kubectl } from "../support/cluster.js";
import { startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";
import { designateLocalCluster } from "../support/local-cluster.js";
import { deployment } from "../support/hibernation-fixtures.js";
import { registerHibernationController } from "../../operator/controllers/hibernation/controller.js";
import { SAVED_ANNOTATION } from "../../operator/controllers/hibernation/desired.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { KubeClient } from "../../src-shared/kube/index.js";

const HS = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule" };
const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };
const ASLEEP_ALL_WEEK = new Array<number>(168).fill(0);

let t: TestFacade;
let manager: ControllerManager;
let operatorClient: KubeClient;
let a: SignedUp;
let b: SignedUp;
let c: SignedUp;

/** Replica count and whether hibernation saved an original on it, per workload of every organisation. */
async function workloads(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [ns, name] of [
    ["shop", "web"],
    [a.namespace, "a-app"],
    [b.namespace, "b-app"],
    [c.namespace, "c-app"],
  ] as const) {
    const d = await t.client.get({ apiVersion: "apps/v1", kind: "Deployment", namespace: ns, name });
    const saved = d.metadata?.annotations?.[SAVED_ANNOTATION] ? " saved" : "";
    out[name] = `${String((d.spec as { replicas?: number }).replicas)}${saved}`;
  }
  return out;
}

const UNTOUCHED = { web: "3", "a-app": "1", "b-app": "2", "c-app": "4" };

async function condition(namespace: string, name: string): Promise<Record<string, string> | undefined> {
  const s = await t.client.getIfExists({ ...HS, namespace, name });
  const conditions = (s?.status as { conditions?: Array<Record<string, string>> } | undefined)?.conditions;
  return conditions?.find((x) => x.type === "Ready");
}

/** The owner puts the local cluster to sleep all week through the facade: only its own namespaces sleep. */
async function sleepLocalAsOwner(): Promise<void> {
  const res = await t.call("POST", "/hibernation/schedule", {
    token: a.accessToken,
    body: { cluster_id: "local", schedule_matrix: ASLEEP_ALL_WEEK },
  });
  expect(res.status).toBe(200);
  await eventually(
    async () =>
      ((await t.client.get({ ...HS, namespace: a.namespace, name: "local" })).status as { state?: string } | undefined)
        ?.state === "asleep",
    15_000,
    "asleep",
  );
  expect(await workloads()).toEqual({ web: "0 saved", "a-app": "0 saved", "b-app": "2", "c-app": "4" });
}

/** `kubectl delete` of the owner's local cluster, waited for until the cluster is gone. */
async function deleteLocalWithKubectl(): Promise<void> {
  const res = await kubectl(t.server, ["delete", "managedcluster", "local", "-n", a.namespace, "--wait=false"]);
  expect(res.code, res.stderr).toBe(0);
  await eventually(
    async () => !(await t.client.getIfExists({ ...MC, namespace: a.namespace, name: "local" })),
    20_000,
    "cluster gone",
  );
}

async function apply(manifest: object): Promise<void> {
  const res = await kubectl(t.server, ["apply", "-f", "-"], JSON.stringify(manifest));
  expect(res.code, res.stderr).toBe(0);
}

beforeAll(async () => {
  t = await startTestFacade();
  a = await t.signup("Owner of the local cluster");
  b = await t.signup("Attacker");
  c = await t.signup("Bystander");
  await designateLocalCluster(t.client, { namespace: a.namespace, name: "local" });
  await t.client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } });
  await t.client.create(deployment("shop", "web", 3));
  await t.client.create(deployment(a.namespace, "a-app", 1));
  await t.client.create(deployment(b.namespace, "b-app", 2));
  await t.client.create(deployment(c.namespace, "c-app", 4));
  operatorClient = new KubeClient(t.server.kubeConfig);
  manager = new ControllerManager({ client: operatorClient });
  await registerHibernationController({ manager, client: operatorClient });
  manager.start();
  await eventually(() => t.facades[0]!.cache.cluster(a.namespace, "local"), 5000, "cluster in the facade cache");
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  operatorClient?.close();
  await t?.stop();
});

describe("hibernation tenancy", () => {
  it("an outsider's schedule on a connected-then-deleted cluster never sleeps anything", async () => {
    const connect = await t.call("POST", "/clusters/connect", { token: b.accessToken, body: { cluster_id: "evil" } });
    expect(connect.status).toBe(200);
    const sched = await t.call("POST", "/hibernation/schedule", {
      token: b.accessToken,
      body: { cluster_id: "evil", schedule_matrix: ASLEEP_ALL_WEEK },
    });
    expect(sched.status).toBe(200);
    const created = await t.client.get({ ...HS, namespace: b.namespace, name: "evil" });
    expect(created.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}`)).toEqual(["ManagedCluster/evil"]);
    const del = await t.call("DELETE", "/settings/accounts", { token: b.accessToken, body: { account_id: "evil" } });
    expect(del.status).toBe(200);
    // The schedule goes with its cluster (owner reference), instead of surviving it and falling back to "local".
    await eventually(
      async () => !(await t.client.getIfExists({ ...HS, namespace: b.namespace, name: "evil" })),
      10_000,
    );
    // A schedule that names a missing cluster (kubectl) is ClusterNotFound and acts on nothing.
    await apply({
      ...HS,
      metadata: { name: "ghost", namespace: b.namespace },
      spec: { clusterRef: { name: "evil" }, timezone: "UTC", weekly: [] },
    });
    const ghost = await eventually(() => condition(b.namespace, "ghost"), 10_000, "ghost reconciled");
    expect(ghost).toMatchObject({ status: "False", reason: "ClusterNotFound" });
    expect(ghost.message).not.toMatch(/not valid/);
    // One whose spec is bad as well says both (another missing cluster: a second schedule of "evil" is a Duplicate).
    await apply({
      ...HS,
      metadata: { name: "ghost-mars", namespace: b.namespace },
      spec: { clusterRef: { name: "mars" }, timezone: "Mars/Olympus", weekly: [] },
    });
    const mars = await eventually(() => condition(b.namespace, "ghost-mars"), 10_000, "ghost-mars reconciled");
    expect(mars).toMatchObject({ status: "False", reason: "ClusterNotFound" });
    expect(mars.message).toMatch(/; the spec is not valid either: .*Mars\/Olympus/);
    expect(await workloads()).toEqual(UNTOUCHED);
  });

  it("an outsider cannot claim the local cluster with its own mode: local ManagedCluster", async () => {
    await apply({ ...MC, metadata: { name: "local", namespace: b.namespace }, spec: { mode: "local" } });
    await eventually(() => t.facades[0]!.cache.cluster(b.namespace, "local"), 5000);
    // Through the facade: 404, nothing written.
    const res = await t.call("POST", "/hibernation/schedule", {
      token: b.accessToken,
      body: { cluster_id: "local", schedule_matrix: ASLEEP_ALL_WEEK },
    });
    expect(res.status).toBe(404);
    expect(await t.client.getIfExists({ ...HS, namespace: b.namespace, name: "local" })).toBeUndefined();
    // Through kubectl: the controller refuses it.
    await apply({
      ...HS,
      metadata: { name: "claim", namespace: b.namespace },
      spec: { clusterRef: { name: "local" }, timezone: "UTC", weekly: [] },
    });
    const claim = await eventually(() => condition(b.namespace, "claim"), 10_000, "claim reconciled");
    expect(claim).toMatchObject({ status: "False", reason: "ClusterNotFound" });
    expect(await workloads()).toEqual(UNTOUCHED);
  });

  it("the owner's schedule sleeps its own namespaces only, never another organisation's", async () => {
    await sleepLocalAsOwner();
    const cluster = await t.client.get({ ...MC, namespace: a.namespace, name: "local" });
    expect(cluster.metadata?.finalizers).toContain("hibernation.spotoptimizer.io/wake-before-delete");
  });

  it("a second schedule for the same cluster is a Duplicate; the facade edits the one in force", async () => {
    await apply({
      ...HS,
      metadata: { name: "second", namespace: a.namespace },
      spec: { clusterRef: { name: "local" }, timezone: "UTC", weekly: [] },
    });
    const dup = await eventually(() => condition(a.namespace, "second"), 10_000, "second reconciled");
    expect(dup).toMatchObject({ status: "False", reason: "Duplicate" });
    expect(dup.message).toContain("HibernationSchedule local is in force");
    const events = (await t.client.listAll({ apiVersion: "v1", kind: "Event", namespace: a.namespace })).items as any[];
    expect(events.some((e) => e.involvedObject?.name === "second" && e.reason === "Duplicate")).toBe(true);
    const tz = await t.call("PATCH", "/hibernation/tz", {
      token: a.accessToken,
      body: { cluster_id: "local", timezone: "Europe/Berlin" },
    });
    expect(tz.status).toBe(200);
    const schedules = (await t.client.listAll({ ...HS, namespace: a.namespace })).items;
    expect(schedules.map((s) => `${s.metadata?.name} ${(s.spec as any).timezone}`).sort()).toEqual([
      "local Europe/Berlin",
      "second UTC",
    ]);
    await t.client.delete({ ...HS, namespace: a.namespace, name: "second" });
  });

  it("deleting the cluster (kubectl) wakes what its schedule put to sleep, then the cluster and schedule go", async () => {
    await deleteLocalWithKubectl();
    expect(await workloads()).toEqual(UNTOUCHED);
    await eventually(
      async () => !(await t.client.getIfExists({ ...HS, namespace: a.namespace, name: "local" })),
      20_000,
      "schedule gone",
    );
    const chain = await t.facades[0]!.audit.readChain(a.namespace);
    expect(chain.entries.map((e) => e.event)).toContain("hibernation.wake");
  });

  it("a schedule whose spec went bad while asleep still wakes its workloads and lets a deleted cluster go", async () => {
    await designateLocalCluster(t.client, { namespace: a.namespace, name: "local" });
    await eventually(() => t.facades[0]!.cache.cluster(a.namespace, "local"), 5000, "cluster in the facade cache");
    await sleepLocalAsOwner();
    // a time zone the API server takes but the schedule engine cannot read
    await t.client.patch(
      { ...HS, namespace: a.namespace, name: "local" },
      { spec: { timezone: "Europe/Berln" } },
      { type: "merge" },
    );
    await eventually(async () => (await condition(a.namespace, "local"))?.reason === "InvalidSpec", 10_000, "invalid");
    expect(await workloads()).toEqual({ web: "0 saved", "a-app": "0 saved", "b-app": "2", "c-app": "4" });
    await deleteLocalWithKubectl();
    expect(await workloads()).toEqual(UNTOUCHED);
  });
});
