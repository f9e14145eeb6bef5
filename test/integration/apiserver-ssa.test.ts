// Server-side apply through @kubernetes/client-node against the local API server: ownership, removal, conflicts, force.
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { startTestCluster } from "../support/cluster.js";

let server: LocalApiServer;
let api: KubernetesObjectApi;

beforeAll(async () => {
  server = await startTestCluster({ crds: "project" });
  api = KubernetesObjectApi.makeApiClient(server.kubeConfig);
});
afterAll(async () => {
  await server?.stop();
});

function configMap(
  name: string,
  data: Record<string, string>,
  labels?: Record<string, string>,
): KubernetesObject & { data: Record<string, string> } {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "default", ...(labels ? { labels } : {}) },
    data,
  };
}

const apply = <T extends KubernetesObject>(obj: T, manager: string, force = false): Promise<T> =>
  api.patch(obj, undefined, undefined, manager, force, PatchStrategy.ServerSideApply);

async function read(name: string): Promise<any> {
  return api.read({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" } });
}

async function expectStatus(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err: any) {
    return { code: err.code, body: typeof err.body === "string" ? JSON.parse(err.body) : err.body };
  }
  throw new Error("expected the request to fail");
}

describe("server-side apply", () => {
  it("creates the object and records the manager's fields", async () => {
    const created = (await apply(configMap("ssa-create", { a: "1" }, { app: "x" }), "ctl")) as any;
    expect(created.data).toEqual({ a: "1" });
    const stored = await read("ssa-create");
    const entry = stored.metadata.managedFields.find((m: any) => m.manager === "ctl");
    expect(entry).toMatchObject({ operation: "Apply", apiVersion: "v1", fieldsType: "FieldsV1" });
    expect(entry.fieldsV1).toEqual({ "f:data": { "f:a": {} }, "f:metadata": { "f:labels": { "f:app": {} } } });
  });

  it("removes fields the manager applied before and omits now", async () => {
    await apply(configMap("ssa-remove", { a: "1", b: "2" }, { app: "x", tier: "y" }), "ctl");
    await apply(configMap("ssa-remove", { a: "1" }, { app: "x" }), "ctl");
    const stored = await read("ssa-remove");
    expect(stored.data).toEqual({ a: "1" });
    expect(stored.metadata.labels).toEqual({ app: "x" });
  });

  it("keeps omitted fields that another manager also applied", async () => {
    await apply(configMap("ssa-shared", { a: "1", b: "2" }), "one");
    await apply(configMap("ssa-shared", { b: "2" }), "two");
    await apply(configMap("ssa-shared", { a: "1" }), "one");
    expect((await read("ssa-shared")).data).toEqual({ a: "1", b: "2" });
  });

  it("answers 409 on a field owned by another manager with a different value, and force takes it over", async () => {
    await apply(configMap("ssa-conflict", { a: "1" }), "owner");
    const failed = await expectStatus(apply(configMap("ssa-conflict", { a: "2" }), "intruder"));
    expect(failed.code).toBe(409);
    expect(failed.body.reason).toBe("Conflict");
    expect(failed.body.message).toBe('Apply failed with 1 conflict: conflict with "owner": .data.a');
    expect(failed.body.details.causes).toEqual([
      { reason: "FieldManagerConflict", message: 'conflict with "owner"', field: ".data.a" },
    ]);
    expect((await read("ssa-conflict")).data.a).toBe("1");

    await apply(configMap("ssa-conflict", { a: "2" }), "intruder", true);
    const stored = await read("ssa-conflict");
    expect(stored.data.a).toBe("2");
    expect(stored.metadata.managedFields.map((m: any) => m.manager)).toEqual(["intruder"]);
  });

  it("conflicts with a field set by an update (PUT) of another manager", async () => {
    await apply(configMap("ssa-update", { a: "1" }), "ctl");
    const current = await read("ssa-update");
    current.data.a = "edited";
    await api.replace(current, undefined, undefined, "editor");
    const failed = await expectStatus(apply(configMap("ssa-update", { a: "1" }), "ctl"));
    expect(failed.code).toBe(409);
    expect(failed.body.message).toMatch(
      /^Apply failed with 1 conflict: conflict with "editor" using v1 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: \.data\.a$/,
    );
  });

  it("takes a resourceVersion in the applied configuration as a precondition on an existing object: a stale one is a 409", async () => {
    const first = (await apply(configMap("ssa-rv", { a: "1" }), "ctl")) as any;
    const second = (await apply(configMap("ssa-rv", { a: "2" }), "ctl")) as any;
    const stale = configMap("ssa-rv", { a: "3" });
    stale.metadata!.resourceVersion = first.metadata.resourceVersion;
    const refused = await expectStatus(apply(stale, "ctl", true));
    expect(refused.code).toBe(409);
    expect((await read("ssa-rv")).data).toEqual({ a: "2" });
    const current = configMap("ssa-rv", { a: "4" });
    current.metadata!.resourceVersion = second.metadata.resourceVersion;
    expect(((await apply(current, "ctl")) as any).data).toEqual({ a: "4" });
    // an apply that creates checks none, as upstream's create path: the object is made with a resourceVersion of its own
    const absent = configMap("ssa-rv-absent", { a: "1" });
    absent.metadata!.resourceVersion = first.metadata.resourceVersion;
    const created = (await apply(absent, "ctl")) as any;
    expect(created.data).toEqual({ a: "1" });
    expect(created.metadata.resourceVersion).not.toBe(first.metadata.resourceVersion);
  });

  it("an identical re-apply is a no-op: same resourceVersion and managedFields", async () => {
    await apply(configMap("ssa-noop", { a: "1" }), "ctl");
    const before = await read("ssa-noop");
    await apply(configMap("ssa-noop", { a: "1" }), "ctl", true);
    const after = await read("ssa-noop");
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.metadata.managedFields).toEqual(before.metadata.managedFields);
  });

  it("removes fields a manager stops applying on a custom resource", async () => {
    const ns = "default";
    await apply(
      {
        apiVersion: "spotoptimizer.io/v1alpha1",
        kind: "ManagedCluster",
        metadata: { name: "prod", namespace: ns },
        spec: { mode: "local", displayName: "Prod", region: "us-east-1" },
      } as KubernetesObject,
      "ctl",
    );
    await apply(
      {
        apiVersion: "spotoptimizer.io/v1alpha1",
        kind: "ManagedCluster",
        metadata: { name: "prod", namespace: ns },
        spec: { mode: "local", region: "us-east-1" },
      } as KubernetesObject,
      "ctl",
    );
    const stored: any = await api.read({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "ManagedCluster",
      metadata: { name: "prod", namespace: ns },
    });
    expect(stored.spec.displayName).toBeUndefined();
    expect(stored.spec.region).toBe("us-east-1");
  });
});
