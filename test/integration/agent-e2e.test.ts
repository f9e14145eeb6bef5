// The agent end to end: a local API server as its workload cluster, the real facade over HTTP (through a proxy the
// test can switch off). Every action kind, duplicate delivery and a crash between execution and result, a drain held
// by a PodDisruptionBudget, the facade down for a while, and Spot interruption notices (taint and instance metadata).
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type RunningAgent } from "../../agent/main.js";
import type { AgentConfig } from "../../agent/config.js";
import { execute } from "../../agent/executors/index.js";
import { ORIGINAL_REPLICAS_ANNOTATION } from "../../agent/executors/fields.js";
import { NOTICE_TAINT } from "../../agent/interruptions.js";
import { NOTICE_CORDON_ANNOTATION } from "../../agent/notice-cordon.js";
import { parseSnapshot, snapshotConfigMapName } from "../../src-shared/agent/snapshot.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";
import { PendingActionsResponse } from "../../src-shared/agent/protocol.js";
import { API_VERSION } from "../../src-shared/crds/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { registerManagedClusterController } from "../../operator/controllers/managedcluster/status/controller.js";
import { testAgentConfig } from "../support/agent.js";
import { eventually, startTestCluster } from "../support/cluster.js";
import { call, startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

const CLUSTER = "edge";
let f: TestFacade;
let owner: SignedUp;
let token: string;
let workload: LocalApiServer;
let wl: KubeClient;
/** Between the agent and the facade: `up` false drops every connection; `rewrite` edits what a poll hands out. */
let proxy: { url: string; up: boolean; server: Server; rewrite?: (pending: any) => any };
let agent: RunningAgent;
/** The facade's clock runs ahead by this much (to end leases without waiting). */
let skewMs = 0;
let seq = 0;

function startProxy(target: string): Promise<typeof proxy> {
  const state: typeof proxy = { url: "", up: true, server: undefined as unknown as Server };
  const t = new URL(target);
  state.server = createServer((req, res) => {
    if (!state.up) {
      req.socket.destroy();
      return;
    }
    const rewrite = req.url?.includes("/actions/pending") ? state.rewrite : undefined;
    const upstream = request(
      { host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        if (!rewrite || r.statusCode !== 200) {
          res.writeHead(r.statusCode ?? 502, r.headers);
          return void r.pipe(res);
        }
        const chunks: Buffer[] = [];
        r.on("data", (c: Buffer) => chunks.push(c));
        r.on("end", () => {
          const body = JSON.stringify(rewrite(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
          res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
          res.end(body);
        });
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) =>
    state.server.listen(0, "127.0.0.1", () => {
      state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}`;
      resolve(state);
    }),
  );
}

function agentConfig(overrides: Partial<AgentConfig> = {}): AgentConfig {
  return testAgentConfig(
    { facadeUrl: proxy.url, clusterId: CLUSTER, readToken: () => token },
    { healthStaleMs: 1500, maxConcurrentActions: 4, ...overrides },
  );
}

async function node(name: string, labels: Record<string, string> = {}): Promise<void> {
  await wl.create({
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "node.kubernetes.io/instance-type": "m5.large",
        "karpenter.sh/capacity-type": "spot",
        "topology.kubernetes.io/zone": "us-east-1a",
        ...labels,
      },
    },
    status: { allocatable: { cpu: "1930m", memory: "7220Mi", pods: "29" } },
  } as KubeObject);
}

async function pod(opts: {
  ns: string;
  name: string;
  node: string;
  labels?: Record<string, string>;
  owner?: KubeObject;
}): Promise<void> {
  const owner = opts.owner;
  await wl.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: opts.name,
      namespace: opts.ns,
      labels: opts.labels ?? {},
      ...(owner
        ? {
            ownerReferences: [
              {
                apiVersion: owner.apiVersion!,
                kind: owner.kind!,
                name: owner.metadata!.name!,
                uid: owner.metadata!.uid!,
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      nodeName: opts.node,
      containers: [{ name: "c", image: "nginx", resources: { requests: { cpu: "250m", memory: "256Mi" } } }],
    },
  } as KubeObject);
  await wl.patch(
    { apiVersion: "v1", kind: "Pod", namespace: opts.ns, name: opts.name },
    { status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } },
    { type: "merge", subresource: "status" },
  );
}

async function namespace(name: string): Promise<void> {
  await wl.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } } as KubeObject);
}

async function deployment(ns: string, name: string, replicas: number): Promise<void> {
  await wl.create({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "nginx" }] } },
    },
  } as KubeObject);
}

async function action(spec: Record<string, unknown>, name = `a-${++seq}`): Promise<string> {
  await f.client.create({
    apiVersion: API_VERSION,
    kind: "AgentAction",
    metadata: { name, namespace: owner.namespace },
    spec: { clusterRef: { name: CLUSTER }, ...spec },
  } as KubeObject);
  return name;
}

async function actionStatus(name: string): Promise<any> {
  return (
    (await f.client.get({ apiVersion: API_VERSION, kind: "AgentAction", namespace: owner.namespace, name })) as any
  ).status;
}

async function finished(name: string, timeoutMs = 15_000): Promise<any> {
  return eventually(
    async () => {
      const s = await actionStatus(name);
      return s?.phase === "Succeeded" || s?.phase === "Failed" ? s : undefined;
    },
    timeoutMs,
    `action ${name} to finish`,
  );
}

async function get(ref: { apiVersion: string; kind: string; namespace?: string; name: string }): Promise<any> {
  return wl.getIfExists(ref);
}

beforeAll(async () => {
  f = await startTestFacade({
    now: () => new Date(Date.now() + skewMs),
    config: { agentStatusIntervalSeconds: 1, agentLeaseRenewSeconds: 1 },
  });
  owner = await f.signup("Edge Corp");
  const res = await f.call("POST", "/clusters/connect", { token: owner.accessToken, body: { cluster_id: CLUSTER } });
  token = res.body.api_token;
  proxy = await startProxy(f.url);
  workload = await startTestCluster();
  wl = new KubeClient(workload.kubeConfig);
  for (const n of ["n1", "n2", "n3", "n4"]) await node(n);
  await node("od-1", { "karpenter.sh/capacity-type": "on-demand" });
  await namespace("shop");
  await deployment("shop", "web", 3);
  await deployment("shop", "api", 2);
  await pod({ ns: "shop", name: "cart-1", node: "n1" });
  await eventually(
    async () => (await call(f.url, "GET", `/clusters/${CLUSTER}/actions/pending`, { token })).status === 200,
  );
  agent = await startAgent(agentConfig(), { kubeConfig: workload.kubeConfig, env: { LOG_LEVEL: "silent" } });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  proxy?.server.close();
  wl?.close();
  await workload?.stop();
  await f?.stop();
});

describe("heartbeats", () => {
  it("report the workload cluster's nodes and pods into the snapshot, and the agent is healthy", async () => {
    const snapshot = await eventually(async () => {
      const cm = await f.client.getIfExists({
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: DEFAULT_SYSTEM_NAMESPACE,
        name: snapshotConfigMapName(owner.namespace, CLUSTER),
      });
      const s = parseSnapshot(cm as never);
      return s && s.nodes.length === 5 ? s : undefined;
    }, 10_000);
    expect(snapshot.nodes.find((n) => n.name === "od-1")).toMatchObject({
      capacity_type: "on-demand",
      instance_type: "m5.large",
    });
    expect(snapshot.pods).toContainEqual(
      expect.objectContaining({ namespace: "shop", cpu_millicores: 250, memory_mib: 256, count: 1 }),
    );
    expect(snapshot.objects).toContainEqual(expect.objectContaining({ kind: "Deployment", name: "web", replicas: 3 }));
    const verify = await f.call("GET", `/clusters/${CLUSTER}/verify`, { token: owner.accessToken });
    expect(verify.body.status).toBe("connected");
    const health = await fetch(`http://127.0.0.1:${agent.port}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
    expect(metrics).toMatch(/spotopt_agent_heartbeats_total\{result="ok"\} [1-9]/);
  });
});

describe("actions", () => {
  it("cordon, uncordon, label, annotate, delete-node each change the workload cluster as asked", async () => {
    const cordon = await action({ type: "cordon", target: { kind: "Node", name: "n1" } });
    expect((await finished(cordon)).phase).toBe("Succeeded");
    expect((await get({ apiVersion: "v1", kind: "Node", name: "n1" })).spec.unschedulable).toBe(true);
    const uncordon = await action({ type: "uncordon", target: { kind: "Node", name: "n1" } });
    expect((await finished(uncordon)).phase).toBe("Succeeded");
    expect((await get({ apiVersion: "v1", kind: "Node", name: "n1" })).spec.unschedulable).toBeUndefined();

    const label = await action({
      type: "label",
      target: { kind: "Node", name: "n1" },
      params: { labels: { team: "a" } },
    });
    const annotate = await action({
      type: "annotate",
      target: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "api" },
      params: { annotations: { "karpenter.sh/do-not-disrupt": "true" } },
    });
    expect((await finished(label)).phase).toBe("Succeeded");
    expect((await finished(annotate)).phase).toBe("Succeeded");
    expect((await get({ apiVersion: "v1", kind: "Node", name: "n1" })).metadata.labels.team).toBe("a");
    expect(
      (await get({ apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "api" })).metadata.annotations[
        "karpenter.sh/do-not-disrupt"
      ],
    ).toBe("true");

    const del = await action({ type: "delete-node", target: { kind: "Node", name: "n4" } });
    expect((await finished(del)).phase).toBe("Succeeded");
    expect(await get({ apiVersion: "v1", kind: "Node", name: "n4" })).toBeUndefined();
  });

  it("an action type this agent does not execute fails with a clear message and the loop goes on", async () => {
    const suspend = await action({ type: "suspend", target: { kind: "ConfigMap", name: "x" } });
    const after = await action({ type: "cordon", target: { kind: "Node", name: "n3" } });
    const failed = await finished(suspend);
    expect(failed.phase).toBe("Failed");
    expect(failed.result.message).toContain('unknown action type "suspend"');
    expect((await finished(after)).phase).toBe("Succeeded");
    const missing = await action({ type: "cordon", target: { kind: "Node", name: "no-such-node" } });
    expect(await finished(missing)).toMatchObject({
      phase: "Failed",
      result: { message: "node no-such-node not found" },
    });
  });

  it("apply and delete touch only Karpenter objects of ours: other kinds and unlabelled manifests are refused", async () => {
    const pool = { apiVersion: "karpenter.sh/v1", kind: "NodePool", name: "theirs" };
    const configMap = await action({
      type: "apply",
      target: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "x" },
      params: { manifest: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "shop" } } },
    });
    const unlabelled = await action({
      type: "apply",
      target: pool,
      params: { manifest: { apiVersion: "karpenter.sh/v1", kind: "NodePool", metadata: { name: "theirs" } } },
    });
    const otherName = await action({
      type: "apply",
      target: pool,
      params: { manifest: { apiVersion: "karpenter.sh/v1", kind: "NodePool", metadata: { name: "other" } } },
    });
    const deleteDeployment = await action({
      type: "delete",
      target: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "api" },
    });
    expect(await finished(configMap)).toMatchObject({
      phase: "Failed",
      result: { message: "apply acts on NodePool or EC2NodeClass, not ConfigMap" },
    });
    expect((await finished(unlabelled)).result.message).toMatch(/must carry the label app.kubernetes.io\/managed-by/);
    expect((await finished(otherName)).result.message).toMatch(/not the target karpenter.sh\/v1 NodePool theirs/);
    expect((await finished(deleteDeployment)).result.message).toMatch(/delete acts on NodeClaim or NodePool/);
    expect(await get({ apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "x" })).toBeUndefined();
    expect(await get({ apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "api" })).toBeDefined();
  });

  it("scale saves the original once (a duplicate delivery keeps it) and restore puts it back exactly", async () => {
    const target = { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" };
    const first = await action({ type: "scale", target, params: { replicas: 0 } });
    const duplicate = await action({ type: "scale", target, params: { replicas: 0 } });
    expect((await finished(first)).phase).toBe("Succeeded");
    expect((await finished(duplicate)).phase).toBe("Succeeded");
    const asleep = await get(target);
    expect(asleep.spec.replicas).toBe(0);
    expect(asleep.metadata.annotations[ORIGINAL_REPLICAS_ANNOTATION]).toBe("3");
    const restore = await action({ type: "restore", target });
    const again = await action({ type: "restore", target });
    expect((await finished(restore)).phase).toBe("Succeeded");
    expect((await finished(again)).phase).toBe("Succeeded");
    const awake = await get(target);
    expect(awake.spec.replicas).toBe(3);
    expect(awake.metadata.annotations?.[ORIGINAL_REPLICAS_ANNOTATION]).toBeUndefined();
  });

  it("patch checks its expectations on the live object, a repeated delivery finds it applied, a changed object fails", async () => {
    await deployment("shop", "cart", 4);
    const target = { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "cart" };
    const spec = {
      type: "patch",
      target,
      params: {
        patch: { metadata: { annotations: { "example.com/saved": "4" } }, spec: { replicas: 0 } },
        expect: [
          { path: "/spec/replicas", value: 4 },
          { path: "/metadata/annotations/example.com~1saved", value: null },
        ],
      },
    };
    const first = await action(spec);
    expect(await finished(first)).toMatchObject({ phase: "Succeeded", result: { message: "patched Deployment cart" } });
    const generation = (await get(target)).metadata.generation;
    const again = await action(spec);
    expect(await finished(again)).toMatchObject({
      phase: "Succeeded",
      result: { message: "Deployment cart already as patched" },
    });
    const live = await get(target);
    expect(live.spec.replicas).toBe(0);
    expect(live.metadata.annotations["example.com/saved"]).toBe("4");
    expect(live.metadata.generation).toBe(generation);
    // Someone scaled it to 2 since: the same plan step no longer holds and changes nothing.
    await wl.patch(
      target,
      { spec: { replicas: 2 }, metadata: { annotations: { "example.com/saved": null } } },
      {
        type: "merge",
      },
    );
    const stale = await action(spec);
    const failed = await finished(stale);
    expect(failed.phase).toBe("Failed");
    expect(failed.result.message).toBe(
      "Deployment cart changed since the patch was planned: /spec/replicas is 2, expected 4",
    );
    expect((await get(target)).spec.replicas).toBe(2);
  });

  it("a crash between execution and result: the action is handed out again and the cluster ends as after one run", async () => {
    await agent.stop();
    const target = { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "api" };
    const name = await action({ type: "scale", target, params: { replicas: 0 }, timeoutSeconds: 5 });
    // The "crashed" agent: leases and executes, then dies before posting its result.
    const leased = await eventually(async () => {
      const r = await call(f.url, "GET", `/clusters/${CLUSTER}/actions/pending`, { token });
      const actions = PendingActionsResponse.parse(r.body).actions;
      return actions.find((a) => a.id === name);
    });
    expect((await execute({ client: wl, action: leased, deadlineMs: Date.now() + 5000 })).status).toBe("succeeded");
    // Its lease ends; the restarted agent gets attempt 2 and runs the scale again.
    skewMs += 60_000;
    agent = await startAgent(agentConfig(), { kubeConfig: workload.kubeConfig, env: { LOG_LEVEL: "silent" } });
    const status = await finished(name);
    expect(status).toMatchObject({ phase: "Succeeded", attempts: 2 });
    const live = await get(target);
    expect(live.spec.replicas).toBe(0);
    expect(live.metadata.annotations[ORIGINAL_REPLICAS_ANNOTATION]).toBe("2");
    // The crashed attempt's late result changes nothing.
    const late = await call(f.url, "POST", `/clusters/${CLUSTER}/actions/${name}/result`, {
      token,
      body: { attempt: 1, status: "failed", message: "late" },
    });
    expect(late.status).toBe(409);
    expect((await actionStatus(name)).phase).toBe("Succeeded");
  });
});

