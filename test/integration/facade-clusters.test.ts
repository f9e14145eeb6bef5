// Cluster endpoints through real HTTP against the local API server: list/detail from the cache, connect/install
// (ManagedCluster + hashed agent token), optimize (re-plan request), kubectl-side edits, tenancy and roles.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };

let f: ResourceFacade;
beforeAll(async () => {
  f = await startResourceFacade();
});
afterAll(async () => {
  await f?.stop();
});

// Fault injection never outlives the test that set it, even when that test fails.
afterEach(() => f?.server.faults.reset());

describe("clusters", () => {
  it("connect creates the ManagedCluster, stores only the token's hash and returns the helm command once", async () => {
    const res = await f.call("POST", "/clusters/connect", {
      token: f.token(f.orgA),
      body: { cluster_id: "prod-us-east-1" },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ cluster_id: "prod-us-east-1", created: true });
    expect(res.body.helm_command).toContain("helm upgrade --install");
    expect(res.body.helm_command).toContain(res.body.api_token);
    expect(res.body.endpoint).toBe(f.url);
    const mc = await f.client.get<any>({ ...MC, namespace: f.orgA, name: "prod-us-east-1" });
    const secretName = `${f.orgA}.prod-us-east-1-agent-token`;
    expect(mc.spec).toMatchObject({ mode: "remote", agentTokenSecretRef: { name: secretName } });
    // The hash lives in the release namespace, labelled with the organisation, the cluster and the cluster's uid.
    const secret = await f.client.get<any>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      name: secretName,
    });
    const stored = Buffer.from(secret.data["token-hash"], "base64").toString("utf8");
    expect(stored).toBe(createHash("sha256").update(res.body.api_token).digest("hex"));
    expect(JSON.stringify(secret)).not.toContain(res.body.api_token);
    expect(secret.metadata.labels).toEqual({
      "spotoptimizer.io/agent-token": "true",
      "spotoptimizer.io/organisation-namespace": f.orgA,
      "spotoptimizer.io/cluster": "prod-us-east-1",
      "spotoptimizer.io/cluster-uid": mc.metadata.uid,
    });
    expect(secret.metadata.ownerReferences).toBeUndefined();
    // Nothing of it in the organisation's own namespace.
    expect((await f.client.list({ apiVersion: "v1", kind: "Secret", namespace: f.orgA })).items).toEqual([]);
    // Another organisation never sees it.
    await expect(f.client.getIfExists({ ...MC, namespace: f.orgB, name: "prod-us-east-1" })).resolves.toBeUndefined();
  });

  it("install on an existing cluster rotates the token (old hash replaced) and uses the agent namespace", async () => {
    const first = await f.call("POST", "/clusters/install", {
      token: f.token(f.orgA),
      body: { cluster_id: "prod-us-east-1", namespace: "spot-optimizer" },
    });
    expect(first.status).toBe(200);
    expect(first.body.created).toBe(false);
    expect(first.body.helm_command).toContain("--namespace spot-optimizer ");
    expect(first.body).toHaveProperty("manifest_url");
    const secret = await f.client.get<any>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      name: `${f.orgA}.prod-us-east-1-agent-token`,
    });
    expect(Buffer.from(secret.data["token-hash"], "base64").toString("utf8")).toBe(
      createHash("sha256").update(first.body.api_token).digest("hex"),
    );
  });

  it("names the agent's namespace: spot-optimizer-agent for a new cluster, the recorded one on a reconnect", async () => {
    const connect = async (body: Record<string, unknown>): Promise<string> => {
      const res = await f.call("POST", "/clusters/connect", { token: f.token(f.orgA), body });
      expect(res.status).toBe(200);
      return /--namespace (\S+)/.exec(res.body.helm_command as string)![1]!;
    };
    const annotation = async (name: string): Promise<string | undefined> =>
      (await f.client.get<any>({ ...MC, namespace: f.orgA, name })).metadata.annotations?.[
        "spotoptimizer.io/agent-namespace"
      ];
    expect(await connect({ cluster_id: "ns-new" })).toBe("spot-optimizer-agent");
    expect(await annotation("ns-new")).toBe("spot-optimizer-agent");
    expect(await connect({ cluster_id: "ns-new", namespace: "agents" })).toBe("agents");
    await eventually(async () => (await annotation("ns-new")) === "agents");
    await eventually(
      async () =>
        f.cache.cluster(f.orgA, "ns-new")?.metadata.annotations?.["spotoptimizer.io/agent-namespace"] === "agents",
    );
    // the reconnect's command upgrades the release where the agent runs, not a second one Helm would refuse
    expect(await connect({ cluster_id: "ns-new" })).toBe("agents");
    // a cluster connected before the namespace was recorded: its agent runs where connect named then
    await f.client.patch(
      { ...MC, namespace: f.orgA, name: "ns-new" },
      { metadata: { annotations: { "spotoptimizer.io/agent-namespace": null } } },
      { type: "merge" },
    );
    await eventually(
      async () =>
        f.cache.cluster(f.orgA, "ns-new")?.metadata.annotations?.["spotoptimizer.io/agent-namespace"] === undefined,
    );
    expect(await connect({ cluster_id: "ns-new" })).toBe("spot-optimizer");
    expect(await annotation("ns-new")).toBe("spot-optimizer");
    await f.client.delete({ ...MC, namespace: f.orgA, name: "ns-new" });
    await eventually(() => f.cache.cluster(f.orgA, "ns-new") === undefined);
  });

  it("lists and details clusters from the cache; a cluster nobody reported on has no cost (null with the reason), not 0", async () => {
    const list = await f.call("GET", "/clusters", { token: f.token(f.orgA, "viewer") });
    expect(list.status).toBe(200);
    expect(list.body.clusters).toEqual([
      expect.objectContaining({
        id: "prod-us-east-1",
        name: "prod-us-east-1",
        node_count: null,
        node_count_reason: expect.stringMatching(/^not reported/),
        monthly_cost: null,
        monthly_cost_reason: expect.stringMatching(/^not reported/),
        unpriced_nodes: null,
        efficiency_score: "N/A",
        figures_source: "status",
      }),
    ]);
    const detail = await f.call("GET", "/clusters/prod-us-east-1", { token: f.token(f.orgA, "viewer") });
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ id: "prod-us-east-1", vpc_id: null, node_groups: [], optimization: null });
    expect(detail.body.health_metrics).toMatchObject({ spot_nodes: null, fleet_health: null });
  });

  it("shows kubectl-side status and spec edits in GET (same truth)", async () => {
    await f.client.patch(
      { ...MC, namespace: f.orgA, name: "prod-us-east-1" },
      { spec: { region: "us-east-1", k8sVersion: "1.31", displayName: "Prod" } },
      { type: "merge" },
    );
    await f.client.patch(
      { ...MC, namespace: f.orgA, name: "prod-us-east-1" },
      { status: { nodeCount: 12, spotPercentage: 50, monthlyCostUsd: 5400, efficiencyScore: 72 } },
      { type: "merge", subresource: "status" },
    );
    const c = await eventually(async () => {
      const r = await f.call("GET", "/clusters", { token: f.token(f.orgA) });
      const c = r.body.clusters[0];
      return c.node_count === 12 && c.name === "Prod" ? c : undefined;
    });
    expect(c).toMatchObject({
      region: "us-east-1",
      k8s_version: "1.31",
      monthly_cost: 5400,
      efficiency_score: "B",
      spot_percentage: 50,
    });
    const kpi = await f.call("GET", "/metrics/kpi", { token: f.token(f.orgA) });
    expect(kpi.body).toMatchObject({
      active_nodes: 12,
      spot_percentage: 50,
      monthly_spend: 5400,
      efficiency_score: "B",
    });
  });

  it("keeps serving the same truth after dropped watches and a 410 relist", async () => {
    f.server.faults.dropWatches();
    f.server.faults.setWatchWindow(1);
    for (const nodeCount of [20, 21, 22]) {
      await f.client.patch(
        { ...MC, namespace: f.orgA, name: "prod-us-east-1" },
        { status: { nodeCount } },
        { type: "merge", subresource: "status" },
      );
    }
    f.server.faults.dropWatches();
    await eventually(
      async () => (await f.call("GET", "/clusters/prod-us-east-1", { token: f.token(f.orgA) })).body.node_count === 22,
      15_000,
    );
    f.server.faults.reset();
  });

  it("optimize records a re-plan request on the ManagedCluster, pollable through GET /clusters/{id}", async () => {
    const res = await f.call("POST", "/clusters/prod-us-east-1/optimize", { token: f.token(f.orgA, "admin") });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "queued", cluster_id: "prod-us-east-1" });
    expect(res.body.job_id).toMatch(/^replan-/);
    const mc = await f.client.get<any>({ ...MC, namespace: f.orgA, name: "prod-us-east-1" });
    expect(mc.metadata.annotations["spotoptimizer.io/replan-requested"]).toBe(res.body.job_id);
    const detail = await f.call("GET", "/clusters/prod-us-east-1", { token: f.token(f.orgA) });
    expect(detail.body.optimization).toMatchObject({ job_id: res.body.job_id, status: "queued" });
    const activity = await f.call("GET", "/activity/live?limit=5", { token: f.token(f.orgA) });
    expect(activity.body.events[0]).toMatchObject({ status: "success", resource: "cluster/prod-us-east-1" });
    expect(activity.body.events[0].action).toContain("optimization");
  });

  it("verifies the issued agent token only for its own cluster", async () => {
    const { createAgentTokenVerifier } = await import("../../operator/facade/services/agent-token.js");
    const res = await f.call("POST", "/clusters/connect", { token: f.token(f.orgA), body: { cluster_id: "edge" } });
    const verify = createAgentTokenVerifier(f.cache);
    await eventually(() => f.cache.agentTokenSecret(f.orgA, "edge") !== undefined);
    await expect(verify(res.body.api_token, { id: "edge" })).resolves.toMatchObject({
      namespace: f.orgA,
      agentClusterId: "edge",
    });
    await expect(verify(res.body.api_token, { id: "prod-us-east-1" })).rejects.toMatchObject({ status: 401 });
    await expect(verify(`${res.body.api_token.slice(0, -2)}xx`, { id: "edge" })).rejects.toMatchObject({ status: 401 });
  });

  it("answers 404 for another organisation's cluster and 403 for a viewer's write", async () => {
    expect((await f.call("GET", "/clusters/prod-us-east-1", { token: f.token(f.orgB) })).status).toBe(404);
    expect((await f.call("POST", "/clusters/prod-us-east-1/optimize", { token: f.token(f.orgB) })).status).toBe(404);
    const viewer = await f.call("POST", "/clusters/prod-us-east-1/optimize", { token: f.token(f.orgA, "viewer") });
    expect(viewer.status).toBe(403);
    expect(viewer.body.detail).toBeTruthy();
    expect((await f.call("GET", "/clusters", { token: f.token(f.orgB) })).body.clusters).toEqual([]);
    expect((await f.call("GET", "/clusters")).status).toBe(401);
  });
});
