// The local API server's built-in control loops: Deployment → ReplicaSet → Pods, the scheduler and the kubelet's start.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { eventually, kubectl, startTestCluster } from "../support/cluster.js";

type Obj = Record<string, any>;
let server: LocalApiServer;
let nsCounter = 0;

const podsPath = (ns: string): string => `/api/v1/namespaces/${ns}/pods`;
const deployPath = (ns: string): string => `/apis/apps/v1/namespaces/${ns}/deployments`;

function nodeObject(name: string, opts: { cpu?: string; labels?: Obj; spec?: Obj } = {}): Obj {
  const resources = { cpu: opts.cpu ?? "2", memory: "8Gi", pods: "110" };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...(opts.labels ?? {}) } },
    spec: opts.spec ?? {},
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [{ type: "Ready", status: "True" }],
      addresses: [{ type: "InternalIP", address: "10.0.0.9" }],
    },
  };
}

function deployment(name: string, replicas: number, podSpec: Obj = {}): Obj {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: "c", image: "registry.example/app:1", resources: { requests: { cpu: "100m" } } }],
          ...podSpec,
        },
      },
    },
  };
}

async function json(path: string): Promise<Obj> {
  const res = await server.request("GET", path);
  expect(res.status).toBe(200);
  return res.json as Obj;
}

async function podsOf(ns: string, selector: string): Promise<Obj[]> {
  const list = await json(`${podsPath(ns)}?labelSelector=${encodeURIComponent(selector)}`);
  return (list.items as Obj[]).filter((p) => !p.metadata.deletionTimestamp);
}

async function namespace(): Promise<string> {
  const name = `loops-${++nsCounter}`;
  expect((await server.request("POST", "/api/v1/namespaces", { body: { metadata: { name } } })).status).toBe(201);
  return name;
}

async function createNode(node: Obj): Promise<void> {
  expect((await server.request("POST", "/api/v1/nodes", { body: node })).status).toBe(201);
}

async function createPod(ns: string, name: string, spec: Obj): Promise<void> {
  const body = { metadata: { name }, spec: { containers: [{ name: "c", image: "x:1" }], ...spec } };
  expect((await server.request("POST", podsPath(ns), { body })).status).toBe(201);
}

/** Every pod of the selection Running and Ready on a node, `count` of them. */
async function runningPods(ns: string, selector: string, count: number): Promise<Obj[]> {
  return eventually(
    async () => {
      const pods = await podsOf(ns, selector);
      const ready = pods.filter(
        (p) =>
          p.spec.nodeName &&
          p.status.phase === "Running" &&
          p.status.conditions.some((c: Obj) => c.type === "Ready" && c.status === "True"),
      );
      return ready.length === count && pods.length === count ? pods : undefined;
    },
    10_000,
    `${count} running pods ${selector} in ${ns}`,
  );
}

beforeAll(async () => {
  server = await startTestCluster({ workloads: { podCompletionMs: 50 }, podTerminationMs: 20 });
  await createNode(nodeObject("node-a", { labels: { zone: "a" } }));
  await createNode(nodeObject("node-b", { labels: { zone: "b" } }));
});

afterAll(async () => {
  await server?.stop();
});

