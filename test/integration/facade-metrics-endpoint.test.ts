// Where /metrics is served: by default on the API port for a super_admin only; with SPOTOPT_METRICS_PORT on its own
// listener (loopback unless SPOTOPT_METRICS_HOST says otherwise) and not on the API port at all.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, startTestFacade, type TestFacade } from "../support/facade.js";

let t: TestFacade;
beforeAll(async () => {
  t = await startTestFacade();
});
afterAll(async () => {
  await t?.stop();
});

describe("/metrics", () => {
  it("answers only a super_admin on the API port by default", async () => {
    const owner = await t.signup();
    expect((await t.call("GET", "/metrics")).status).toBe(401);
    expect((await t.call("GET", "/metrics", { token: owner.accessToken })).status).toBe(403);
    const admin = (await t.call("POST", "/api/auth/token", { body: ADMIN })).body.access_token;
    const impersonated = await t.call("POST", "/admin/impersonate", { token: admin, body: { client_id: owner.orgId } });
    expect((await t.call("GET", "/metrics", { token: impersonated.body.temp_token })).status).toBe(403);
    const res = await t.call("GET", "/metrics", { token: admin });
    expect(res.status).toBe(200);
    expect(res.text).toContain("spotopt_facade_http_request_duration_seconds");
  });

  it("with SPOTOPT_METRICS_PORT is served there, without a token, and no longer on the API port", async () => {
    const replica = await t.startReplica({ env: { SPOTOPT_METRICS_PORT: "0" } });
    expect(replica.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await call(replica.url, "GET", "/health");
    const scraped = await fetch(replica.metricsUrl!);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/spotopt_facade_http_request_duration_seconds_count\{[^}]*route="\/health"/);
    const admin = (await call(replica.url, "POST", "/api/auth/token", { body: ADMIN })).body.access_token;
    expect((await call(replica.url, "GET", "/metrics", { token: admin })).status).toBe(404);
    // The metrics listener serves nothing else.
    expect((await fetch(replica.metricsUrl!.replace(/\/metrics$/, "/health"))).status).toBe(404);
  });

  it("refuses a SPOTOPT_METRICS_PORT that is not a port, naming the variable", async () => {
    await expect(t.startReplica({ env: { SPOTOPT_METRICS_PORT: "http" } })).rejects.toThrow(/SPOTOPT_METRICS_PORT/);
  });
});
