// The agent's own way to its cluster (no client-node): a kubeconfig's token, token file or exec plugin, and the pod's
// service account, each reaching the local API server; what cannot work is refused with one line.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentConfigError } from "../../agent/config.js";
import { loadKubeAccess } from "../../agent/kube-access.js";
import { KubeClient, type KubeAccess } from "../../src-shared/kube/client.js";
import { startTestCluster } from "../support/cluster.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";

interface Doc {
  clusters: Array<{ name: string; cluster: Record<string, unknown> }>;
  users: Array<{ name: string; user: Record<string, unknown> }>;
}

let server: LocalApiServer;
let dir: string;
let doc: Doc;
let token: string;
let caPem: Buffer;

beforeAll(async () => {
  server = await startTestCluster();
  dir = mkdtempSync(join(tmpdir(), "agent-kube-access-"));
  doc = yaml.load(server.kubeconfigYaml) as Doc;
  token = doc.users[0]!.user.token as string;
  caPem = Buffer.from(doc.clusters[0]!.cluster["certificate-authority-data"] as string, "base64");
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A kubeconfig like the local server's, with its user replaced. */
function writeKubeconfig(name: string, user: Record<string, unknown>): string {
  const path = join(dir, name);
  const copy = structuredClone(doc);
  copy.users[0]!.user = user;
  writeFileSync(path, yaml.dump(copy), { mode: 0o600 });
  return path;
}

/** Creates a ConfigMap and reads it back through the access (a write and a read, both authenticated). */
async function roundTrip(access: KubeAccess, name: string): Promise<string | undefined> {
  const client = new KubeClient(access);
  try {
    await client.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: "default" },
      data: { via: name },
    });
    const read = await client.get<{ data?: Record<string, string> }>({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "default",
      name,
    });
    return read.data?.via;
  } finally {
    client.close();
  }
}

describe("the agent's cluster access", () => {
  it("reads the local server's kubeconfig (inline CA, bearer token)", async () => {
    const path = join(dir, "plain");
    writeFileSync(path, server.kubeconfigYaml, { mode: 0o600 });
    expect(await roundTrip(await loadKubeAccess({ kubeconfigPath: path }), "plain")).toBe("plain");
  });

  it("reads a token file and a CA file named relative to the kubeconfig", async () => {
    writeFileSync(join(dir, "token"), `${token}\n`, { mode: 0o600 });
    writeFileSync(join(dir, "ca.pem"), caPem);
    const path = writeKubeconfig("token-file", { tokenFile: "token" });
    const edited = yaml.load(readFileSync(path, "utf8")) as Doc;
    delete edited.clusters[0]!.cluster["certificate-authority-data"];
    edited.clusters[0]!.cluster["certificate-authority"] = "ca.pem";
    writeFileSync(path, yaml.dump(edited), { mode: 0o600 });
    expect(await roundTrip(await loadKubeAccess({ kubeconfigPath: path }), "token-file")).toBe("token-file");
  });

  it("runs an exec credential plugin once while its credential is valid", async () => {
    const runs = join(dir, "exec-runs");
    const plugin = join(dir, "plugin.mjs");
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    writeFileSync(
      plugin,
      `#!${process.execPath}\nimport { appendFileSync } from "node:fs";\n` +
        `appendFileSync(${JSON.stringify(runs)}, JSON.parse(process.env.KUBERNETES_EXEC_INFO).kind + "\\n");\n` +
        `console.log(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", ` +
        `status: { token: process.env.PLUGIN_TOKEN, expirationTimestamp: ${JSON.stringify(expires)} } }));\n`,
    );
    chmodSync(plugin, 0o755);
    const path = writeKubeconfig("exec", {
      exec: {
        apiVersion: "client.authentication.k8s.io/v1",
        command: plugin,
        env: [{ name: "PLUGIN_TOKEN", value: token }],
      },
    });
    expect(await roundTrip(await loadKubeAccess({ kubeconfigPath: path }), "exec")).toBe("exec");
    expect(readFileSync(runs, "utf8")).toBe("ExecCredential\n");
  });

  it("uses the pod's service account when KUBERNETES_SERVICE_HOST is set and no kubeconfig is given", async () => {
    const sa = join(dir, "serviceaccount");
    mkdirSync(sa);
    writeFileSync(join(sa, "token"), token);
    writeFileSync(join(sa, "ca.crt"), caPem);
    const url = new URL(doc.clusters[0]!.cluster.server as string);
    const env = { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port };
    const access = await loadKubeAccess({ env, serviceAccountDir: sa });
    expect(access.getCurrentCluster()?.server).toBe(`https://${url.hostname}:${url.port}`);
    expect(await roundTrip(access, "in-cluster")).toBe("in-cluster");
  });

  it("sends the kubeconfig's token: a wrong one is refused by the server (401)", async () => {
    const path = writeKubeconfig("wrong", { token: "not-the-token" });
    const client = new KubeClient(await loadKubeAccess({ kubeconfigPath: path }));
    try {
      const err = await client.get({ apiVersion: "v1", kind: "Namespace", name: "default" }).catch((e: unknown) => e);
      expect((err as { statusCode?: number }).statusCode).toBe(401);
    } finally {
      client.close();
    }
  });

  it("refuses what it cannot use with one line naming the problem", async () => {
    const missing = join(dir, "no-such-kubeconfig");
    expect(existsSync(missing)).toBe(false);
    await expect(loadKubeAccess({ kubeconfigPath: missing })).rejects.toThrow(AgentConfigError);
    const provider = writeKubeconfig("provider", { "auth-provider": { name: "oidc" } });
    await expect(loadKubeAccess({ kubeconfigPath: provider })).rejects.toThrow(/auth-provider users are not supported/);
    const noContext = join(dir, "no-context");
    writeFileSync(noContext, yaml.dump({ ...doc, "current-context": "elsewhere" }));
    await expect(loadKubeAccess({ kubeconfigPath: noContext })).rejects.toThrow(/no context named "elsewhere"/);
    const badCa = writeKubeconfig("bad-ca", { token });
    const edited = yaml.load(readFileSync(badCa, "utf8")) as Doc;
    delete edited.clusters[0]!.cluster["certificate-authority-data"];
    edited.clusters[0]!.cluster["certificate-authority"] = "missing-ca.pem";
    writeFileSync(badCa, yaml.dump(edited));
    await expect(loadKubeAccess({ kubeconfigPath: badCa })).rejects.toThrow(/cannot read .*missing-ca\.pem/);
  });
});
