// The real helm installs, upgrades and uninstalls the chart in the local API server: the one `npm start` runs (TLS,
// its kubeconfig, our CRDs preinstalled) and an empty one where the chart's own CRDs are created and served.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as yaml from "js-yaml";
import { KubeConfig } from "@kubernetes/client-node";
import { startOperator, type RunningOperator } from "../../operator/main.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, loadKubeConfig, type KubeObject } from "../../src-shared/kube/index.js";
import { KARPENTER_CRD_FILE } from "../../src-shared/karpenter/crds.js";
import { eventually, startTestCluster } from "../support/cluster.js";
import { startLocalMode, type LocalMode } from "../support/local-mode.js";
import { chartDir, helmAt, kubectlAt, type ToolRun } from "./helm.js";

const RELEASE = "spot-optimizer";
const NS = "spot-optimizer";
const INSTANCE = `app.kubernetes.io/instance=${RELEASE}`;
const MIGRATE_HOOK = `${INSTANCE},app.kubernetes.io/component=migrate`;

function ok(run: ToolRun): ToolRun {
  // helm's own warnings, and client-go's note that helm cancelled one of its watches when it was done waiting
  const noise = /^.*(level=WARN|watch ended with error.*context canceled).*\n/gm;
  expect(run.stderr.replace(noise, ""), run.stderr).toBe("");
  expect(run.code).toBe(0);
  return run;
}

/** `kubectl get -o json` of the release's objects of `kinds` in the release namespace, as "kind/name". */
async function releaseObjects(kubeconfig: string, kinds: string): Promise<string[]> {
  const run = ok(await kubectlAt(kubeconfig, ["get", kinds, "-n", NS, "-l", INSTANCE, "-o", "json"]));
  const list = JSON.parse(run.stdout) as { items: KubeObject[] };
  return list.items.map((o) => `${o.kind}/${o.metadata?.name}`).sort();
}

async function getJson<T = KubeObject>(kubeconfig: string, args: string[]): Promise<T> {
  return JSON.parse(ok(await kubectlAt(kubeconfig, ["get", ...args, "-o", "json"])).stdout) as T;
}

const secretValue = (secret: { data?: Record<string, string> }, key: string): string =>
  Buffer.from(secret.data?.[key] ?? "", "base64").toString("utf8");

