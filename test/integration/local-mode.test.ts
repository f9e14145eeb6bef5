// `npm start` (local mode) as a user runs it: a real process that serves the facade and the API server, writes a
// kubeconfig, keeps its state across restarts under SPOTOPT_HOME, and stops cleanly on SIGINT.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KubeClient, loadKubeConfig } from "../../src-shared/kube/index.js";
import { toolPath } from "../support/tools.js";
import { startLocalMode } from "../support/local-mode.js";
import { freePort } from "../support/ports.js";

const home = mkdtempSync(join(tmpdir(), "spotopt-local-"));

afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("npm start (local mode)", () => {
  it("serves the facade and the API server, seeds a demo organisation, and keeps state across a restart", async () => {
    const ports = { facade: await freePort(), api: await freePort() };
    const first = await startLocalMode(home, { ports });
    const health = await fetch(`${first.facadeUrl}/healthz`);
    expect(health.status).toBe(200);
    expect((await fetch(`${first.facadeUrl}/readyz`)).status).toBe(200);
    const kubeconfigPath = join(home, "kubeconfig");
    expect(existsSync(kubeconfigPath)).toBe(true);
    expect(first.output()).toContain(`KUBECONFIG=${kubeconfigPath} kubectl get nodetemplates`);

    const client = new KubeClient(loadKubeConfig({ kubeconfigPath }));
    const nodes = await client.list({ apiVersion: "v1", kind: "Node" });
    expect(nodes.items.length).toBeGreaterThan(0);
    const clusters = await client.list({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" });
    expect(clusters.items.map((c) => c.metadata?.name)).toEqual(["local"]);
    const demoNamespace = clusters.items[0]!.metadata!.namespace;
    // The command the banner prints works with the real kubectl.
    const kubectlOut = execFileSync(toolPath("kubectl"), ["get", "managedclusters", "-A"], {
      env: { ...process.env, KUBECONFIG: kubeconfigPath },
      encoding: "utf8",
    });
    expect(kubectlOut).toMatch(new RegExp(`${demoNamespace}\\s+local\\s+local\\s+us-east-1`));
    const pools = await client.list({ apiVersion: "karpenter.sh/v1", kind: "NodePool" });
    expect(pools.items).toEqual([]);
    // Karpenter's real schema is served: a NodePool Karpenter would reject is refused as on EKS.
    const invalid = client.create({
      apiVersion: "karpenter.sh/v1",
      kind: "NodePool",
      metadata: { name: "too-heavy" },
      spec: {
        weight: 1000,
        template: {
          spec: { nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "x" }, requirements: [] },
        },
      },
    });
    await expect(invalid).rejects.toMatchObject({ statusCode: 422 });
    await expect(invalid).rejects.toThrow(/spec\.weight/);
    client.close();
    expect(await first.stop()).toBe(0);

    const second = await startLocalMode(home, { ports });
    const again = new KubeClient(loadKubeConfig({ kubeconfigPath }));
    const clustersAfter = await again.list({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" });
    expect(clustersAfter.items.map((c) => `${c.metadata?.namespace}/${c.metadata?.name}`)).toEqual([
      `${demoNamespace}/local`,
    ]);
    expect(second.output()).toContain("created on the first start");
    again.close();
    expect(await second.stop()).toBe(0);
  });
});
