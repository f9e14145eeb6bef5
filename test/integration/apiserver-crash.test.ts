// kill -9 of the local API server loses no acknowledged write: a child process takes seeded creates, updates,
// patches, server-side applies, status writes and deletes, is SIGKILLed at a random point, and the state it
// leaves is started again and compared with what every client was told.
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RawTarget } from "../../operator/local/apiserver/client.js";
import { startLocalApiServer } from "../../operator/local/apiserver/index.js";
import { repoRoot } from "../support/cluster.js";
import { rng } from "../support/rng.js";
import { CRASH_NAMESPACE, logicalOf, nextOp, send, type Kind, type TrackedObject } from "../support/crash/workload.js";

const SEEDS = 50;
const WORKERS = 3;
const OPS_PER_WORKER = 10;
const OBJECTS_PER_WORKER = 2;

const work = mkdtempSync(join(tmpdir(), "apiserver-crash-"));
const childBundle = join(work, "apiserver-child.mjs");

beforeAll(async () => {
  // One bundle for every seed: a child then starts in a fraction of a second (no TypeScript loader per process).
  await build({
    entryPoints: [join(repoRoot, "test/support/crash/apiserver-child.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: childBundle,
    alias: { "@kubernetes/client-node": join(repoRoot, "test/support/crash/kubeconfig-stub.ts") },
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "error",
  });
  // Data files the server reads beside its modules (new URL("./x.json", import.meta.url)) must sit beside the bundle.
  const serverDir = join(repoRoot, "operator/local/apiserver");
  for (const f of readdirSync(serverDir)) if (f.endsWith(".json")) copyFileSync(join(serverDir, f), join(work, f));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Child {
  target: RawTarget;
  kill: () => Promise<void>;
}

function startChild(dataFile: string): Promise<Child> {
  const child = spawn(process.execPath, [childBundle], {
    env: { ...process.env, DATA_FILE: dataFile, COMPACT_MIN_BYTES: "4096" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((ready, fail) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (!out.includes("\n")) return;
      ready({
        target: JSON.parse(out.slice(0, out.indexOf("\n"))) as RawTarget,
        kill: async () => {
          child.kill("SIGKILL");
          await exited;
        },
      });
    });
    child.once("exit", (code) => fail(new Error(`child exited with ${code}: ${err}`)));
  });
}

interface Outcome {
  objects: TrackedObject[];
  /** Highest resourceVersion any response carried. */
  maxRv: number;
  refusedSeen: number;
}

/** Runs the workers until the `killAt`-th answered write, then SIGKILLs the server with other writes in flight. */
async function runUntilKilled(child: Child, seed: number): Promise<Outcome> {
  const random = rng(seed);
  const objects: TrackedObject[] = [];
  for (let w = 0; w < WORKERS; w++)
    for (let i = 0; i < OBJECTS_PER_WORKER; i++)
      objects.push({ kind: (["configmap", "deployment"] as Kind[])[i % 2]!, name: `w${w}-o${i}`, acked: undefined });
  const killAt = 1 + Math.floor(random() * WORKERS * OPS_PER_WORKER);
  const outcome: Outcome = { objects, maxRv: 0, refusedSeen: 0 };
  let answered = 0;
  let killed: Promise<void> | undefined;
  const ns = await send(child.target, {
    label: "namespace",
    method: "POST",
    path: "/api/v1/namespaces",
    body: { metadata: { name: CRASH_NAMESPACE } },
    ok: [201],
    next: undefined,
  });
  expect(ns.status).toBe(201);
  let n = 0;
  const worker = async (w: number): Promise<void> => {
    // Each worker draws from its own generator, so a seed makes the same writes whatever the timing.
    const random = rng(seed * 1000 + w);
    const mine = objects.slice(w * OBJECTS_PER_WORKER, (w + 1) * OBJECTS_PER_WORKER);
    for (let step = 0; step < OPS_PER_WORKER && !killed; step++) {
      const o = mine[Math.floor(random() * mine.length)]!;
      const op = nextOp(o, ++n, random);
      o.inFlight = { next: op.next };
      let res;
      try {
        res = await send(child.target, op);
      } catch {
        return; // the server died with this write in flight: its outcome stays unknown
      }
      // An answer that arrives after the kill was sent was still given by the server: it counts as acknowledged.
      expect(op.ok, `seed ${seed} ${op.label} ${o.kind}/${o.name}: ${res.status} ${res.text}`).toContain(res.status);
      o.inFlight = undefined;
      if (op.refused) outcome.refusedSeen++;
      else {
        o.acked = op.next;
        o.ackedRv = op.next === undefined ? undefined : res.json?.metadata?.resourceVersion;
        outcome.maxRv = Math.max(outcome.maxRv, Number(res.json?.metadata?.resourceVersion ?? 0));
      }
      if (++answered === killAt) killed = child.kill();
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  await (killed ?? child.kill());
  return outcome;
}

async function checkAfterRestart(dataFile: string, outcome: Outcome, seed: number): Promise<void> {
  const server = await startLocalApiServer({ dataFile, onWarning: () => undefined });
  try {
    for (const o of outcome.objects) {
      const path =
        o.kind === "configmap"
          ? `/api/v1/namespaces/${CRASH_NAMESPACE}/configmaps/${o.name}`
          : `/apis/apps/v1/namespaces/${CRASH_NAMESPACE}/deployments/${o.name}`;
      const res = await server.request("GET", path);
      const found = res.status === 200 ? logicalOf(o.kind, res.json) : undefined;
      const allowed = o.inFlight === undefined ? [o.acked] : [o.acked, o.inFlight.next];
      expect(allowed, `seed ${seed}: ${o.kind}/${o.name} after restart`).toContainEqual(found);
      expect(res.text, `seed ${seed}: a refused write's content is stored`).not.toContain('"refused"');
      if (o.inFlight === undefined && o.ackedRv !== undefined)
        expect(res.json.metadata.resourceVersion, `seed ${seed}: ${o.name} resourceVersion`).toBe(o.ackedRv);
    }
    const after = await server.request("POST", `/api/v1/namespaces/${CRASH_NAMESPACE}/configmaps`, {
      body: { metadata: { generateName: "after-" } },
    });
    expect(after.status).toBe(201);
    expect(Number(after.json.metadata.resourceVersion), `seed ${seed}: resourceVersion went back`).toBeGreaterThan(
      outcome.maxRv,
    );
  } finally {
    await server.stop();
  }
}

describe("kill -9 of the local API server", () => {
  it.concurrent.each(Array.from({ length: SEEDS }, (_, i) => i + 1))(
    "seed %i: every acknowledged write survives, no refused write appears",
    async (seed) => {
      const dataFile = join(work, `seed-${seed}`, "state.json");
      const child = await startChild(dataFile);
      const outcome = await runUntilKilled(child, seed);
      await checkAfterRestart(dataFile, outcome, seed);
    },
  );
});
