// The facade's periodic retention sweep as it runs: it finds the organisations' chains itself (their namespaces, each
// head read by name) and applies each stored policy, leaving chains without one alone.
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";

let clockMs = Date.parse("2026-06-01T12:00:00Z");
let f: ResourceFacade;
beforeAll(async () => {
  f = await startResourceFacade({ now: () => new Date(clockMs), config: { retentionSweepSeconds: 1 } });
});
afterAll(async () => {
  await f?.stop();
});

it("removes what an organisation's policy no longer keeps, every sweep interval, and only there", async () => {
  const set = await f.call("PATCH", "/audit/retention", { token: f.token(f.orgA), body: { retention_days: 1 } });
  expect(set.status).toBe(200);
  await eventually(() => f.cache.auditEntries(f.orgA).some((e) => e.spec.event === "audit.retention"));
  const a = f.cache.auditEntries(f.orgA).length;
  const b = f.cache.auditEntries(f.orgB).length;
  expect(a).toBeGreaterThan(1);
  expect(b).toBeGreaterThan(1);
  // Three days on, no request made: the sweep alone removes all but A's newest entry (writers chain onto it).
  clockMs += 3 * 86_400_000;
  await eventually(() => f.cache.auditEntries(f.orgA).length === 1, 10_000);
  expect(f.cache.auditEntries(f.orgA)[0]!.spec.event).toBe("audit.retention");
  expect(f.cache.auditEntries(f.orgB).length).toBe(b);
});
