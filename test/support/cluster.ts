// Test helper: a fresh local API server per suite, optionally with our CRDs and/or Karpenter's real CRDs installed.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  startLocalApiServer,
  type LocalApiServer,
  type LocalApiServerOptions,
} from "../../operator/local/apiserver/index.js";
import { KARPENTER_CRD_FILE } from "../../src-shared/karpenter/crds.js";
import { toolPath } from "./tools.js";

/** The repository root (…/work/main). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Our generated CRDs. */
export const projectCrdDir = join(repoRoot, "crds");
/** Karpenter's real CRDs as the repo ships them (generated from the upstream release with provenance). */
export const karpenterCrdFile = KARPENTER_CRD_FILE;

export interface TestClusterOptions extends LocalApiServerOptions {
  /** "project" = crds/*.yaml, "karpenter" = Karpenter's generated CRDs, "all" = both, or explicit paths. */
  crds?: "project" | "karpenter" | "all" | string[];
}

/** Starts a local API server on an ephemeral port and installs the requested CRDs (waits until Established). */
export async function startTestCluster(opts: TestClusterOptions = {}): Promise<LocalApiServer> {
  const { crds, ...serverOpts } = opts;
  const server = await startLocalApiServer(serverOpts);
  const paths =
    crds === undefined
      ? []
      : crds === "project"
        ? [projectCrdDir]
        : crds === "karpenter"
          ? [karpenterCrdFile]
          : crds === "all"
            ? [projectCrdDir, karpenterCrdFile]
            : crds;
  try {
    if (paths.length > 0) await server.installCrdFiles(paths);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/**
 * Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs` naming what it waited
 * for: `what` when given, else the check's own source text, so a timeout never reads "waiting for condition".
 */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
  what = describeCheck(check),
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

/** The check's source on one line, cut to a readable length. */
export function describeCheck(check: () => unknown): string {
  const text = check.toString().replace(/\s+/g, " ").trim();
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

const kubeconfigFiles = new WeakMap<LocalApiServer, string>();

/**
 * Runs the real kubectl 1.33 against `server` (asynchronously: a synchronous child process would block the
 * in-process server and time out). Resolves with the exit code and output; never rejects on a non-zero exit.
 */
export function kubectl(
  server: LocalApiServer,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let kubeconfig = server.kubeconfigPath ?? kubeconfigFiles.get(server);
  if (!kubeconfig) {
    kubeconfig = join(mkdtempSync(join(tmpdir(), "kubeconfig-")), "config");
    writeFileSync(kubeconfig, server.kubeconfigYaml, { mode: 0o600 });
    kubeconfigFiles.set(server, kubeconfig);
  }
  const child = spawn(toolPath("kubectl"), ["--kubeconfig", kubeconfig, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  child.stdin.end(stdin ?? "");
  return new Promise((resolveRun, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
  });
}
