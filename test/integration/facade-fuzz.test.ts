// Fuzzed request bodies (fast-check) on every mutating resource endpoint: answers are 2xx or 4xx with a {"detail"}
// string, never 5xx; malformed JSON is 400; random path ids are 404/422.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";

let f: ResourceFacade;
beforeAll(async () => {
  f = await startResourceFacade();
  const t = f.token(f.orgA);
  expect((await f.call("POST", "/clusters/connect", { token: t, body: { cluster_id: "fuzz" } })).status).toBe(200);
  expect((await f.call("POST", "/templates", { token: t, body: { name: "base", families: ["m5"] } })).status).toBe(201);
  await eventually(() => f.cache.templates(f.orgA).length === 1);
});
afterAll(async () => {
  await f?.stop();
});

/** method, path, and the body's field names the dashboard sends (fuzzed values go into these and random keys). */
const ENDPOINTS: Array<[string, string, string[]]> = [
  ["POST", "/clusters/connect", ["cluster_id", "namespace", "region"]],
  ["POST", "/clusters/install", ["cluster_id", "namespace"]],
  ["POST", "/clusters/fuzz/optimize", []],
  ["POST", "/templates", ["name", "families", "architecture", "strategy", "disk_type", "disk_size", "cluster_id"]],
  ["POST", "/templates/validate", ["families", "architecture", "strategy", "disk_type", "disk_size"]],
  ["PATCH", "/templates/base/default", []],
  ["PATCH", "/policies/karpenter", ["enabled", "strategy", "cluster_id"]],
  ["PATCH", "/policies/strategy", ["strategy", "cluster_id"]],
  ["PATCH", "/policies/binpack", ["aggressiveness", "cluster_id"]],
  ["PATCH", "/policies/fallback", ["enabled", "cluster_id"]],
  ["PATCH", "/policies/spread", ["enabled", "cluster_id"]],
  ["PATCH", "/policies/exclusions", ["namespaces", "cluster_id"]],
  ["POST", "/hibernation/schedule", ["cluster_id", "schedule_matrix", "timezone"]],
  ["POST", "/hibernation/exception", ["cluster_id", "date", "mode"]],
  ["POST", "/hibernation/override", ["cluster_id", "action", "duration_hours"]],
  ["PATCH", "/hibernation/tz", ["timezone", "cluster_id"]],
  ["PATCH", "/hibernation/prewarm", ["enabled", "minutes", "cluster_id"]],
  ["DELETE", "/templates/does-not-exist", []],
];

/** Values that stress validators: wrong types, edge numbers, long and odd strings, near-valid shapes. */
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    "",
    "fuzz",
    "m5",
    "ARM64",
    "SPOT",
    "x86_64",
    "UTC",
    "Mars/Olympus",
    "2025-02-30",
    "force_sleep",
    "wake",
    "../etc",
    "__proto__",
  ),
  fc.integer({ min: -2, max: 200 }),
  fc.double(),
  fc.array(fc.integer({ min: -1, max: 2 }), { minLength: 160, maxLength: 170 }),
  fc.string({ maxLength: 300 }),
);

function bodyFor(fields: string[]): fc.Arbitrary<unknown> {
  const structured = fc.record(Object.fromEntries(fields.map((k) => [k, value])), { requiredKeys: [] });
  return fc.oneof(
    structured,
    fc.dictionary(fc.string({ maxLength: 12 }), value, { maxKeys: 4 }),
    fc.jsonValue({ maxDepth: 2 }),
  );
}

describe("fuzzed bodies never cause a 5xx", () => {
  for (const [method, path, fields] of ENDPOINTS) {
    it(`${method} ${path}`, async () => {
      await fc.assert(
        fc.asyncProperty(bodyFor(fields), async (body) => {
          const res = await f.call(method, path, { token: f.token(f.orgA), body });
          expect(res.status, `${JSON.stringify(body)} -> ${res.text}`).toBeLessThan(500);
          if (res.status >= 400) expect(typeof res.body?.detail, res.text).toBe("string");
        }),
        { numRuns: 25 },
      );
    });
  }

  it("malformed JSON is a 400 with detail, random path ids are 404/422", async () => {
    const bad = await f.call("PATCH", "/policies/binpack", { token: f.token(f.orgA), raw: '{"aggressiveness": 5' });
    expect(bad.status).toBe(400);
    expect(typeof bad.body.detail).toBe("string");
    // "." and ".." are no ids but dot segments: the URL parser resolves /clusters/. to /clusters/ before sending.
    const ids = fc.string({ minLength: 1, maxLength: 80 }).filter((id) => id !== "." && id !== "..");
    await fc.assert(
      fc.asyncProperty(ids, async (id) => {
        for (const [method, path] of [
          ["GET", "/clusters/%s"],
          ["POST", "/clusters/%s/optimize"],
          ["PATCH", "/templates/%s/default"],
          ["DELETE", "/templates/%s"],
        ] as const) {
          const res = await f.call(method, path.replace("%s", encodeURIComponent(id)), { token: f.token(f.orgA) });
          expect([404, 422], `${method} ${id} -> ${res.status} ${res.text}`).toContain(res.status);
        }
      }),
      { numRuns: 25 },
    );
  });
});