describe("Deployment → ReplicaSet → Pods", () => {
  it("creates one ReplicaSet named by the template hash, its pods scheduled and Running, and the status kubectl shows", async () => {
    const ns = await namespace();
    expect((await server.request("POST", deployPath(ns), { body: deployment("web", 3) })).status).toBe(201);
    const pods = await runningPods(ns, "app=web", 3);
    const rsList = (await json(`/apis/apps/v1/namespaces/${ns}/replicasets`)).items as Obj[];
    expect(rsList).toHaveLength(1);
    const rs = rsList[0]!;
    const hash = rs.metadata.labels["pod-template-hash"];
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.metadata.ownerReferences[0]).toMatchObject({ kind: "Deployment", name: "web", controller: true });
    for (const p of pods) {
      expect(p.metadata.labels["pod-template-hash"]).toBe(hash);
      expect(p.metadata.ownerReferences[0]).toMatchObject({ kind: "ReplicaSet", name: rs.metadata.name });
      expect(["node-a", "node-b"]).toContain(p.spec.nodeName);
      expect(p.status.podIP).toMatch(/^10\.244\./);
    }
    const d = await eventually(async () => {
      const cur = await json(`${deployPath(ns)}/web`);
      return cur.status.availableReplicas === 3 ? cur : undefined;
    });
    expect(d.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, observedGeneration: 1 });
    expect(d.status.conditions.map((c: Obj) => [c.type, c.status, c.reason])).toEqual([
      ["Available", "True", "MinimumReplicasAvailable"],
      ["Progressing", "True", "NewReplicaSetAvailable"],
    ]);
    const table = await kubectl(server, ["get", "deploy", "web", "-n", ns]);
    expect(table.stdout).toMatch(/web\s+3\/3\s+3\s+3/);
    const wide = await kubectl(server, ["get", "pods", "-n", ns, "-o", "wide"]);
    expect(wide.code).toBe(0);
    for (const p of pods)
      expect(wide.stdout).toMatch(new RegExp(`${p.metadata.name}\\s+1/1\\s+Running.*${p.spec.nodeName}`));
  });

  it("kubectl scale changes the pods; scaling to 0 (hibernation) makes them go", async () => {
    const ns = await namespace();
    await server.request("POST", deployPath(ns), { body: deployment("api", 2) });
    await runningPods(ns, "app=api", 2);
    expect((await kubectl(server, ["scale", "deploy/api", "-n", ns, "--replicas=5"])).code).toBe(0);
    await runningPods(ns, "app=api", 5);
    expect((await kubectl(server, ["scale", "deploy/api", "-n", ns, "--replicas=1"])).code).toBe(0);
    await eventually(async () => (await podsOf(ns, "app=api")).length === 1);
    const patch = { spec: { replicas: 0 } };
    const res = await server.request("PATCH", `${deployPath(ns)}/api`, {
      body: patch,
      headers: { "content-type": "application/merge-patch+json" },
    });
    expect(res.status).toBe(200);
    await eventually(async () => (await json(`${podsPath(ns)}?labelSelector=app%3Dapi`)).items.length === 0);
    const d = await eventually(async () => {
      const cur = await json(`${deployPath(ns)}/api`);
      return cur.status.observedGeneration === cur.metadata.generation && cur.status.replicas === 0 ? cur : undefined;
    });
    expect(d.status).toMatchObject({ replicas: 0, availableReplicas: 0, readyReplicas: 0, updatedReplicas: 0 });
  });

  it("a new template rolls out to a new ReplicaSet (kubectl rollout status), the old one scaled to 0", async () => {
    const ns = await namespace();
    await server.request("POST", deployPath(ns), { body: deployment("roll", 4) });
    const before = await runningPods(ns, "app=roll", 4);
    const oldHash = before[0]!.metadata.labels["pod-template-hash"];
    expect((await kubectl(server, ["set", "image", "deploy/roll", "-n", ns, "c=registry.example/app:2"])).code).toBe(0);
    const status = await kubectl(server, ["rollout", "status", "deploy/roll", "-n", ns, "--timeout=30s"]);
    expect(status.stdout).toContain('deployment "roll" successfully rolled out');
    const after = await runningPods(ns, "app=roll", 4);
    for (const p of after) {
      expect(p.metadata.labels["pod-template-hash"]).not.toBe(oldHash);
      expect(p.spec.containers[0].image).toBe("registry.example/app:2");
    }
    const rsList = (await json(`/apis/apps/v1/namespaces/${ns}/replicasets`)).items as Obj[];
    const old = rsList.find((rs) => rs.metadata.labels["pod-template-hash"] === oldHash)!;
    expect(old.spec.replicas).toBe(0);
    const revisions = rsList.map((rs) => rs.metadata.annotations["deployment.kubernetes.io/revision"]).sort();
    expect(revisions).toEqual(["1", "2"]);
  });

  it("deleting the Deployment removes its ReplicaSets and pods (garbage collector)", async () => {
    const ns = await namespace();
    await server.request("POST", deployPath(ns), { body: deployment("gone", 2) });
    await runningPods(ns, "app=gone", 2);
    expect((await server.request("DELETE", `${deployPath(ns)}/gone`)).status).toBe(200);
    await eventually(async () => (await json(`/apis/apps/v1/namespaces/${ns}/replicasets`)).items.length === 0);
    await eventually(async () => (await json(podsPath(ns))).items.length === 0);
  });
});

