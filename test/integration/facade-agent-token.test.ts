// Agent tokens end to end: a token issued by POST /clusters/connect authenticates an `auth: "agent"` route of the real
// app for its own cluster only; rotation (connect again) revokes the old token; user JWTs are not agent tokens;
// concurrent connects never answer a dead token; a reconnect keeps the region and takes a new display name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineRoute, type RouteDef } from "../../operator/facade/http.js";
import { eventually } from "../support/cluster.js";
import { startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

/** A stand-in for the agent endpoints (heartbeat etc., a later issue): echoes who the token says the caller is. */
const probe = defineRoute({
  method: "get",
  path: "/clusters/:id/agent-probe",
  summary: "test-only agent route",
  tags: ["test"],
  auth: "agent",
  params: z.object({ id: z.string() }).strict(),
  response: z.object({ namespace: z.string(), cluster: z.string() }),
  handler: async ({ auth }) => ({ namespace: auth?.namespace ?? "", cluster: auth?.agentClusterId ?? "" }),
}) as RouteDef;

let f: TestFacade;
let owner: SignedUp;
let other: SignedUp;
beforeAll(async () => {
  f = await startTestFacade({ extraRoutes: [[probe]] });
  owner = await f.signup("Agent Corp");
  other = await f.signup("Other Corp");
});
afterAll(async () => {
  await f?.stop();
});

async function connect(who: SignedUp, cluster: string): Promise<string> {
  const res = await f.call("POST", "/clusters/connect", { token: who.accessToken, body: { cluster_id: cluster } });
  expect(res.status).toBe(200);
  return res.body.api_token as string;
}

describe("agent tokens", () => {
  it("authenticate their own cluster's agent route and nothing else", async () => {
    const token = await connect(owner, "edge-1");
    await connect(owner, "edge-2");
    const ok = await eventually(async () => {
      const r = await f.call("GET", "/clusters/edge-1/agent-probe", { token });
      return r.status === 200 ? r : undefined;
    });
    expect(ok.body).toEqual({ namespace: owner.namespace, cluster: "edge-1" });
    expect((await f.call("GET", "/clusters/edge-2/agent-probe", { token })).status).toBe(401);
    expect((await f.call("GET", "/clusters/edge-1/agent-probe", { token: owner.accessToken })).status).toBe(401);
    expect((await f.call("GET", "/clusters/edge-1/agent-probe")).status).toBe(401);
    // The same cluster name in another organisation has its own token; A's token is not B's.
    const otherToken = await connect(other, "edge-1");
    await eventually(
      async () => (await f.call("GET", "/clusters/edge-1/agent-probe", { token: otherToken })).status === 200,
    );
    expect((await f.call("GET", "/clusters/edge-1/agent-probe", { token: otherToken })).body.namespace).toBe(
      other.namespace,
    );
    expect((await f.call("GET", "/clusters/edge-1/agent-probe", { token })).body.namespace).toBe(owner.namespace);
  });

  it("stop working once the token is rotated", async () => {
    const old = await connect(owner, "edge-3");
    await eventually(async () => (await f.call("GET", "/clusters/edge-3/agent-probe", { token: old })).status === 200);
    const fresh = await connect(owner, "edge-3");
    expect(fresh).not.toBe(old);
    expect((await f.call("GET", "/clusters/edge-3/agent-probe", { token: old })).status).toBe(401);
    expect((await f.call("GET", "/clusters/edge-3/agent-probe", { token: fresh })).status).toBe(200);
  });

  it("of concurrent connects of one cluster, each 200 hands out a working token; the others answer 409", async () => {
    for (const cluster of ["edge-4", "edge-5"]) {
      // edge-4 exists before the race (its token is rotated); edge-5 is created by it.
      if (cluster === "edge-4") await connect(owner, cluster);
      const answers = await Promise.all(
        Array.from({ length: 6 }, () =>
          f.call("POST", "/clusters/connect", { token: owner.accessToken, body: { cluster_id: cluster } }),
        ),
      );
      const ok = answers.filter((r) => r.status === 200);
      expect(ok.length, cluster).toBeGreaterThanOrEqual(1);
      for (const r of answers.filter((a) => a.status !== 200)) {
        expect(r.status, cluster).toBe(409);
        expect(r.body.detail).toBe(`the agent token of cluster ${cluster} was changed at the same time; try again`);
      }
      for (const r of ok) {
        const probe = await f.call("GET", `/clusters/${cluster}/agent-probe`, { token: r.body.api_token });
        expect(probe.status, cluster).toBe(200);
      }
    }
    // The cluster a losing creator made is the winner's cluster too: it stays.
    expect((await f.call("GET", "/clusters/edge-5", { token: owner.accessToken })).status).toBe(200);
  });
});

describe("reconnecting an existing cluster", () => {
  const connectWith = (body: Record<string, unknown>): ReturnType<TestFacade["call"]> =>
    f.call("POST", "/clusters/connect", { token: owner.accessToken, body: { cluster_id: "moved", ...body } });

  it("refuses another region with 409 and keeps the cluster and its token as they were", async () => {
    const first = await connectWith({ region: "us-east-1", display_name: "Moved" });
    expect(first.status).toBe(200);
    const token = first.body.api_token as string;
    const res = await connectWith({ region: "eu-west-1" });
    expect(res.status).toBe(409);
    expect(res.body.detail).toBe(
      "cluster moved is in region us-east-1: a reconnect cannot change its region (it decides the cluster's prices " +
        "and NodePools); leave region out, or connect it under a new cluster_id",
    );
    const cluster = await f.call("GET", "/clusters/moved", { token: owner.accessToken });
    expect(cluster.body).toMatchObject({ region: "us-east-1", name: "Moved" });
    expect((await f.call("GET", "/clusters/moved/agent-probe", { token })).status).toBe(200);
    // The same region is no change.
    expect((await connectWith({ region: "us-east-1" })).status).toBe(200);
  });

  it("applies a new display name", async () => {
    const res = await connectWith({ display_name: "Renamed" });
    expect(res.status).toBe(200);
    expect(res.body.created).toBe(false);
    const cluster = await f.call("GET", "/clusters/moved", { token: owner.accessToken });
    expect(cluster.body).toMatchObject({ name: "Renamed", region: "us-east-1" });
  });
});
