// The agent as the image runs it: `npm run build:agent`'s bundle, started with the image's V8 flags, connects to a
// real facade (the facade reports it connected), leaves out the heavy libraries and exits 2 on a bad kubeconfig.
// Skips with a reason when esbuild is not installed.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_NODE_FLAGS, agentBuildOptions, buildAgent } from "../../agent/build.mjs";
import { eventually, repoRoot, startTestCluster } from "../support/cluster.js";
import { startTestFacade, type TestFacade } from "../support/facade.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";

const hasEsbuild = existsSync(join(repoRoot, "node_modules", "esbuild"));
const CLUSTER = "bundled";

const title = hasEsbuild ? "the agent bundle" : "the agent bundle — skipped: esbuild is not installed (npm ci)";

describe.skipIf(!hasEsbuild)(title, () => {
  let f: TestFacade;
  let workload: LocalApiServer;
  let dir: string;
  let child: ChildProcess | undefined;
  let stderr = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "agent-bundle-"));
    f = await startTestFacade();
    workload = await startTestCluster();
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child!.once("exit", r));
    }
    await workload?.stop();
    await f?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("builds, starts with the image's V8 flags and reaches connected", async () => {
    const bundle = await buildAgent(join(dir, "agent.mjs"));
    const owner = await f.signup("Bundle Corp");
    const connect = await f.call("POST", "/clusters/connect", {
      token: owner.accessToken,
      body: { cluster_id: CLUSTER, region: "us-east-1" },
    });
    expect(connect.status).toBe(200);
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, workload.kubeconfigYaml, { mode: 0o600 });
    const tokenFile = join(dir, "token");
    writeFileSync(tokenFile, connect.body.api_token, { mode: 0o600 });
    child = spawn(process.execPath, [...AGENT_NODE_FLAGS, bundle], {
      env: {
        PATH: process.env.PATH,
        LOG_LEVEL: "warn",
        SPOTOPT_FACADE_URL: f.url,
        SPOTOPT_CLUSTER_ID: CLUSTER,
        SPOTOPT_AGENT_TOKEN_FILE: tokenFile,
        SPOTOPT_KUBECONFIG: kubeconfig,
        SPOTOPT_AGENT_PORT: "0",
        SPOTOPT_HEARTBEAT_SECONDS: "1",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const verify = await eventually(
      async () => {
        if (child!.exitCode !== null) throw new Error(`agent exited ${child!.exitCode}: ${stderr}`);
        const res = await f.call("GET", `/clusters/${CLUSTER}/verify`, { token: owner.accessToken });
        return res.body?.status === "connected" ? res.body : undefined;
      },
      30_000,
      "the facade reports the bundled agent connected",
    );
    expect(verify.status).toBe("connected");
  }, 90_000);

  it("holds neither @kubernetes/client-node, all of zod, prom-client nor express", async () => {
    const { build } = await import("esbuild");
    const result = await build({ ...agentBuildOptions(join(dir, "meta.mjs")), metafile: true });
    const inputs = Object.keys(Object.values(result.metafile.outputs)[0]!.inputs);
    expect(inputs).toContain("agent/main.ts");
    const heavy = /node_modules\/(@kubernetes\/client-node|zod\/v4\/classic|prom-client|express|undici)\//;
    expect(inputs.filter((file) => heavy.test(file))).toEqual([]);
  });

  it("a kubeconfig it cannot read: exit code 2 and one line naming it", async () => {
    const bundle = await buildAgent(join(dir, "agent-exit.mjs"));
    const tokenFile = join(dir, "exit-token");
    writeFileSync(tokenFile, "t", { mode: 0o600 });
    const missing = join(dir, "missing-kubeconfig");
    const run = spawnSync(process.execPath, [...AGENT_NODE_FLAGS, bundle], {
      env: {
        PATH: process.env.PATH,
        SPOTOPT_FACADE_URL: f.url,
        SPOTOPT_CLUSTER_ID: CLUSTER,
        SPOTOPT_AGENT_TOKEN_FILE: tokenFile,
        SPOTOPT_KUBECONFIG: missing,
        SPOTOPT_AGENT_PORT: "0",
      },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain(`kubeconfig ${missing}`);
  }, 60_000);
});
