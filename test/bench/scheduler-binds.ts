// The local scheduler's binds per second: 10 000 pending pods over 500 nodes, against the same bindings posted by a
// client through pods/binding in the same run (the API path alone, with no filtering or scoring).
import { rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startLocalApiServer, type LocalApiServer } from "../../operator/local/apiserver/index.js";
import type { StoredObjects } from "../../operator/local/apiserver/persistence.js";
import type { KubeObject } from "../../operator/local/apiserver/selectors.js";
import { rng } from "../support/rng.js";
import { preloadedState, STORED_AT as AT, storedNamespace } from "./preloaded-state.js";

const PODS = 10_000;
const NODES = 500;
const NAMESPACE = "sched";
const CONCURRENCY = 8;

function storedNode(i: number, rv: number): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: `node-${i}`,
      uid: `node-uid-${i}`,
      resourceVersion: String(rv),
      creationTimestamp: AT,
      labels: { "kubernetes.io/hostname": `node-${i}`, "kubernetes.io/arch": i % 5 === 0 ? "arm64" : "amd64" },
    },
    spec: {},
    status: {
      capacity: { cpu: "16", memory: "64Gi", pods: "110" },
      allocatable: { cpu: "15890m", memory: "62Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", lastTransitionTime: AT }],
    },
  };
}

/** A pending pod of 100–500 m CPU and 128–1 024 MiB; every tenth asks for amd64 by node selector. */
function storedPod(i: number, rv: number, random: () => number): KubeObject {
  const cpu = 100 + Math.floor(random() * 5) * 100;
  const memory = 128 * (1 + Math.floor(random() * 8));
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `p-${i}`,
      namespace: NAMESPACE,
      uid: `pod-uid-${i}`,
      resourceVersion: String(rv),
      creationTimestamp: AT,
    },
    spec: {
      containers: [{ name: "app", image: "app:1", resources: { requests: { cpu: `${cpu}m`, memory: `${memory}Mi` } } }],
      ...(i % 10 === 0 ? { nodeSelector: { "kubernetes.io/arch": "amd64" } } : {}),
      restartPolicy: "Always",
      schedulerName: "default-scheduler",
    },
    status: { phase: "Pending" },
  };
}

function fillCluster(data: StoredObjects, first: number): number {
  let rv = storedNamespace(data, NAMESPACE, first);
  const nodes = new Map<string, KubeObject>();
  for (let i = 0; i < NODES; i++) nodes.set(`/node-${i}`, storedNode(i, ++rv));
  data.set("/nodes", nodes);
  const random = rng(42);
  const pods = new Map<string, KubeObject>();
  for (let i = 0; i < PODS; i++) pods.set(`${NAMESPACE}/p-${i}`, storedPod(i, ++rv, random));
  data.set("/pods", pods);
  return rv;
}

/** Whether any pod of the namespace is still without a node (a one-item page of the unbound ones). */
async function anyUnbound(server: LocalApiServer): Promise<boolean> {
  const res = await server.request(
    "GET",
    `/api/v1/namespaces/${NAMESPACE}/pods?fieldSelector=spec.nodeName%3D&limit=1`,
  );
  if (res.status !== 200) throw new Error(`list answered ${res.status}: ${res.text}`);
  return (JSON.parse(res.text) as { items: unknown[] }).items.length > 0;
}

/** Start-up time of the preloaded state with no loops, and the client's binds/s (pod i → node i mod 500). */
async function clientBinds(dir: string): Promise<{ startMs: number; perSec: number }> {
  const t0 = performance.now();
  const server = await startLocalApiServer({ dataFile: join(dir, "state.json") });
  const startMs = performance.now() - t0;
  try {
    let next = 0;
    const bindStart = performance.now();
    const worker = async (): Promise<void> => {
      while (next < PODS) {
        const i = next++;
        // Every tenth pod wants amd64, and node 0 is arm64: those go to node 1.
        const node = i % NODES === 0 ? 1 : i % NODES;
        const res = await server.request("POST", `/api/v1/namespaces/${NAMESPACE}/pods/p-${i}/binding`, {
          body: {
            apiVersion: "v1",
            kind: "Binding",
            metadata: { name: `p-${i}` },
            target: { kind: "Node", name: `node-${node}` },
          },
        });
        if (res.status !== 201) throw new Error(`binding answered ${res.status}: ${res.text}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const perSec = (PODS / (performance.now() - bindStart)) * 1000;
    if (await anyUnbound(server)) throw new Error("the client left pods unbound");
    return { startMs, perSec };
  } finally {
    await server.stop();
  }
}

/** Time from start-up (loops on) until no pod is unbound; the scheduler starts binding as soon as the server is up. */
async function schedulerMs(dir: string): Promise<number> {
  const t0 = performance.now();
  const server = await startLocalApiServer({ dataFile: join(dir, "state.json"), workloads: true });
  try {
    while (await anyUnbound(server)) await new Promise((r) => setTimeout(r, 20));
    return performance.now() - t0;
  } finally {
    await server.stop();
  }
}

export async function schedulerBench(): Promise<void> {
  const clientDir = await preloadedState(fillCluster);
  const schedDir = await preloadedState(fillCluster);
  try {
    const { startMs, perSec: clientPerSec } = await clientBinds(clientDir);
    const totalMs = await schedulerMs(schedDir);
    const bindMs = Math.max(1, totalMs - startMs);
    const perSec = (PODS / bindMs) * 1000;
    console.log(
      `\nscheduler, ${PODS} pending pods over ${NODES} nodes (start-up with replay ${startMs.toFixed(0)} ms):`,
    );
    console.log(`  client binds/s through pods/binding (baseline, ${CONCURRENCY} clients): ${clientPerSec.toFixed(0)}`);
    console.log(
      `  scheduler binds/s (filter + score + bind, kubelet on):     ${perSec.toFixed(0)}  (${(perSec / clientPerSec).toFixed(2)}x the client)`,
    );
  } finally {
    rmSync(clientDir, { recursive: true, force: true });
    rmSync(schedDir, { recursive: true, force: true });
  }
}
