// The six PATCH /policies/* over HTTP: each writes its part of the cluster's OptimizationPolicy (created on first use),
// keeps the other parts, follows the caller's chosen cluster without cluster_id (never a guess among several), and
// never touches another organisation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { designateLocalCluster } from "../support/local-cluster.js";

const OP = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "OptimizationPolicy" };
const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };

let f: ResourceFacade;
beforeAll(async () => {
  f = await startResourceFacade();
  await f.client.create({ ...MC, metadata: { name: "alpha-first", namespace: f.orgA }, spec: { mode: "remote" } });
  await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has second resolution: make "oldest" unambiguous
  await f.client.create({ ...MC, metadata: { name: "alpha-second", namespace: f.orgA }, spec: { mode: "remote" } });
  await f.client.create({ ...MC, metadata: { name: "beta", namespace: f.orgB }, spec: { mode: "remote" } });
  await eventually(() => f.cache.clusters(f.orgA).length === 2 && f.cache.clusters(f.orgB).length === 1);
});
afterAll(async () => {
  await f?.stop();
});

const policy = async (ns: string, name: string): Promise<any> =>
  (await f.client.getIfExists<any>({ ...OP, namespace: ns, name }))?.spec;

describe("policies", () => {
  it("applies the dashboard's bodies one by one to the named cluster's OptimizationPolicy", async () => {
    const t = f.token(f.orgA);
    const steps: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      [
        "/policies/karpenter",
        { enabled: true, strategy: "capacity-optimized" },
        { karpenter: { enabled: true }, strategy: "capacity-optimized" },
      ],
      ["/policies/strategy", { strategy: "lowest-price" }, { strategy: "lowest-price" }],
      ["/policies/binpack", { aggressiveness: 50 }, { binpack: { aggressiveness: 50 } }],
      ["/policies/fallback", { enabled: true }, { spotFallback: { enabled: true } }],
      ["/policies/spread", { enabled: true }, { azSpread: { enabled: true } }],
      [
        "/policies/exclusions",
        { namespaces: ["kube-system", "monitoring", "vault"] },
        { exclusions: { namespaces: ["kube-system", "monitoring", "vault"] } },
      ],
    ];
    for (const [path, body, expected] of steps) {
      const res = await f.call("PATCH", path, { token: t, body: { ...body, cluster_id: "alpha-second" } });
      expect(res.status, path).toBe(200);
      expect(res.body).toMatchObject({ success: true, cluster_id: "alpha-second" });
      expect(res.body.broadcast).toContain("alpha-second");
      expect(await policy(f.orgA, "alpha-second")).toMatchObject(expected);
    }
    // Every part survived the later patches.
    expect(await policy(f.orgA, "alpha-second")).toEqual({
      clusterRef: { name: "alpha-second" },
      karpenter: { enabled: true },
      strategy: "lowest-price",
      binpack: { aggressiveness: 50 },
      spotFallback: { enabled: true },
      azSpread: { enabled: true },
      exclusions: { namespaces: ["kube-system", "monitoring", "vault"] },
    });
  });

  it("records each change as an AuditEntry with the spec before and after", async () => {
    const entry = await eventually(() =>
      f.cache
        .auditEntries(f.orgA)
        .filter(
          (e) =>
            e.spec.resource === "optimizationpolicy/alpha-second" && e.spec.event === "Updated namespace exclusions",
        )
        .at(-1),
    );
    expect(entry.spec.outcome).toBe("success");
    expect((entry.spec.before as any).exclusions).toBeUndefined();
    expect((entry.spec.after as any).exclusions).toEqual({ namespaces: ["kube-system", "monitoring", "vault"] });
    expect((entry.spec.before as any).binpack).toEqual({ aggressiveness: 50 });
    expect(entry.spec.actor).toMatch(/@/);
  });

  it("without cluster_id and no chosen cluster refuses to guess among several clusters: 409 naming them", async () => {
    const before = [await policy(f.orgA, "alpha-first"), await policy(f.orgA, "alpha-second")];
    const res = await f.call("PATCH", "/policies/binpack", { token: f.token(f.orgA), body: { aggressiveness: 80 } });
    expect(res.status).toBe(409);
    expect(res.body.detail).toBe(
      "this organisation has 2 clusters (alpha-first, alpha-second) and you have chosen none: " +
        'choose one with PATCH /settings/context {"account_id": ...} or pass cluster_id',
    );
    expect([await policy(f.orgA, "alpha-first"), await policy(f.orgA, "alpha-second")]).toEqual(before);
  });

  it("without cluster_id applies to the organisation's only cluster", async () => {
    const res = await f.call("PATCH", "/policies/binpack", { token: f.token(f.orgB), body: { aggressiveness: 40 } });
    expect(res.status).toBe(200);
    expect(res.body.cluster_id).toBe("beta");
    expect((await policy(f.orgB, "beta")).binpack).toEqual({ aggressiveness: 40 });
  });

  it("without cluster_id follows the caller's context (PATCH /settings/context) once one is chosen", async () => {
    const admin = f.token(f.orgA, "admin");
    expect(
      (await f.call("PATCH", "/settings/context", { token: admin, body: { account_id: "alpha-second" } })).status,
    ).toBe(200);
    const res = await f.call("PATCH", "/policies/binpack", { token: admin, body: { aggressiveness: 65 } });
    expect(res.body.cluster_id).toBe("alpha-second");
    expect((await policy(f.orgA, "alpha-second")).binpack).toEqual({ aggressiveness: 65 });
    // The owner has chosen no context: still no guess.
    const owner = await f.call("PATCH", "/policies/binpack", { token: f.token(f.orgA), body: { aggressiveness: 81 } });
    expect(owner.status).toBe(409);
    // Restore for the tests below.
    await f.call("PATCH", "/policies/binpack", { token: admin, body: { aggressiveness: 50 } });
  });

  it("keeps a kubectl edit and shows it in the next PATCH response", async () => {
    await f.client.patch(
      { ...OP, namespace: f.orgA, name: "alpha-second" },
      { spec: { azSpread: { enabled: false } } },
      { type: "merge" },
    );
    await eventually(
      () => f.cache.policies(f.orgA).find((p) => p.metadata.name === "alpha-second")?.spec.azSpread?.enabled === false,
    );
    const res = await f.call("PATCH", "/policies/fallback", {
      token: f.token(f.orgA),
      body: { enabled: false, cluster_id: "alpha-second" },
    });
    expect(res.body.policy).toMatchObject({ azSpread: { enabled: false }, spotFallback: { enabled: false } });
  });

  it("rejects out-of-range values with 422 naming the field", async () => {
    const res = await f.call("PATCH", "/policies/binpack", { token: f.token(f.orgA), body: { aggressiveness: 101 } });
    expect(res.status).toBe(422);
    expect(res.body.detail).toContain("aggressiveness");
    const bad = await f.call("PATCH", "/policies/exclusions", {
      token: f.token(f.orgA),
      body: { namespaces: ["Not_A_Namespace"] },
    });
    expect(bad.status).toBe(422);
  });

  it("never writes another organisation's policy: 404 for its cluster id, and a viewer gets 403", async () => {
    const before = await policy(f.orgB, "beta");
    for (const path of ["/policies/karpenter", "/policies/fallback", "/policies/spread"]) {
      const res = await f.call("PATCH", path, { token: f.token(f.orgA), body: { enabled: false, cluster_id: "beta" } });
      expect(res.status).toBe(404);
    }
    expect(
      (
        await f.call("PATCH", "/policies/strategy", {
          token: f.token(f.orgB, "viewer"),
          body: { strategy: "lowest-price" },
        })
      ).status,
    ).toBe(403);
    expect(await policy(f.orgB, "beta")).toEqual(before);
  });
});