describe("drain", () => {
  it("waits while a PodDisruptionBudget allows no eviction, completes once it does, and leaves DaemonSet pods", async () => {
    await namespace("pay");
    const ds = (await wl.create({
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "logs", namespace: "pay" },
      spec: {
        selector: { matchLabels: { app: "logs" } },
        template: { metadata: { labels: { app: "logs" } }, spec: { containers: [{ name: "c", image: "fluent" }] } },
      },
    } as KubeObject)) as KubeObject;
    await pod({ ns: "pay", name: "pay-1", node: "n2", labels: { app: "pay" } });
    await pod({ ns: "pay", name: "pay-2", node: "n2", labels: { app: "pay" } });
    await pod({ ns: "pay", name: "logs-n2", node: "n2", labels: { app: "logs" }, owner: ds });
    await wl.create({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "pay", namespace: "pay" },
      spec: { minAvailable: 2, selector: { matchLabels: { app: "pay" } } },
    } as KubeObject);
    await eventually(
      async () =>
        (await get({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", namespace: "pay", name: "pay" }))?.status
          ?.expectedPods === 2,
    );
    const name = await action({ type: "drain", target: { kind: "Node", name: "n2" }, timeoutSeconds: 120 });
    await eventually(async () => (await actionStatus(name))?.phase === "Running");
    // Held by the budget: cordoned, both pods still there, the action still running after several eviction rounds.
    await eventually(
      async () => (await get({ apiVersion: "v1", kind: "Node", name: "n2" })).spec.unschedulable === true,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect((await actionStatus(name)).phase).toBe("Running");
    expect(await get({ apiVersion: "v1", kind: "Pod", namespace: "pay", name: "pay-1" })).toBeDefined();
    expect(await get({ apiVersion: "v1", kind: "Pod", namespace: "pay", name: "pay-2" })).toBeDefined();

    await wl.patch(
      { apiVersion: "policy/v1", kind: "PodDisruptionBudget", namespace: "pay", name: "pay" },
      { spec: { minAvailable: 0 } },
      { type: "merge" },
    );
    const status = await finished(name, 30_000);
    expect(status.phase).toBe("Succeeded");
    expect(status.result.data.evicted).toEqual(["pay/pay-1", "pay/pay-2"]);
    expect(await get({ apiVersion: "v1", kind: "Pod", namespace: "pay", name: "pay-1" })).toBeUndefined();
    expect(await get({ apiVersion: "v1", kind: "Pod", namespace: "pay", name: "logs-n2" })).toBeDefined();
  });

  it("at its deadline reports the pods it could not evict, or with force deletes them", async () => {
    await pod({ ns: "pay", name: "held-1", node: "n3", labels: { app: "held" } });
    await wl.create({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "held", namespace: "pay" },
      spec: { minAvailable: 1, selector: { matchLabels: { app: "held" } } },
    } as KubeObject);
    await eventually(
      async () =>
        (await get({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", namespace: "pay", name: "held" }))?.status
          ?.expectedPods === 1,
    );
    const plain = await action({ type: "drain", target: { kind: "Node", name: "n3" }, timeoutSeconds: 1 });
    const failed = await finished(plain);
    expect(failed.phase).toBe("Failed");
    expect(failed.result.data.not_evicted).toEqual(["pay/held-1"]);
    const forced = await action({
      type: "drain",
      target: { kind: "Node", name: "n3" },
      timeoutSeconds: 1,
      params: { force: true },
    });
    const ok = await finished(forced);
    expect(ok.phase).toBe("Succeeded");
    expect(ok.result.data.forced).toEqual(["pay/held-1"]);
    await eventually(
      async () => (await get({ apiVersion: "v1", kind: "Pod", namespace: "pay", name: "held-1" })) === undefined,
    );
  });
});

describe("facade outage", () => {
  it("the agent backs off, is not ready but still live, and once the facade is back it catches up", async () => {
    proxy.up = false;
    await eventually(async () => (await fetch(`http://127.0.0.1:${agent.port}/readyz`)).status === 503, 10_000);
    // its own loop runs on: the kubelet has no reason to restart it (and cut short the drains it runs)
    expect((await fetch(`http://127.0.0.1:${agent.port}/healthz`)).status).toBe(200);
    const name = await action({
      type: "label",
      target: { kind: "Node", name: "n1" },
      params: { labels: { outage: "1" } },
    });
    await new Promise((r) => setTimeout(r, 500));
    expect((await actionStatus(name))?.phase).toBeUndefined();
    proxy.up = true;
    expect((await finished(name)).phase).toBe("Succeeded");
    expect((await get({ apiVersion: "v1", kind: "Node", name: "n1" })).metadata.labels.outage).toBe("1");
    await eventually(async () => (await fetch(`http://127.0.0.1:${agent.port}/readyz`)).status === 200, 10_000);
    const metrics = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
    expect(metrics).toMatch(/spotopt_agent_heartbeats_total\{result="failed"\} [1-9]/);
  });
});

describe("Spot interruptions", () => {
  async function interruptionEntries(): Promise<any[]> {
    const list = await f.client.listAll({ apiVersion: API_VERSION, kind: "AuditEntry", namespace: owner.namespace });
    return list.items.filter((e: any) => e.spec.event === "spot.interruption");
  }

  it("a Node Termination Handler taint gets the node cordoned and drained, and reported in the next heartbeat", async () => {
    await node("spot-a");
    await pod({ ns: "shop", name: "on-spot-a", node: "spot-a" });
    await wl.patch(
      { apiVersion: "v1", kind: "Node", name: "spot-a" },
      { spec: { taints: [{ key: "aws-node-termination-handler/spot-itn", value: "x", effect: "NoSchedule" }] } },
      { type: "merge" },
    );
    await eventually(
      async () => (await get({ apiVersion: "v1", kind: "Node", name: "spot-a" })).spec.unschedulable === true,
      10_000,
    );
    await eventually(async () => {
      const p = await get({ apiVersion: "v1", kind: "Pod", namespace: "shop", name: "on-spot-a" });
      return p === undefined;
    }, 10_000);
    const entries = await eventually(async () => {
      const e = await interruptionEntries();
      return e.some((x) => x.spec.resource === `cluster/${CLUSTER}/node/spot-a`) ? e : undefined;
    }, 10_000);
    const ours = entries.filter((x) => x.spec.resource === `cluster/${CLUSTER}/node/spot-a`);
    expect(ours).toHaveLength(1);
    expect(ours[0].spec.after).toMatchObject({ node: "spot-a", kind: "spot-itn" });
  });

  it("a notice withdrawn (a cancelled disruption) uncordons the node the agent cordoned for it, not one cordoned by hand", async () => {
    const taint = (name: string, on: boolean) =>
      wl.patch(
        { apiVersion: "v1", kind: "Node", name },
        { spec: { taints: on ? [{ key: "karpenter.sh/disrupted", effect: "NoSchedule" }] : null } },
        { type: "merge" },
      );
    const nodeOf = (name: string) => get({ apiVersion: "v1", kind: "Node", name });
    await node("kd-1");
    await node("kd-2");
    await wl.patch(
      { apiVersion: "v1", kind: "Node", name: "kd-2" },
      { spec: { unschedulable: true } },
      { type: "merge" },
    );
    await pod({ ns: "shop", name: "on-kd-1", node: "kd-1" });
    await taint("kd-1", true);
    await taint("kd-2", true);
    await eventually(async () => (await nodeOf("kd-1")).spec.unschedulable === true, 10_000);
    await eventually(
      async () => (await get({ apiVersion: "v1", kind: "Pod", namespace: "shop", name: "on-kd-1" })) === undefined,
      10_000,
    );
    await taint("kd-1", false);
    await taint("kd-2", false);
    await eventually(async () => (await nodeOf("kd-1")).spec.unschedulable === undefined, 10_000, "kd-1 uncordoned");
    expect((await nodeOf("kd-1")).metadata.annotations ?? {}).not.toHaveProperty(NOTICE_CORDON_ANNOTATION);
    // a later notice of the same node is handled again
    await taint("kd-1", true);
    await eventually(async () => (await nodeOf("kd-1")).spec.unschedulable === true, 10_000, "kd-1 cordoned again");
    expect((await nodeOf("kd-2")).spec.unschedulable).toBe(true);
  });

  it("in DaemonSet mode the instance-metadata notice of its own node taints it, and the agent drains and reports it", async () => {
    await node("spot-b");
    await pod({ ns: "shop", name: "on-spot-b", node: "spot-b" });
    let notice = false;
    const imds = createServer((req, res) => {
      if (req.method === "PUT" && req.url === "/latest/api/token") return void res.end("tok");
      if (
        req.url === "/latest/meta-data/spot/instance-action" &&
        notice &&
        req.headers["x-aws-ec2-metadata-token"] === "tok"
      )
        return void res.end(JSON.stringify({ action: "terminate", time: "2026-12-03T15:00:00Z" }));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => imds.listen(0, "127.0.0.1", r));
    const daemon = await startAgent(
      agentConfig({
        mode: "daemonset",
        nodeName: "spot-b",
        imdsUrl: `http://127.0.0.1:${(imds.address() as AddressInfo).port}`,
      }),
      { kubeConfig: workload.kubeConfig, env: { LOG_LEVEL: "silent" } },
    );
    try {
      await new Promise((r) => setTimeout(r, 600));
      expect((await get({ apiVersion: "v1", kind: "Node", name: "spot-b" })).spec?.unschedulable).toBeUndefined();
      notice = true;
      await eventually(
        async () => (await get({ apiVersion: "v1", kind: "Pod", namespace: "shop", name: "on-spot-b" })) === undefined,
        10_000,
      );
      const tainted = await get({ apiVersion: "v1", kind: "Node", name: "spot-b" });
      expect(tainted.spec.unschedulable).toBe(true);
      expect(tainted.spec.taints).toContainEqual({ key: NOTICE_TAINT, value: "true", effect: "NoSchedule" });
      // the DaemonSet pod holds no facade token and runs no actions: it only answers for its loop
      expect(daemon.agent).toBeUndefined();
      const entry = await eventually(
        async () => (await interruptionEntries()).find((x) => x.spec.resource === `cluster/${CLUSTER}/node/spot-b`),
        10_000,
      );
      expect(entry.spec.after).toMatchObject({ node: "spot-b", kind: "spot-itn", at: "2026-12-03T15:00:00.000Z" });
    } finally {
      await daemon.stop();
      imds.close();
    }
  });
});

describe("ManagedCluster status of a remote cluster", () => {
  it("comes from the agent's heartbeats (priced, with the agent's version); a cluster that never reported has no figures", async () => {
    const silent = await f.call("POST", "/clusters/connect", {
      token: owner.accessToken,
      body: { cluster_id: "silent", region: "us-east-1" },
    });
    expect(silent.status).toBe(200);
    await f.client.patch(
      { apiVersion: API_VERSION, kind: "ManagedCluster", namespace: owner.namespace, name: CLUSTER },
      { spec: { region: "us-east-1" } },
      { type: "merge" },
    );
    const manager = new ControllerManager({ client: f.client });
    registerManagedClusterController({ manager, client: f.client });
    manager.start();
    try {
      const status = await eventually(async () => {
        const mc: any = await f.client.get({
          apiVersion: API_VERSION,
          kind: "ManagedCluster",
          namespace: owner.namespace,
          name: CLUSTER,
        });
        return mc.status?.nodeCount !== undefined && mc.status?.agent ? mc.status : undefined;
      }, 15_000);
      const nodes = (await wl.listAll({ apiVersion: "v1", kind: "Node" })).items;
      expect(status.nodeCount).toBe(nodes.length);
      expect(status.agent).toMatchObject({ version: "0.1.0", health: "healthy" });
      const verify = await f.call("GET", `/clusters/${CLUSTER}/verify`, { token: owner.accessToken });
      expect(verify.body).toMatchObject({ status: "connected", agent_version: "0.1.0", health: "healthy" });
      expect(status.monthlyCostUsd).toBeGreaterThan(0);
      const byType = Object.fromEntries(status.conditions.map((c: any) => [c.type, c]));
      expect(byType.AgentConnected).toMatchObject({ status: "True", reason: "HeartbeatReceived" });
      expect(byType.Measured).toMatchObject({ status: "True", reason: "AgentReported" });
      expect(byType.Priced.message).toMatch(/prices as of \d{4}-\d{2}-\d{2}/);

      const quiet: any = await eventually(async () => {
        const mc: any = await f.client.get({
          apiVersion: API_VERSION,
          kind: "ManagedCluster",
          namespace: owner.namespace,
          name: "silent",
        });
        return mc.status?.conditions?.some((c: any) => c.type === "Measured") ? mc : undefined;
      }, 15_000);
      expect(quiet.status.nodeCount).toBeUndefined();
      expect(quiet.status.monthlyCostUsd).toBeUndefined();
      expect(quiet.status.conditions.find((c: any) => c.type === "Measured")).toMatchObject({
        status: "False",
        reason: "NotReported",
      });
    } finally {
      await manager.stop();
    }
  });
});

describe("what a poll hands out", () => {
  it("no more actions at once than the agent has slots: the rest wait at the facade, not leased", async () => {
    await namespace("slots");
    const nodes = ["s1", "s2", "s3", "s4", "s5", "s6"];
    for (const n of nodes) {
      await node(n);
      await pod({ ns: "slots", name: `held-${n}`, node: n, labels: { app: "slots" } });
    }
    await wl.create({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "slots", namespace: "slots" },
      spec: { minAvailable: nodes.length, selector: { matchLabels: { app: "slots" } } },
    } as KubeObject);
    await eventually(
      async () =>
        (await get({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", namespace: "slots", name: "slots" }))?.status
          ?.expectedPods === nodes.length,
    );
    // each drain is held by the budget until its deadline: the agent's four slots stay full meanwhile
    const drains: string[] = [];
    for (const n of nodes)
      drains.push(await action({ type: "drain", target: { kind: "Node", name: n }, timeoutSeconds: 2 }));
    let most = 0;
    const done = Promise.all(drains.map((d) => finished(d, 30_000)));
    let settled = false;
    void done.finally(() => (settled = true));
    while (!settled) {
      const phases = await Promise.all(drains.map(async (d) => (await actionStatus(d))?.phase));
      most = Math.max(most, phases.filter((p) => p === "Running").length);
      await new Promise((r) => setTimeout(r, 100));
    }
    const results = await done;
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(4);
    expect(results.every((r) => r.phase === "Failed" && r.attempts === 1)).toBe(true);
  });

  it("a malformed action fails with the reason, and the others of its poll still run", async () => {
    // the rewrite is in place before the action exists: the agent polls every 100 ms
    const bad = "malformed-cordon";
    proxy.rewrite = (pending) => ({
      actions: pending.actions.map((a: any) => (a.id === bad ? { ...a, timeout_seconds: 1e13 } : a)),
    });
    await action({ type: "cordon", target: { kind: "Node", name: "n2" } }, bad);
    const good = await action({
      type: "label",
      target: { kind: "Node", name: "n2" },
      params: { labels: { poll: "ok" } },
    });
    try {
      expect((await finished(good)).phase).toBe("Succeeded");
      const refused = await finished(bad);
      expect(refused.phase).toBe("Failed");
      expect(refused.result.message).toMatch(/^malformed action: timeout_seconds: /);
      expect((await get({ apiVersion: "v1", kind: "Node", name: "n2" })).metadata.labels.poll).toBe("ok");
    } finally {
      proxy.rewrite = undefined;
    }
  });
});
