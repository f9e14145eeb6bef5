// A user's active account whose cluster was deleted: every write without cluster_id answers 409 instead of landing on
// another cluster, GET /api/auth/me and GET /settings/accounts agree that it is gone, and cluster_id still works.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };
const OP = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "OptimizationPolicy" };
const HS = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule" };
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" };
const STALE =
  'your active account vy no longer exists: choose one with PATCH /settings/context {"account_id": ...} or pass cluster_id';

let f: ResourceFacade;
beforeAll(async () => {
  f = await startResourceFacade();
  for (const name of ["prod", "vy"])
    await f.client.create({ ...MC, metadata: { name, namespace: f.orgA }, spec: { mode: "remote" } });
  await eventually(() => f.cache.clusters(f.orgA).length === 2);
});
afterAll(async () => {
  await f?.stop();
});

/** Every object a write without cluster_id could have made or changed in the organisation. */
async function writtenState(): Promise<unknown> {
  const names = async (ref: typeof OP): Promise<unknown> =>
    (await f.client.list<any>({ ...ref, namespace: f.orgA })).items.map((o) => [o.metadata.name, o.spec]);
  return { policies: await names(OP), schedules: await names(HS), templates: await names(NT) };
}

/** The write routes that take an optional cluster_id, each with a body that is valid without it. */
const WRITES: Array<[string, string, Record<string, unknown>]> = [
  ["PATCH", "/policies/karpenter", { enabled: true }],
  ["PATCH", "/policies/strategy", { strategy: "lowest-price" }],
  ["PATCH", "/policies/binpack", { aggressiveness: 77 }],
  ["PATCH", "/policies/fallback", { enabled: true }],
  ["PATCH", "/policies/spread", { enabled: true }],
  ["PATCH", "/policies/exclusions", { namespaces: ["kube-system"] }],
  ["POST", "/hibernation/schedule", { timezone: "UTC", schedule_matrix: Array.from({ length: 168 }, () => 1) }],
  ["POST", "/hibernation/exception", { date: "2030-01-01", mode: "force_sleep" }],
  ["POST", "/hibernation/override", { action: "sleep", duration_hours: 1 }],
  ["PATCH", "/hibernation/tz", { timezone: "Europe/Berlin" }],
  ["PATCH", "/hibernation/prewarm", { enabled: true, minutes: 10 }],
  ["POST", "/templates", { name: "stray", families: ["m5"] }],
];

describe("a deleted active account", () => {
  it("is reported gone alike by /api/auth/me and /settings/accounts", async () => {
    const token = f.token(f.orgA);
    expect((await f.call("PATCH", "/settings/context", { token, body: { account_id: "vy" } })).status).toBe(200);
    const chosen = await eventually(async () => {
      const me = await f.call("GET", "/api/auth/me", { token });
      return me.body.active_account === "vy" ? me : undefined;
    });
    expect(chosen.body.active_account_reason).toBeNull();
    expect((await f.call("GET", "/settings/accounts", { token })).body).toMatchObject({
      active_account: "vy",
      active_account_reason: null,
    });
    expect((await f.call("DELETE", "/settings/accounts", { token, body: { account_id: "vy" } })).status).toBe(200);
    await eventually(() => f.cache.cluster(f.orgA, "vy") === undefined);
    const me = await f.call("GET", "/api/auth/me", { token });
    const accounts = await f.call("GET", "/settings/accounts", { token });
    expect(me.body).toMatchObject({ active_account: null, active_account_reason: STALE });
    expect(accounts.body).toMatchObject({ active_account: null, active_account_reason: STALE });
  });

  it("makes every write without cluster_id answer 409 and change nothing", async () => {
    const token = f.token(f.orgA);
    const before = await writtenState();
    for (const [method, path, body] of WRITES) {
      const res = await f.call(method, path, { token, body });
      expect(res.status, path).toBe(409);
      expect(res.body.detail, path).toBe(STALE);
    }
    expect(await writtenState()).toEqual(before);
  });

  it("still lets a write name its cluster, and a new choice lifts the refusal", async () => {
    const token = f.token(f.orgA);
    const named = await f.call("POST", "/hibernation/override", {
      token,
      body: { action: "sleep", duration_hours: 1, cluster_id: "prod" },
    });
    expect(named.status).toBe(200);
    expect(named.body.cluster_id).toBe("prod");
    expect((await f.call("PATCH", "/settings/context", { token, body: { account_id: "prod" } })).status).toBe(200);
    const res = await eventually(async () => {
      const r = await f.call("PATCH", "/policies/binpack", { token, body: { aggressiveness: 60 } });
      return r.status === 200 ? r : undefined;
    });
    expect(res.body.cluster_id).toBe("prod");
    expect((await f.call("GET", "/api/auth/me", { token })).body).toMatchObject({
      active_account: "prod",
      active_account_reason: null,
    });
  });
});
