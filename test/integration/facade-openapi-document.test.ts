// The facade's API contract: GET /openapi.json is byte for byte the committed docs/openapi.json (npm run gen:openapi).
import { describe, expect, it } from "vitest";
import { committedOpenApi, servedOpenApi } from "../support/openapi-document.js";

describe("OpenAPI document", () => {
  it("is what docs/openapi.json records (run npm run gen:openapi after a deliberate API change)", async () => {
    const served = await servedOpenApi();
    // Compared as text, not as parsed objects: key order and every description count.
    expect(JSON.parse(served)).toEqual(JSON.parse(committedOpenApi()));
    expect(served === committedOpenApi(), "GET /openapi.json differs from docs/openapi.json in key order").toBe(true);
  }, 60_000);
});

describe("OpenAPI responses", () => {
  it("name 501 wherever a route is not built, and 409 on every write but the session's own and those that change nothing", () => {
    const doc = JSON.parse(committedOpenApi()) as {
      paths: Record<string, Record<string, { summary: string; responses: Record<string, unknown> }>>;
    };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, method, op })),
    );
    const unbuilt = operations.filter((o) => /not built/i.test(o.op.summary));
    expect(unbuilt.map((o) => o.at)).toContain("POST /lab/live-switch");
    expect(unbuilt.map((o) => o.at)).toContain("POST /admin/reset-pass");
    for (const o of unbuilt) expect(Object.keys(o.op.responses), o.at).toContain("501");
    const noConflict = [
      "/api/auth/token",
      "/api/auth/login",
      "/api/auth/refresh",
      "/api/auth/logout",
      "/templates/validate",
      "/onboard/skip",
    ];
    for (const o of operations.filter((x) => ["post", "put", "patch", "delete"].includes(x.method))) {
      const none = noConflict.some((path) => o.at.endsWith(` ${path}`));
      expect(Object.keys(o.op.responses).includes("409"), o.at).toBe(!none);
    }
  });

  it("name what each route answers: a public sign-in's 401, no 403 where no role is checked, 422 for a bad path id", () => {
    const doc = JSON.parse(committedOpenApi()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
    };
    const codes = (path: string, method: string): string[] => Object.keys(doc.paths[path]![method]!.responses);
    for (const path of ["/api/auth/login", "/api/auth/token", "/api/auth/refresh", "/api/auth/verify-email"])
      expect(codes(path, "post"), path).toContain("401");
    expect(codes("/api/auth/accept-invite", "post")).toContain("404");
    expect(codes("/audit/export/file", "get")).toContain("403");
    for (const path of ["/clusters/{id}/heartbeat", "/clusters/{id}/actions/pending"]) {
      const method = path.endsWith("heartbeat") ? "post" : "get";
      expect(codes(path, method), path).toContain("401");
      expect(codes(path, method), path).not.toContain("403");
      expect(doc.paths[path]![method]!.security, path).toEqual([{ agentToken: [] }]);
      expect(codes(path, method), path).toContain("503");
    }
    expect(codes("/clusters/{id}", "get")).toEqual(expect.arrayContaining(["404", "422", "503"]));
    // a body's cluster_id that is not the caller's
    expect(codes("/policies/fallback", "patch")).toContain("404");
  });
});
