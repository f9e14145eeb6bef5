// A second official client, the Kubernetes Python client (Debian's python3-kubernetes), against the local API server.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { repoRoot, startTestCluster } from "../support/cluster.js";

/** The first python3 that can import the client, or undefined. */
function pythonWithClient(): string | undefined {
  for (const python of ["/usr/bin/python3", "python3"]) {
    try {
      execFileSync(python, ["-c", "import kubernetes"], { stdio: "ignore" });
      return python;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

const python = pythonWithClient();
const describeWithPython = python ? describe : describe.skip;
if (!python)
  console.warn(
    "skipping the Python client suite: no python3 with the kubernetes module (apt-get install python3-kubernetes)",
  );

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(python!, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  return new Promise((done) => child.on("close", (code) => done({ code: code ?? -1, stdout, stderr })));
}

describeWithPython("the Kubernetes Python client", () => {
  let server: LocalApiServer;
  let result: Record<string, any>;

  beforeAll(async () => {
    server = await startTestCluster();
    const kubeconfig = join(mkdtempSync(join(tmpdir(), "py-kubeconfig-")), "config");
    writeFileSync(kubeconfig, server.kubeconfigYaml, { mode: 0o600 });
    const out = await run([join(repoRoot, "test/support/python/k8s_client_scenario.py"), kubeconfig, "py"]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    result = JSON.parse(out.stdout) as Record<string, any>;
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it.each([
    ["replaces a ConfigMap", "configmap", { data: { a: "2" }, rvChanged: true }],
    ["lists by label selector", "listed", ["cfg"]],
    ["watches with watch=True and allowWatchBookmarks=True", "watch", [["ADDED", "cfg"]]],
    [
      "reads a Secret written with string_data as data only",
      "secret",
      { data: { pw: Buffer.from("s3cret").toString("base64") }, stringData: null, type: "Opaque" },
    ],
    [
      "deserialises a PodDisruptionBudget status (required counts present)",
      "pdbStatus",
      { current_healthy: 0, desired_healthy: 0, disruptions_allowed: 0, expected_pods: 0 },
    ],
    [
      "reads a Deployment back defaulted with canonical quantities",
      "deployment",
      { replicas: 2, requests: { cpu: "1", memory: "1Gi" }, strategy: "RollingUpdate" },
    ],
    ["patches the scale subresource", "scale", 3],
    ["gets a NotFound Status as ApiException", "notFound", [404, "NotFound"]],
  ])("%s", (_what, key, expected) => {
    expect(result[key]).toMatchObject(expected as object);
  });
});
