// Baseline numbers of the local API server: creates/s and updates/s through client-node, watch delivery latency;
// the cost of durability (creates/s with the fsync'd write-ahead log against none) and of a large store.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CoreV1Api, Watch, type V1ConfigMap } from "@kubernetes/client-node";
import { startLocalApiServer, type LocalApiServer } from "../../operator/local/apiserver/index.js";
import type { StoredObjects } from "../../operator/local/apiserver/persistence.js";
import type { KubeObject } from "../../operator/local/apiserver/selectors.js";
import { preloadedState, STORED_AT, storedNamespace } from "./preloaded-state.js";
import { schedulerBench } from "./scheduler-binds.js";

export const title =
  "Local API server: creates/s, updates/s, watch delivery latency (10 watchers); durability on/off; 1 000 vs 50 000 stored objects; scheduler binds/s";

const OBJECTS = 2000;
const CONCURRENCY = 8;
const WATCHERS = 10;
const WATCHED_WRITES = 300;

/** Runs `count` tasks with at most `concurrency` in flight; returns the wall time in ms. */
async function timed(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return performance.now() - start;
}

function percentile(sortedMs: number[], p: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor((p / 100) * sortedMs.length))]!;
}

/** Creates/s of `count` ConfigMaps in `namespace` (created first) with `concurrency` raw HTTPS clients. */
async function createRate(
  server: LocalApiServer,
  namespace: string,
  count: number,
  concurrency: number,
): Promise<number> {
  await server.request("POST", "/api/v1/namespaces", { body: { metadata: { name: namespace } } });
  const ms = await timed(count, concurrency, async (i) => {
    const res = await server.request("POST", `/api/v1/namespaces/${namespace}/configmaps`, {
      body: { metadata: { name: `cm-${i}` }, data: { i: String(i) } },
    });
    if (res.status !== 201) throw new Error(`create answered ${res.status}: ${res.text}`);
  });
  return (count / ms) * 1000;
}

/** `objects` ConfigMaps in namespace "stored". */
function storedConfigMaps(objects: number): (data: StoredObjects, rv: number) => number {
  return (data, first) => {
    let rv = storedNamespace(data, "stored", first);
    const cms = new Map<string, KubeObject>();
    for (let i = 0; i < objects; i++) {
      const name = `stored-${i}`;
      cms.set(`stored/${name}`, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name,
          namespace: "stored",
          uid: `uid-${i}`,
          resourceVersion: String(++rv),
          creationTimestamp: STORED_AT,
          labels: { app: "bench" },
        },
        data: { index: String(i), payload: "x".repeat(200) },
      });
    }
    data.set("/configmaps", cms);
    return rv;
  };
}

async function durabilityBench(): Promise<void> {
  const COUNT = 2000;
  const rows: [string, number][] = [];
  for (const concurrency of [1, CONCURRENCY]) {
    const memory = await startLocalApiServer();
    const off = await createRate(memory, "off", COUNT, concurrency);
    await memory.stop();
    const dir = mkdtempSync(join(tmpdir(), "apiserver-bench-"));
    const durable = await startLocalApiServer({ dataFile: join(dir, "state.json") });
    const on = await createRate(durable, "on", COUNT, concurrency);
    await durable.stop();
    rmSync(dir, { recursive: true, force: true });
    rows.push([`durability off (in memory), ${concurrency} client(s)`, off]);
    rows.push([`durability on (fsync'd log), ${concurrency} client(s)`, on]);
  }
  console.log(`\ncreates/s, ${COUNT} ConfigMaps per row (raw HTTPS):`);
  for (let i = 0; i < rows.length; i += 2) {
    const [offLabel, off] = rows[i]!;
    const [onLabel, on] = rows[i + 1]!;
    console.log(`  ${offLabel.padEnd(46)} ${off.toFixed(0).padStart(6)}  (baseline)`);
    console.log(`  ${onLabel.padEnd(46)} ${on.toFixed(0).padStart(6)}  (${(on / off).toFixed(2)}x)`);
  }
}

