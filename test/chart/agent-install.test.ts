// The helm_command POST /clusters/connect hands out, run as given with the real helm against a second API server
// (the workload cluster): it installs the chart's agent with that cluster's id, the facade's URL and the token, and
// an agent started as that Deployment describes (its ServiceAccount's token, the mounted Secret) connects.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as yaml from "js-yaml";
import { loadAgentConfig } from "../../agent/config.js";
import { startAgent, type RunningAgent } from "../../agent/main.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { eventually, startTestCluster } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";
import { toolPath } from "../support/tools.js";
import { kubectlAt, runTool, type ToolRun } from "./helm.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";

const CLUSTER = "prod-eu-1";
const AGENT_NS = "agent-ns";

interface Container {
  image: string;
  env: Array<{ name: string; value?: string }>;
}
interface AgentDeployment {
  spec: { template: { spec: { serviceAccountName: string; containers: Container[] } } };
}

let f: ResourceFacade;
let workload: LocalApiServer;
let dir: string;
let kubeconfig: string;

/** Runs a shell command line as a user pastes it: `helm` from PATH, KUBECONFIG naming the workload cluster. */
function sh(command: string): Promise<ToolRun> {
  return runTool("sh", ["-c", command], {
    env: {
      ...process.env,
      PATH: `${join(dir, "bin")}:${process.env.PATH}`,
      KUBECONFIG: kubeconfig,
      HELM_CONFIG_HOME: join(dir, "helm-config"),
      HELM_DATA_HOME: join(dir, "helm-data"),
    },
  });
}

async function getJson<T>(args: string[]): Promise<T> {
  const run = await kubectlAt(kubeconfig, ["get", ...args, "-o", "json"]);
  expect(run.stderr).toBe("");
  return JSON.parse(run.stdout) as T;
}

beforeAll(async () => {
  // As the chart configures a facade: the agent runs from the facade's own image.
  f = await startResourceFacade({
    config: { agentImage: { repository: "registry.example/spot-optimizer", tag: "1.2.3" } },
  });
  workload = await startTestCluster();
  dir = mkdtempSync(join(tmpdir(), "spotopt-agent-install-"));
  kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, workload.kubeconfigYaml, { mode: 0o600 });
  const bin = join(dir, "bin");
  mkdirSync(bin);
  symlinkSync(toolPath("helm"), join(bin, "helm"));
}, 60_000);

afterAll(async () => {
  await workload?.stop();
  await f?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the helm_command of POST /clusters/connect", () => {
  it("installs the chart's agent for that cluster in a second cluster, and that agent connects", async () => {
    const connect = await f.call("POST", "/clusters/connect", {
      token: f.token(f.orgA),
      body: { cluster_id: CLUSTER, namespace: AGENT_NS, region: "eu-west-1" },
    });
    expect(connect.status).toBe(200);
    const { helm_command: command, api_token: token, endpoint } = connect.body as Record<string, string>;

    const run = await sh(command!);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("STATUS: deployed");

    // Agent mode: the agent, its token Secret, ServiceAccount and ClusterRole; no operator, no facade.
    const deployments = await getJson<{ items: Array<{ metadata: { name: string } }> }>(["deploy", "-n", AGENT_NS]);
    expect(deployments.items.map((d) => d.metadata.name)).toEqual(["spot-optimizer-agent"]);
    const deployment = await getJson<AgentDeployment>(["deploy/spot-optimizer-agent", "-n", AGENT_NS]);
    const env = Object.fromEntries(
      deployment.spec.template.spec.containers[0]!.env.filter((e) => e.value !== undefined).map((e) => [
        e.name,
        e.value!,
      ]),
    );
    expect(deployment.spec.template.spec.containers[0]!.image).toBe("registry.example/spot-optimizer:1.2.3");
    expect(env.SPOTOPT_CLUSTER_ID).toBe(CLUSTER);
    expect(env.SPOTOPT_FACADE_URL).toBe(endpoint);
    const secret = await getJson<{ data: Record<string, string> }>([
      "secret/spot-optimizer-agent-token",
      "-n",
      AGENT_NS,
    ]);
    const installed = Buffer.from(secret.data.token!, "base64").toString("utf8");
    expect(installed).toBe(token);
    // The facade keeps only the hash (in its own namespace); the installed token is the one it will accept.
    const stored = await f.client.get<{ data: Record<string, string> }>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      name: `${f.orgA}.${CLUSTER}-agent-token`,
    });
    expect(Buffer.from(stored.data["token-hash"]!, "base64").toString("utf8")).toBe(
      createHash("sha256").update(installed).digest("hex"),
    );

    // The agent as the pod would run: the Deployment's environment, the Secret mounted as its token file, the
    // workload cluster reached with its ServiceAccount's token (so the chart's agent RBAC is what it has).
    const tokenFile = join(dir, "agent-token");
    writeFileSync(tokenFile, installed, { mode: 0o600 });
    const saToken = await kubectlAt(kubeconfig, [
      "create",
      "token",
      deployment.spec.template.spec.serviceAccountName,
      "-n",
      AGENT_NS,
    ]);
    expect(saToken.code).toBe(0);
    const doc = yaml.load(workload.kubeconfigYaml) as { users: Array<{ user: { token: string } }> };
    for (const u of doc.users) u.user.token = saToken.stdout.trim();
    const agentKubeconfig = join(dir, "agent-kubeconfig");
    writeFileSync(agentKubeconfig, yaml.dump(doc), { mode: 0o600 });
    const config = loadAgentConfig({
      ...env,
      SPOTOPT_AGENT_TOKEN_FILE: tokenFile,
      SPOTOPT_AGENT_PORT: "0",
      SPOTOPT_AGENT_HOST: "127.0.0.1",
      SPOTOPT_HEARTBEAT_SECONDS: "1",
      SPOTOPT_KUBECONFIG: agentKubeconfig,
    });
    let agent: RunningAgent | undefined;
    try {
      agent = await startAgent(config, { env: { LOG_LEVEL: "silent" } });
      const verified = await eventually(
        async () => {
          const res = await f.call("GET", `/clusters/${CLUSTER}/verify`, { token: f.token(f.orgA) });
          return res.body.connected === true ? res.body : undefined;
        },
        30_000,
        "the cluster's agent connected",
      );
      expect(verified.status).toBe("connected");
    } finally {
      await agent?.stop();
    }
  }, 120_000);
});
