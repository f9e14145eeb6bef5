// With an open NodePool schema (as a cluster without Karpenter's CRDs might serve), the hibernation writer still checks what it writes against Karpenter's schema.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestCluster } from "../support/cluster.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { KarpenterValidationError } from "../../src-shared/karpenter/validate.js";
import { hibernationWriter } from "../../operator/controllers/hibernation/kube.js";
import { openKarpenterCrds } from "../support/open-karpenter-crds.js";

const POOL = { apiVersion: "karpenter.sh/v1", kind: "NodePool" };
const template = {
  spec: { nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" }, requirements: [] },
};

let server: LocalApiServer;
let client: KubeClient;

beforeAll(async () => {
  server = await startTestCluster();
  client = new KubeClient(server.kubeConfig);
  for (const crd of openKarpenterCrds()) await client.create(crd as KubeObject);
  await eventually(
    async () =>
      await client.getIfExists({ ...POOL, name: "probe" }).then(
        () => true,
        () => false,
      ),
    5000,
    "NodePool kind served",
  );
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("hibernation writer on open-schema NodePools", () => {
  it("the open schema itself accepts a NodePool Karpenter would reject (so the operator must check)", async () => {
    await client.create({
      ...POOL,
      metadata: { name: "heavy" },
      spec: { weight: 1000, limits: { cpu: "8" }, template },
    } as KubeObject);
    expect((await client.get({ ...POOL, name: "heavy" })).spec).toMatchObject({ weight: 1000 });
  });

  it("still patches a NodePool whose invalid field it does not touch (ratcheting, as on EKS), so a wake is never blocked", async () => {
    const writer = hibernationWriter(client);
    await writer.applyPatch({
      kind: "NodePool",
      name: "heavy",
      action: "sleep",
      patch: { spec: { limits: { cpu: "0", memory: "0" } } },
    });
    const after = await client.get({ ...POOL, name: "heavy" });
    expect(after.spec).toMatchObject({ weight: 1000, limits: { cpu: "0", memory: "0" } });
  });

  it("refuses a patch that breaks a field of a NodePool that was already invalid elsewhere; the stored object is unchanged", async () => {
    const before = await client.get({ ...POOL, name: "heavy" });
    const writer = hibernationWriter(client);
    const wake = writer.applyPatch({
      kind: "NodePool",
      name: "heavy",
      action: "wake",
      patch: { spec: { limits: { cpu: "eight" } } },
    });
    await expect(wake).rejects.toThrow(KarpenterValidationError);
    await expect(
      writer.applyPatch({
        kind: "NodePool",
        name: "heavy",
        action: "wake",
        patch: { spec: { limits: { cpu: "eight" } } },
      }),
    ).rejects.toThrow(/spec\.limits\.cpu/);
    const after = await client.get({ ...POOL, name: "heavy" });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect((after.spec as Record<string, unknown>).limits).toEqual({ cpu: "0", memory: "0" });
  });

  it("refuses a patch whose own values are invalid, and writes a valid one", async () => {
    await client.create({
      ...POOL,
      metadata: { name: "general" },
      spec: { limits: { cpu: "100" }, template },
    } as KubeObject);
    const writer = hibernationWriter(client);
    await expect(
      writer.applyPatch({
        kind: "NodePool",
        name: "general",
        action: "sleep",
        patch: { spec: { limits: { cpu: "zero" } } },
      }),
    ).rejects.toThrow(/spec\.limits\.cpu/);
    expect(((await client.get({ ...POOL, name: "general" })).spec as Record<string, unknown>).limits).toEqual({
      cpu: "100",
    });
    await writer.applyPatch({
      kind: "NodePool",
      name: "general",
      action: "sleep",
      patch: { spec: { limits: { cpu: "0", memory: "0" } } },
    });
    expect(((await client.get({ ...POOL, name: "general" })).spec as Record<string, unknown>).limits).toEqual({
      cpu: "0",
      memory: "0",
    });
  });
});
