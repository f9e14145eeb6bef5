// The assembled facade: system endpoints, OpenAPI of every mounted route, metrics, log redaction, and fuzzed bodies on the auth, audit and settings mutating routes.
import fc from "fast-check";
import { pino } from "pino";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

let t: TestFacade;
let owner: SignedUp;
const logLines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  t = await startTestFacade({ logger: pino({ level: "info" }, sink) });
  owner = await t.signup("System Org");
});

afterAll(async () => {
  await t?.stop();
});

describe("system endpoints", () => {
  it("serves /, /health, /healthz, /readyz once synced, /docs locally and an OpenAPI 3.1 document of every route", async () => {
    expect((await t.call("GET", "/")).body).toMatchObject({
      name: "spot-optimizer",
      version: expect.any(String),
      docs: "/docs",
      health: "/health",
    });
    expect((await t.call("GET", "/health")).body).toMatchObject({
      status: "healthy",
      service: expect.any(String),
      timestamp: expect.stringMatching(/Z$/),
    });
    expect((await t.call("GET", "/healthz")).status).toBe(200);
    expect((await t.call("GET", "/readyz")).status).toBe(200);
    const doc = (await t.call("GET", "/openapi.json")).body;
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/api/auth/signup",
      "/api/auth/token",
      "/api/auth/refresh",
      "/audit/{id}/diff",
      "/audit/export",
      "/settings/team",
      "/admin/clients",
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.paths["/api/auth/signup"].post.requestBody.content["application/json"].schema).toBeDefined();
    const ui = await t.call("GET", "/docs/");
    expect(ui.status).toBe(200);
    expect(ui.text).not.toMatch(/unpkg|jsdelivr|cdnjs/);
  });

  it("counts requests by route template and tags responses with a request id", async () => {
    const res = await t.call("GET", "/audit/audit-000000000000/diff", { token: owner.accessToken });
    expect(res.headers.get("x-request-id")).toMatch(/\S+/);
    const echoed = await t.call("GET", "/health", { headers: { "x-request-id": "trace-123" } });
    expect(echoed.headers.get("x-request-id")).toBe("trace-123");
    const admin = (await t.call("POST", "/api/auth/token", { body: ADMIN })).body.access_token;
    const metrics = (await t.call("GET", "/metrics", { token: admin })).text;
    expect(metrics).toMatch(/spotopt_facade_http_request_duration_seconds_count\{[^}]*route="\/audit\/:id\/diff"/);
    expect(metrics).not.toContain("audit-000000000000");
    expect((await t.call("GET", "/helmet-check")).headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("never logs passwords or tokens", async () => {
    await t.call("POST", "/api/auth/token", { body: { email: owner.email, password: owner.password } });
    await t.call("GET", "/api/auth/me", { token: owner.accessToken });
    const all = logLines.join("");
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(owner.password);
    expect(all).not.toContain(owner.accessToken);
    expect(all).not.toContain(owner.refreshToken);
  });

  it("neither accepts nor logs a token in the query string", async () => {
    const leaked = `${owner.accessToken}`;
    for (const key of ["access_token", "token", "api_key"]) {
      const res = await t.call("GET", `/api/auth/me?${key}=${encodeURIComponent(leaked)}&x=1`);
      expect(res.status).toBe(401);
    }
    const all = logLines.join("");
    expect(all).toContain("/api/auth/me?access_token=%5BREDACTED%5D&x=1");
    expect(all).not.toContain(leaked);
  });
});

describe("fuzzed bodies on the auth, audit and settings mutating routes", () => {
  const routes: Array<[string, string, boolean]> = [
    ["POST", "/api/auth/signup", false],
    ["POST", "/api/auth/token", false],
    ["POST", "/api/auth/login", false],
    ["POST", "/api/auth/refresh", false],
    ["POST", "/api/auth/accept-invite", false],
    ["POST", "/api/auth/verify-email", false],
    ["POST", "/api/auth/logout", true],
    ["POST", "/api/auth/change-password", true],
    ["PATCH", "/audit/retention", true],
    ["DELETE", "/settings/accounts", true],
    ["PATCH", "/settings/context", true],
    ["POST", "/settings/invite", true],
  ];
  const field = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 3 }),
  );
  const bodies = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc
      .record(
        {
          email: field,
          password: field,
          org_name: field,
          refresh_token: field,
          current_password: field,
          new_password: field,
          retention_days: field,
          account_id: field,
          role: field,
          invite_id: field,
          invite_token: field,
          token: field,
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 60 }),
  );

  it("answers 4xx with a detail (or, for a body that happens to be valid, 2xx), never 5xx", async () => {
    // Its own user: a fuzzed body that happens to be a valid logout ends this session, not the other tests'.
    const fuzzer = await t.signup("Fuzz Org");
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), bodies, async ([method, path, needsAuth], raw) => {
        const res = await t.call(method, path, { raw, ...(needsAuth ? { token: fuzzer.accessToken } : {}) });
        expect(res.status, `${method} ${path} ${raw} -> ${res.status} ${res.text}`).toBeLessThan(500);
        if (res.status >= 400) expect(typeof res.body?.detail).toBe("string");
        else expect(res.status).toBeLessThan(300);
      }),
      { numRuns: 150 },
    );
  });
});
