// Baseline numbers of the local API server: creates/s and updates/s through client-node, watch delivery latency.
import { performance } from "node:perf_hooks";
import { CoreV1Api, Watch, type V1ConfigMap } from "@kubernetes/client-node";
import { startLocalApiServer } from "../../operator/local/apiserver/index.js";

export const title = "Local API server: creates/s, updates/s, watch delivery latency (10 watchers)";

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

export async function run(): Promise<void> {
  const server = await startLocalApiServer();
  try {
    const core = server.kubeConfig.makeApiClient(CoreV1Api);
    for (const ns of ["bench-raw", "bench", "watch"]) await core.createNamespace({ body: { metadata: { name: ns } } });

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
  } finally {
    await server.stop();
  }
}
