// Billing over HTTP: GET /billing/status reports the organisation's plan (its namespace annotation) against the node
// limit SPOTOPT_PLAN_NODE_LIMITS sets for it and the nodes its own clusters report, null with a reason where either is
// unknown; the routes that need a payment provider validate their input, keep viewers out and answer 501.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFacadeConfig } from "../../operator/facade/config.js";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };

let f: ResourceFacade;
beforeAll(async () => {
  f = await startResourceFacade({ config: { planNodeLimits: { free: 4, pro: 50, trial: 0 } } });
});
afterAll(async () => {
  await f?.stop();
});

async function setPlan(namespace: string, plan: string): Promise<void> {
  await f.client.patch(
    { apiVersion: "v1", kind: "Namespace", name: namespace },
    { metadata: { annotations: { "spotoptimizer.io/plan": plan } } },
    { type: "merge" },
  );
}

async function reportNodes(namespace: string, name: string, nodeCount: number): Promise<void> {
  await f.client.create({ ...MC, metadata: { name, namespace }, spec: { mode: "remote" } });
  await f.client.patch(
    { ...MC, namespace, name },
    { status: { nodeCount, spotPercentage: 50 } },
    { type: "merge", subresource: "status" },
  );
}

async function status(namespace: string, role: "owner" | "viewer" = "owner"): Promise<Record<string, unknown>> {
  const res = await f.call("GET", "/billing/status", { token: f.token(namespace, role) });
  expect(res.status).toBe(200);
  return res.body as Record<string, unknown>;
}

describe("GET /billing/status", () => {
  it("knows the plan and its limit with no cluster at all (none in use)", async () => {
    const body = await status(f.orgB);
    expect(body).toMatchObject({ plan: "free", node_limit: 4, node_limit_reason: null });
    // No cluster at all: none in use is a known figure.
    expect(body.nodes_used).toBe(0);
    expect(body.usage_percentage).toBe(0);
  });

  it("counts the nodes of the organisation's own clusters only, for every role", async () => {
    await reportNodes(f.orgA, "east", 3);
    await reportNodes(f.orgA, "west", 2);
    await reportNodes(f.orgB, "other", 7);
    await eventually(() => f.cache.clusters(f.orgA).filter((c) => c.status?.nodeCount !== undefined).length === 2);
    await eventually(() => f.cache.clusters(f.orgB).some((c) => c.status?.nodeCount === 7));
    for (const role of ["owner", "viewer"] as const) {
      const body = await status(f.orgA, role);
      expect(body).toMatchObject({ plan: "free", node_limit: 4, nodes_used: 5, nodes_used_reason: null });
      expect(body.usage_percentage).toBe(125);
    }
    expect(await status(f.orgB)).toMatchObject({ nodes_used: 7, usage_percentage: 175 });
  });

  it("follows the plan's annotation and names a plan without a configured limit", async () => {
    await setPlan(f.orgA, "pro");
    await eventually(async () => (await status(f.orgA)).plan === "pro");
    expect(await status(f.orgA)).toMatchObject({ node_limit: 50, nodes_used: 5, usage_percentage: 10 });

    await setPlan(f.orgA, "enterprise");
    await eventually(async () => (await status(f.orgA)).plan === "enterprise");
    const body = await status(f.orgA);
    expect(body).toMatchObject({ node_limit: null, nodes_used: 5, usage_percentage: null });
    expect(body.node_limit_reason).toMatch(/no node limit is configured for plan enterprise/);
    expect(body.usage_percentage_reason).toMatch(/enterprise/);

    // An inherited property name is a plan without a limit too, never a value from Object.prototype.
    await setPlan(f.orgA, "constructor");
    await eventually(async () => (await status(f.orgA)).plan === "constructor");
    expect(await status(f.orgA)).toMatchObject({ node_limit: null, usage_percentage: null });
  });

  it("says why the usage is unknown when a cluster has not reported its nodes, or when a plan includes none", async () => {
    await setPlan(f.orgB, "trial");
    await eventually(async () => (await status(f.orgB)).plan === "trial");
    const over = await status(f.orgB);
    expect(over).toMatchObject({ node_limit: 0, nodes_used: 7, usage_percentage: null });
    expect(over.usage_percentage_reason).toMatch(/includes no nodes and 7 are in use/);

    await setPlan(f.orgB, "pro");
    await f.client.create({ ...MC, metadata: { name: "silent", namespace: f.orgB }, spec: { mode: "remote" } });
    await eventually(() => f.cache.clusters(f.orgB).length === 2);
    await eventually(async () => (await status(f.orgB)).plan === "pro");
    const partial = await status(f.orgB);
    // The reported cluster still counts; the silent one is named, and the share is a lower bound.
    expect(partial).toMatchObject({ nodes_used: 7, node_limit: 50, usage_percentage: 14 });
    expect(partial.nodes_used_reason).toMatch(/silent/);
    expect(partial.usage_percentage_reason).toMatch(/at least.*silent/);
  });

  it("answers null with the reason while none of the organisation's clusters has reported its nodes", async () => {
    const other = await f.facade.signup("Gamma Corp");
    await f.client.create({ ...MC, metadata: { name: "quiet", namespace: other.namespace }, spec: { mode: "remote" } });
    await eventually(() => f.cache.clusters(other.namespace).length === 1);
    const res = await f.call("GET", "/billing/status", { token: other.accessToken });
    expect(res.body).toMatchObject({ plan: "free", node_limit: 4, nodes_used: null, usage_percentage: null });
    expect(res.body.nodes_used_reason).toMatch(/quiet/);
    expect(res.body.usage_percentage_reason).toMatch(/nodes used unknown/);
  });

  it("answers 401 without a token", async () => {
    expect((await f.call("GET", "/billing/status")).status).toBe(401);
  });
});

