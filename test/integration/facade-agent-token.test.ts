// Agent tokens end to end: a token issued by POST /clusters/connect authenticates an `auth: "agent"` route of the real
// app for its own cluster only; rotation (connect again) revokes the old token; user JWTs are not agent tokens.
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
});
