// DELETE /settings/accounts of a cluster a finalizer holds (the operator removes what its templates applied there
// first): the answer says the disconnect is pending, the account shows as being removed, deleting it again is 409, and
// it is gone once the finalizer is.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };
const HOLD = "test.spotoptimizer.io/hold";

let f: ResourceFacade;
beforeAll(async () => {
  f = await startResourceFacade();
});
afterAll(async () => {
  await f.stop();
});

const accounts = async (token: string): Promise<Array<{ id: string; removing: boolean }>> =>
  (await f.call("GET", "/settings/accounts", { token })).body.accounts;

describe("DELETE /settings/accounts", () => {
  it("answers pending while a finalizer holds the cluster, refuses a second delete, and the account goes with it", async () => {
    const token = f.token(f.orgA);
    const ref = { ...MC, namespace: f.orgA, name: "edge" };
    await f.client.create({
      ...MC,
      metadata: { name: "edge", namespace: f.orgA, finalizers: [HOLD] },
      spec: { mode: "remote" },
    });
    await eventually(async () => (await accounts(token)).some((a) => a.id === "edge"), 5000, "edge listed");
    expect((await accounts(token)).find((a) => a.id === "edge")?.removing).toBe(false);

    const del = await f.call("DELETE", "/settings/accounts", { token, body: { account_id: "edge" } });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ success: true, account_id: "edge", pending: true });
    expect(del.body.message).toMatch(/started: .* removed through its agent first$/);
    expect((await f.client.getIfExists(ref))?.metadata?.deletionTimestamp).toBeDefined();
    expect((await accounts(token)).find((a) => a.id === "edge")?.removing).toBe(true);
    const again = await f.call("DELETE", "/settings/accounts", { token, body: { account_id: "edge" } });
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/already being disconnected/);

    await f.client.patch(ref, { metadata: { finalizers: null } }, { type: "merge" });
    await eventually(async () => !(await accounts(token)).some((a) => a.id === "edge"), 5000, "edge gone");
  });

  it("says the operator, not an agent, removes a held local cluster's objects", async () => {
    const token = f.token(f.orgB);
    const ref = { ...MC, namespace: f.orgB, name: "home" };
    await f.client.create({
      ...MC,
      metadata: { name: "home", namespace: f.orgB, finalizers: [HOLD] },
      spec: { mode: "local" },
    });
    await eventually(async () => (await accounts(token)).some((a) => a.id === "home"), 5000, "home listed");
    const del = await f.call("DELETE", "/settings/accounts", { token, body: { account_id: "home" } });
    expect(del.body).toMatchObject({ success: true, pending: true });
    expect(del.body.message).toMatch(/removed by the operator first$/);
    await f.client.patch(ref, { metadata: { finalizers: null } }, { type: "merge" });
    await eventually(async () => !(await accounts(token)).some((a) => a.id === "home"), 5000, "home gone");
  });

  it("answers done for a cluster nothing holds", async () => {
    const token = f.token(f.orgB);
    await f.client.create({ ...MC, metadata: { name: "plain", namespace: f.orgB }, spec: { mode: "remote" } });
    await eventually(async () => (await accounts(token)).some((a) => a.id === "plain"), 5000, "plain listed");
    const del = await f.call("DELETE", "/settings/accounts", { token, body: { account_id: "plain" } });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ success: true, pending: false, message: "Account disconnected" });
    expect(await f.client.getIfExists({ ...MC, namespace: f.orgB, name: "plain" })).toBeUndefined();
    expect(await accounts(token)).toEqual([]);
  });
});
