// Agent benchmarks: heartbeats/s the facade ingests for 1 000 simulated clusters (p50/p99, API writes per heartbeat)
// against GET /healthz of the same facade at the same concurrency, and the agent's idle RSS against an idle node process.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { startFacade } from "../../operator/facade/start.js";
import { agentTokenSecret, newAgentToken } from "../../operator/facade/services/agent-token.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";
import { API_VERSION, type ManagedCluster } from "../../src-shared/crds/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import type { HeartbeatInput } from "../../src-shared/agent/protocol.js";
import { startTestCluster, eventually } from "../support/cluster.js";
import { AGENT_NODE_FLAGS, agentBuildOptions, buildAgent } from "../../agent/build.mjs";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const title =
  "Agent: heartbeats/s for 1 000 clusters (15 s beats simulated, concurrency 32) vs GET /healthz; agent idle RSS (target ≤ 80 MB)";

const CLUSTERS = 1000;
const ROUNDS = 4;
const CONCURRENCY = 32;
const NAMESPACE = "bench-org";

function heartbeat(i: number): HeartbeatInput {
  const nodes = Array.from({ length: 10 }, (_, n) => ({
    name: `c${i}-node-${n}`,
    instance_type: n % 2 ? "m5.large" : "c5.xlarge",
    capacity_type: n % 3 ? ("spot" as const) : ("on-demand" as const),
    zone: "us-east-1a",
    allocatable: { cpu: "1930m", memory: "7220Mi", pods: "29" },
    cordoned: false,
  }));
  const pods = Array.from({ length: 20 }, (_, p) => ({
    namespace: `ns-${p % 5}`,
    cpu_millicores: 100 + p * 10,
    memory_mib: 128 + p,
    count: 1 + (p % 4),
  }));
  return { agent_version: "0.1.0", k8s_version: "v1.31.4", nodes, pods, interruptions: [] };
}

async function load(
  jobs: Array<{ path: string; method: string; token?: string; body?: string }>,
  base: string,
): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const t0 = performance.now();
      const res = await fetch(base + job.path, {
        method: job.method,
        headers: {
          ...(job.token ? { authorization: `Bearer ${job.token}` } : {}),
          ...(job.body ? { "content-type": "application/json" } : {}),
        },
        ...(job.body ? { body: job.body } : {}),
      });
      await res.arrayBuffer();
      if (!res.ok) errors++;
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { rps: jobs.length / seconds, p50: q(0.5), p99: q(0.99), errors };
}

async function heartbeatBench(): Promise<void> {
  const server = await startTestCluster({ crds: "project" });
  const client = new KubeClient(server.kubeConfig);
  let clockMs = Date.now();
  const facade = await startFacade({
    kubeConfig: server.kubeConfig,
    port: 0,
    env: { NODE_ENV: "production" },
    logger: pino({ level: "silent" }),
    now: () => new Date(clockMs),
  });
  try {
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } } as KubeObject);
    const tokens: string[] = [];
    for (let i = 0; i < CLUSTERS; i++) {
      const name = `c${i}`;
      const cluster = (await client.create({
        apiVersion: API_VERSION,
        kind: "ManagedCluster",
        metadata: { name, namespace: NAMESPACE },
        spec: { mode: "remote", region: "us-east-1", k8sVersion: "1.31.4" },
      } as KubeObject)) as unknown as ManagedCluster;
      const token = newAgentToken(NAMESPACE, name);
      await client.create(agentTokenSecret(cluster, token, DEFAULT_SYSTEM_NAMESPACE) as KubeObject);
      tokens.push(token);
    }
    await eventually(() => facade.cache.clusters(NAMESPACE).length === CLUSTERS, 120_000, "clusters in the cache");
    await eventually(
      () => facade.cache.agentTokenSecret(NAMESPACE, `c${CLUSTERS - 1}`) !== undefined,
      120_000,
      "token secrets in the cache",
    );
    const bodies = tokens.map((_, i) => JSON.stringify(heartbeat(i)));
    const health = await load(
      tokens.map(() => ({ path: "/healthz", method: "GET" })),
      facade.url,
    );
    let total = { rps: 0, p50: 0, p99: 0, errors: 0 };
    const rounds: Array<Awaited<ReturnType<typeof load>>> = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Each round is one 15 s heartbeat interval of every cluster on the facade's clock.
      clockMs += 15_000;
      rounds.push(
        await load(
          tokens.map((token, i) => ({ path: `/clusters/c${i}/heartbeat`, method: "POST", token, body: bodies[i]! })),
          facade.url,
        ),
      );
    }
    const steady = rounds.slice(1);
    total = {
      rps: steady.reduce((s, x) => s + x.rps, 0) / steady.length,
      p50: Math.max(...steady.map((x) => x.p50)),
      p99: Math.max(...steady.map((x) => x.p99)),
      errors: rounds.reduce((s, x) => s + x.errors, 0),
    };
    const writes = facade.services.agent.ingest.writes();
    const beats = CLUSTERS * ROUNDS;
    console.log(
      `GET /healthz (baseline):       ${health.rps.toFixed(0)} req/s, p50 ${health.p50.toFixed(1)} ms, p99 ${health.p99.toFixed(1)} ms`,
    );
    console.log(
      `POST heartbeat, round 1 (first): ${rounds[0]!.rps.toFixed(0)} req/s, p99 ${rounds[0]!.p99.toFixed(1)} ms (Lease + snapshot for every cluster)`,
    );
    console.log(
      `POST heartbeat, rounds 2-${ROUNDS}:      ${total.rps.toFixed(0)} req/s, p50 ${total.p50.toFixed(1)} ms, p99 ${total.p99.toFixed(1)} ms, errors ${total.errors}`,
    );
    console.log(`ratio heartbeat/healthz throughput: ${(total.rps / health.rps).toFixed(3)}`);
    console.log(
      `API writes: ${writes.leases} Lease renewals + ${writes.snapshots} snapshots for ${beats} heartbeats (${((writes.leases + writes.snapshots) / beats).toFixed(2)} per heartbeat; ` +
        `1 000 clusters at 15 s = ${(CLUSTERS / 15).toFixed(0)} heartbeats/s needed)`,
    );
  } finally {
    await facade.stop();
    client.close();
    await server.stop();
  }
}

