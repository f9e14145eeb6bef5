// Integration: our generated CRDs installed in the local API server accept the valid samples and reject invalid ones with 422.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { startTestCluster } from "../support/cluster.js";
import { crdKinds, findCrdKind, HibernationScheduleKind, NodeTemplateKind } from "../../src-shared/crds/index.js";
import { KubeApiError, KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { applyCr, getCr, listCrs } from "../support/typed.js";
import { crdSamples, sampleObject } from "../support/crd-samples.js";

let server: LocalApiServer;
let client: KubeClient;
const ns = "org-acme";

beforeAll(async () => {
  server = await startTestCluster({ crds: "project" });
  client = new KubeClient(server.kubeConfig);
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
});

afterAll(async () => {
  client.close();
  await server.stop();
});

async function createError(object: object): Promise<KubeApiError | undefined> {
  try {
    await client.create(object as KubeObject);
    return undefined;
  } catch (error) {
    if (error instanceof KubeApiError) return error;
    throw error;
  }
}

describe("generated CRDs in the API server", () => {
  it.each(crdKinds.map((k) => [k.kind, k] as const))(
    "%s: the valid sample is stored and the resource parses with zod",
    async (_name, kind) => {
      const sample = crdSamples[kind.kind]!;
      const { status: _status, ...withoutStatus } = sample.valid as { status?: unknown };
      const created = await client.create(
        sampleObject(kind, withoutStatus, { name: `valid-${kind.plural}`, namespace: ns }) as KubeObject,
      );
      expect(created.metadata?.uid).toBeTruthy();
      expect(kind.resource.safeParse(created).success).toBe(true);
    },
  );

  it.each(crdKinds.map((k) => [k.kind, k] as const))(
    "%s: every invalid sample is rejected with 422 Invalid",
    async (_name, kind) => {
      const sample = crdSamples[kind.kind]!;
      let index = 0;
      for (const bad of sample.invalid) {
        const { status, ...rest } = bad as { status?: unknown };
        // Status is ignored on create (status subresource), so invalid statuses are written through /status.
        if (status !== undefined) continue;
        const error = await createError(sampleObject(kind, rest, { name: `bad-${index++}`, namespace: ns }));
        expect(error?.statusCode, JSON.stringify(bad)).toBe(422);
        expect(error?.reason).toBe("Invalid");
      }
    },
  );

  it("fills schema defaults on create (what kubectl users get without writing them)", async () => {
    await client.create(
      sampleObject(
        NodeTemplateKind,
        { spec: { clusterRef: { name: "prod" }, families: ["m5"] } },
        { name: "defaults", namespace: ns },
      ) as KubeObject,
    );
    const stored = await getCr(client, NodeTemplateKind, ns, "defaults");
    expect(stored?.spec).toMatchObject({
      architecture: "x86_64",
      strategy: "HYBRID",
      diskType: "gp3",
      diskSize: 20,
      isDefault: false,
    });
  });

  it("enforces the HibernationSchedule CEL rules: exactly one of weekly and matrix, start != end", async () => {
    const both = await createError(
      sampleObject(
        HibernationScheduleKind,
        {
          spec: {
            clusterRef: { name: "prod" },
            weekly: [{ days: ["Mon"], start: "08:00", end: "18:00" }],
            matrix: new Array(168).fill(1),
          },
        },
        { name: "both", namespace: ns },
      ),
    );
    expect(both?.statusCode).toBe(422);
    expect(both?.message).toContain("weekly and matrix are mutually exclusive");
    const empty = await createError(
      sampleObject(
        HibernationScheduleKind,
        { spec: { clusterRef: { name: "prod" }, weekly: [{ days: ["Mon"], start: "08:00", end: "08:00" }] } },
        { name: "empty", namespace: ns },
      ),
    );
    expect(empty?.statusCode).toBe(422);
    expect(empty?.message).toContain("start and end must differ");
    const neither = await createError(
      sampleObject(
        HibernationScheduleKind,
        { spec: { clusterRef: { name: "prod" }, timezone: "UTC" } },
        { name: "neither", namespace: ns },
      ),
    );
    expect(neither?.statusCode).toBe(422);
    expect(neither?.message).toContain("one of weekly or matrix is required");
    expect(await getCr(client, HibernationScheduleKind, ns, "neither")).toBeUndefined();
  });

  it.each(crdKinds.filter((k) => (crdSamples[k.kind]!.valid as { spec?: { clusterRef?: unknown } }).spec?.clusterRef))(
    "$kind: clusterRef cannot change once set (422); other edits still go through",
    async (kind) => {
      const { status: _status, ...sample } = crdSamples[kind.kind]!.valid as {
        status?: unknown;
        spec: { clusterRef: { name: string } };
      };
      const created = await client.create(
        sampleObject(kind, sample, { name: `moved-${kind.plural}`, namespace: ns }) as KubeObject,
      );
      const ref = { apiVersion: created.apiVersion!, kind: kind.kind, namespace: ns, name: `moved-${kind.plural}` };
      const moved = await client
        .patch(ref, { spec: { clusterRef: { name: "elsewhere" } } }, { type: "merge" })
        .then(() => undefined)
        .catch((e: unknown) => e as KubeApiError);
      expect(moved?.statusCode).toBe(422);
      expect(moved?.message).toContain("clusterRef is immutable");
      expect((await client.get<any>(ref)).spec.clusterRef).toEqual(sample.spec.clusterRef);
      await client.patch(ref, { metadata: { labels: { edited: "yes" } } }, { type: "merge" });
      await client.patch(ref, { spec: { clusterRef: { ...sample.spec.clusterRef } } }, { type: "merge" });
    },
  );

  it("refuses a ManagedCluster spec.aws that Karpenter's EC2NodeClass would refuse, naming each field", async () => {
    const ref = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster", namespace: ns, name: "careless" };
    await client.create({ ...ref, metadata: { name: ref.name, namespace: ns }, spec: { mode: "local" } } as KubeObject);
    let refused: KubeApiError | undefined;
    try {
      await client.patch(
        ref,
        { spec: { aws: { nodeRole: "", securityGroupSelector: { "": "x", "a b": "" }, subnetSelector: {} } } },
        { type: "merge" },
      );
    } catch (error) {
      if (!(error instanceof KubeApiError)) throw error;
      refused = error;
    }
    expect(refused?.statusCode).toBe(422);
    expect(refused?.message).toContain("spec.aws.nodeRole");
    expect(refused?.message).toContain("spec.aws.securityGroupSelector");
    expect(refused?.message).toContain("spec.aws.subnetSelector");
    expect(refused?.message).toContain("tag keys must be 1 to 128 characters");
    expect(((await client.get(ref)) as { spec: { aws?: unknown } }).spec.aws).toBeUndefined();
    // an AMI alias of a family Karpenter has none of, or a pinned Windows one; the ones it takes are kept
    for (const alias of ["ubuntu@latest", "windows2022@v1.0"]) {
      const bad = await client.patch(ref, { spec: { aws: { amiAlias: alias } } }, { type: "merge" }).catch((e) => e);
      expect(bad, alias).toBeInstanceOf(KubeApiError);
      expect((bad as KubeApiError).statusCode, alias).toBe(422);
      expect((bad as KubeApiError).message, alias).toContain("spec.aws.amiAlias");
    }
    for (const alias of ["al2023@latest", "bottlerocket@v1.10.0", "windows2025@latest"]) {
      await client.patch(ref, { spec: { aws: { amiAlias: alias } } }, { type: "merge" });
      expect(((await client.get(ref)) as { spec: { aws?: { amiAlias?: string } } }).spec.aws?.amiAlias).toBe(alias);
    }
  });

  it("is found by short name and category through discovery", async () => {
    const list = await client.request<{
      resources: Array<{ name: string; shortNames?: string[]; categories?: string[] }>;
    }>({ method: "GET", path: "/apis/spotoptimizer.io/v1alpha1" });
    const nodeTemplates = list.resources.find((r) => r.name === "nodetemplates");
    expect(nodeTemplates?.shortNames).toEqual(findCrdKind("NodeTemplate")?.shortNames);
    expect(nodeTemplates?.categories).toEqual(["spotoptimizer"]);
  });

  it("typed helpers: applyCr writes with our field manager, listCrs and getCr return zod-parsed resources", async () => {
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "org-other" } });
    for (const namespace of [ns, "org-other"]) {
      const result = await applyCr(client, NodeTemplateKind, {
        metadata: { name: "typed", namespace },
        spec: { clusterRef: { name: "prod" }, families: ["m5"] },
      });
      expect(result.changed).toBe(true);
    }
    const everywhere = await listCrs(client, NodeTemplateKind, undefined, { labelSelector: "" });
    const typed = everywhere.filter((t) => t.metadata.name === "typed");
    expect(typed.map((t) => t.metadata.namespace).sort()).toEqual([ns, "org-other"]);
    expect(typed.every((t) => t.kind === "NodeTemplate" && t.spec.strategy === "HYBRID")).toBe(true);
    expect((await listCrs(client, NodeTemplateKind, "org-other")).map((t) => t.metadata.name)).toEqual(["typed"]);
    expect(await getCr(client, NodeTemplateKind, "org-other", "missing")).toBeUndefined();
    const again = await applyCr(client, NodeTemplateKind, {
      metadata: { name: "typed", namespace: "org-other" },
      spec: { clusterRef: { name: "prod" }, families: ["m5"] },
    });
    expect(again.changed).toBe(false);
  });
});
