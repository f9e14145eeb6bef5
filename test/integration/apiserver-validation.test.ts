// Validation through @kubernetes/client-node: Karpenter's real CRDs and ours, and label values, 422 Invalid with the
// field path.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { loadAll } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { startTestCluster } from "../support/cluster.js";
import { minimalEC2NodeClass, minimalNodePool } from "../support/karpenter-fixtures.js";
import { itWithSharedData, sharedDataDir } from "../support/shared-data.js";

let server: LocalApiServer;
let api: KubernetesObjectApi;
const examples = (file: string): any[] =>
  loadAll(readFileSync(resolve(sharedDataDir, "karpenter-examples", file), "utf8")) as any[];

beforeAll(async () => {
  server = await startTestCluster({ crds: "all" });
  api = KubernetesObjectApi.makeApiClient(server.kubeConfig);
});
afterAll(async () => {
  await server?.stop();
});

async function rejection(promise: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await promise;
  } catch (err: any) {
    return { code: err.code, body: typeof err.body === "string" ? JSON.parse(err.body) : err.body };
  }
  throw new Error("expected the request to be rejected");
}

function nodePool(name: string): any {
  return minimalNodePool(name);
}

describe("custom resource validation", () => {
  it("accepts a minimal NodePool and EC2NodeClass and stores the schema's defaults", async () => {
    for (const obj of [minimalNodePool("default"), minimalEC2NodeClass("default")]) {
      const created: any = await api.create(obj as KubernetesObject);
      expect(created.metadata.uid).toBeTruthy();
    }
    const stored: any = await api.read({
      apiVersion: "karpenter.sh/v1",
      kind: "NodePool",
      metadata: { name: "default" },
    });
    expect(stored.spec.template.spec.expireAfter).toBe("720h");
  });

  itWithSharedData(
    "accepts the Karpenter objects of ../shared/data's typical.yaml and stores their defaults",
    async () => {
      for (const obj of examples("typical.yaml")) {
        const created: any = await api.create(obj as KubernetesObject);
        expect(created.metadata.uid).toBeTruthy();
      }
      const stored: any = await api.read({
        apiVersion: "karpenter.sh/v1",
        kind: "NodePool",
        metadata: { name: "general-spot-first" },
      });
      expect(stored.spec.template.spec.expireAfter).toBe("720h");
    },
  );

  it("rejects a NodePool with an unsupported requirement operator: 422 with the field path", async () => {
    const pool = nodePool("bad-operator");
    pool.spec.template.spec.requirements[0].operator = "Maybe";
    const { code, body } = await rejection(api.create(pool));
    expect(code).toBe(422);
    expect(body.reason).toBe("Invalid");
    expect(body.details).toMatchObject({ name: "bad-operator", group: "karpenter.sh", kind: "NodePool" });
    expect(body.details.causes[0]).toEqual({
      reason: "FieldValueNotSupported",
      message:
        'Unsupported value: "Maybe": supported values: "Gte", "Lte", "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"',
      field: "spec.template.spec.requirements[0].operator",
    });
    expect(body.message).toMatch(
      /^NodePool\.karpenter\.sh "bad-operator" is invalid: \[spec\.template\.spec\.requirements\[0\]\.operator: Unsupported value/,
    );
  });

  it("rejects a missing required field and a bad consolidateAfter pattern", async () => {
    const missing = nodePool("missing-ref");
    delete missing.spec.template.spec.nodeClassRef;
    const a = await rejection(api.create(missing));
    expect(a.code).toBe(422);
    expect(a.body.details.causes[0]).toEqual({
      reason: "FieldValueRequired",
      message: "Required value",
      field: "spec.template.spec.nodeClassRef",
    });

    const pattern = nodePool("bad-duration");
    pattern.spec.disruption = { consolidateAfter: "5 minutes" };
    const b = await rejection(api.create(pattern));
    expect(b.code).toBe(422);
    expect(b.body.message).toBe(
      `NodePool.karpenter.sh "bad-duration" is invalid: spec.disruption.consolidateAfter: Invalid value: "5 minutes": spec.disruption.consolidateAfter in body should match '^(([0-9]+(s|m|h))+|Never)$'`,
    );
  });

  it("evaluates CEL rules, including oldSelf transition rules on update", async () => {
    const empty = nodePool("cel-empty-values");
    empty.spec.template.spec.requirements = [{ key: "karpenter.sh/capacity-type", operator: "In", values: [] }];
    const a = await rejection(api.create(empty));
    expect(a.code).toBe(422);
    expect(a.body.details.causes).toEqual([
      {
        reason: "FieldValueInvalid",
        message: `Invalid value: "array": requirements with operator 'In' must have a value defined`,
        field: "spec.template.spec.requirements",
      },
    ]);

    const created: any = await api.create(nodePool("cel-immutable"));
    created.spec.template.spec.nodeClassRef.kind = "OtherNodeClass";
    const b = await rejection(api.replace(created));
    expect(b.code).toBe(422);
    expect(b.body.details.causes[0]).toMatchObject({
      field: "spec.template.spec.nodeClassRef",
      message: 'Invalid value: "object": nodeClassRef.kind is immutable',
    });
  });

  it("rejects an invalid NodeTemplate of ours with the field path and prunes unknown fields", async () => {
    const base = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate", metadata: { namespace: "default" } };
    const bad = {
      ...base,
      metadata: { ...base.metadata, name: "bad" },
      spec: { clusterRef: { name: "prod" }, families: ["m5"], strategy: "CHEAP" },
    };
    const { code, body } = await rejection(api.create(bad as KubernetesObject));
    expect(code).toBe(422);
    expect(body.details.causes.map((c: any) => c.field)).toContain("spec.strategy");

    const extra = {
      ...base,
      metadata: { ...base.metadata, name: "extra" },
      spec: { clusterRef: { name: "prod" }, families: ["m5"], bogus: true },
    };
    const created: any = await api.create(extra as KubernetesObject);
    expect(created.spec.bogus).toBeUndefined();
  });

  it("keeps generation when a patch only removes a field the schema defaults back to the same value", async () => {
    // Upstream defaults the patched object before comparing specs; kubectl's CSA->SSA upgrade relies on this.
    const ref = {
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "NodeTemplate",
      metadata: { namespace: "default", name: "regen" },
    };
    const created: any = await api.create({
      ...ref,
      spec: { clusterRef: { name: "prod" }, families: ["m5"] },
    } as KubernetesObject);
    expect(created.spec.diskSize).toBe(20);
    const same: any = await api.patch(
      { ...ref, spec: { diskSize: null } } as unknown as KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    expect(same.spec.diskSize).toBe(20);
    expect(same.metadata.generation).toBe(1);
    const changed: any = await api.patch(
      { ...ref, spec: { diskSize: 50 } } as KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    expect(changed.metadata.generation).toBe(2);
  });
});

describe("metadata validation", () => {
  // A ManagedCluster name reaches 253 characters; as a label value it must be refused here as a real server does.
  const TOO_LONG = "c".repeat(64);
  const configMap = (labels: Record<string, string>): KubernetesObject =>
    ({ apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: "default", name: "labelled", labels } }) as never;
  const stored = async (): Promise<Record<string, string> | undefined> =>
    (await api.read(configMap({}) as never)).metadata?.labels;

  it("refuses a label value over 63 characters on create, update, merge patch and apply: 422 naming metadata.labels", async () => {
    const created = await rejection(api.create(configMap({ cluster: TOO_LONG })));
    expect(created.code).toBe(422);
    expect(created.body.details.causes).toEqual([
      {
        reason: "FieldValueInvalid",
        message: `Invalid value: "${TOO_LONG}": must be no more than 63 characters`,
        field: "metadata.labels",
      },
    ]);
    const current = await api.create(configMap({ cluster: "c".repeat(63) }));
    const writes = [
      () => api.replace({ ...current, metadata: { ...current.metadata, labels: { cluster: TOO_LONG } } }),
      () =>
        api.patch(
          configMap({ cluster: TOO_LONG }),
          undefined,
          undefined,
          undefined,
          undefined,
          PatchStrategy.MergePatch,
        ),
      () => api.patch(configMap({ cluster: TOO_LONG }), undefined, undefined, "t", true, PatchStrategy.ServerSideApply),
      () => api.patch(configMap({ cluster: "-dash" }), undefined, undefined, "t", true, PatchStrategy.ServerSideApply),
    ];
    for (const write of writes) {
      const refused = await rejection(write());
      expect(refused.code).toBe(422);
      expect(refused.body.details.causes.map((c: any) => c.field)).toEqual(["metadata.labels"]);
    }
    expect(await stored()).toEqual({ cluster: "c".repeat(63) });
  });
});