describe("helm install into local mode (npm start's kubeconfig)", () => {
  let home: string;
  let local: LocalMode;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "spotopt-helm-local-"));
    local = await startLocalMode(home);
  }, 90_000);

  afterAll(async () => {
    await local?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it("installs the release, kubectl shows what it made, upgrade changes it, uninstall removes it", async () => {
    const kc = local.kubeconfigPath;
    ok(
      await helmAt(kc, [
        "install",
        RELEASE,
        chartDir,
        "-n",
        NS,
        "--create-namespace",
        "--set-string",
        "agent.token=first-token",
      ]),
    );
    expect(await releaseObjects(kc, "deploy,svc,sa,secret,pdb,role,rolebinding,ingress,ds")).toEqual([
      "Deployment/spot-optimizer-agent",
      "Deployment/spot-optimizer-facade",
      "Deployment/spot-optimizer-operator",
      "PodDisruptionBudget/spot-optimizer-facade",
      "PodDisruptionBudget/spot-optimizer-operator",
      "Role/spot-optimizer-facade",
      "Role/spot-optimizer-operator-leader-election",
      "RoleBinding/spot-optimizer-facade",
      "RoleBinding/spot-optimizer-operator-leader-election",
      "Secret/spot-optimizer-agent-token",
      "Secret/spot-optimizer-facade-jwt-key",
      "Service/spot-optimizer-facade",
      "Service/spot-optimizer-facade-metrics",
      "ServiceAccount/spot-optimizer-agent",
      "ServiceAccount/spot-optimizer-facade",
      "ServiceAccount/spot-optimizer-operator",
    ]);
    const clusterRoles = ok(
      await kubectlAt(kc, ["get", "clusterrole,clusterrolebinding", "-l", INSTANCE, "-o", "name"]),
    );
    expect(clusterRoles.stdout.trim().split("\n").sort()).toEqual([
      "clusterrole.rbac.authorization.k8s.io/spot-optimizer-agent",
      "clusterrole.rbac.authorization.k8s.io/spot-optimizer-facade",
      "clusterrole.rbac.authorization.k8s.io/spot-optimizer-operator",
      "clusterrolebinding.rbac.authorization.k8s.io/spot-optimizer-agent",
      "clusterrolebinding.rbac.authorization.k8s.io/spot-optimizer-facade",
      "clusterrolebinding.rbac.authorization.k8s.io/spot-optimizer-operator",
    ]);
    const operator = await getJson<KubeObject & { spec: { replicas: number } }>(kc, [
      "deploy/spot-optimizer-operator",
      "-n",
      NS,
      "--show-managed-fields",
    ]);
    expect(operator.spec.replicas).toBe(2);
    // helm 4 writes by server-side apply under its own field manager.
    expect(operator.metadata?.managedFields?.map((f) => `${f.manager}/${f.operation}`)).toContain("helm/Apply");
    const token = await getJson<{ data?: Record<string, string> }>(kc, ["secret/spot-optimizer-agent-token", "-n", NS]);
    expect(secretValue(token, "token")).toBe("first-token");
    const jwtKey = secretValue(await getJson(kc, ["secret/spot-optimizer-facade-jwt-key", "-n", NS]), "key");
    expect(jwtKey.length).toBeGreaterThanOrEqual(32);

    ok(
      await helmAt(kc, [
        "upgrade",
        RELEASE,
        chartDir,
        "-n",
        NS,
        "--set-string",
        "agent.token=second-token",
        "--set",
        "operator.replicas=3,facade.ingress.enabled=true,agent.daemonset.enabled=true",
      ]),
    );
    const upgraded = await getJson<{ spec: { replicas: number } }>(kc, ["deploy/spot-optimizer-operator", "-n", NS]);
    expect(upgraded.spec.replicas).toBe(3);
    // The pre-upgrade hook's Job completed (local mode's kubelet simulates its container) and helm deleted it, its
    // ServiceAccount and its RBAC.
    const hook = ok(
      await kubectlAt(kc, [
        "get",
        "job,sa,role,rolebinding,clusterrole,clusterrolebinding",
        "-A",
        "-l",
        MIGRATE_HOOK,
        "-o",
        "name",
      ]),
    );
    expect(hook.stdout.trim()).toBe("");
    expect(await releaseObjects(kc, "ingress,ds")).toEqual([
      "DaemonSet/spot-optimizer-agent-spot-notices",
      "Ingress/spot-optimizer-facade",
    ]);
    const newToken = await getJson<{ data?: Record<string, string> }>(kc, [
      "secret/spot-optimizer-agent-token",
      "-n",
      NS,
    ]);
    expect(secretValue(newToken, "token")).toBe("second-token");
    // The signing key survives upgrades (read back with lookup): dashboard sessions stay valid.
    expect(secretValue(await getJson(kc, ["secret/spot-optimizer-facade-jwt-key", "-n", NS]), "key")).toBe(jwtKey);

    // Back to the defaults: what the values no longer ask for is deleted.
    ok(await helmAt(kc, ["upgrade", RELEASE, chartDir, "-n", NS, "--set-string", "agent.token=second-token"]));
    expect(await releaseObjects(kc, "ingress,ds")).toEqual([]);
    const history = ok(await helmAt(kc, ["history", RELEASE, "-n", NS, "-o", "json"]));
    expect((JSON.parse(history.stdout) as Array<{ status: string }>).map((r) => r.status)).toEqual([
      "superseded",
      "superseded",
      "deployed",
    ]);

    // A custom resource made while installed; uninstall leaves CRDs and CRs alone.
    ok(await kubectlAt(kc, ["create", "namespace", "org-helm"]));
    ok(
      await kubectlAt(
        kc,
        ["apply", "-f", "-"],
        JSON.stringify({
          apiVersion: "spotoptimizer.io/v1alpha1",
          kind: "ManagedCluster",
          metadata: { name: "kept", namespace: "org-helm" },
          spec: { mode: "remote", region: "us-east-1" },
        }),
      ),
    );
    const uninstall = await helmAt(kc, ["uninstall", RELEASE, "-n", NS]);
    expect(uninstall.code).toBe(0);
    expect(uninstall.stdout).toContain("spot-optimizer-facade-jwt-key");
    expect(await releaseObjects(kc, "deploy,svc,sa,secret,pdb,role,rolebinding,ingress,ds")).toEqual([
      "Secret/spot-optimizer-facade-jwt-key",
    ]);
    const left = ok(await kubectlAt(kc, ["get", "clusterrole,clusterrolebinding", "-l", INSTANCE, "-o", "name"]));
    expect(left.stdout.trim()).toBe("");
    expect(ok(await helmAt(kc, ["list", "-n", NS, "-q"])).stdout.trim()).toBe("");
    ok(await kubectlAt(kc, ["get", "managedcluster/kept", "-n", "org-helm"]));
  }, 120_000);

  it("an upgrade with --reuse-values keeps values unset with null at install (the schema takes null as unset)", async () => {
    const kc = local.kubeconfigPath;
    const release = ["nulls", chartDir, "-n", "nulls"];
    const unset =
      "facade.nodeSelector=null,operator.tolerations=null,agent.affinity=null,facade.podAnnotations=null," +
      "operator.resources.limits=null";
    ok(await helmAt(kc, ["install", ...release, "--create-namespace", "--set", unset, "--set", "image.tag=first"]));
    ok(await helmAt(kc, ["upgrade", ...release, "--reuse-values", "--set", "image.tag=second"]));
    const facade = await getJson<{
      spec: { template: { metadata: { annotations?: Record<string, string> }; spec: Record<string, unknown> } };
    }>(kc, ["deploy/nulls-spot-optimizer-facade", "-n", "nulls"]);
    expect(facade.spec.template.spec).not.toHaveProperty("nodeSelector");
    expect((facade.spec.template.spec.containers as Array<{ image: string }>)[0]!.image).toMatch(/:second$/);
    ok(await helmAt(kc, ["uninstall", "nulls", "-n", "nulls"]));
  }, 90_000);

  it("refuses to turn a full release into an agent on upgrade (connect's command in the wrong cluster) unless asked, and rolls back", async () => {
    const kc = local.kubeconfigPath;
    const release = ["guarded", chartDir, "-n", "guarded"];
    // installed under another full name than the connect command's values give: found by labels, not by name
    ok(await helmAt(kc, ["install", ...release, "--create-namespace", "--set", "fullnameOverride=guard"]));
    const agent = [
      "--set",
      "mode=agent",
      "--set-string",
      "agent.clusterId=prod-eu-1,agent.endpoint=https://spot.example.com,agent.token=t0k3n",
    ];
    const refused = await helmAt(kc, ["upgrade", "--install", ...release, ...agent]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/runs the operator and facade: upgrading it with mode=agent would delete them/);
    const deployments = async (): Promise<string[]> =>
      (await getJson<{ items: KubeObject[] }>(kc, ["deploy", "-n", "guarded"])).items
        .map((d) => d.metadata!.name!)
        .sort();
    expect(await deployments()).toEqual(["guard-facade", "guard-operator"]);
    ok(await helmAt(kc, ["upgrade", ...release, ...agent, "--set", "allowModeChange=true"]));
    expect(await deployments()).toEqual(["guarded-spot-optimizer-agent"]);
    // The facade's signing key outlives the switch, and rolling back brings the facade back on that same key.
    const key = async (): Promise<string> =>
      secretValue(await getJson(kc, ["secret/guard-facade-jwt-key", "-n", "guarded"]), "key");
    const before = await key();
    expect(before).toHaveLength(48);
    ok(await helmAt(kc, ["rollback", "guarded", "1", "-n", "guarded"]));
    expect(await deployments()).toEqual(["guard-facade", "guard-operator"]);
    expect(await key()).toBe(before);
    ok(await helmAt(kc, ["uninstall", "guarded", "-n", "guarded"]));
  }, 120_000);

  it("ships the CRDs local mode's operator serves", async () => {
    const client = new KubeClient(loadKubeConfig({ kubeconfigPath: local.kubeconfigPath }));
    try {
      const files = readdirSync(join(chartDir, "crds"));
      expect(files.length).toBe(7);
      for (const file of files) {
        const shipped = yaml.load(readFileSync(join(chartDir, "crds", file), "utf8")) as KubeObject & {
          spec: { group: string; names: unknown; scope: string; versions: unknown[] };
        };
        const served = await client.get<KubeObject & { spec: typeof shipped.spec }>({
          apiVersion: "apiextensions.k8s.io/v1",
          kind: "CustomResourceDefinition",
          name: shipped.metadata!.name!,
        });
        expect(served.spec.names, file).toMatchObject(shipped.spec.names as object);
        expect(served.spec.scope, file).toBe(shipped.spec.scope);
        expect(served.spec.versions, file).toEqual(shipped.spec.versions);
      }
    } finally {
      client.close();
    }
  });
});

