// IDOR matrix: organisation B calls every resource endpoint that takes an id or cluster_id with organisation A's ids.
// Every answer is 404 (or, for connect/install, B's own new cluster) and nothing in A's namespace changes, not even an
// audit entry.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";

const G = "spotoptimizer.io/v1alpha1";
const KINDS = [
  "ManagedCluster",
  "NodeTemplate",
  "OptimizationPolicy",
  "HibernationSchedule",
  "AuditEntry",
  "LabExperiment",
];

let f: ResourceFacade;
beforeAll(async () => {
  f = await startResourceFacade();
  const a = f.token(f.orgA);
  // Organisation A: a cluster, a default template, a policy and a schedule, all through the API.
  expect((await f.call("POST", "/clusters/connect", { token: a, body: { cluster_id: "alpha-prod" } })).status).toBe(
    200,
  );
  expect(
    (await f.call("POST", "/templates", { token: a, body: { name: "alpha-general", families: ["m5"] } })).status,
  ).toBe(201);
  expect((await f.call("PATCH", "/policies/binpack", { token: a, body: { aggressiveness: 40 } })).status).toBe(200);
  expect((await f.call("PATCH", "/hibernation/tz", { token: a, body: { timezone: "Europe/Berlin" } })).status).toBe(
    200,
  );
  // Organisation B has a cluster of its own so that the active-cluster rule has something to resolve to.
  expect(
    (await f.call("POST", "/clusters/connect", { token: f.token(f.orgB), body: { cluster_id: "beta-prod" } })).status,
  ).toBe(200);
  await eventually(() => f.cache.clusters(f.orgB).length === 1);
});
afterAll(async () => {
  await f?.stop();
});

/** name -> resourceVersion of every CR and Secret in the namespace. */
async function snapshot(namespace: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const kind of KINDS) {
    for (const o of (await f.client.list({ apiVersion: G, kind, namespace })).items)
      out[`${kind}/${o.metadata?.name}`] = String(o.metadata?.resourceVersion);
  }
  for (const o of (await f.client.list({ apiVersion: "v1", kind: "Secret", namespace })).items)
    out[`Secret/${o.metadata?.name}`] = String(o.metadata?.resourceVersion);
  return out;
}

const matrix: Array<[string, string, unknown]> = [
  ["GET", "/clusters/alpha-prod", undefined],
  ["POST", "/clusters/alpha-prod/optimize", {}],
  ["PATCH", "/templates/alpha-general/default", {}],
  ["DELETE", "/templates/alpha-general", undefined],
  ["POST", "/templates", { name: "sneaky", families: ["m5"], cluster_id: "alpha-prod" }],
  ["PATCH", "/policies/karpenter", { enabled: false, cluster_id: "alpha-prod" }],
  ["PATCH", "/policies/strategy", { strategy: "lowest-price", cluster_id: "alpha-prod" }],
  ["PATCH", "/policies/binpack", { aggressiveness: 99, cluster_id: "alpha-prod" }],
  ["PATCH", "/policies/fallback", { enabled: false, cluster_id: "alpha-prod" }],
  ["PATCH", "/policies/spread", { enabled: false, cluster_id: "alpha-prod" }],
  ["PATCH", "/policies/exclusions", { namespaces: ["x"], cluster_id: "alpha-prod" }],
  ["POST", "/hibernation/schedule", { cluster_id: "alpha-prod", schedule_matrix: new Array(168).fill(0) }],
  ["POST", "/hibernation/exception", { cluster_id: "alpha-prod", date: "2025-12-25", mode: "force_sleep" }],
  ["POST", "/hibernation/override", { cluster_id: "alpha-prod", action: "sleep", duration_hours: 5 }],
  ["PATCH", "/hibernation/tz", { cluster_id: "alpha-prod", timezone: "UTC" }],
  ["PATCH", "/hibernation/prewarm", { cluster_id: "alpha-prod", enabled: true, minutes: 10 }],
  ["GET", "/metrics/kpi?cluster_id=alpha-prod", undefined],
  ["GET", "/metrics/projection?cluster_id=alpha-prod", undefined],
  ["GET", "/metrics/composition?cluster_id=alpha-prod", undefined],
];

