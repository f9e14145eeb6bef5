// Two facade replicas on one API server: connects of one cluster id, schedule changes and policy patches sent to both
// at once leave what a single replica would — one ManagedCluster with one token, one HibernationSchedule and one
// OptimizationPolicy per cluster holding every change — because the invariants live in the API server's
// resourceVersion checks, not in a lock of either process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../operator/facade/services/agent-token.js";
import { eventually } from "../support/cluster.js";
import { call, startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";
import { designateLocalCluster } from "../support/local-cluster.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };
const HS = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule" };
const OP = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "OptimizationPolicy" };

let t: TestFacade;
let owner: SignedUp;
let urls: [string, string];

beforeAll(async () => {
  t = await startTestFacade();
  await t.startReplica();
  urls = t.facades.map((f) => f.url) as [string, string];
  owner = await t.signup("Replica Corp");
  await designateLocalCluster(t.client, { namespace: owner.namespace, name: "local", spec: { region: "us-east-1" } });
  for (const url of urls)
    await eventually(
      async () => (await call(url, "GET", "/clusters/local", { token: owner.accessToken })).status === 200,
      20_000,
      "the local cluster in both replicas' caches",
    );
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

/** Sends the requests alternately to the two replicas, all at once. */
async function onBoth(requests: Array<{ method: string; path: string; body: unknown }>): Promise<any[]> {
  return Promise.all(
    requests.map((r, i) => call(urls[i % 2]!, r.method, r.path, { token: owner.accessToken, body: r.body })),
  );
}

describe("two facade replicas", () => {
  it("connecting one cluster id on both makes one ManagedCluster whose stored hash is the token every 200 handed out", async () => {
    const answers = await onBoth(
      Array.from({ length: 6 }, () => ({ method: "POST", path: "/clusters/connect", body: { cluster_id: "edge-1" } })),
    );
    // A connect whose token another replaced answers 409 rather than a token that no longer works.
    const ok = answers.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const r of answers.filter((a) => a.status !== 200)) {
      expect(r.status).toBe(409);
      expect(r.body.detail).toBe("the agent token of cluster edge-1 was changed at the same time; try again");
    }
    expect(answers.filter((r) => r.body.created === true).length).toBeLessThanOrEqual(1);
    const clusters = (await t.client.list<any>({ ...MC, namespace: owner.namespace })).items;
    const edge = clusters.filter((c) => c.metadata.name === "edge-1");
    expect(edge).toHaveLength(1);
    expect(edge[0].spec.mode).toBe("remote");
    const secretName = `${owner.namespace}.edge-1-agent-token`;
    expect(edge[0].spec.agentTokenSecretRef).toEqual({ name: secretName, key: "token-hash" });
    const secret = await t.client.get<any>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      name: secretName,
    });
    expect(secret.metadata.labels["spotoptimizer.io/cluster-uid"]).toBe(edge[0].metadata.uid);
    const hash = Buffer.from(secret.data["token-hash"], "base64").toString("utf8");
    for (const r of ok) expect(sha256Hex(r.body.api_token as string)).toBe(hash);
  });

  it("schedule changes sent to both all land in the cluster's one HibernationSchedule", async () => {
    const dates = ["2027-01-04", "2027-01-05", "2027-01-06", "2027-01-07", "2027-01-08", "2027-01-09"];
    const answers = await onBoth([
      ...dates.map((date) => ({
        method: "POST",
        path: "/hibernation/exception",
        body: { cluster_id: "local", date, mode: "force_awake" },
      })),
      { method: "PATCH", path: "/hibernation/tz", body: { cluster_id: "local", timezone: "Europe/Berlin" } },
      { method: "PATCH", path: "/hibernation/prewarm", body: { cluster_id: "local", enabled: true, minutes: 45 } },
    ]);
    expect(answers.every((r) => r.status === 200)).toBe(true);
    const schedules = (await t.client.list<any>({ ...HS, namespace: owner.namespace })).items.filter(
      (s) => s.spec.clusterRef.name === "local",
    );
    expect(schedules).toHaveLength(1);
    const spec = schedules[0].spec;
    expect(spec.exceptions.map((e: any) => e.date)).toEqual(dates);
    expect(spec.timezone).toBe("Europe/Berlin");
    expect(spec.prewarmMinutes).toBe(45);
  });

  it("policy patches sent to both all land in the cluster's one OptimizationPolicy", async () => {
    const answers = await onBoth([
      { method: "PATCH", path: "/policies/binpack", body: { cluster_id: "local", aggressiveness: 70 } },
      { method: "PATCH", path: "/policies/fallback", body: { cluster_id: "local", enabled: false } },
      { method: "PATCH", path: "/policies/spread", body: { cluster_id: "local", enabled: true } },
      { method: "PATCH", path: "/policies/strategy", body: { cluster_id: "local", strategy: "lowest-price" } },
    ]);
    expect(answers.every((r) => r.status === 200)).toBe(true);
    const policies = (await t.client.list<any>({ ...OP, namespace: owner.namespace })).items.filter(
      (p) => p.spec.clusterRef.name === "local",
    );
    expect(policies).toHaveLength(1);
    expect(policies[0].spec).toMatchObject({
      binpack: { aggressiveness: 70 },
      spotFallback: { enabled: false },
      azSpread: { enabled: true },
      strategy: "lowest-price",
    });
  });
});
