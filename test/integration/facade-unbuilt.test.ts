// The dashboard's routes whose feature is not built (lab, model registry, AWS-account onboarding, EKS discovery) answer
// 501 with what exists instead, after the same auth, role and input checks as a built route; GET /clusters/discover is
// not read as a cluster named discover; POST /onboard/skip answers where GET /api/auth/me routes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { ADMIN } from "../support/facade.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";

let f: ResourceFacade;
beforeAll(async () => {
  f = await startResourceFacade();
});
afterAll(async () => {
  await f?.stop();
});

const WRITES: Array<[string, Record<string, unknown>]> = [
  ["/lab/live-switch", { instance_id: "i-0abc1234", target_model: "Spot-V2-Aggressive" }],
  ["/lab/parallel", { instance_a: "i-0abc1234", model_a: "a", instance_b: "node-b", model_b: "b" }],
  ["/lab/graduate", { model_id: "uuid-model-1234" }],
  [
    "/connect/verify",
    { account_id: "123456789012", role_arn: "arn:aws:iam::123456789012:role/SpotOptimizerRole", external_id: "ext-1" },
  ],
  ["/connect/link", { account_alias: "Acme Lab Account" }],
];
const READS = ["/lab/parallel-results?test_id=ab-1", "/lab/stream/ab-1", "/connect/stream", "/clusters/discover"];

function detail(body: unknown): string {
  return String((body as { detail?: unknown }).detail);
}

describe("dashboard routes that are not built", () => {
  it("answer 501 with what exists instead, to the roles that may call them", async () => {
    for (const [path, body] of WRITES) {
      const res = await f.call("POST", path, { token: f.token(f.orgA, "admin"), body });
      expect(res.status, path).toBe(501);
      expect(detail(res.body), path).toMatch(/not built/);
      const viewer = await f.call("POST", path, { token: f.token(f.orgA, "viewer"), body });
      expect(viewer.status, path).toBe(403);
    }
    for (const path of READS) {
      const res = await f.call("GET", path, { token: f.token(f.orgB, "viewer") });
      expect(res.status, path).toBe(501);
      expect(detail(res.body), path).toMatch(/not built/);
    }
    expect(detail((await f.call("GET", "/clusters/discover", { token: f.token(f.orgA) })).body)).toMatch(
      /POST \/clusters\/connect/,
    );
  });

  it("check the caller and the input first: 401 without a token, 422 for a bad value or an unknown field", async () => {
    expect((await f.call("POST", "/lab/graduate", { body: { model_id: "m" } })).status).toBe(401);
    expect((await f.call("GET", "/clusters/discover")).status).toBe(401);
    const owner = f.token(f.orgA);
    const bad: Array<[string, Record<string, unknown>]> = [
      ["/lab/live-switch", { instance_id: "Not A Node!", target_model: "m" }],
      ["/lab/parallel", { instance_a: "node-a", model_a: "a", instance_b: "node-b" }],
      ["/lab/graduate", { model_id: "m", extra: true }],
      ["/connect/verify", { account_id: "1234", role_arn: "arn:aws:iam::123456789012:role/R", external_id: "ext" }],
      ["/connect/link", { account_alias: "" }],
    ];
    for (const [path, body] of bad) expect((await f.call("POST", path, { token: owner, body })).status, path).toBe(422);
    expect((await f.call("GET", "/lab/parallel-results", { token: owner })).status).toBe(422);
    expect((await f.call("GET", "/lab/stream/Not_An_Id", { token: owner })).status).toBe(422);
  });

  it("keep GET /clusters/discover apart from the cluster routes, which still answer for real clusters", async () => {
    await f.client.create({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "ManagedCluster",
      metadata: { name: "east", namespace: f.orgA },
      spec: { mode: "remote" },
    });
    const token = f.token(f.orgA);
    expect((await f.call("GET", "/clusters/discover", { token })).status).toBe(501);
    let found = 0;
    for (let i = 0; i < 50 && found !== 200; i++) {
      found = (await f.call("GET", "/clusters/east", { token })).status;
      if (found !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(found).toBe(200);
    expect((await f.call("GET", "/clusters/nope", { token })).status).toBe(404);
  });

  it("GET /admin/models is the platform's: 501 for a super_admin, 403 for an organisation's owner", async () => {
    const login = await f.call("POST", "/api/auth/token", { body: { email: ADMIN.email, password: ADMIN.password } });
    const adminToken = (login.body as { access_token: string }).access_token;
    const res = await f.call("GET", "/admin/models", { token: adminToken });
    expect(res.status).toBe(501);
    expect(detail(res.body)).toMatch(/no model registry/);
    expect((await f.call("GET", "/admin/models", { token: f.token(f.orgA) })).status).toBe(403);
  });

  it("a WebSocket to an unbuilt stream is refused with the 501 and its detail", async () => {
    const ws = new WebSocket(`${f.url.replace(/^http/, "ws")}/lab/stream/ab-1`, ["bearer", f.token(f.orgA)]);
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += String(chunk)));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.once("open", () => reject(new Error("the stream opened")));
      ws.once("error", () => undefined);
    });
    ws.terminate();
    expect(refused.status).toBe(501);
    expect(JSON.parse(refused.body).detail).toMatch(/lab is not built/);
  });
});

describe("POST /onboard/skip", () => {
  it("records nothing and answers where GET /api/auth/me routes the caller, for the caller only", async () => {
    for (const role of ["owner", "viewer"] as const) {
      const token = f.token(f.orgA, role);
      const me = (await f.call("GET", "/api/auth/me", { token })).body as { redirect_path: string; user_id: string };
      const res = await f.call("POST", "/onboard/skip", { token, body: { user_id: me.user_id } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ success: true, redirect: me.redirect_path });
    }
    const other = (await f.call("GET", "/api/auth/me", { token: f.token(f.orgB) })).body as { user_id: string };
    const res = await f.call("POST", "/onboard/skip", { token: f.token(f.orgA), body: { user_id: other.user_id } });
    expect(res.status).toBe(403);
    expect((await f.call("POST", "/onboard/skip", { body: {} })).status).toBe(401);
  });
});