describe("IDOR matrix (organisation B × every endpoint with an id of organisation A)", () => {
  it("answers 404 everywhere for every role of B and changes nothing in A", async () => {
    const before = await snapshot(f.orgA);
    expect(Object.keys(before).length).toBeGreaterThan(5);
    const leaks: string[] = [];
    for (const role of ["owner", "admin"] as const) {
      for (const [method, path, body] of matrix) {
        const res = await f.call(method, path, { token: f.token(f.orgB, role), body });
        if (res.status !== 404 || typeof res.body?.detail !== "string")
          leaks.push(`${role} ${method} ${path} -> ${res.status}`);
        if (JSON.stringify(res.body ?? "").includes(f.orgA))
          leaks.push(`${role} ${method} ${path} names A's namespace`);
      }
    }
    expect(leaks).toEqual([]);
    expect(await snapshot(f.orgA)).toEqual(before);
  });

  it("connect/install with A's cluster name create B's own cluster and never touch A's token or cluster", async () => {
    const before = await snapshot(f.orgA);
    for (const path of ["/clusters/connect", "/clusters/install"]) {
      const res = await f.call("POST", path, { token: f.token(f.orgB), body: { cluster_id: "alpha-prod" } });
      expect(res.status).toBe(200);
    }
    expect(await snapshot(f.orgA)).toEqual(before);
    const mine = await f.client.get<any>({
      apiVersion: G,
      kind: "ManagedCluster",
      namespace: f.orgB,
      name: "alpha-prod",
    });
    expect(mine.metadata.namespace).toBe(f.orgB);
    // A's clusters list is unchanged, B's shows its two.
    expect((await f.call("GET", "/clusters", { token: f.token(f.orgA) })).body.clusters.map((c: any) => c.id)).toEqual([
      "alpha-prod",
    ]);
    expect(
      (await f.call("GET", "/clusters", { token: f.token(f.orgB) })).body.clusters.map((c: any) => c.id).sort(),
    ).toEqual(["alpha-prod", "beta-prod"]);
  });

  it("a viewer of A gets 403 on every mutating endpoint with A's own ids, and A is unchanged", async () => {
    const before = await snapshot(f.orgA);
    const mutating = [
      ...matrix.filter(([method]) => method !== "GET"),
      ["POST", "/clusters/connect", { cluster_id: "alpha-prod" }],
      ["POST", "/clusters/install", { cluster_id: "new" }],
    ] as Array<[string, string, unknown]>;
    const wrong: string[] = [];
    for (const [method, path, body] of mutating) {
      const res = await f.call(method, path, { token: f.token(f.orgA, "viewer"), body });
      if (res.status !== 403 || typeof res.body?.detail !== "string") wrong.push(`${method} ${path} -> ${res.status}`);
    }
    expect(wrong).toEqual([]);
    const after = await snapshot(f.orgA);
    // Denied attempts are audited (outcome "denied"); nothing else in A changed.
    const changed = Object.keys(after).filter((k) => after[k] !== before[k] && !k.startsWith("AuditEntry/"));
    expect(changed).toEqual([]);
    expect(Object.keys(after).filter((k) => !k.startsWith("AuditEntry/"))).toEqual(
      Object.keys(before).filter((k) => !k.startsWith("AuditEntry/")),
    );
  });

  it("lists never include the other organisation's objects", async () => {
    const b = f.token(f.orgB, "viewer");
    expect((await f.call("GET", "/templates", { token: b })).body.templates).toEqual([]);
    const feed = await f.call("GET", "/activity/live?limit=500", { token: b });
    // B's feed is exactly B's entries (its own failed attempts included), none of A's actions.
    expect(feed.body.events.map((e: any) => e.id).sort()).toEqual(
      f.cache
        .auditEntries(f.orgB)
        .map((e) => e.metadata.name)
        .sort(),
    );
    expect(feed.body.events.some((e: any) => e.action.startsWith("Created node template"))).toBe(false);
    expect(
      feed.body.events
        .filter((e: any) => e.resource.includes("alpha-general"))
        .every((e: any) => e.status !== "success"),
    ).toBe(true);
  });
});