describe("scheduler", () => {
  async function pod(ns: string, name: string): Promise<Obj> {
    return json(`${podsPath(ns)}/${name}`);
  }

  async function unschedulable(ns: string, name: string): Promise<Obj> {
    return eventually(async () => {
      const p = await pod(ns, name);
      const c = (p.status.conditions ?? []).find((x: Obj) => x.type === "PodScheduled");
      return c?.status === "False" ? c : undefined;
    });
  }

  it("a pod that fits nowhere stays Pending with PodScheduled=False Unschedulable; it is bound once a node fits", async () => {
    const ns = await namespace();
    await createPod(ns, "big", { containers: [{ name: "c", image: "x:1", resources: { requests: { cpu: "3" } } }] });
    const c = await unschedulable(ns, "big");
    expect(c.reason).toBe("Unschedulable");
    expect(c.message).toMatch(/^0\/\d+ nodes are available: .*\d+ Insufficient cpu/);
    expect((await pod(ns, "big")).status.phase).toBe("Pending");
    expect((await pod(ns, "big")).spec.nodeName).toBeUndefined();
    await createNode(nodeObject("node-big", { cpu: "4", labels: { size: "big" } }));
    await eventually(async () => (await pod(ns, "big")).spec.nodeName === "node-big");
    await eventually(async () => (await pod(ns, "big")).status.phase === "Running");
  });

  it("requests count against what is already bound to a node", async () => {
    const ns = await namespace();
    await createNode(nodeObject("node-small", { cpu: "1", labels: { pool: "small" } }));
    const spec = (cpu: string): Obj => ({
      nodeSelector: { pool: "small" },
      containers: [{ name: "c", image: "x:1", resources: { requests: { cpu } } }],
    });
    await createPod(ns, "first", spec("600m"));
    await eventually(async () => (await pod(ns, "first")).spec.nodeName === "node-small");
    await createPod(ns, "second", spec("600m"));
    expect((await unschedulable(ns, "second")).message).toContain("1 Insufficient cpu");
    expect((await server.request("DELETE", `${podsPath(ns)}/first`)).status).toBe(200);
    await eventually(async () => (await pod(ns, "second")).spec.nodeName === "node-small");
  });

  it("pods without requests spread over equal nodes (scored as 100m / 200 MiB each, as kube-scheduler does)", async () => {
    const ns = await namespace();
    for (const i of [1, 2, 3]) await createNode(nodeObject(`${ns}-node-${i}`, { labels: { pool: ns } }));
    const noRequests = { nodeSelector: { pool: ns }, containers: [{ name: "c", image: "registry.example/app:1" }] };
    expect((await server.request("POST", deployPath(ns), { body: deployment("spread", 6, noRequests) })).status).toBe(
      201,
    );
    const pods = await runningPods(ns, "app=spread", 6);
    const perNode = new Map<string, number>();
    for (const p of pods) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
    expect(Object.fromEntries(perNode)).toEqual({ [`${ns}-node-1`]: 2, [`${ns}-node-2`]: 2, [`${ns}-node-3`]: 2 });
  });

  it("taints need tolerations; nodeSelector and required node affinity pick the node", async () => {
    const ns = await namespace();
    const taints = [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }];
    await createNode(nodeObject("node-gpu", { labels: { accel: "gpu" }, spec: { taints } }));
    await createPod(ns, "no-toleration", { nodeSelector: { accel: "gpu" } });
    const c = await unschedulable(ns, "no-toleration");
    expect(c.message).toContain("1 node(s) had untolerated taint {dedicated: gpu}");
    expect(c.message).toContain("node(s) didn't match Pod's node affinity/selector");
    await createPod(ns, "tolerating", {
      nodeSelector: { accel: "gpu" },
      tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
    });
    await eventually(async () => (await pod(ns, "tolerating")).spec.nodeName === "node-gpu");
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["b"] }] }],
        },
      },
    };
    await createPod(ns, "zone-b", { affinity });
    await eventually(async () => (await pod(ns, "zone-b")).spec.nodeName === "node-b");
    const nowhere = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["z"] }] }],
        },
      },
    };
    await createPod(ns, "zone-z", { affinity: nowhere });
    expect((await unschedulable(ns, "zone-z")).reason).toBe("Unschedulable");
  });

  it("a cordoned node takes no new pods; a drain (cordon + eviction) lets the ReplicaSet recreate the pod elsewhere", async () => {
    const ns = await namespace();
    await createNode(nodeObject("node-c1", { labels: { pool: "drain" } }));
    await createNode(nodeObject("node-c2", { labels: { pool: "drain" }, spec: { unschedulable: true } }));
    await server.request("POST", deployPath(ns), {
      body: deployment("drained", 2, { nodeSelector: { pool: "drain" } }),
    });
    const before = await runningPods(ns, "app=drained", 2);
    expect(before.map((p) => p.spec.nodeName)).toEqual(["node-c1", "node-c1"]);
    expect((await kubectl(server, ["uncordon", "node-c2"])).code).toBe(0);
    expect((await kubectl(server, ["cordon", "node-c1"])).code).toBe(0);
    const drain = await kubectl(server, ["drain", "node-c1", "--pod-selector=app=drained", "--timeout=30s"]);
    expect(drain.code).toBe(0);
    const after = await runningPods(ns, "app=drained", 2);
    expect(after.map((p) => p.spec.nodeName)).toEqual(["node-c2", "node-c2"]);
    for (const p of after) expect(before.map((b) => b.metadata.name)).not.toContain(p.metadata.name);
  });
});

