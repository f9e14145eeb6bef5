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
  it("name 501 wherever a route is not built, and 409 on every write but the session's own", () => {
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
    const sessions = ["/api/auth/token", "/api/auth/login", "/api/auth/refresh", "/api/auth/logout"];
    for (const o of operations.filter((x) => ["post", "put", "patch", "delete"].includes(x.method))) {
      const session = sessions.some((path) => o.at.endsWith(` ${path}`));
      expect(Object.keys(o.op.responses).includes("409"), o.at).toBe(!session);
    }
  });
});