describe("the policy in force", () => {
  it("edits the cluster's oldest policy, never creates a second, and names the NodePools that change", async () => {
    const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" };
    // The organisation's designated local cluster: the operator writes its NodePools itself.
    await designateLocalCluster(f.client, { namespace: f.orgA, name: "gamma", spec: { region: "us-east-1" } });
    await f.client.create({
      ...OP,
      metadata: { name: "gamma-ops", namespace: f.orgA },
      spec: { clusterRef: { name: "gamma" }, binpack: { aggressiveness: 10 } },
    });
    await f.client.create({
      ...NT,
      metadata: { name: "web", namespace: f.orgA },
      spec: { clusterRef: { name: "gamma" }, families: ["m5"] },
    });
    await eventually(
      () =>
        f.cache.policies(f.orgA).some((p) => p.metadata.name === "gamma-ops") &&
        f.cache.templates(f.orgA).some((t) => t.metadata.name === "web"),
    );
    const res = await f.call("PATCH", "/policies/binpack", {
      token: f.token(f.orgA),
      body: { aggressiveness: 90, cluster_id: "gamma" },
    });
    expect(res.status).toBe(200);
    expect(res.body.policy_name).toBe("gamma-ops");
    expect(res.body.node_pools_changed).toEqual([karpenterName(f.orgA, "web")]);
    expect(res.body.broadcast).toContain(`reshapes 1 NodePool(s): ${karpenterName(f.orgA, "web")}`);
    expect(await policy(f.orgA, "gamma-ops")).toMatchObject({ binpack: { aggressiveness: 90 } });
    expect(await policy(f.orgA, "gamma")).toBeUndefined();
    const same = await f.call("PATCH", "/policies/binpack", {
      token: f.token(f.orgA),
      body: { aggressiveness: 95, cluster_id: "gamma" },
    });
    // 90 and 95 fall in the same row of the disruption table: nothing to reshape, and the answer says so.
    expect(same.body.node_pools_changed).toEqual([]);
    expect(same.body.broadcast).toContain("no NodePool of the cluster changes");
  });

  it("names a remote cluster's NodePools too, and leaves out a pool already narrowed back to Spot", async () => {
    const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" };
    for (const name of ["api", "api-narrowed"])
      await f.client.create({
        ...NT,
        metadata: { name, namespace: f.orgA },
        spec: { clusterRef: { name: "alpha-first" }, families: ["m5"], strategy: "SPOT" },
      });
    await eventually(
      () => f.cache.templates(f.orgA).filter((t) => t.spec.clusterRef.name === "alpha-first").length === 2,
    );
    const on = await f.call("PATCH", "/policies/fallback", {
      token: f.token(f.orgA),
      body: { enabled: true, cluster_id: "alpha-first" },
    });
    expect(on.status).toBe(200);
    expect(on.body.node_pools_changed).toEqual([karpenterName(f.orgA, "api"), karpenterName(f.orgA, "api-narrowed")]);
    expect(on.body.broadcast).toContain("reshapes 2 NodePool(s) through the agent of cluster alpha-first");

    // The controller's return to Spot: this pool allows Spot only again, so turning fallback off leaves it as it is.
    const condition = {
      type: "SpotFallback",
      status: "False",
      reason: "ReturningToSpot",
      message: "narrowed to Spot",
      lastTransitionTime: new Date().toISOString(),
      observedGeneration: 1,
    };
    await f.client.patch(
      { ...NT, namespace: f.orgA, name: "api-narrowed" },
      { status: { conditions: [condition] } },
      { type: "merge", subresource: "status" },
    );
    await eventually(() =>
      f.cache
        .templates(f.orgA)
        .some((t) => t.metadata.name === "api-narrowed" && (t.status?.conditions ?? []).length === 1),
    );
    const off = await f.call("PATCH", "/policies/fallback", {
      token: f.token(f.orgA),
      body: { enabled: false, cluster_id: "alpha-first" },
    });
    expect(off.status).toBe(200);
    expect(off.body.node_pools_changed).toEqual([karpenterName(f.orgA, "api")]);
  });
});
