// Template endpoints over HTTP against the local API server: create (validated), list, exactly one default per cluster,
// validate, delete; CR state asserted in the API server; kubectl edits visible; other organisations get 404.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";

const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" };
const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };

let f: ResourceFacade;
beforeAll(async () => {
  f = await startResourceFacade();
  for (const ns of [f.orgA, f.orgB])
    await f.client.create({ ...MC, metadata: { name: "prod", namespace: ns }, spec: { mode: "remote" } });
  await eventually(() => f.cache.cluster(f.orgA, "prod") && f.cache.cluster(f.orgB, "prod"));
});
afterAll(async () => {
  await f?.stop();
});

async function defaults(ns: string): Promise<string[]> {
  const list = await f.client.list<any>({ ...NT, namespace: ns });
  return list.items.filter((t) => t.spec.isDefault).map((t) => t.metadata.name);
}

describe("templates", () => {
  it("creates a NodeTemplate from the dashboard's body; the first of a cluster becomes its default", async () => {
    const res = await f.call("POST", "/templates", {
      token: f.token(f.orgA),
      body: {
        name: "AI-Workloads",
        families: ["g4dn", "p3"],
        architecture: "x86_64",
        strategy: "SPOT",
        disk_type: "gp3",
        disk_size: 500,
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: "ai-workloads", success: true, cluster_id: "prod" });
    const nt = await f.client.get<any>({ ...NT, namespace: f.orgA, name: "ai-workloads" });
    expect(nt.spec).toMatchObject({
      clusterRef: { name: "prod" },
      families: ["g4dn", "p3"],
      architecture: "x86_64",
      strategy: "SPOT",
      diskType: "gp3",
      diskSize: 500,
      isDefault: true,
    });
    expect(nt.metadata.annotations["spotoptimizer.io/display-name"]).toBe("AI-Workloads");
    expect((await f.client.get<any>({ ...MC, namespace: f.orgA, name: "prod" })).spec.defaultTemplate).toBe(
      "ai-workloads",
    );
    const list = await f.call("GET", "/templates", { token: f.token(f.orgA, "viewer") });
    expect(list.body.templates).toEqual([
      expect.objectContaining({
        id: "ai-workloads",
        name: "AI-Workloads",
        families: ["g4dn", "p3"],
        architecture: "x86_64",
        strategy: "SPOT",
        is_default: true,
      }),
    ]);
  });

  it("rejects an incompatible template with 422 and creates nothing", async () => {
    const res = await f.call("POST", "/templates", {
      token: f.token(f.orgA),
      body: { name: "Bad", families: ["g4dn"], architecture: "ARM64" },
    });
    expect(res.status).toBe(422);
    expect(res.body.detail).toContain("g4dn is incompatible with ARM64");
    await expect(f.client.getIfExists({ ...NT, namespace: f.orgA, name: "bad" })).resolves.toBeUndefined();
    const dup = await f.call("POST", "/templates", {
      token: f.token(f.orgA),
      body: { name: "ai workloads", families: ["m5"] },
    });
    expect(dup.status).toBe(409);
  });

  it("keeps exactly one default per cluster when the default moves", async () => {
    const second = await f.call("POST", "/templates", {
      token: f.token(f.orgA),
      body: { name: "Production-General", families: ["m5", "c5", "r5"], strategy: "SPOT" },
    });
    expect(second.status).toBe(201);
    expect(second.body.template.is_default).toBe(false);
    const res = await f.call("PATCH", "/templates/production-general/default", { token: f.token(f.orgA) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      previous_default: "ai-workloads",
      new_default: "production-general",
      cluster_id: "prod",
    });
    expect(await defaults(f.orgA)).toEqual(["production-general"]);
    const mc = await f.client.get<any>({ ...MC, namespace: f.orgA, name: "prod" });
    expect(mc.spec.defaultTemplate).toBe("production-general");
    const again = await f.call("PATCH", "/templates/production-general/default", { token: f.token(f.orgA) });
    expect(again.body).toMatchObject({ previous_default: "production-general", new_default: "production-general" });
    expect(await defaults(f.orgA)).toEqual(["production-general"]);
  });

  it("ends with exactly one default when default changes and creations race", async () => {
    await f.client.create({ ...MC, metadata: { name: "race", namespace: f.orgA }, spec: { mode: "remote" } });
    await eventually(() => f.cache.cluster(f.orgA, "race"));
    const names = ["r1", "r2", "r3", "r4", "r5"];
    const created = await Promise.all(
      names.map((name) =>
        f.call("POST", "/templates", { token: f.token(f.orgA), body: { name, families: ["m5"], cluster_id: "race" } }),
      ),
    );
    expect(created.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    const raceDefaults = async (): Promise<string[]> =>
      (await f.client.list<any>({ ...NT, namespace: f.orgA })).items
        .filter((t) => t.spec.clusterRef.name === "race" && t.spec.isDefault)
        .map((t) => t.metadata.name);
    expect(await raceDefaults()).toHaveLength(1);
    const moved = await Promise.all(
      names.map((n) => f.call("PATCH", `/templates/${n}/default`, { token: f.token(f.orgA) })),
    );
    expect(moved.every((r) => r.status === 200)).toBe(true);
    const finalDefaults = await raceDefaults();
    expect(finalDefaults).toHaveLength(1);
    expect((await f.client.get<any>({ ...MC, namespace: f.orgA, name: "race" })).spec.defaultTemplate).toBe(
      finalDefaults[0],
    );
    for (const n of names)
      expect((await f.call("DELETE", `/templates/${n}`, { token: f.token(f.orgA) })).status).toBe(200);
  });

  it("validates drafts without writing anything (viewers may validate)", async () => {
    const res = await f.call("POST", "/templates/validate", {
      token: f.token(f.orgA, "viewer"),
      body: { families: ["g4dn"], architecture: "ARM64" },
    });
    expect(res.status).toBe(200);
    expect(res.body.valid).toBe(false);
    expect(res.body.warnings).toContain("Instance family g4dn is incompatible with ARM64");
    const ok = await f.call("POST", "/templates/validate", {
      token: f.token(f.orgA),
      body: { families: ["m7g", "c7g"], architecture: "arm64" },
    });
    expect(ok.body).toMatchObject({ valid: true, errors: [] });
    // Left out, the architecture is the one POST /templates gives: x86_64, which Graviton families do not run.
    const unsaid = { families: ["c6g"], name: "graviton", cluster_id: "prod" };
    const checked = await f.call("POST", "/templates/validate", { token: f.token(f.orgA), body: unsaid });
    expect(checked.body).toMatchObject({ valid: false, architecture: "x86_64" });
    expect(checked.body.errors).toContain("Instance family c6g is incompatible with x86_64");
    const created = await f.call("POST", "/templates", { token: f.token(f.orgA), body: unsaid });
    expect(created.status, JSON.stringify(created.body)).toBe(422);
    expect(created.body.detail).toMatch(/c6g is incompatible with x86_64/);
  });

  it("shows a kubectl edit of a template in GET /templates", async () => {
    await f.client.patch(
      { ...NT, namespace: f.orgA, name: "ai-workloads" },
      { spec: { families: ["g5"] } },
      { type: "merge" },
    );
    await eventually(async () => {
      const r = await f.call("GET", "/templates", { token: f.token(f.orgA) });
      return r.body.templates.find((t: any) => t.id === "ai-workloads")?.families[0] === "g5";
    });
  });

  it("shows the resolved instance types' prices with their source, and an undated price's date as null", async () => {
    const status = (asOf: string) => ({
      status: {
        instanceTypes: {
          count: 2,
          cheapest: { name: "g5.xlarge", hourlyUsd: 0.4 },
          dearest: { name: "g5.2xlarge", hourlyUsd: 1.2 },
          asOf,
          source: "derived,snapshot",
        },
      },
    });
    const view = async (asOf: string) => {
      await f.client.patch({ ...NT, namespace: f.orgA, name: "ai-workloads" }, status(asOf), {
        type: "merge",
        subresource: "status",
      });
      return eventually(async () => {
        const r = await f.call("GET", "/templates", { token: f.token(f.orgA) });
        const it = r.body.templates.find((t: any) => t.id === "ai-workloads")?.instance_types;
        return it?.as_of !== undefined && (it.as_of ?? "unknown") === asOf ? it : undefined;
      });
    };
    expect(await view("2025-06-28")).toMatchObject({ count: 2, as_of: "2025-06-28", price_source: "derived,snapshot" });
    expect(await view("unknown")).toMatchObject({ as_of: null, price_source: "derived,snapshot" });
  });

  it("answers 404 to another organisation and 403 to a viewer, changing nothing", async () => {
    expect((await f.call("PATCH", "/templates/ai-workloads/default", { token: f.token(f.orgB) })).status).toBe(404);
    expect((await f.call("DELETE", "/templates/ai-workloads", { token: f.token(f.orgB) })).status).toBe(404);
    expect((await f.call("DELETE", "/templates/ai-workloads", { token: f.token(f.orgA, "viewer") })).status).toBe(403);
    expect(
      (
        await f.call("POST", "/templates", {
          token: f.token(f.orgA),
          body: { name: "X", families: ["m5"], cluster_id: "nope" },
        })
      ).status,
    ).toBe(404);
    await expect(f.client.getIfExists({ ...NT, namespace: f.orgA, name: "ai-workloads" })).resolves.toBeDefined();
    expect((await f.call("GET", "/templates", { token: f.token(f.orgB) })).body.templates).toEqual([]);
  });

  it("deletes templates; deleting the default promotes the oldest remaining, deleting the last clears it", async () => {
    const res = await f.call("DELETE", "/templates/production-general", { token: f.token(f.orgA) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, new_default: "ai-workloads" });
    expect(res.body.message).toContain("Template deleted");
    await expect(
      f.client.getIfExists({ ...NT, namespace: f.orgA, name: "production-general" }),
    ).resolves.toBeUndefined();
    expect(await defaults(f.orgA)).toEqual(["ai-workloads"]);
    expect((await f.client.get<any>({ ...MC, namespace: f.orgA, name: "prod" })).spec.defaultTemplate).toBe(
      "ai-workloads",
    );
    expect(
      (await f.call("GET", "/templates", { token: f.token(f.orgA) })).body.templates.map((t: any) => [
        t.id,
        t.is_default,
      ]),
    ).toEqual([["ai-workloads", true]]);
    expect((await f.call("DELETE", "/templates/production-general", { token: f.token(f.orgA) })).status).toBe(404);
    const last = await f.call("DELETE", "/templates/ai-workloads", { token: f.token(f.orgA) });
    expect(last.body).toEqual({ success: true, message: "Template deleted", new_default: null });
    expect((await f.client.get<any>({ ...MC, namespace: f.orgA, name: "prod" })).spec.defaultTemplate).toBeUndefined();
  });
});

describe("a template whose deletion waits for its finalizer", () => {
  it("answers that its deletion started, and a second DELETE 409 without another audit entry", async () => {
    const token = f.token(f.orgB);
    const created = await f.call("POST", "/templates", { token, body: { name: "held", families: ["m5"] } });
    expect(created.status).toBe(201);
    try {
      // Something else holds it (as the controller does until a remote cluster's agent removed its NodePool).
      await f.client.patch(
        { ...NT, namespace: f.orgB, name: "held" },
        { metadata: { finalizers: ["example.com/hold"] } },
        {
          type: "merge",
        },
      );
      const first = await f.call("DELETE", "/templates/held", { token });
      expect(first.status).toBe(200);
      expect(first.body.message).toMatch(/deletion started/);
      expect(
        (await f.client.get<any>({ ...NT, namespace: f.orgB, name: "held" })).metadata.deletionTimestamp,
      ).toBeDefined();
      const again = await f.call("DELETE", "/templates/held", { token });
      expect(again.status).toBe(409);
      expect(again.body.detail).toMatch(/already being deleted/);
      const audit = await f.call("GET", "/audit?limit=50", { token });
      const deletions = audit.body.logs.filter(
        (e: any) => e.event === "Deleted node template" && e.resource === "nodetemplate/held",
      );
      expect(deletions).toHaveLength(1);
    } finally {
      await f.client.patch(
        { ...NT, namespace: f.orgB, name: "held" },
        { metadata: { finalizers: null } },
        { type: "merge" },
      );
    }
  });
});

describe("one default per cluster while templates are deleted and defaults race", () => {
  const HOLD = "example.com/hold";
  const token = (): string => f.token(f.orgA);
  const listed = async (cluster: string): Promise<any[]> =>
    (await f.call("GET", "/templates", { token: token() })).body.templates.filter((t: any) => t.cluster_id === cluster);
  const flagged = async (cluster: string): Promise<string[]> =>
    (await f.client.list<any>({ ...NT, namespace: f.orgA })).items
      .filter((t) => t.spec.clusterRef.name === cluster && t.spec.isDefault)
      .map((t) => t.metadata.name);
  const named = async (cluster: string): Promise<string | undefined> =>
    (await f.client.get<any>({ ...MC, namespace: f.orgA, name: cluster })).spec.defaultTemplate;

  beforeAll(async () => {
    for (const name of ["held-cluster", "many"])
      await f.client.create({ ...MC, metadata: { name, namespace: f.orgA }, spec: { mode: "remote" } });
    await eventually(() => f.cache.cluster(f.orgA, "held-cluster") && f.cache.cluster(f.orgA, "many"));
  });

  it("a default being deleted hands over to a live successor, is listed as deleting and cannot become default", async () => {
    for (const name of ["cmd", "next"]) {
      const res = await f.call("POST", "/templates", {
        token: token(),
        body: { name, families: ["m5"], cluster_id: "held-cluster" },
      });
      expect(res.status).toBe(201);
    }
    const ref = { ...NT, namespace: f.orgA, name: "cmd" };
    await f.client.patch(ref, { metadata: { finalizers: [HOLD] } }, { type: "merge" });
    try {
      const del = await f.call("DELETE", "/templates/cmd", { token: token() });
      expect(del.status).toBe(200);
      expect(del.body).toMatchObject({ new_default: "next" });
      expect((await f.client.get<any>(ref)).metadata.deletionTimestamp).toBeDefined();
      expect(await flagged("held-cluster")).toEqual(["next"]);
      expect(await named("held-cluster")).toBe("next");
      const again = await f.call("PATCH", "/templates/cmd/default", { token: token() });
      expect(again.status).toBe(409);
      expect(again.body.detail).toBe(
        "template cmd is being deleted: it cannot become the default; choose another template",
      );
      expect(await named("held-cluster")).toBe("next");
      expect(await flagged("held-cluster")).toEqual(["next"]);
      // Even flagged by hand, a template being deleted is not listed as the default.
      await f.client.patch(ref, { spec: { isDefault: true } }, { type: "merge" });
      await eventually(() => f.cache.template(f.orgA, "cmd")?.spec.isDefault === true);
      expect((await listed("held-cluster")).map((t) => [t.id, t.is_default, t.deleting])).toEqual([
        ["cmd", false, true],
        ["next", true, false],
      ]);
      const detail = await f.call("GET", "/clusters/held-cluster", { token: token() });
      expect(detail.body.node_groups.filter((t: any) => t.is_default).map((t: any) => t.id)).toEqual(["next"]);
      // The next default move reports the live default it replaced, not the deleting one.
      await f.call("POST", "/templates", {
        token: token(),
        body: { name: "x", families: ["m5"], cluster_id: "held-cluster" },
      });
      const moved = await f.call("PATCH", "/templates/x/default", { token: token() });
      expect(moved.body).toMatchObject({ previous_default: "next", new_default: "x" });
    } finally {
      await f.client.patch(ref, { metadata: { finalizers: null } }, { type: "merge" });
    }
  });

  it("concurrent moves end with one default, and each answer names the default it replaced", async () => {
    const names = ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"];
    for (const name of names) {
      const res = await f.call("POST", "/templates", {
        token: token(),
        body: { name, families: ["m5"], cluster_id: "many" },
      });
      expect(res.status).toBe(201);
    }
    expect(await named("many")).toBe("m0");
    const targets = names.slice(1);
    const moved = await Promise.all(targets.map((n) => f.call("PATCH", `/templates/${n}/default`, { token: token() })));
    expect(moved.map((r) => r.status)).toEqual(targets.map(() => 200));
    // Moves land one after another: the previous defaults are the first default and every target but the last.
    const previous = moved.map((r) => r.body.previous_default as string);
    expect(new Set(previous).size).toBe(targets.length);
    const last = targets.filter((n) => !previous.includes(n));
    expect(last).toHaveLength(1);
    expect([...previous].sort()).toEqual(["m0", ...targets.filter((n) => n !== last[0])].sort());
    expect(await named("many")).toBe(last[0]);
    expect(await flagged("many")).toEqual(last);
    expect((await listed("many")).filter((t) => t.is_default).map((t) => t.id)).toEqual(last);
  });
});

describe("template validation against the instance catalog", () => {
  it("refuses a family the cluster's region does not offer (m99) in validate and create, with the same finding", async () => {
    await f.client.create({
      ...MC,
      metadata: { name: "east", namespace: f.orgA },
      spec: { mode: "remote", region: "us-east-1" },
    });
    await eventually(() => f.cache.cluster(f.orgA, "east"));
    const res = await f.call("POST", "/templates/validate", {
      token: f.token(f.orgA),
      body: { families: ["m5", "m99"], cluster_id: "east" },
    });
    expect(res.status).toBe(200);
    expect(res.body.valid).toBe(false);
    expect(res.body.errors).toEqual([
      expect.stringMatching(/^Instance family m99 is not in the instance catalog of us-east-1/),
    ]);
    const created = await f.call("POST", "/templates", {
      token: f.token(f.orgA),
      body: { name: "typo", families: ["m5", "m99"], cluster_id: "east" },
    });
    expect(created.status).toBe(422);
    expect(created.body.detail).toContain(res.body.errors[0]);
    await expect(f.client.getIfExists({ ...NT, namespace: f.orgA, name: "typo" })).resolves.toBeUndefined();
  });
});

describe("template names, and validate agreeing with create", () => {
  beforeAll(async () => {
    await f.client.create({ ...MC, metadata: { name: "b-prod", namespace: f.orgB }, spec: { mode: "remote" } });
    await eventually(() => f.cache.cluster(f.orgB, "b-prod") !== undefined);
  });

  it("a name in any script is kept as the display name under an id derived from it; one with no letter is refused", async () => {
    const token = f.token(f.orgB);
    const body = { families: ["m5"], cluster_id: "b-prod" };
    const created = await f.call("POST", "/templates", { token, body: { ...body, name: "名前" } });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^template-[0-9a-f]{8}$/);
    const list = await f.call("GET", "/templates", { token });
    expect(list.body.templates).toContainEqual(expect.objectContaining({ id: created.body.id, name: "名前" }));
    const other = await f.call("POST", "/templates", { token, body: { ...body, name: "日本" } });
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(created.body.id);
    expect((await f.call("POST", "/templates", { token, body: { ...body, name: "!!!" } })).status).toBe(422);
  });

  it("two long names that start the same get different ids instead of a 409 naming the other", async () => {
    const token = f.token(f.orgB);
    const stem = "a".repeat(70);
    const first = await f.call("POST", "/templates", {
      token,
      body: { families: ["m5"], cluster_id: "b-prod", name: `${stem}-one` },
    });
    const second = await f.call("POST", "/templates", {
      token,
      body: { families: ["m5"], cluster_id: "b-prod", name: `${stem}-two` },
    });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(first.body.id).not.toBe(second.body.id);
    expect(first.body.id.length).toBeLessThanOrEqual(63);
    // the first keeps the id a long name always had (its slug cut at 63), and the same name again finds it
    expect(first.body.id).toBe("a".repeat(63));
    const again = await f.call("POST", "/templates", {
      token,
      body: { families: ["m5"], cluster_id: "b-prod", name: `${stem}-one` },
    });
    expect(again.status).toBe(409);
  });

  it("validate refuses what create refuses: an empty name, a name in use, a disk under the CRD's 8 GiB", async () => {
    const token = f.token(f.orgB);
    const validate = (extra: Record<string, unknown>): Promise<{ status: number; body: any }> =>
      f.call("POST", "/templates/validate", { token, body: { families: ["m5"], cluster_id: "b-prod", ...extra } });
    const empty = await validate({ name: "" });
    expect(empty.body).toMatchObject({ valid: false, errors: ["name must contain at least one letter or digit"] });
    const made = await f.call("POST", "/templates", {
      token,
      body: { families: ["m5"], cluster_id: "b-prod", name: "東京" },
    });
    expect(made.status).toBe(201);
    await eventually(() => f.cache.template(f.orgB, made.body.id) !== undefined);
    const taken = await validate({ name: "東京" });
    expect(taken.body.valid).toBe(false);
    expect(taken.body.errors[0]).toMatch(/already exists \(named "東京"\)/);
    const tiny = await validate({ disk_size: 5 });
    expect(tiny.body.valid).toBe(false);
    expect(tiny.body.errors).toEqual(["disk_size must be an integer between 8 and 16384 GiB"]);
    const create = await f.call("POST", "/templates", {
      token,
      body: { families: ["m5"], cluster_id: "b-prod", name: "tiny", disk_size: 5 },
    });
    expect(create.status).toBe(422);
    const small = await validate({ disk_size: 10, name: "fresh" });
    expect(small.body).toMatchObject({ valid: true, errors: [] });
    expect(small.body.warnings[0]).toMatch(/below the 20 GiB an EKS AMI needs/);
  });
});