const RSS_STARTS = 5;
const RSS_IDLE_MS = 30_000;
const MIB = 1024 * 1024;

interface RssSample {
  rss: number;
  /** From the agent's own /metrics (process.memoryUsage()), when the process is an agent. */
  heapUsed?: number;
  heapTotal?: number;
  external?: number;
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function memoryFromMetrics(port: number): Promise<Omit<RssSample, "rss">> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name: string): number => Number(new RegExp(`^spotopt_agent_${name} (\\S+)$`, "m").exec(text)![1]);
  return {
    heapUsed: value("nodejs_heap_size_used_bytes"),
    heapTotal: value("nodejs_heap_size_total_bytes"),
    external: value("nodejs_external_memory_bytes"),
  };
}

/** Starts RSS_STARTS processes at once and reads each one's RSS (and, for an agent, its heap) after RSS_IDLE_MS. */
async function idleRss(args: string[], env: NodeJS.ProcessEnv, agent: boolean): Promise<RssSample[]> {
  const ports = await Promise.all(Array.from({ length: RSS_STARTS }, freePort));
  const children = ports.map((port) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO,
      env: { ...env, SPOTOPT_AGENT_PORT: String(port), SPOTOPT_AGENT_HOST: "127.0.0.1" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    return { child, port, stderr: () => stderr };
  });
  try {
    await new Promise((r) => setTimeout(r, RSS_IDLE_MS));
    return await Promise.all(
      children.map(async ({ child, port, stderr }) => {
        if (child.exitCode !== null) throw new Error(`process exited: ${stderr()}`);
        const rss = rssBytes(child.pid!);
        return { rss, ...(agent ? await memoryFromMetrics(port) : {}) };
      }),
    );
  } finally {
    for (const { child } of children) child.kill("SIGTERM");
    await Promise.all(children.map(({ child }) => child.exitCode ?? new Promise((r) => child.once("exit", r))));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function describeRss(samples: RssSample[]): string {
  const rss = samples.map((s) => s.rss);
  const mb = (b: number): string => `${(b / MIB).toFixed(1)} MiB`;
  let text = `median ${mb(median(rss))} (${(median(rss) / 1e6).toFixed(1)} MB; min ${mb(Math.min(...rss))}, max ${mb(Math.max(...rss))})`;
  if (samples[0]!.heapUsed !== undefined) {
    const heap = (k: "heapUsed" | "heapTotal" | "external"): string => mb(median(samples.map((s) => s[k]!)));
    text += `; heap used ${heap("heapUsed")} of ${heap("heapTotal")}, external ${heap("external")}`;
  }
  return text;
}

/** What the bundle holds, by package (bytes of minified output), largest first. */
async function bundleInputs(outfile: string): Promise<string> {
  const { build } = await import("esbuild");
  const result = await build({ ...agentBuildOptions(outfile), metafile: true });
  const output = Object.values(result.metafile.outputs)[0]!;
  const byPackage = new Map<string, number>();
  for (const [file, input] of Object.entries(output.inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? file.split("/")[0]!;
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + input.bytesInOutput);
  }
  const top = [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 8);
  return `${(output.bytes / 1024).toFixed(0)} KB: ${top.map(([k, v]) => `${k} ${(v / 1024).toFixed(0)} KB`).join(", ")}`;
}

export async function rssBench(): Promise<void> {
  const server = await startTestCluster({ crds: "project" });
  const client = new KubeClient(server.kubeConfig);
  const facade = await startFacade({
    kubeConfig: server.kubeConfig,
    port: 0,
    env: {},
    logger: pino({ level: "silent" }),
  });
  const dir = mkdtempSync(join(tmpdir(), "agent-bench-"));
  try {
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } } as KubeObject);
    const cluster = (await client.create({
      apiVersion: API_VERSION,
      kind: "ManagedCluster",
      metadata: { name: "idle", namespace: NAMESPACE },
      spec: { mode: "remote" },
    } as KubeObject)) as unknown as ManagedCluster;
    const token = newAgentToken(NAMESPACE, "idle");
    await client.create(agentTokenSecret(cluster, token, DEFAULT_SYSTEM_NAMESPACE) as KubeObject);
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, server.kubeconfigYaml, { mode: 0o600 });
    const tokenFile = join(dir, "token");
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const env = {
      PATH: process.env.PATH,
      LOG_LEVEL: "warn",
      SPOTOPT_FACADE_URL: facade.url,
      SPOTOPT_CLUSTER_ID: "idle",
      SPOTOPT_AGENT_TOKEN_FILE: tokenFile,
      SPOTOPT_KUBECONFIG: kubeconfig,
      SPOTOPT_HEARTBEAT_SECONDS: "2",
    };
    const bundle = await buildAgent(join(dir, "agent.mjs"));
    console.log(`bundle ${await bundleInputs(join(dir, "agent-meta.mjs"))}`);
    console.log(
      `RSS after ${RSS_IDLE_MS / 1000} s, ${RSS_STARTS} processes started together per row, heartbeat every 2 s, poll every 5 s:`,
    );
    const idle = ["-e", "setInterval(() => {}, 1000)"];
    const bare = await idleRss(idle, env, false);
    console.log(`  idle node (baseline):                          ${describeRss(bare)}`);
    const bareFlagged = await idleRss([...AGENT_NODE_FLAGS, ...idle], env, false);
    console.log(`  idle node with the image's V8 flags:           ${describeRss(bareFlagged)}`);
    // The same-run baseline: the agent's sources loaded through tsx (how the image ran it before the bundle).
    const sources = await idleRss(["--import", "tsx", "agent/main.ts"], env, true);
    console.log(`  agent sources through tsx (before the bundle): ${describeRss(sources)}`);
    const unflagged = await idleRss([bundle], env, true);
    console.log(`  bundle without the V8 flags:                   ${describeRss(unflagged)}`);
    // As the image runs it: the bundle `npm run build:agent` writes, with the image's V8 flags.
    const image = await idleRss([...AGENT_NODE_FLAGS, bundle], env, true);
    console.log(`  AS SHIPPED (bundle, ${AGENT_NODE_FLAGS.join(" ")}): ${describeRss(image)}`);
    const m = (samples: RssSample[]): number => median(samples.map((s) => s.rss));
    console.log(
      `ratios of the medians: shipped / sources through tsx ${(m(image) / m(sources)).toFixed(2)}, shipped / idle node with the same flags ${(m(image) / m(bareFlagged)).toFixed(2)}; ` +
        `shipped minus idle node with the same flags ${((m(image) - m(bareFlagged)) / MIB).toFixed(1)} MiB; target ≤ 80 MB: ${m(image) <= 80e6 ? "met" : "NOT met"}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await facade.stop();
    client.close();
    await server.stop();
  }
}

export async function run(): Promise<void> {
  await heartbeatBench();
  await rssBench();
}
