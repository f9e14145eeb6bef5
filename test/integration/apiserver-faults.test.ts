// Fault injection (conflict rate, onWrite) and JSON persistence of the local API server.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { startLocalApiServer, type LocalApiServer, type WriteNotice } from "../../operator/local/apiserver/index.js";
import { projectCrdDir, startTestCluster } from "../support/cluster.js";

describe("fault injection", () => {
  let server: LocalApiServer;
  let core: CoreV1Api;

  beforeAll(async () => {
    server = await startTestCluster();
    core = server.kubeConfig.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    await server.stop();
  });

  it("answers a fraction of writes with a real 409 Conflict Status and changes nothing for them", async () => {
    server.faults.setConflictRate(0.5);
    let conflicts = 0;
    let created = 0;
    try {
      for (let i = 0; i < 60; i++) {
        try {
          await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: `c-${i}` } } });
          created++;
        } catch (err) {
          const e = err as { code?: number; body?: string };
          expect(e.code).toBe(409);
          expect(JSON.parse(e.body!)).toMatchObject({
            kind: "Status",
            apiVersion: "v1",
            status: "Failure",
            reason: "Conflict",
            code: 409,
          });
          conflicts++;
        }
      }
    } finally {
      server.faults.reset();
    }
    expect(conflicts).toBeGreaterThan(5);
    expect(created).toBeGreaterThan(5);
    const list = await core.listNamespacedConfigMap({ namespace: "default" });
    expect(list.items.filter((c) => c.metadata!.name!.startsWith("c-"))).toHaveLength(created);
  });

  it("rate 1 refuses every write and reads still work", async () => {
    server.faults.setConflictRate(1);
    try {
      await expect(
        core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "never" } } }),
      ).rejects.toMatchObject({ code: 409 });
      await expect(core.deleteNamespacedConfigMap({ name: "c-0", namespace: "default" })).rejects.toMatchObject({
        code: 409,
      });
      expect((await core.listNamespacedConfigMap({ namespace: "default" })).items.length).toBeGreaterThan(0);
    } finally {
      server.faults.reset();
    }
  });

  it("reports each successful write to onWrite before the response is sent", async () => {
    const seen: (WriteNotice & { beforeResponse: boolean })[] = [];
    let responded = false;
    server.faults.onWrite((w) => {
      seen.push({ ...w, beforeResponse: !responded });
    });
    try {
      await core
        .createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "noticed" } } })
        .then(() => (responded = true));
      await core.deleteNamespacedConfigMap({ name: "noticed", namespace: "default" });
    } finally {
      server.faults.onWrite(undefined);
    }
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "unnoticed" } } });
    expect(seen.map((w) => `${w.verb}:${w.resource}:${w.namespace}/${w.name}`)).toEqual([
      "create:configmaps:default/noticed",
      "delete:configmaps:default/noticed",
    ]);
    expect(seen[0]!.beforeResponse).toBe(true);
    expect((seen[0]!.object as any).metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("persistence", () => {
  it("keeps objects, custom resources, resourceVersions and the token across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "apiserver-state-"));
    const dataFile = join(dir, "state.json");
    const kubeconfigPath = join(dir, "kubeconfig");
    const first = await startLocalApiServer({ dataFile, kubeconfigPath });
    await first.installCrdFiles([projectCrdDir]);
    const core1 = first.kubeConfig.makeApiClient(CoreV1Api);
    await core1.createNamespace({ body: { metadata: { name: "acme" } } });
    const cm = await core1.createNamespacedConfigMap({
      namespace: "acme",
      body: { metadata: { name: "keep", labels: { a: "b" } }, data: { k: "v" } },
    });
    const custom1 = first.kubeConfig.makeApiClient(CustomObjectsApi);
    await custom1.createNamespacedCustomObject({
      group: "spotoptimizer.io",
      version: "v1alpha1",
      namespace: "acme",
      plural: "managedclusters",
      body: {
        apiVersion: "spotoptimizer.io/v1alpha1",
        kind: "ManagedCluster",
        metadata: { name: "prod" },
        spec: { mode: "local", displayName: "Prod", region: "eu-west-1" },
      },
    });
    await first.stop();

    const second = await startLocalApiServer({ dataFile, kubeconfigPath });
    try {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      const core2 = kc.makeApiClient(CoreV1Api);
      const again = await core2.readNamespacedConfigMap({ name: "keep", namespace: "acme" });
      expect(again.metadata?.uid).toBe(cm.metadata?.uid);
      expect(again.metadata?.resourceVersion).toBe(cm.metadata?.resourceVersion);
      expect(again.data).toEqual({ k: "v" });
      const mc = await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
        group: "spotoptimizer.io",
        version: "v1alpha1",
        namespace: "acme",
        plural: "managedclusters",
        name: "prod",
      });
      expect(mc.spec.displayName).toBe("Prod");
      const next = await core2.createNamespacedConfigMap({ namespace: "acme", body: { metadata: { name: "later" } } });
      expect(Number(next.metadata?.resourceVersion)).toBeGreaterThan(Number(cm.metadata?.resourceVersion));
    } finally {
      await second.stop();
    }
  });
});