describe("routes that need a payment provider", () => {
  const routes: Array<[string, string, unknown]> = [
    ["POST", "/billing/card", { stripe_token: "tok_visa" }],
    ["GET", "/billing/history", undefined],
    ["POST", "/billing/subscription", { plan_id: "enterprise" }],
  ];

  it("answer 501 with a detail to owners and admins, 403 to viewers", async () => {
    for (const [method, path, body] of routes) {
      for (const role of ["owner", "admin"] as const) {
        const res = await f.call(method, path, { token: f.token(f.orgA, role), body });
        expect(res.status, `${method} ${path} as ${role}`).toBe(501);
        expect((res.body as { detail: string }).detail).toMatch(/payment provider/);
      }
      expect((await f.call(method, path, { token: f.token(f.orgA, "viewer"), body })).status).toBe(403);
    }
  });

  it("check their bodies first (422 naming the field), and leave the plan as it was", async () => {
    const bad = await f.call("POST", "/billing/card", { token: f.token(f.orgA), body: { stripe_token: 42 } });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).toMatch(/stripe_token/);
    const extra = await f.call("POST", "/billing/subscription", {
      token: f.token(f.orgA),
      body: { plan_id: "pro", price: 0 },
    });
    expect(extra.status).toBe(422);
    await f.call("POST", "/billing/subscription", { token: f.token(f.orgA), body: { plan_id: "free" } });
    expect((await status(f.orgA)).plan).toBe("constructor");
  });
});

describe("SPOTOPT_PLAN_NODE_LIMITS", () => {
  it("reads plan=nodes pairs and refuses anything else with the variable's name", () => {
    expect(loadFacadeConfig({ SPOTOPT_PLAN_NODE_LIMITS: "free=5, pro=50" }).planNodeLimits).toEqual({
      free: 5,
      pro: 50,
    });
    expect(loadFacadeConfig({}).planNodeLimits).toEqual({});
    for (const raw of ["free", "free=-1", "free=5,free=6", "Free=5", "free=5;pro=6", "free=1.5"])
      expect(() => loadFacadeConfig({ SPOTOPT_PLAN_NODE_LIMITS: raw }), raw).toThrow(/SPOTOPT_PLAN_NODE_LIMITS/);
  });
});