/** Write cost with durability on when the store already holds 1 000 or 50 000 objects. */
async function storeSizeBench(): Promise<void> {
  const COUNT = 3000;
  const results: [number, number, number][] = [];
  for (const stored of [1000, 50_000]) {
    const dir = await preloadedState(storedConfigMaps(stored));
    const startMs = performance.now();
    const server = await startLocalApiServer({ dataFile: join(dir, "state.json") });
    const loadMs = performance.now() - startMs;
    const rate = await createRate(server, "writes", COUNT, CONCURRENCY);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    results.push([stored, rate, loadMs]);
  }
  const [[, base]] = results as [[number, number, number]];
  console.log(`\nwrite cost with durability on, ${COUNT} creates, ${CONCURRENCY} clients, by objects already stored:`);
  for (const [stored, rate, loadMs] of results)
    console.log(
      `  ${String(stored).padStart(6)} stored: ${rate.toFixed(0).padStart(6)} creates/s = ${(1000 / rate).toFixed(3)} ms/write  (${(rate / base).toFixed(2)}x the 1 000 row; start-up with replay ${loadMs.toFixed(0)} ms)`,
    );
}

const PYTHON = "/usr/bin/python3";
const PY_WATCHED = 100;

/** Whether Debian's python3-kubernetes is there (the second client); the Python rows are skipped otherwise. */
function hasPythonClient(): boolean {
  try {
    execFileSync(PYTHON, ["-c", "import kubernetes"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

interface PythonFigures {
  createSeconds: number;
  updateSeconds: number;
  received: [string, number][];
}

/** The Python client's creates, updates (same count and concurrency as client-node's) and watch receipt times. */
async function pythonFigures(
  server: LocalApiServer,
): Promise<{ figures: PythonFigures; committedAt: Map<string, number> }> {
  const kubeconfig = join(mkdtempSync(join(tmpdir(), "bench-py-")), "config");
  writeFileSync(kubeconfig, server.kubeconfigYaml, { mode: 0o600 });
  const committedAt = new Map<string, number>();
  server.faults.onWrite((w) => {
    if (w.namespace === "watch-py")
      committedAt.set(
        String((w.object as V1ConfigMap).metadata?.resourceVersion),
        performance.timeOrigin + performance.now(),
      );
  });
  const script = join(import.meta.dirname, "python_client_bench.py");
  const args = [script, kubeconfig, "bench-py", String(OBJECTS), String(CONCURRENCY), "watch-py", String(PY_WATCHED)];
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(PYTHON, args, { maxBuffer: 16 * 1024 * 1024 }, (err, out) => (err ? reject(err) : resolve(out))),
  );
  server.faults.onWrite(undefined);
  return { figures: JSON.parse(stdout) as PythonFigures, committedAt };
}

async function pythonRows(
  server: LocalApiServer,
  nodeFigures: { createMs: number; updateMs: number; watchP50Ms: number },
): Promise<void> {
  if (!hasPythonClient()) {
    console.log(
      `Python client rows skipped: no ${PYTHON} with the kubernetes module (apt-get install python3-kubernetes)`,
    );
    return;
  }
  const { figures, committedAt } = await pythonFigures(server);
  const latencies = figures.received
    .map(([rv, at]) => at - (committedAt.get(rv) ?? Number.NaN))
    .filter((ms) => Number.isFinite(ms))
    .sort((a, b) => a - b);
  const perSec = (ms: number): number => (OBJECTS / ms) * 1000;
  const pyCreate = perSec(figures.createSeconds * 1000);
  const pyUpdate = perSec(figures.updateSeconds * 1000);
  console.log(`second client (Python kubernetes, ${CONCURRENCY} threads), against client-node in this run:`);
  console.log(
    `python creates/s:                    ${pyCreate.toFixed(0)}  (${(pyCreate / perSec(nodeFigures.createMs)).toFixed(2)}x client-node)`,
  );
  console.log(
    `python updates/s:                    ${pyUpdate.toFixed(0)}  (${(pyUpdate / perSec(nodeFigures.updateMs)).toFixed(2)}x client-node)`,
  );
  const p50 = percentile(latencies, 50);
  console.log(
    `python watch latency p50 / p99:      ${p50.toFixed(2)} ms / ${percentile(latencies, 99).toFixed(2)} ms, 1 watcher, ${latencies.length}/${PY_WATCHED} events  (p50 ${(p50 / nodeFigures.watchP50Ms).toFixed(2)}x client-node's)`,
  );
}

export async function run(): Promise<void> {
  await durabilityBench();
  await storeSizeBench();
  await schedulerBench();
  const server = await startLocalApiServer();
  try {
    const core = server.kubeConfig.makeApiClient(CoreV1Api);
    for (const ns of ["bench-raw", "bench", "watch", "bench-py", "watch-py"])
      await core.createNamespace({ body: { metadata: { name: ns } } });

    const rawMs = await timed(OBJECTS, CONCURRENCY, (i) =>
      server.request("POST", "/api/v1/namespaces/bench-raw/configmaps", {
        body: { metadata: { name: `raw-${i}` }, data: { i: String(i) } },
      }),
    );
    const createMs = await timed(OBJECTS, CONCURRENCY, (i) =>
      core.createNamespacedConfigMap({
        namespace: "bench",
        body: { metadata: { name: `cm-${i}` }, data: { i: String(i) } },
      }),
    );
    const items = new Map<string, V1ConfigMap>();
    for (const cm of (await core.listNamespacedConfigMap({ namespace: "bench" })).items)
      items.set(cm.metadata!.name!, cm);
    const updateMs = await timed(OBJECTS, CONCURRENCY, (i) => {
      const cm = items.get(`cm-${i}`)!;
      return core.replaceNamespacedConfigMap({
        name: `cm-${i}`,
        namespace: "bench",
        body: { ...cm, data: { i: String(i), updated: "yes" } },
      });
    });

    // Watch latency: from the server committing a write (onWrite runs synchronously at commit) to each watcher's callback.
    const committedAt = new Map<string, number>();
    server.faults.onWrite((w) => {
      if (w.namespace === "watch")
        committedAt.set(String((w.object as V1ConfigMap).metadata?.resourceVersion), performance.now());
    });
    const latenciesMs: number[] = [];
    let delivered = 0;
    const watch = new Watch(server.kubeConfig);
    const controllers: AbortController[] = [];
    const start = await core.listNamespacedConfigMap({ namespace: "watch" });
    for (let i = 0; i < WATCHERS; i++) {
      controllers.push(
        await watch.watch(
          "/api/v1/namespaces/watch/configmaps",
          { resourceVersion: start.metadata!.resourceVersion! },
          (_type, obj: V1ConfigMap) => {
            const at = committedAt.get(obj.metadata!.resourceVersion!);
            if (at !== undefined) latenciesMs.push(performance.now() - at);
            delivered++;
          },
          () => undefined,
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < WATCHED_WRITES; i++) {
      await core.createNamespacedConfigMap({ namespace: "watch", body: { metadata: { name: `w-${i}` } } });
    }
    const deadline = Date.now() + 10_000;
    while (delivered < WATCHERS * WATCHED_WRITES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const c of controllers) c.abort();
    server.faults.onWrite(undefined);
    latenciesMs.sort((a, b) => a - b);

    const perSec = (ms: number): number => (OBJECTS / ms) * 1000;
    console.log(`objects per phase: ${OBJECTS}, client concurrency: ${CONCURRENCY}`);
    console.log(`raw HTTPS creates/s (baseline):      ${perSec(rawMs).toFixed(0)}`);
    console.log(
      `client-node creates/s:               ${perSec(createMs).toFixed(0)}  (${(perSec(createMs) / perSec(rawMs)).toFixed(2)}x raw)`,
    );
    console.log(
      `client-node updates/s:               ${perSec(updateMs).toFixed(0)}  (${(perSec(updateMs) / perSec(rawMs)).toFixed(2)}x raw)`,
    );
    console.log(
      `watch events delivered:              ${delivered}/${WATCHERS * WATCHED_WRITES} to ${WATCHERS} watchers`,
    );
    console.log(
      `watch delivery latency p50 / p99:    ${percentile(latenciesMs, 50).toFixed(2)} ms / ${percentile(latenciesMs, 99).toFixed(2)} ms`,
    );
    await pythonRows(server, { createMs, updateMs, watchP50Ms: percentile(latenciesMs, 50) });
  } finally {
    await server.stop();
  }
}
