// Security headers follow how the facade is reached: no HSTS or upgrade-insecure-requests over plain HTTP (so Swagger
// UI works on a port-forward), both when SPOTOPT_HTTPS says TLS ends in front of it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFacadeConfig } from "../../operator/facade/config.js";
import { call, startTestFacade, type TestFacade } from "../support/facade.js";

let t: TestFacade;

beforeAll(async () => {
  t = await startTestFacade();
});

afterAll(async () => {
  await t?.stop();
});

describe("security headers by transport", () => {
  it("sends neither HSTS nor upgrade-insecure-requests by default, and still sends the other helmet headers", async () => {
    for (const path of ["/healthz", "/docs/"]) {
      const res = await t.call("GET", path);
      expect(res.headers.get("strict-transport-security")).toBeNull();
      expect(res.headers.get("content-security-policy") ?? "").not.toMatch(/upgrade-insecure-requests/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("keeps no signed-in answer in a browser or proxy cache (no-store); public answers may be cached", async () => {
    const owner = await t.signup();
    for (const path of ["/templates", "/clusters", "/api/auth/me"]) {
      const res = await t.call("GET", path, { token: owner.accessToken });
      expect(res.status, path).toBe(200);
      expect(res.headers.get("cache-control"), path).toBe("no-store");
    }
    expect((await t.call("GET", "/healthz")).headers.get("cache-control")).toBeNull();
  });

  it("sends both when configured as served over HTTPS", async () => {
    const replica = await t.startReplica({ config: loadFacadeConfig({ SPOTOPT_HTTPS: "true" }) });
    const res = await call(replica.url, "GET", "/healthz");
    expect(res.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
    expect(res.headers.get("content-security-policy")).toMatch(/upgrade-insecure-requests/);
  });

  it("refuses a SPOTOPT_HTTPS that is not true or false, naming the variable", () => {
    expect(() => loadFacadeConfig({ SPOTOPT_HTTPS: "yes" })).toThrow(/SPOTOPT_HTTPS must be true or false, got "yes"/);
  });
});
