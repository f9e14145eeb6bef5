// The agent endpoints over HTTP on the real facade: heartbeat validation and coalesced writes (Lease, snapshot),
// verify from heartbeat age, the action queue's leases (re-handed out after expiry) and idempotent results.
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_VERSION } from "../../src-shared/crds/index.js";
import { agentLeaseName, parseSnapshot, snapshotConfigMapName } from "../../src-shared/agent/snapshot.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";
import type { HeartbeatInput } from "../../src-shared/agent/protocol.js";
import { interruptions7d } from "../../src-shared/fleet/fleet-metrics.js";
import { noticeId } from "../../operator/facade/services/heartbeats.js";
import {
  CLAIM_STALE_MS,
  createNoticeBudget,
  noticeBudgetLeaseName,
} from "../../operator/facade/services/notice-budget.js";
import { eventually } from "../support/cluster.js";
import { call, startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";
import { startStatusController } from "../support/status-controller.js";
import { createFacadeClient } from "../../agent/facade-client.js";
import { DEFAULT_FACADE_CONFIG } from "../../operator/facade/config.js";

const MC = { apiVersion: API_VERSION, kind: "ManagedCluster" };

let f: TestFacade;
let owner: SignedUp;
let other: SignedUp;
let clockMs = Date.parse("2026-06-01T12:00:00Z");
const now = (): Date => new Date(clockMs);

beforeAll(async () => {
  f = await startTestFacade({ now, config: { agentStatusIntervalSeconds: 60, agentLeaseRenewSeconds: 5 } });
  owner = await f.signup("Agent Endpoints Corp");
  other = await f.signup("Other Endpoints Corp");
});
afterAll(async () => {
  await f?.stop();
});

async function connect(who: SignedUp, cluster: string): Promise<string> {
  const res = await f.call("POST", "/clusters/connect", { token: who.accessToken, body: { cluster_id: cluster } });
  expect(res.status).toBe(200);
  const token = res.body.api_token as string;
  await eventually(async () => (await f.call("GET", `/clusters/${cluster}/actions/pending`, { token })).status === 200);
  return token;
}

function beat(overrides: Partial<HeartbeatInput> = {}): HeartbeatInput {
  return {
    agent_version: "0.1.0",
    k8s_version: "v1.31.4-eks-2d5f260",
    nodes: [
      {
        name: "ip-10-0-1-1",
        instance_type: "m5.large",
        capacity_type: "spot",
        zone: "us-east-1a",
        allocatable: { cpu: "1930m", memory: "7220Mi", pods: "29" },
        cordoned: false,
      },
    ],
    pods: [{ namespace: "shop", cpu_millicores: 250, memory_mib: 256, count: 3 }],
    interruptions: [],
    ...overrides,
  };
}

async function createAction(namespace: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await f.client.create({ apiVersion: API_VERSION, kind: "AgentAction", metadata: { name, namespace }, spec } as never);
}

async function action(namespace: string, name: string): Promise<any> {
  return f.client.get({ apiVersion: API_VERSION, kind: "AgentAction", namespace, name });
}

describe("heartbeat", () => {
  it("renews the Lease, writes the snapshot at most once per interval, tolerates unknown fields, refuses wrong types", async () => {
    const token = await connect(owner, "hb-1");
    const first = await f.call("POST", "/clusters/hb-1/heartbeat", {
      token,
      body: { ...beat(), some_future_field: { x: 1 }, nodes: [{ ...beat().nodes[0], gpu_driver: "550" }] },
    });
    expect(first.status).toBe(200);
    const cm = await f.client.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      name: snapshotConfigMapName(owner.namespace, "hb-1"),
    });
    const snapshot = parseSnapshot(cm as never)!;
    expect(snapshot.nodes.map((n) => n.name)).toEqual(["ip-10-0-1-1"]);
    expect(snapshot.nodes[0]).not.toHaveProperty("gpu_driver");
    const cluster: any = await f.client.get({
      apiVersion: API_VERSION,
      kind: "ManagedCluster",
      namespace: owner.namespace,
      name: "hb-1",
    });
    expect(cluster.spec.k8sVersion).toBe("1.31.4");

    // 10 s later: the Lease moves, the snapshot (interval 60 s) does not, even though the cluster changed.
    clockMs += 10_000;
    const second = await f.call("POST", "/clusters/hb-1/heartbeat", { token, body: beat({ nodes: [] }) });
    expect(second.status).toBe(200);
    const lease: any = await f.client.get({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      name: agentLeaseName(owner.namespace, "hb-1"),
    });
    expect(Date.parse(lease.spec.renewTime)).toBe(clockMs);
    const cmAfter: any = await f.client.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      name: snapshotConfigMapName(owner.namespace, "hb-1"),
    });
    expect(cmAfter.metadata.resourceVersion).toBe((cm as any).metadata.resourceVersion);
    clockMs += 60_000;
    await f.call("POST", "/clusters/hb-1/heartbeat", { token, body: beat({ nodes: [] }) });
    const cmLater: any = await f.client.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      name: snapshotConfigMapName(owner.namespace, "hb-1"),
    });
    expect(parseSnapshot(cmLater)!.nodes).toEqual([]);

    const wrong = await f.call("POST", "/clusters/hb-1/heartbeat", { token, body: { ...beat(), nodes: "many" } });
    expect(wrong.status).toBe(422);
    expect(wrong.body.detail).toContain("body.nodes");
    for (const cpu of ["-4", -4]) {
      const negative = await f.call("POST", "/clusters/hb-1/heartbeat", {
        token,
        body: beat({ nodes: [{ ...beat().nodes[0]!, allocatable: { cpu, memory: "7220Mi", pods: "29" } }] }),
      });
      expect(negative.status).toBe(422);
      expect(negative.body.detail).toContain("body.nodes.0.allocatable.cpu");
    }
    const huge = await f.call("POST", "/clusters/hb-1/heartbeat", {
      token,
      raw: JSON.stringify({ ...beat(), pad: "x".repeat(DEFAULT_FACADE_CONFIG.heartbeatBodyLimitBytes) }),
    });
    expect(huge.status).toBe(413);
    // A small body may still claim more pods than a cluster holds (and a plan takes): refused, not stored.
    const crowd = Array.from({ length: 3 }, (_, k) => ({
      namespace: "a",
      cpu_millicores: 100 + k,
      memory_mib: 100,
      count: 100_000,
    }));
    const crowded = await f.call("POST", "/clusters/hb-1/heartbeat", { token, body: beat({ pods: crowd }) });
    expect(crowded.status).toBe(422);
    expect(crowded.body.detail).toContain("more than 200000 pods");
    const stored: any = await f.client.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      name: snapshotConfigMapName(owner.namespace, "hb-1"),
    });
    expect(parseSnapshot(stored)!.pods.every((g) => g.count < 100_000)).toBe(true);
  });

  it("counts a node reported without readiness (no Ready condition yet) as not ready", async () => {
    const token = await connect(owner, "hb-joining");
    const node = beat().nodes[0]!;
    const body = beat({
      nodes: [
        { ...node, name: "ready-1", ready: true },
        { ...node, name: "joining-1" },
        { ...node, name: "down-1", ready: false },
      ],
    });
    expect((await f.call("POST", "/clusters/hb-joining/heartbeat", { token, body })).status).toBe(200);
    const controller = startStatusController(f.client);
    try {
      const shown = await eventually(async () => {
        const r = await f.call("GET", "/clusters/hb-joining", { token: owner.accessToken });
        return r.body.node_count === 3 ? r.body : undefined;
      }, 10_000);
      expect(shown.health_metrics).toMatchObject({ ready_nodes: 1 });
    } finally {
      await controller.stop();
    }
  });

  it("shows no utilisation or score, but the reason, when the reported requests exceed the nodes' allocatable", async () => {
    const token = await connect(owner, "hb-overbooked");
    // 1 000 cores of pods on a node with 2 allocatable: a report that cannot be right
    const body = beat({
      nodes: [{ ...beat().nodes[0]!, allocatable: { cpu: "2", memory: "8Gi", pods: "110" } }],
      pods: [{ namespace: "shop", cpu_millicores: 100_000, memory_mib: 256, count: 10 }],
    });
    expect((await f.call("POST", "/clusters/hb-overbooked/heartbeat", { token, body })).status).toBe(200);
    const controller = startStatusController(f.client);
    try {
      const status = await eventually(async () => {
        const mc: any = await f.client.get({ ...MC, namespace: owner.namespace, name: "hb-overbooked" });
        return mc.status?.nodeCount === 1 ? mc.status : undefined;
      });
      expect(status.cpuUtilisation).toBeUndefined();
      expect(status.efficiencyScore).toBeUndefined();
      expect(status.memoryUtilisation).toBeCloseTo(2560 / 8192);
      expect(status.utilisationReason).toBe(
        "reported requests exceed allocatable: 1000000m CPU requested of 2000m allocatable",
      );
      const shown = await eventually(async () => {
        const r = await f.call("GET", "/clusters/hb-overbooked", { token: owner.accessToken });
        return r.body.health_metrics?.utilisation_reason ? r.body : undefined;
      });
      expect(shown.health_metrics).toMatchObject({
        cpu_utilisation: null,
        utilisation_reason: status.utilisationReason,
      });
      expect(shown).toMatchObject({ efficiency_score: "N/A", efficiency_score_value: null });
    } finally {
      await controller.stop();
    }
  });

  it("stores a big cluster's report, whose JSON is more than a ConfigMap holds, gzip'd; the operator reads it back", async () => {
    const token = await connect(owner, "hb-big");
    const nodes = Array.from({ length: 8_000 }, (_, k) => ({
      ...beat().nodes[0]!,
      name: `ip-10-${k >> 8}-${k & 255}-1.ec2.internal`,
    }));
    const pods = Array.from({ length: 6_000 }, (_, k) => ({
      namespace: `team-${k % 40}`,
      cpu_millicores: 100 + k,
      memory_mib: 128 + (k % 97),
      count: 2,
    }));
    // More than the general 1 MiB body limit, within the heartbeat's own (SPOTOPT_HEARTBEAT_BODY_LIMIT_BYTES), sent as
    // the agent sends it (gzip-compressed from 64 KiB on)
    const body = beat({ nodes, pods });
    expect(JSON.stringify(body).length).toBeGreaterThan(DEFAULT_FACADE_CONFIG.bodyLimitBytes);
    const agent = createFacadeClient({ baseUrl: f.url, clusterId: "hb-big", readToken: () => token });
    await agent.heartbeat(body);
    const cm: any = await f.client.get({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      name: snapshotConfigMapName(owner.namespace, "hb-big"),
    });
    expect(JSON.stringify(parseSnapshot(cm)!).length).toBeGreaterThan(1024 * 1024);
    expect(parseSnapshot(cm)!.nodes).toHaveLength(8_000);
    expect(parseSnapshot(cm)!.pods).toHaveLength(6_000);
  });

  it("refuses a heartbeat above its own limit with 413, and other routes keep the general limit", async () => {
    const token = await connect(owner, "hb-limit");
    const small = await f.startReplica({ config: { heartbeatBodyLimitBytes: 200_000 } });
    const nodes = Array.from({ length: 2_000 }, (_, k) => ({
      ...beat().nodes[0]!,
      name: `ip-10-9-${k >> 8}-${k & 255}`,
    }));
    const over = await call(small.url, "POST", "/clusters/hb-limit/heartbeat", { token, body: beat({ nodes }) });
    expect(over.status).toBe(413);
    const within = await call(small.url, "POST", "/clusters/hb-limit/heartbeat", { token, body: beat() });
    expect(within.status).toBe(200);
    const result = await call(f.url, "POST", "/clusters/hb-limit/actions/none/result", {
      token,
      body: { status: "succeeded", message: "x".repeat(2 * 1024 * 1024) },
    });
    expect(result.status).toBe(413);
  });

  it("reads an agent route's body only for a valid agent token, and no compressed body elsewhere", async () => {
    const token = await connect(owner, "hb-first");
    const raw = async (path: string, body: Buffer, headers: Record<string, string>): Promise<Response> =>
      fetch(`${f.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    // 0.9 MB of JSON in 1 KiB of gzip, cut short so that parsing it fails: a 400 shows it was inflated and parsed
    const bomb = gzipSync(Buffer.from("[" + "{},".repeat(300_000)));
    expect(bomb.length).toBeLessThan(16 * 1024);
    for (const path of ["/clusters/hb-first/heartbeat", "/clusters/hb-first/actions/x/result"]) {
      for (const auth of [{}, { authorization: "Bearer not-a-token" }, { authorization: `Bearer ${token}x` }] as Array<
        Record<string, string>
      >) {
        const res = await raw(path, bomb, { "content-encoding": "gzip", ...auth });
        expect(res.status).toBe(401);
        expect(((await res.json()) as { detail?: string }).detail).toBeTruthy();
      }
      // with the token the body is read (and this one refused as malformed)
      const read = await raw(path, bomb, { "content-encoding": "gzip", authorization: `Bearer ${token}` });
      expect(read.status).toBe(400);
      expect(await read.json()).toEqual({ detail: "malformed JSON body" });
    }
    // a gzip'd result the agent sends is inflated and read (this one then refused by validation, naming its fields)
    const result = await raw(
      "/clusters/hb-first/actions/none/result",
      gzipSync(JSON.stringify({ status: "succeeded" })),
      {
        "content-encoding": "gzip",
        authorization: `Bearer ${token}`,
      },
    );
    expect(result.status).toBe(422);
    expect(JSON.stringify(await result.json())).toContain("attempt");
    // any other route refuses a compressed body before inflating it
    const login = await raw("/api/auth/token", gzipSync(JSON.stringify({ email: "a@b.c", password: "x" })), {
      "content-encoding": "gzip",
    });
    expect(login.status).toBe(415);
    expect(await login.json()).toEqual({ detail: "unsupported body encoding" });
  });

  it("is refused with another cluster's token, and verify reports connected then disconnected after three missed beats", async () => {
    const tokenA = await connect(owner, "hb-a");
    await connect(owner, "hb-b");
    expect((await f.call("POST", "/clusters/hb-b/heartbeat", { token: tokenA, body: beat() })).status).toBe(401);
    expect((await f.call("GET", "/clusters/hb-b/actions/pending", { token: tokenA })).status).toBe(401);
    // the catalogue's fields beside ours: last_seen, agent_version, health
    expect((await f.call("GET", "/clusters/hb-a/verify", { token: owner.accessToken })).body).toMatchObject({
      status: "never_connected",
      last_seen: null,
      agent_version: null,
      health: "unknown",
    });
    expect(
      (
        await f.call("POST", "/clusters/hb-a/heartbeat", {
          token: tokenA,
          body: beat({ heartbeat_interval_seconds: 15 }),
        })
      ).status,
    ).toBe(200);
    const live = await f.call("GET", "/clusters/hb-a/verify", { token: owner.accessToken });
    expect(live.body).toMatchObject({
      status: "connected",
      connected: true,
      disconnected_after_seconds: 45,
      health: "healthy",
    });
    expect(live.body.last_seen).toBe(live.body.last_heartbeat);
    expect(live.body.last_seen).toMatch(/Z$/);
    clockMs += 46_000;
    const gone = await f.call("GET", "/clusters/hb-a/verify", { token: owner.accessToken });
    expect(gone.body).toMatchObject({
      status: "disconnected",
      connected: false,
      seconds_since_heartbeat: 46,
      health: "unreachable",
    });
    // Not the other organisation's business.
    expect((await f.call("GET", "/clusters/hb-a/verify", { token: other.accessToken })).status).toBe(404);
  });

  it("a new interval in the next beat counts at once: the answer's next_heartbeat_seconds is what liveness allows", async () => {
    const token = await connect(owner, "hb-interval");
    const send = (interval: number): ReturnType<typeof f.call> =>
      f.call("POST", "/clusters/hb-interval/heartbeat", {
        token,
        body: beat({ heartbeat_interval_seconds: interval }),
      });
    expect((await send(15)).status).toBe(200);
    // within the Lease's renewal throttle: the interval changes all the same
    clockMs += 1_000;
    const slower = await send(600);
    expect(slower.body.next_heartbeat_seconds).toBe(600);
    clockMs += 60_000;
    const verify = await f.call("GET", "/clusters/hb-interval/verify", { token: owner.accessToken });
    expect(verify.body).toMatchObject({ status: "connected", disconnected_after_seconds: 1800 });
  });

  it("reports a mode-local cluster connected only when the operator says it acts as its agent", async () => {
    const ref = { apiVersion: API_VERSION, kind: "ManagedCluster", namespace: owner.namespace, name: "home" };
    await f.client.create({
      ...ref,
      metadata: { name: "home", namespace: owner.namespace },
      spec: { mode: "local" },
    } as never);
    const setAgent = async (status: "True" | "False", reason: string): Promise<void> => {
      const condition = {
        type: "AgentConnected",
        status,
        reason,
        message: reason,
        lastTransitionTime: new Date().toISOString(),
      };
      await f.client.patch(ref, { status: { conditions: [condition] } }, { type: "merge", subresource: "status" });
    };
    const verify = async (): Promise<any> =>
      (await f.call("GET", "/clusters/home/verify", { token: owner.accessToken })).body;
    await setAgent("False", "NotDesignatedLocalCluster");
    await eventually(async () => (await verify()).status === "local", 5000, "home cached");
    await eventually(async () => (await verify()).connected === false, 5000, "not connected while not designated");
    await setAgent("True", "LocalMode");
    await eventually(async () => (await verify()).connected === true, 5000, "connected once the operator acts for it");
  });
});

describe("interruption notices", () => {
  // What the ManagedCluster status counts: the cluster's audit entries the API server holds, over 7 days.
  async function clusterEntries(cluster: string): Promise<any[]> {
    const list: any = await f.client.listAll({
      apiVersion: API_VERSION,
      kind: "AuditEntry",
      namespace: owner.namespace,
    });
    return list.items.filter((e: any) => e.spec.resource.startsWith(`cluster/${cluster}/`));
  }

  async function counted(cluster: string): Promise<{ interruptions: number; events: string[] }> {
    const entries = await clusterEntries(cluster);
    return {
      interruptions: interruptions7d(entries, cluster, clockMs),
      events: entries.map((e: any) => `${e.spec.event} ${e.spec.after?.kind}`).sort(),
    };
  }

  it("records rebalance and consolidation notices without counting them; a Spot interruption counts", async () => {
    const token = await connect(owner, "hb-notices");
    const at = new Date(clockMs).toISOString();
    const notices = beat({
      nodes: [beat().nodes[0]!, { ...beat().nodes[0]!, name: "ip-10-0-1-2" }],
      interruptions: [
        { node: "ip-10-0-1-1", at, kind: "rebalance" },
        { node: "ip-10-0-1-2", at, kind: "karpenter-disruption" },
      ],
    });
    expect((await f.call("POST", "/clusters/hb-notices/heartbeat", { token, body: notices })).status).toBe(200);
    expect(await counted("hb-notices")).toEqual({
      interruptions: 0,
      events: ["node.notice karpenter-disruption", "node.notice rebalance"],
    });
    const itn = beat({ interruptions: [{ node: "ip-10-0-1-1", at, kind: "spot-itn" }] });
    expect((await f.call("POST", "/clusters/hb-notices/heartbeat", { token, body: itn })).status).toBe(200);
    expect((await counted("hb-notices")).interruptions).toBe(1);
  });

  it("records a notice once when its heartbeat is retried at another replica", async () => {
    const token = await connect(owner, "hb-replicas");
    const second = await f.startReplica();
    const at = new Date(clockMs).toISOString();
    const nodes = ["n-1", "n-2"].map((name) => ({ ...beat().nodes[0]!, name }));
    const body = beat({ nodes, interruptions: [{ node: "n-1", at, kind: "spot-itn" }] });
    expect((await f.call("POST", "/clusters/hb-replicas/heartbeat", { token, body })).status).toBe(200);
    // The agent retries (its answer was lost) a moment later, by which time the second replica has heard of the entry.
    await eventually(async () => {
      const audit = await call(second.url, "GET", "/audit?limit=500", { token: owner.accessToken });
      return audit.body.logs.some((l: any) => l.resource === "cluster/hb-replicas/node/n-1");
    });
    expect((await call(second.url, "POST", "/clusters/hb-replicas/heartbeat", { token, body })).status).toBe(200);
    expect(await counted("hb-replicas")).toEqual({ interruptions: 1, events: ["spot.interruption spot-itn"] });
    // A notice new to both is still recorded by the second replica.
    const next = beat({ nodes, interruptions: [...body.interruptions!, { node: "n-2", at, kind: "spot-itn" }] });
    expect((await call(second.url, "POST", "/clusters/hb-replicas/heartbeat", { token, body: next })).status).toBe(200);
    expect((await counted("hb-replicas")).interruptions).toBe(2);
  });

  it("defers a notice another replica claimed but did not record, and records it once that claim is stale", async () => {
    const token = await connect(owner, "hb-dead");
    const notice = { node: "ip-10-0-1-1", at: new Date(clockMs).toISOString(), kind: "spot-itn" };
    // A replica claimed it and died before writing the audit entry.
    const cluster = `${owner.namespace}/hb-dead`;
    await createNoticeBudget({ client: f.client, namespace: DEFAULT_SYSTEM_NAMESPACE }).claim(cluster, {
      candidates: [{ id: noticeId(notice), kind: "spot" }],
      nodeCount: 1,
      nowMs: clockMs,
    });
    const first = await f.call("POST", "/clusters/hb-dead/heartbeat", {
      token,
      body: beat({ interruptions: [notice] }),
    });
    expect(first.status).toBe(200);
    // Not recorded, and not acknowledged: the agent sends it again.
    expect(first.body.deferred_interruptions).toEqual([notice]);
    expect((await counted("hb-dead")).interruptions).toBe(0);
    // The Spot node is gone a moment later: the notice is still deferred (it was admitted while the node was reported).
    const goneBody = beat({ nodes: [], interruptions: [notice] });
    for (let i = 0; i < 3; i++) {
      clockMs += 15_000;
      const again = await f.call("POST", "/clusters/hb-dead/heartbeat", { token, body: goneBody });
      expect(again.body.deferred_interruptions).toEqual([notice]);
    }
    // Past CLAIM_STALE_MS the claim is taken over and the notice recorded once, without a second charge on the budget.
    clockMs += CLAIM_STALE_MS;
    const late = await f.call("POST", "/clusters/hb-dead/heartbeat", { token, body: goneBody });
    expect(late.body.deferred_interruptions).toEqual([]);
    expect(await counted("hb-dead")).toEqual({ interruptions: 1, events: ["spot.interruption spot-itn"] });
    const lease = await f.client.get<{ metadata: { annotations: Record<string, string> } }>({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      name: noticeBudgetLeaseName(cluster),
    });
    expect(JSON.parse(lease.metadata.annotations["spotoptimizer.io/notice-budget"]!)).toMatchObject({ spot: 1 });
    expect(
      (await f.call("POST", "/clusters/hb-dead/heartbeat", { token, body: goneBody })).body.deferred_interruptions,
    ).toEqual([]);
    expect((await counted("hb-dead")).interruptions).toBe(1);
  });

  it("drops a notice of a node not reported that no replica claimed (made-up nodes stay out)", async () => {
    const token = await connect(owner, "hb-madeup");
    const notice = { node: "never-reported", at: new Date(clockMs).toISOString(), kind: "spot-itn" };
    const res = await f.call("POST", "/clusters/hb-madeup/heartbeat", {
      token,
      body: beat({ interruptions: [notice] }),
    });
    expect(res.body.deferred_interruptions).toEqual([]);
    expect((await counted("hb-madeup")).interruptions).toBe(0);
    // nothing written for it: no budget Lease
    const lease = await f.client.getIfExists({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      name: noticeBudgetLeaseName(`${owner.namespace}/hb-madeup`),
    });
    expect(lease).toBeUndefined();
  });

  it("holds the hourly budget across two replicas: a node's notices sent to both are recorded within one budget", async () => {
    const token = await connect(owner, "hb-shared-budget");
    const second = await f.startReplica();
    const at = (offsetMs: number): string => new Date(clockMs + offsetMs).toISOString();
    const nodes = [{ ...beat().nodes[0]!, name: "n-1" }];
    const post = (url: string | undefined, interruptions: HeartbeatInput["interruptions"]) => {
      const body = beat({ nodes, interruptions });
      return url
        ? call(url, "POST", "/clusters/hb-shared-budget/heartbeat", { token, body })
        : f.call("POST", "/clusters/hb-shared-budget/heartbeat", { token, body });
    };
    // One Spot interruption and two other notices an hour for the one node, whichever replica hears them.
    expect((await post(undefined, [{ node: "n-1", at: at(0), kind: "spot-itn" }])).status).toBe(200);
    expect((await post(second.url, [{ node: "n-1", at: at(-1000), kind: "spot-itn" }])).status).toBe(200);
    const others = ["rebalance", "karpenter-disruption", "scheduled-maintenance", "asg-termination"];
    for (const [k, kind] of others.entries()) {
      expect((await post(k % 2 ? second.url : undefined, [{ node: "n-1", at: at(0), kind }])).status).toBe(200);
    }
    const events = (await clusterEntries("hb-shared-budget")).map((e: any) => e.spec.event);
    expect(events.filter((e: string) => e === "spot.interruption")).toHaveLength(1);
    expect(events).toHaveLength(3);
    // The budget is one Lease in the facade's namespace, written only when a notice is claimed.
    const leases = async () =>
      (
        await f.client.listAll<any>(
          { apiVersion: "coordination.k8s.io/v1", kind: "Lease" },
          { labelSelector: "spotoptimizer.io/rate-limit-bucket=notice-budget" },
        )
      ).items.map((l: any) => `${l.metadata.name} ${l.metadata.resourceVersion}`);
    const before = await leases();
    expect((await post(undefined, [{ node: "n-1", at: at(0), kind: "spot-itn" }])).status).toBe(200);
    expect((await post(second.url, [{ node: "n-1", at: at(0), kind: "rebalance" }])).status).toBe(200);
    expect(await leases()).toEqual(before);
  });

  it("records a notice sent to both replicas at once a single time", async () => {
    const token = await connect(owner, "hb-shared-dedupe");
    const second = await f.startReplica();
    const at = new Date(clockMs).toISOString();
    const nodes = ["n-1", "n-2", "n-3", "n-4", "n-5"].map((name) => ({ ...beat().nodes[0]!, name }));
    for (const node of nodes) {
      // The agent's retry of a heartbeat whose answer was lost reaches the other replica while the first still works.
      const body = beat({ nodes, interruptions: [{ node: node.name, at, kind: "spot-itn" }] });
      const answers = await Promise.all([
        f.call("POST", "/clusters/hb-shared-dedupe/heartbeat", { token, body }),
        call(second.url, "POST", "/clusters/hb-shared-dedupe/heartbeat", { token, body }),
      ]);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
    }
    const recorded = (await clusterEntries("hb-shared-dedupe")).map((e: any) => e.spec.resource).sort();
    expect(recorded).toEqual(nodes.map((n) => `cluster/hb-shared-dedupe/node/${n.name}`));
    expect((await counted("hb-shared-dedupe")).interruptions).toBe(5);
  });

  it("looks at 100 notices of a heartbeat, refuses more than 1000, and records at most three an hour per node", async () => {
    const token = await connect(owner, "hb-budget");
    const at = (): string => new Date(clockMs).toISOString();
    const node = (name: string) => ({ ...beat().nodes[0]!, name });
    const flood = (n: number) => {
      const madeUp = Array.from({ length: n }, (_, k) => `made-up-${k}`);
      return beat({
        nodes: madeUp.map(node),
        interruptions: madeUp.map((name) => ({ node: name, at: at(), kind: "spot-itn" })),
      });
    };
    const flooded = await connect(owner, "hb-oldagent");
    const refused = await f.call("POST", "/clusters/hb-oldagent/heartbeat", { token: flooded, body: flood(1001) });
    expect(refused.status).toBe(422);
    expect(refused.body.detail).toContain("more than 1000 interruption notices in one heartbeat");
    expect(await clusterEntries("hb-oldagent")).toEqual([]);
    // An agent older than the limit sends all it has: its heartbeat is taken, and only 100 notices are looked at.
    const taken = await f.call("POST", "/clusters/hb-oldagent/heartbeat", { token: flooded, body: flood(1000) });
    expect(taken.status).toBe(200);
    expect(await clusterEntries("hb-oldagent")).toHaveLength(100);

    // One node: three notices this hour, whatever names the next beats make up.
    const kinds = ["rebalance", "spot-itn", "karpenter-disruption", "scheduled-maintenance"];
    const one = beat({ nodes: [node("n-1")], interruptions: kinds.map((kind) => ({ node: "n-1", at: at(), kind })) });
    expect((await f.call("POST", "/clusters/hb-budget/heartbeat", { token, body: one })).status).toBe(200);
    const other = beat({ nodes: [node("n-2")], interruptions: [{ node: "n-2", at: at(), kind: "spot-itn" }] });
    expect((await f.call("POST", "/clusters/hb-budget/heartbeat", { token, body: other })).status).toBe(200);
    expect(await clusterEntries("hb-budget")).toHaveLength(3);
    // An hour on, the budget is back: a notice re-sent (its first post was dropped) is recorded now.
    clockMs += 3_600_000;
    const again = beat({ nodes: [node("n-2")], interruptions: [{ node: "n-2", at: at(), kind: "spot-itn" }] });
    expect((await f.call("POST", "/clusters/hb-budget/heartbeat", { token, body: again })).status).toBe(200);
    expect(await clusterEntries("hb-budget")).toHaveLength(4);
  });

  it("other notices cannot crowd out the Spot interruption the figures count", async () => {
    const token = await connect(owner, "hb-churn");
    const at = (): string => new Date(clockMs).toISOString();
    const churn = ["rebalance", "karpenter-disruption", "scheduled-maintenance", "asg-termination"];
    const kinds = [...churn, "spot-itn"];
    const body = beat({
      nodes: [{ ...beat().nodes[0]!, name: "n-1" }],
      interruptions: kinds.map((kind) => ({ node: "n-1", at: at(), kind })),
    });
    expect((await f.call("POST", "/clusters/hb-churn/heartbeat", { token, body })).status).toBe(200);
    const events = (await clusterEntries("hb-churn")).map((e: any) => e.spec.event);
    expect(events.filter((e: string) => e === "spot.interruption")).toHaveLength(1);
    expect(events).toHaveLength(3);
  });

  it("records only notices dated within the counting window: not an old replayed one, not one far ahead", async () => {
    const token = await connect(owner, "hb-dated");
    const at = (offsetMs: number): string => new Date(clockMs + offsetMs).toISOString();
    const nodes = ["n-old", "n-week", "n-ahead", "n-soon"].map((name) => ({ ...beat().nodes[0]!, name }));
    const body = beat({
      nodes,
      interruptions: [
        { node: "n-old", at: "2019-03-01T00:00:00Z", kind: "spot-itn" },
        { node: "n-week", at: at(-8 * 86_400_000), kind: "spot-itn" },
        { node: "n-ahead", at: at(10 * 60_000), kind: "spot-itn" },
        // a Spot notice names the termination two minutes out
        { node: "n-soon", at: at(2 * 60_000), kind: "spot-itn" },
      ],
    });
    expect((await f.call("POST", "/clusters/hb-dated/heartbeat", { token, body })).status).toBe(200);
    const entries = await clusterEntries("hb-dated");
    expect(entries.map((e: any) => e.spec.resource)).toEqual(["cluster/hb-dated/node/n-soon"]);
    expect((await counted("hb-dated")).interruptions).toBe(1);
  });

  it("refuses text the API server would store changed (an unpaired surrogate) in names and notices: 422, nothing recorded", async () => {
    const token = await connect(owner, "hb-unicode");
    const at = new Date(clockMs).toISOString();
    const lone = "ip-10-0-1-1\ud800";
    const cases: Array<[HeartbeatInput, string]> = [
      [beat({ nodes: [{ ...beat().nodes[0]!, name: lone }] }), "body.nodes.0.name"],
      [beat({ interruptions: [{ node: lone, at, kind: "spot-itn" }] }), "body.interruptions.0.node"],
      [beat({ interruptions: [{ node: "ip-10-0-1-1", at, kind: "spot-itn\udc00" }] }), "body.interruptions.0.kind"],
    ];
    for (const [body, field] of cases) {
      const res = await f.call("POST", "/clusters/hb-unicode/heartbeat", { token, body });
      expect(res.status).toBe(422);
      expect(res.body.detail).toContain(field);
      expect(res.body.detail).toContain("must be valid Unicode (an unpaired surrogate is not)");
    }
    // A surrogate pair (an emoji) is valid text and accepted.
    const pair = beat({ nodes: [{ ...beat().nodes[0]!, name: "node-\ud83d\ude80" }] });
    expect((await f.call("POST", "/clusters/hb-unicode/heartbeat", { token, body: pair })).status).toBe(200);
    expect((await counted("hb-unicode")).events).toEqual([]);
  });

  it("refuses reports no cluster can make: a quantity past int64, a node twice, more pods scheduled than exist, objects misplaced", async () => {
    const token = await connect(owner, "hb-odd");
    const node = beat().nodes[0]!;
    const cases: Array<[HeartbeatInput, string]> = [
      [
        beat({ nodes: [{ ...node, allocatable: { ...node.allocatable, cpu: "9e999" } }] }),
        "body.nodes.0.allocatable.cpu",
      ],
      [
        beat({ nodes: [{ ...node, allocatable: { ...node.allocatable, memory: 1e300 } }] }),
        "body.nodes.0.allocatable.memory",
      ],
      [beat({ nodes: [node, { ...node }] }), "node names must be unique"],
      [
        beat({ pods: [{ namespace: "shop", cpu_millicores: 250, memory_mib: 256, count: 3, scheduled: 4 }] }),
        "body.pods.0.scheduled",
      ],
      // an object a write could not be aimed at: a Deployment of no namespace, a NodePool in one
      [
        beat({ objects: [{ kind: "Deployment", name: "web", replicas: 3 }] }),
        "body.objects.0.namespace: a Deployment is namespaced: namespace is required",
      ],
      [
        beat({ objects: [{ kind: "NodePool", namespace: "shop", name: "general" }] }),
        "body.objects.0.namespace: a NodePool is cluster-scoped: it has no namespace",
      ],
    ];
    for (const [body, detail] of cases) {
      const res = await f.call("POST", "/clusters/hb-odd/heartbeat", { token, body });
      expect(res.status, detail).toBe(422);
      expect(res.body.detail).toContain(detail);
    }
    const fine = beat({ pods: [{ namespace: "shop", cpu_millicores: 250, memory_mib: 256, count: 3, scheduled: 3 }] });
    expect((await f.call("POST", "/clusters/hb-odd/heartbeat", { token, body: fine })).status).toBe(200);
  });

  it("records a node's notice once, of reported nodes only, not dated far ahead; a node gone since its notice still counts", async () => {
    const token = await connect(owner, "hb-flood");
    const at = (offsetMs: number): string => new Date(clockMs + offsetMs).toISOString();
    const node = (name: string) => ({ ...beat().nodes[0]!, name });
    const first = beat({
      nodes: [node("n-1"), node("n-2")],
      interruptions: [
        { node: "n-1", at: at(0), kind: "spot-itn" },
        // the same notice with other times (a retried or replayed post), a node never reported, a time far ahead
        ...Array.from({ length: 45 }, (_, k) => ({ node: "n-1", at: at(-k * 1000 - 1000), kind: "spot-itn" })),
        ...Array.from({ length: 45 }, (_, k) => ({ node: `ghost-${k}`, at: at(0), kind: "spot-itn" })),
        { node: "n-2", at: at(24 * 3600_000), kind: "spot-itn" },
        // a Spot notice names the termination two minutes out
        { node: "n-2", at: at(120_000), kind: "rebalance" },
      ],
    });
    expect((await f.call("POST", "/clusters/hb-flood/heartbeat", { token, body: first })).status).toBe(200);
    expect((await f.call("POST", "/clusters/hb-flood/heartbeat", { token, body: first })).status).toBe(200);
    expect(await counted("hb-flood")).toEqual({
      interruptions: 1,
      events: ["node.notice rebalance", "spot.interruption spot-itn"],
    });
    // n-2 is gone by the next beat (an outage kept its notice at the agent): the previous heartbeat named it
    clockMs += 1000;
    const later = beat({ nodes: [node("n-1")], interruptions: [{ node: "n-2", at: at(-500), kind: "spot-itn" }] });
    expect((await f.call("POST", "/clusters/hb-flood/heartbeat", { token, body: later })).status).toBe(200);
    expect((await counted("hb-flood")).interruptions).toBe(2);
  });
});

describe("action queue", () => {
  it("leases an action once, hands it out again after the lease ends, and records results idempotently", async () => {
    const token = await connect(owner, "q-1");
    await connect(owner, "q-2");
    await createAction(owner.namespace, "cordon-n1", {
      clusterRef: { name: "q-1" },
      type: "cordon",
      target: { kind: "Node", name: "n1" },
      timeoutSeconds: 10,
    });
    await createAction(owner.namespace, "other-cluster", {
      clusterRef: { name: "q-2" },
      type: "cordon",
      target: { kind: "Node", name: "n9" },
    });
    const first = await eventually(async () => {
      const r = await f.call("GET", "/clusters/q-1/actions/pending", { token });
      return r.body.actions.length > 0 ? r : undefined;
    });
    expect(first.body.actions.map((a: any) => [a.id, a.attempt, a.type])).toEqual([["cordon-n1", 1, "cordon"]]);
    expect((await action(owner.namespace, "cordon-n1")).status).toMatchObject({ phase: "Running", attempts: 1 });
    await eventually(
      async () => (await f.call("GET", "/clusters/q-1/actions/pending", { token })).body.actions.length === 0,
    );

    // The lease (10 s + margin) ends without a result: the next poll hands it out as attempt 2.
    clockMs += 41_000;
    const again = await eventually(async () => {
      const r = await f.call("GET", "/clusters/q-1/actions/pending", { token });
      return r.body.actions.length > 0 ? r : undefined;
    });
    expect(again.body.actions[0]).toMatchObject({ id: "cordon-n1", attempt: 2 });

    const stale = await f.call("POST", "/clusters/q-1/actions/cordon-n1/result", {
      token,
      body: { attempt: 1, status: "succeeded" },
    });
    expect(stale.status).toBe(409);
    expect((await action(owner.namespace, "cordon-n1")).status.phase).toBe("Running");
    // A result nested past any real one (its JSON cannot be stored and read back safely) is refused, nothing recorded.
    const deep = await f.call("POST", "/clusters/q-1/actions/cordon-n1/result", {
      token,
      raw: `{"attempt":2,"status":"failed","data":{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}}`,
    });
    expect(deep.status).toBe(422);
    expect(deep.body.detail).toContain("nested more than 32 levels deep");
    expect((await action(owner.namespace, "cordon-n1")).status.phase).toBe("Running");
    const ok = await f.call("POST", "/clusters/q-1/actions/cordon-n1/result", {
      token,
      body: { attempt: 2, status: "succeeded", message: "cordoned", data: { node: "n1" } },
    });
    expect(ok.body).toEqual({ id: "cordon-n1", phase: "Succeeded", attempt: 2, changed: true });
    const before = await action(owner.namespace, "cordon-n1");
    const repeat = await f.call("POST", "/clusters/q-1/actions/cordon-n1/result", {
      token,
      body: { attempt: 2, status: "succeeded", message: "cordoned", data: { node: "n1" } },
    });
    expect(repeat.body).toEqual({ id: "cordon-n1", phase: "Succeeded", attempt: 2, changed: false });
    expect((await action(owner.namespace, "cordon-n1")).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    const different = await f.call("POST", "/clusters/q-1/actions/cordon-n1/result", {
      token,
      body: { attempt: 2, status: "failed" },
    });
    expect(different.status).toBe(409);
    expect((await action(owner.namespace, "cordon-n1")).status.result).toEqual({
      message: "cordoned",
      data: { node: "n1" },
    });

    // Another cluster's action is not found for this agent, and never handed out to it.
    expect(
      (
        await f.call("POST", "/clusters/q-1/actions/other-cluster/result", {
          token,
          body: { attempt: 1, status: "succeeded" },
        })
      ).status,
    ).toBe(404);
    expect((await action(owner.namespace, "other-cluster")).status?.phase).toBeUndefined();
  });

  it("takes a result sent again with its data's keys in another order as the same result", async () => {
    const token = await connect(owner, "q-order");
    await createAction(owner.namespace, "drain-order", {
      clusterRef: { name: "q-order" },
      type: "drain",
      target: { kind: "Node", name: "n1" },
    });
    await eventually(async () => {
      const r = await f.call("GET", "/clusters/q-order/actions/pending", { token });
      return r.body.actions.length > 0;
    });
    const post = (data: Record<string, unknown>) =>
      f.call("POST", "/clusters/q-order/actions/drain-order/result", {
        token,
        body: { attempt: 1, status: "failed", message: "1 pod not evicted", data },
      });
    const first = await post({ not_evicted: ["pay/a"], evicted: [], detail: { b: 1, a: 2 } });
    expect(first.body).toMatchObject({ phase: "Failed", changed: true });
    const again = await post({ detail: { a: 2, b: 1 }, evicted: [], not_evicted: ["pay/a"] });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ phase: "Failed", changed: false });
  });

  it("refuses the result of an attempt never handed out, saying so, and records nothing", async () => {
    const token = await connect(owner, "q-4");
    await createAction(owner.namespace, "unleased", {
      clusterRef: { name: "q-4" },
      type: "cordon",
      target: { kind: "Node", name: "n1" },
    });
    await eventually(async () => (await action(owner.namespace, "unleased")) !== undefined);
    const early = await f.call("POST", "/clusters/q-4/actions/unleased/result", {
      token,
      body: { attempt: 1, status: "succeeded" },
    });
    expect(early.status).toBe(409);
    expect(early.body.detail).toContain(
      "attempt 1 of action unleased was never handed out; the action is at attempt 0",
    );
    expect(early.body.detail).not.toContain("handed out again");
    expect((await action(owner.namespace, "unleased")).status?.phase).toBeUndefined();
  });

  it("fails an action after five attempts without a result, instead of handing it out forever", async () => {
    const token = await connect(owner, "q-5");
    await createAction(owner.namespace, "silent", {
      clusterRef: { name: "q-5" },
      type: "cordon",
      target: { kind: "Node", name: "n1" },
      timeoutSeconds: 5,
    });
    for (let attempt = 1; attempt <= 5; attempt++) {
      const leased = await eventually(async () => {
        const r = await f.call("GET", "/clusters/q-5/actions/pending", { token });
        return r.body.actions.length > 0 ? r : undefined;
      });
      expect(leased.body.actions[0]).toMatchObject({ id: "silent", attempt });
      // Wait for the cache to see this lease, then let it end (5 s + the 30 s margin) without a result.
      await eventually(async () => (await action(owner.namespace, "silent")).status?.attempts === attempt);
      await eventually(
        async () => (await f.call("GET", "/clusters/q-5/actions/pending", { token })).body.actions.length === 0,
      );
      clockMs += 36_000;
    }
    await eventually(async () => {
      const r = await f.call("GET", "/clusters/q-5/actions/pending", { token });
      expect(r.body.actions).toEqual([]);
      return (await action(owner.namespace, "silent")).status?.phase === "Failed";
    });
    const failed = await action(owner.namespace, "silent");
    expect(failed.status).toMatchObject({ phase: "Failed", attempts: 5 });
    expect(failed.status.result.message).toBe(
      "No result from the agent after 5 attempts: each lease (35 s) ended without one",
    );
    // A late result of the last attempt finds the action already decided.
    const late = await f.call("POST", "/clusters/q-5/actions/silent/result", {
      token,
      body: { attempt: 5, status: "succeeded" },
    });
    expect(late.status).toBe(409);
  });

  it("fails an action whose start deadline passed instead of handing it out", async () => {
    const token = await connect(owner, "q-3");
    await createAction(owner.namespace, "late", {
      clusterRef: { name: "q-3" },
      type: "uncordon",
      target: { kind: "Node", name: "n1" },
      deadline: new Date(clockMs - 1000).toISOString(),
    });
    await eventually(async () => (await action(owner.namespace, "late")) !== undefined);
    await eventually(async () => {
      await f.call("GET", "/clusters/q-3/actions/pending", { token });
      return (await action(owner.namespace, "late")).status?.phase === "Failed";
    });
    expect((await action(owner.namespace, "late")).status.result.message).toContain("Deadline");
  });
});