describe("helm install into an empty API server", () => {
  let server: LocalApiServer;
  let kubeconfig: string;
  let dir: string;

  beforeAll(async () => {
    // Only Karpenter's CRDs (the operator writes NodePools); ours come from the chart's crds/.
    server = await startTestCluster({ crds: [KARPENTER_CRD_FILE] });
    dir = mkdtempSync(join(tmpdir(), "spotopt-helm-empty-"));
    kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, server.kubeconfigYaml, { mode: 0o600 });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates the chart's CRDs, and an operator with the chart's ServiceAccount reconciles on them", async () => {
    ok(
      await helmAt(kubeconfig, [
        "install",
        RELEASE,
        chartDir,
        "-n",
        NS,
        "--create-namespace",
        "--set-string",
        "agent.token=t,localCluster.namespace=org-a,localCluster.name=local",
      ]),
    );
    const crds = ok(await kubectlAt(kubeconfig, ["get", "crd", "-o", "name"])).stdout;
    for (const file of readdirSync(join(chartDir, "crds")))
      expect(crds).toContain(`customresourcedefinition.apiextensions.k8s.io/${file.replace(/\.yaml$/, "")}`);
    const designation = await getJson<{ data: Record<string, string> }>(kubeconfig, [
      "configmap/spot-optimizer-local-cluster",
      "-n",
      NS,
    ]);
    expect(designation.data).toEqual({ namespace: "org-a", name: "local" });

    const token = ok(
      await kubectlAt(kubeconfig, ["create", "token", "spot-optimizer-operator", "-n", NS]),
    ).stdout.trim();
    const objects = [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "org-a" } },
      {
        apiVersion: "spotoptimizer.io/v1alpha1",
        kind: "ManagedCluster",
        metadata: { name: "local", namespace: "org-a" },
        spec: { mode: "local", region: "us-east-1" },
      },
      {
        apiVersion: "spotoptimizer.io/v1alpha1",
        kind: "NodeTemplate",
        metadata: { name: "general", namespace: "org-a" },
        spec: { clusterRef: { name: "local" }, families: ["m5"], strategy: "SPOT" },
      },
    ];
    ok(await kubectlAt(kubeconfig, ["create", "-f", "-"], objects.map((o) => JSON.stringify(o)).join("\n")));

    const doc = yaml.load(server.kubeconfigYaml) as { users: Array<{ user: { token: string } }> };
    for (const u of doc.users) u.user.token = token;
    const kc = new KubeConfig();
    kc.loadFromString(yaml.dump(doc));
    let running: RunningOperator | undefined;
    try {
      running = await startOperator({ kubeConfig: kc, systemNamespace: NS });
      const admin = new KubeClient(server.kubeConfig);
      try {
        const applied = await eventually(
          async () => {
            const nt = await admin.get<
              KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }
            >({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate", namespace: "org-a", name: "general" });
            return nt.status?.conditions?.find((c) => c.type === "Applied" && c.status === "True");
          },
          30_000,
          "the NodeTemplate Applied by the operator",
        );
        expect(applied.status).toBe("True");
      } finally {
        admin.close();
      }
      const pools = ok(await kubectlAt(kubeconfig, ["get", "nodepools.karpenter.sh", "-o", "name"])).stdout;
      expect(pools.trim().split("\n")).toHaveLength(1);
    } finally {
      await running?.stop();
    }
  }, 90_000);
});
