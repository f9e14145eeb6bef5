// `npm start` (local mode) as a user runs it: a real process that serves the facade and the API server, writes a
// kubeconfig, keeps its state across restarts under SPOTOPT_HOME, and stops cleanly on SIGINT.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KubeClient, loadKubeConfig } from "../../src-shared/kube/index.js";
import { toolPath } from "../support/tools.js";
import { startLocalMode } from "../support/local-mode.js";
import { eventually } from "../support/cluster.js";
import { freePort } from "../support/ports.js";

const home = mkdtempSync(join(tmpdir(), "spotopt-local-"));

afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("npm start (local mode)", () => {
  // Four starts of a real process: on a loaded 2-core machine they take most of the default minute.
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
    // The AGENT column says the operator acts for the local cluster (no agent of its own reports there).
    await eventually(
      () =>
        /\sLocalMode\s/.test(
          execFileSync(toolPath("kubectl"), ["get", "managedclusters", "-A"], {
            env: { ...process.env, KUBECONFIG: kubeconfigPath },
            encoding: "utf8",
          }),
        ),
      20_000,
      "the local cluster's AGENT column to read LocalMode",
    );
    // Which of two policies of one cluster is in force, and why a schedule has no state, show in kubectl get.
    const SO = "spotoptimizer.io/v1alpha1";
    for (const name of ["aaa-policy", "zzz-policy"])
      await client.create({
        apiVersion: SO,
        kind: "OptimizationPolicy",
        metadata: { name, namespace: demoNamespace },
        spec: { clusterRef: { name: "local" } },
      });
    await client.create({
      apiVersion: SO,
      kind: "HibernationSchedule",
      metadata: { name: "typo-zone", namespace: demoNamespace },
      spec: { clusterRef: { name: "local" }, timezone: "Europe/Berln", weekly: [] },
    });
    const kubectlGet = (what: string): string =>
      execFileSync(toolPath("kubectl"), ["get", what, "-n", demoNamespace!], {
        env: { ...process.env, KUBECONFIG: kubeconfigPath },
        encoding: "utf8",
      });
    await eventually(
      () => /aaa-policy\s.*\sInForce\s/.test(kubectlGet("op")) && /zzz-policy\s.*\sDuplicate\s/.test(kubectlGet("op")),
      20_000,
      "kubectl get op to show InForce and Duplicate in STATUS",
    );
    await eventually(
      () => /typo-zone\s.*\sInvalidSpec\s/.test(kubectlGet("hs")),
      20_000,
      "kubectl get hs: InvalidSpec",
    );
    for (const [kind, name] of [
      ["OptimizationPolicy", "aaa-policy"],
      ["OptimizationPolicy", "zzz-policy"],
      ["HibernationSchedule", "typo-zone"],
    ] as const)
      await client.delete({ apiVersion: SO, kind, namespace: demoNamespace!, name });
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
    // A second start on the same home is refused while this one runs (exit 2, one line) and leaves its kubeconfig alone.
    const kubeconfigBefore = readFileSync(kubeconfigPath, "utf8");
    await expect(startLocalMode(home)).rejects.toThrow(/exited with 2: .*is in use by process \d+/);
    expect(readFileSync(kubeconfigPath, "utf8")).toBe(kubeconfigBefore);
    client.close();
    expect(await first.stop()).toBe(0);

    const second = await startLocalMode(home, { ports });
    const again = new KubeClient(loadKubeConfig({ kubeconfigPath }));
    const clustersAfter = await again.list({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" });
    expect(clustersAfter.items.map((c) => `${c.metadata?.namespace}/${c.metadata?.name}`)).toEqual([
      `${demoNamespace}/local`,
    ]);
    expect(second.output()).toContain("created on the first start");
    // What the user deletes from the seed stays deleted: a restart does not bring the demo objects back.
    const demoCluster = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster", namespace: demoNamespace };
    await again.delete({ ...demoCluster, name: "local" });
    await again.delete({ apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" });
    await eventually(async () => (await again.getIfExists({ ...demoCluster, name: "local" })) === undefined);
    again.close();
    expect(await second.stop()).toBe(0);

    const third = await startLocalMode(home, { ports });
    const after = new KubeClient(loadKubeConfig({ kubeconfigPath }));
    expect((await after.list({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" })).items).toEqual([]);
    const deployments = await after.list({ apiVersion: "apps/v1", kind: "Deployment" });
    expect(deployments.items.map((d) => `${d.metadata?.namespace}/${d.metadata?.name}`)).not.toContain("shop/web");
    // The banner counts what the simulated cluster holds now.
    expect(third.output()).toContain(
      `(${nodes.items.length} simulated nodes, ${deployments.items.length} Deployments)`,
    );
    // So does the demo organisation itself: the next start does not make it again.
    await after.delete({ apiVersion: "v1", kind: "Namespace", name: demoNamespace! });
    await eventually(
      async () =>
        (await after.getIfExists({ apiVersion: "v1", kind: "Namespace", name: demoNamespace! })) === undefined,
    );
    after.close();
    expect(await third.stop()).toBe(0);
    const fourth = await startLocalMode(home, { ports });
    expect(fourth.output()).toContain("organisation: none (the demo organisation was deleted");
    const last = new KubeClient(loadKubeConfig({ kubeconfigPath }));
    expect(await last.getIfExists({ apiVersion: "v1", kind: "Namespace", name: demoNamespace! })).toBeUndefined();
    last.close();
    expect(await fourth.stop()).toBe(0);
  }, 180_000);
});