describe("DaemonSet → Pods", () => {
  const dsPath = (ns: string): string => `/apis/apps/v1/namespaces/${ns}/daemonsets`;
  function daemonSet(image: string): Obj {
    return {
      metadata: { name: "agent" },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: {
          metadata: { labels: { app: "agent" } },
          spec: { nodeSelector: { pool: "ds" }, containers: [{ name: "c", image }] },
        },
      },
    };
  }

  it("runs one pod per admitted node (cordoned included, tainted not), rolls a new template, follows node labels", async () => {
    const ns = await namespace();
    await createNode(nodeObject("ds-1", { labels: { pool: "ds" } }));
    await createNode(nodeObject("ds-2", { labels: { pool: "ds" }, spec: { unschedulable: true } }));
    await createNode(
      nodeObject("ds-3", {
        labels: { pool: "ds" },
        spec: { taints: [{ key: "dedicated", value: "x", effect: "NoSchedule" }] },
      }),
    );
    expect((await server.request("POST", dsPath(ns), { body: daemonSet("registry.example/agent:1") })).status).toBe(
      201,
    );
    const first = await runningPods(ns, "app=agent", 2);
    expect(first.map((p) => p.spec.nodeName).sort()).toEqual(["ds-1", "ds-2"]);
    const rollout = await kubectl(server, ["rollout", "status", "ds/agent", "-n", ns, "--timeout=20s"]);
    expect(rollout.code, rollout.stderr).toBe(0);
    const ds = await json(`${dsPath(ns)}/agent`);
    expect(ds.status).toMatchObject({
      desiredNumberScheduled: 2,
      currentNumberScheduled: 2,
      numberReady: 2,
      updatedNumberScheduled: 2,
      numberAvailable: 2,
      numberMisscheduled: 0,
      observedGeneration: ds.metadata.generation,
    });
    const patched = await server.request("PATCH", `${dsPath(ns)}/agent`, {
      body: { spec: { template: { spec: { containers: [{ name: "c", image: "registry.example/agent:2" }] } } } },
      headers: { "Content-Type": "application/strategic-merge-patch+json" },
    });
    expect(patched.status).toBe(200);
    const again = await kubectl(server, ["rollout", "status", "ds/agent", "-n", ns, "--timeout=20s"]);
    expect(again.code, again.stderr).toBe(0);
    const rolled = await runningPods(ns, "app=agent", 2);
    expect(rolled.map((p) => p.spec.containers[0].image)).toEqual([
      "registry.example/agent:2",
      "registry.example/agent:2",
    ]);
    for (const p of rolled) expect(first.map((f) => f.metadata.name)).not.toContain(p.metadata.name);
    const relabel = await server.request("PATCH", "/api/v1/nodes/ds-2", {
      body: { metadata: { labels: { pool: null } } },
      headers: { "Content-Type": "application/merge-patch+json" },
    });
    expect(relabel.status).toBe(200);
    const left = await runningPods(ns, "app=agent", 1);
    expect(left.map((p) => p.spec.nodeName)).toEqual(["ds-1"]);
    await eventually(async () => (await json(`${dsPath(ns)}/agent`)).status.desiredNumberScheduled === 1);
  });
});

describe("opt-in", () => {
  it("without the workload loops a Deployment creates nothing and a bound pod stays as written", async () => {
    const plain = await startTestCluster();
    try {
      await plain.request("POST", "/api/v1/nodes", { body: nodeObject("n") });
      await plain.request("POST", deployPath("default"), { body: deployment("still", 2) });
      await plain.request("POST", podsPath("default"), {
        body: { metadata: { name: "p" }, spec: { nodeName: "n", containers: [{ name: "c", image: "x:1" }] } },
      });
      await plain.settled();
      expect((await plain.request("GET", "/apis/apps/v1/namespaces/default/replicasets")).json.items).toEqual([]);
      expect((await plain.request("GET", `${podsPath("default")}/p`)).json.status.phase).toBe("Pending");
    } finally {
      await plain.stop();
    }
  });
});
