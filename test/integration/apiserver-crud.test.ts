// The local API server's CRUD semantics through the real @kubernetes/client-node over HTTP.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { eventually, kubectl, startTestCluster } from "../support/cluster.js";

let server: LocalApiServer;
let core: CoreV1Api;
let apps: AppsV1Api;
let objects: KubernetesObjectApi;
let custom: CustomObjectsApi;

/** The Status body of a failed client call. */
function statusOf(err: unknown): { code: number; reason: string; details?: any; message: string } {
  const e = err as { code?: number; body?: string };
  return { ...(JSON.parse(e.body ?? "{}") as { reason: string; details?: any; message: string }), code: e.code ?? 0 };
}

async function failure(p: Promise<unknown>): Promise<{ code: number; reason: string; details?: any; message: string }> {
  try {
    await p;
  } catch (err) {
    return statusOf(err);
  }
  throw new Error("expected the call to fail");
}

const widgetCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.test.example.com" },
  spec: {
    group: "test.example.com",
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget", shortNames: ["wd"], categories: ["all"] },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: {
          status: {},
          scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas" },
        },
        additionalPrinterColumns: [{ name: "Size", type: "integer", jsonPath: ".spec.size" }],
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                required: ["size"],
                properties: {
                  size: { type: "integer", minimum: 1 },
                  color: { type: "string", enum: ["red", "blue"] },
                  replicas: { type: "integer" },
                },
              },
              status: { type: "object", properties: { ready: { type: "boolean" }, replicas: { type: "integer" } } },
            },
          },
        },
      },
    ],
  },
};

beforeAll(async () => {
  server = await startTestCluster();
  core = server.kubeConfig.makeApiClient(CoreV1Api);
  apps = server.kubeConfig.makeApiClient(AppsV1Api);
  custom = server.kubeConfig.makeApiClient(CustomObjectsApi);
  objects = KubernetesObjectApi.makeApiClient(server.kubeConfig);
  // Through a YAML file: client-node's typed serializer would drop `enum` (its model calls the field `_enum`).
  const dir = mkdtempSync(join(tmpdir(), "crd-"));
  writeFileSync(join(dir, "widgets.yaml"), JSON.stringify(widgetCrd));
  await server.installCrdFiles([dir]);
});

afterAll(async () => {
  await server.stop();
});

describe("built-in resources", () => {
  it("creates, reads, updates and deletes a ConfigMap with Kubernetes metadata", async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "cm1" }, data: { a: "1" } },
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const read = await core.readNamespacedConfigMap({ name: "cm1", namespace: "default" });
    expect(read.data).toEqual({ a: "1" });
    read.data = { a: "2" };
    const updated = await core.replaceNamespacedConfigMap({ name: "cm1", namespace: "default", body: read });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
    expect(updated.metadata?.uid).toBe(created.metadata?.uid);
    await core.deleteNamespacedConfigMap({ name: "cm1", namespace: "default" });
    const gone = await failure(core.readNamespacedConfigMap({ name: "cm1", namespace: "default" }));
    expect(gone).toMatchObject({ code: 404, reason: "NotFound", details: { name: "cm1", kind: "configmaps" } });
  });

  it("answers 409 AlreadyExists for a duplicate name and 409 Conflict for a stale resourceVersion", async () => {
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "dup" } } });
    const dup = await failure(
      core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "dup" } } }),
    );
    expect(dup).toMatchObject({ code: 409, reason: "AlreadyExists" });
    const v1 = await core.readNamespacedConfigMap({ name: "dup", namespace: "default" });
    await core.replaceNamespacedConfigMap({ name: "dup", namespace: "default", body: { ...v1, data: { x: "1" } } });
    const stale = await failure(
      core.replaceNamespacedConfigMap({ name: "dup", namespace: "default", body: { ...v1, data: { x: "2" } } }),
    );
    expect(stale).toMatchObject({ code: 409, reason: "Conflict", details: { name: "dup", kind: "configmaps" } });
    expect(stale.message).toContain("the object has been modified");
    const now = await core.readNamespacedConfigMap({ name: "dup", namespace: "default" });
    expect(now.data).toEqual({ x: "1" });
  });

  it("rejects an invalid name with 422 Invalid and the field path", async () => {
    const bad = await failure(
      core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "Not_Valid" } } }),
    );
    expect(bad.code).toBe(422);
    expect(bad.reason).toBe("Invalid");
    expect(bad.details.causes[0].field).toBe("metadata.name");
  });

  it("requires an existing namespace for namespaced objects", async () => {
    const missing = await failure(
      core.createNamespacedConfigMap({ namespace: "nope", body: { metadata: { name: "x" } } }),
    );
    expect(missing).toMatchObject({ code: 404, reason: "NotFound", details: { name: "nope", kind: "namespaces" } });
  });

  it("generates names from generateName", async () => {
    const a = await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { generateName: "gen-" } },
    });
    const b = await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { generateName: "gen-" } },
    });
    expect(a.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(a.metadata?.name).not.toBe(b.metadata?.name);
  });

  it("bumps generation only on spec changes and keeps status off the main resource", async () => {
    const d = await apps.createNamespacedDeployment({
      namespace: "default",
      body: {
        metadata: { name: "web", labels: { app: "web" } },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "nginx" }] } },
        },
        status: { replicas: 99 },
      },
    });
    expect(d.metadata?.generation).toBe(1);
    expect(d.spec?.replicas).toBe(1);
    expect(d.status?.replicas).toBeUndefined();
    const relabel = await objects.patch(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: "default", labels: { tier: "front" } },
      } as KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    expect(relabel.metadata?.generation).toBe(1);
    const withStatus = await objects.patch(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: "default" },
        status: { replicas: 5 },
      } as KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    expect((withStatus as any).status?.replicas).toBeUndefined();
    expect(withStatus.metadata?.generation).toBe(1);
    const scaled = await objects.patch(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: "default" },
        spec: { replicas: 3 },
      } as KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    expect(scaled.metadata?.generation).toBe(2);
  });

  it("fills in the defaults the real apiserver sets on built-ins", async () => {
    const d = await apps.readNamespacedDeployment({ name: "web", namespace: "default" });
    expect(d.spec).toMatchObject({
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
    });
    expect(d.spec?.template.spec).toMatchObject({
      restartPolicy: "Always",
      dnsPolicy: "ClusterFirst",
      schedulerName: "default-scheduler",
      terminationGracePeriodSeconds: 30,
    });
    expect(d.spec?.template.spec?.containers[0]).toMatchObject({
      imagePullPolicy: "Always",
      terminationMessagePolicy: "File",
    });
    const p = await core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name: "qos" },
        spec: {
          containers: [
            {
              name: "c",
              image: "nginx:1.27",
              resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } },
            },
          ],
        },
      },
    });
    expect(p.status).toMatchObject({ phase: "Pending", qosClass: "Guaranteed" });
    expect(p.spec?.containers[0]?.imagePullPolicy).toBe("IfNotPresent");
  });

  it("keeps a pod's spec immutable except images, and binds it to a node through the binding subresource", async () => {
    const p = await core.createNamespacedPod({
      namespace: "default",
      body: { metadata: { name: "immutable" }, spec: { containers: [{ name: "c", image: "nginx:1" }] } },
    });
    const retagged = await core.replaceNamespacedPod({
      name: "immutable",
      namespace: "default",
      body: { ...p, spec: { ...p.spec!, containers: [{ ...p.spec!.containers[0]!, image: "nginx:2" }] } },
    });
    expect(retagged.spec?.containers[0]?.image).toBe("nginx:2");
    const moved = await failure(
      core.replaceNamespacedPod({
        name: "immutable",
        namespace: "default",
        body: { ...retagged, spec: { ...retagged.spec!, nodeName: "node-a" } },
      }),
    );
    expect(moved).toMatchObject({ code: 422, reason: "Invalid" });
    expect(moved.details.causes[0].field).toBe("spec");

    await core.createNamespacedPodBinding({
      name: "immutable",
      namespace: "default",
      body: { metadata: { name: "immutable" }, target: { apiVersion: "v1", kind: "Node", name: "node-a" } },
    });
    const bound = await core.readNamespacedPod({ name: "immutable", namespace: "default" });
    expect(bound.spec?.nodeName).toBe("node-a");
    expect(bound.status?.conditions?.find((c) => c.type === "PodScheduled")?.status).toBe("True");
    const again = await failure(
      core.createNamespacedPodBinding({
        name: "immutable",
        namespace: "default",
        body: { metadata: { name: "immutable" }, target: { apiVersion: "v1", kind: "Node", name: "node-b" } },
      }),
    );
    expect(again.code).toBe(409);
  });

  it("refuses changes to immutable fields: a deployment's selector, an immutable ConfigMap's data", async () => {
    const d = await apps.readNamespacedDeployment({ name: "web", namespace: "default" });
    const moved = await failure(
      apps.replaceNamespacedDeployment({
        name: "web",
        namespace: "default",
        body: { ...d, spec: { ...d.spec!, selector: { matchLabels: { app: "other" } } } },
      }),
    );
    expect(moved).toMatchObject({ code: 422, reason: "Invalid" });
    expect(moved.details.causes[0].field).toBe("spec.selector");
    const cm = await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "frozen" }, data: { a: "1" }, immutable: true },
    });
    const thawed = await failure(
      core.replaceNamespacedConfigMap({ name: "frozen", namespace: "default", body: { ...cm, data: { a: "2" } } }),
    );
    expect(thawed.code).toBe(422);
    const relabelled = await core.replaceNamespacedConfigMap({
      name: "frozen",
      namespace: "default",
      body: { ...cm, metadata: { ...cm.metadata, labels: { ok: "yes" } } },
    });
    expect(relabelled.metadata?.labels).toEqual({ ok: "yes" });
  });

  it("status subresource changes only status", async () => {
    const cur = await apps.readNamespacedDeployment({ name: "web", namespace: "default" });
    const res = await apps.replaceNamespacedDeploymentStatus({
      name: "web",
      namespace: "default",
      body: { ...cur, spec: { ...cur.spec!, replicas: 7 }, status: { replicas: 3, readyReplicas: 2 } },
    });
    expect(res.status?.readyReplicas).toBe(2);
    expect(res.spec?.replicas).toBe(cur.spec?.replicas);
    expect(res.metadata?.generation).toBe(cur.metadata?.generation);
  });

  it("serves the scale subresource of deployments as autoscaling/v1 Scale", async () => {
    const scale = await apps.readNamespacedDeploymentScale({ name: "web", namespace: "default" });
    expect(scale.kind).toBe("Scale");
    expect(scale.status?.selector).toBe("app=web");
    const scaled = await apps.replaceNamespacedDeploymentScale({
      name: "web",
      namespace: "default",
      body: { ...scale, spec: { replicas: 0 } },
    });
    expect(scaled.spec?.replicas).toBe(0);
    const d = await apps.readNamespacedDeployment({ name: "web", namespace: "default" });
    expect(d.spec?.replicas).toBe(0);
  });

  it("keeps cluster-scoped objects (nodes) without a namespace and Leases for leader election", async () => {
    const node = await core.createNode({
      body: { metadata: { name: "node-a", labels: { zone: "a" } }, status: { capacity: { cpu: "4" } } },
    });
    expect(node.metadata?.namespace).toBeUndefined();
    expect(node.status?.capacity).toEqual({ cpu: "4" });
    const leases = server.kubeConfig.makeApiClient(CoordinationV1Api);
    const lease = await leases.createNamespacedLease({
      namespace: "kube-system",
      body: { metadata: { name: "leader" }, spec: { holderIdentity: "a", leaseDurationSeconds: 15 } },
    });
    const renewed = await leases.replaceNamespacedLease({
      name: "leader",
      namespace: "kube-system",
      body: { ...lease, spec: { ...lease.spec, holderIdentity: "b" } },
    });
    expect(renewed.spec?.holderIdentity).toBe("b");
    const stale = await failure(
      leases.replaceNamespacedLease({
        name: "leader",
        namespace: "kube-system",
        body: { ...lease, spec: { ...lease.spec, holderIdentity: "c" } },
      }),
    );
    expect(stale.code).toBe(409);
  });
});

describe("lists", () => {
  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: "lists" } } });
    for (let i = 0; i < 7; i++) {
      await core.createNamespacedPod({
        namespace: "lists",
        body: {
          metadata: { name: `p${i}`, labels: { app: i % 2 === 0 ? "even" : "odd", idx: String(i) } },
          spec: { nodeName: i < 3 ? "node-a" : "node-b", containers: [{ name: "c", image: "busybox" }] },
        },
      });
    }
  });

  it("filters by label selector (=, !=, in, notin, exists, !exists)", async () => {
    const names = async (labelSelector: string): Promise<string[]> =>
      (await core.listNamespacedPod({ namespace: "lists", labelSelector })).items.map((p) => p.metadata!.name!).sort();
    expect(await names("app=even")).toEqual(["p0", "p2", "p4", "p6"]);
    expect(await names("app!=even")).toEqual(["p1", "p3", "p5"]);
    expect(await names("idx in (1,2)")).toEqual(["p1", "p2"]);
    expect(await names("app=even,idx notin (0,2)")).toEqual(["p4", "p6"]);
    expect(await names("idx")).toHaveLength(7);
    expect(await names("!idx")).toEqual([]);
  });

  it("filters by field selector (metadata.name, spec.nodeName)", async () => {
    const byNode = await core.listNamespacedPod({ namespace: "lists", fieldSelector: "spec.nodeName=node-a" });
    expect(byNode.items.map((p) => p.metadata!.name).sort()).toEqual(["p0", "p1", "p2"]);
    const byName = await core.listPodForAllNamespaces({ fieldSelector: "metadata.name=p3" });
    expect(byName.items.map((p) => p.metadata!.namespace)).toEqual(["lists"]);
    const bad = await failure(core.listNamespacedPod({ namespace: "lists", fieldSelector: "spec.bogus=1" }));
    expect(bad.code).toBe(400);
  });

  it("paginates with limit/continue consistently even when objects change between pages", async () => {
    const first = await core.listNamespacedPod({ namespace: "lists", limit: 3 });
    expect(first.items.map((p) => p.metadata!.name)).toEqual(["p0", "p1", "p2"]);
    expect(first.metadata?._continue).toBeTruthy();
    expect(first.metadata?.remainingItemCount).toBe(4);
    await core.deleteNamespacedPod({ name: "p5", namespace: "lists" });
    const second = await core.listNamespacedPod({ namespace: "lists", limit: 3, _continue: first.metadata!._continue });
    expect(second.items.map((p) => p.metadata!.name)).toEqual(["p3", "p4", "p5"]);
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    const third = await core.listNamespacedPod({ namespace: "lists", limit: 3, _continue: second.metadata!._continue });
    expect(third.items.map((p) => p.metadata!.name)).toEqual(["p6"]);
    expect(third.metadata?._continue).toBeFalsy();
    // p5 was scheduled (spec.nodeName), so it is Terminating for a moment before it disappears, as on a cluster.
    const fresh = await eventually(async () => {
      const l = await core.listNamespacedPod({ namespace: "lists" });
      return l.items.length === 6 ? l : undefined;
    });
    expect(fresh.kind).toBe("PodList");
  });
});

describe("custom resources", () => {
  it("serves a CRD's resource with discovery, validation and status/scale subresources", async () => {
    const w = await custom.createNamespacedCustomObject({
      group: "test.example.com",
      version: "v1",
      namespace: "default",
      plural: "widgets",
      body: {
        apiVersion: "test.example.com/v1",
        kind: "Widget",
        metadata: { name: "w1" },
        spec: { size: 2, color: "red" },
        status: { ready: true },
      },
    });
    expect(w.metadata.generation).toBe(1);
    expect(w.status).toBeUndefined();
    const invalid = await failure(
      custom.createNamespacedCustomObject({
        group: "test.example.com",
        version: "v1",
        namespace: "default",
        plural: "widgets",
        body: {
          apiVersion: "test.example.com/v1",
          kind: "Widget",
          metadata: { name: "w2" },
          spec: { size: 0, color: "green" },
        },
      }),
    );
    expect(invalid.code).toBe(422);
    expect(
      invalid.details.causes
        .map((c: any) => c.field)
        .filter((f: string) => f !== "")
        .sort(),
    ).toEqual(["spec.color", "spec.size"]);
    expect(invalid.message).toContain('Widget.test.example.com "w2" is invalid');

    const status = await custom.replaceNamespacedCustomObjectStatus({
      group: "test.example.com",
      version: "v1",
      namespace: "default",
      plural: "widgets",
      name: "w1",
      body: { ...w, spec: { size: 9 }, status: { ready: true, replicas: 1 } },
    });
    expect(status.status).toEqual({ ready: true, replicas: 1 });
    expect(status.spec.size).toBe(2);
    expect(status.metadata.generation).toBe(1);

    const bumped = await custom.replaceNamespacedCustomObject({
      group: "test.example.com",
      version: "v1",
      namespace: "default",
      plural: "widgets",
      name: "w1",
      body: { ...status, spec: { size: 3, color: "blue" }, status: { ready: false } },
    });
    expect(bumped.metadata.generation).toBe(2);
    expect(bumped.status).toEqual({ ready: true, replicas: 1 });

    const read = await objects.read({
      apiVersion: "test.example.com/v1",
      kind: "Widget",
      metadata: { name: "w1", namespace: "default" },
    });
    expect((read as any).spec).toEqual({ size: 3, color: "blue" });
    const list = await objects.list("test.example.com/v1", "Widget", "default");
    expect(list.items.map((i) => i.metadata?.name)).toEqual(["w1"]);
    expect(list.items[0]!.kind).toBe("Widget");
  });

  it("serves the scale subresource a CRD declares", async () => {
    await custom.createNamespacedCustomObject({
      group: "test.example.com",
      version: "v1",
      namespace: "default",
      plural: "widgets",
      body: {
        apiVersion: "test.example.com/v1",
        kind: "Widget",
        metadata: { name: "scaled" },
        spec: { size: 1, replicas: 2 },
      },
    });
    const scale = await server.request("GET", "/apis/test.example.com/v1/namespaces/default/widgets/scaled/scale");
    expect(scale.json).toMatchObject({
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      spec: { replicas: 2 },
      status: { replicas: 0 },
    });
    const patched = await server.request("PATCH", "/apis/test.example.com/v1/namespaces/default/widgets/scaled/scale", {
      body: { spec: { replicas: 5 } },
      headers: { "Content-Type": "application/merge-patch+json" },
    });
    expect(patched.json.spec.replicas).toBe(5);
    const w = await custom.getNamespacedCustomObject({
      group: "test.example.com",
      version: "v1",
      namespace: "default",
      plural: "widgets",
      name: "scaled",
    });
    expect(w.spec.replicas).toBe(5);
    expect(w.metadata.generation).toBe(2);
  });

  it("deletes a collection by label selector", async () => {
    for (const [name, team] of [
      ["dc-1", "a"],
      ["dc-2", "a"],
      ["dc-3", "b"],
    ] as const) {
      await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name, labels: { team } } } });
    }
    await core.deleteCollectionNamespacedConfigMap({ namespace: "default", labelSelector: "team=a" });
    const left = await core.listNamespacedConfigMap({ namespace: "default", labelSelector: "team" });
    expect(left.items.map((c) => c.metadata!.name)).toEqual(["dc-3"]);
  });

  it("deleting the CRD deletes its objects and unregisters the resource", async () => {
    const crdName = "gadgets.test.example.com";
    await objects.create({
      ...widgetCrd,
      metadata: { name: crdName },
      spec: { ...widgetCrd.spec, names: { plural: "gadgets", singular: "gadget", kind: "Gadget" } },
    } as KubernetesObject);
    await eventually(() =>
      custom.listClusterCustomObject({ group: "test.example.com", version: "v1", plural: "gadgets" }).then(() => true),
    );
    await custom.createNamespacedCustomObject({
      group: "test.example.com",
      version: "v1",
      namespace: "default",
      plural: "gadgets",
      body: { apiVersion: "test.example.com/v1", kind: "Gadget", metadata: { name: "g" }, spec: { size: 1 } },
    });
    let watchEnded = false;
    const watch = await new Watch(server.kubeConfig).watch(
      "/apis/test.example.com/v1/gadgets",
      {},
      () => undefined,
      () => (watchEnded = true),
    );
    await objects.delete({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: crdName },
    });
    await eventually(
      async () =>
        (
          await failure(
            objects.read({
              apiVersion: "apiextensions.k8s.io/v1",
              kind: "CustomResourceDefinition",
              metadata: { name: crdName },
            }),
          )
        ).code === 404,
    );
    const res = await server.request("GET", "/apis/test.example.com/v1/namespaces/default/gadgets");
    expect(res.status).toBe(404);
    await eventually(() => watchEnded, 5000, "the watch on the removed resource to end");
    watch.abort();
  });
});

describe("discovery and auth", () => {
  it("lists groups and resources with scope, kinds, short names and subresources", async () => {
    const get = async (path: string): Promise<any> => (await server.request("GET", path)).json;
    const groups = await get("/apis");
    const names = (groups.groups as any[]).map((g) => g.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "apps",
        "batch",
        "policy",
        "coordination.k8s.io",
        "apiextensions.k8s.io",
        "test.example.com",
      ]),
    );
    const v1 = await get("/api/v1");
    const pods = (v1.resources as any[]).find((r) => r.name === "pods");
    expect(pods).toMatchObject({ namespaced: true, kind: "Pod", shortNames: ["po"] });
    expect((v1.resources as any[]).find((r) => r.name === "pods/eviction")).toMatchObject({
      group: "policy",
      version: "v1",
      kind: "Eviction",
    });
    const widgets = await get("/apis/test.example.com/v1");
    expect((widgets.resources as any[]).map((r) => r.name).sort()).toEqual([
      "widgets",
      "widgets/scale",
      "widgets/status",
    ]);
  });

  it("answers aggregated discovery (apidiscovery.k8s.io/v2) when asked first, as kubectl 1.33 does", async () => {
    const accept =
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    const apis = await server.request("GET", "/apis", { headers: { Accept: accept } });
    expect(apis.headers["content-type"]).toBe("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
    const appsGroup = (apis.json.items as any[]).find((g) => g.metadata.name === "apps");
    const deployments = appsGroup.versions[0].resources.find((r: any) => r.resource === "deployments");
    expect(deployments).toMatchObject({
      scope: "Namespaced",
      responseKind: { group: "apps", version: "v1", kind: "Deployment" },
      shortNames: ["deploy"],
    });
    expect(deployments.subresources.map((r: any) => r.subresource).sort()).toEqual(["scale", "status"]);
    const core = await server.request("GET", "/api", { headers: { Accept: accept } });
    expect((core.json.items as any[]).map((g) => g.metadata.name)).toEqual([""]);
    const legacy = await server.request("GET", "/apis", { headers: { Accept: "application/json" } });
    expect(legacy.json.kind).toBe("APIGroupList");
  });

  it("answers 415 for a body in an unsupported media type and 400 for malformed JSON", async () => {
    const plain = await server.request("POST", "/api/v1/namespaces/default/configmaps", {
      body: "name=x",
      headers: { "Content-Type": "text/plain" },
    });
    expect(plain.status).toBe(415);
    expect(plain.json.reason).toBe("UnsupportedMediaType");
    const broken = await server.request("POST", "/api/v1/namespaces/default/configmaps", { body: "{not json" });
    expect(broken.status).toBe(400);
    expect(broken.json.reason).toBe("BadRequest");
  });

  it("rejects requests without the bearer token (401) except /version", async () => {
    const res = await server.request("GET", "/api/v1/namespaces", { anonymous: true });
    expect(res.status).toBe(401);
    const wrong = await server.request("GET", "/api/v1/namespaces", {
      anonymous: true,
      headers: { Authorization: "Bearer nope" },
    });
    expect(wrong.status).toBe(401);
    expect(res.json.reason).toBe("Unauthorized");
    const version = await server.request("GET", "/version", { anonymous: true });
    expect(version.json.minor).toBe("33");
  });
});

describe("kubectl helper", () => {
  it("runs the real kubectl against the server (get with server-side printing, apply from stdin)", async () => {
    const applied = await kubectl(
      server,
      ["apply", "-f", "-"],
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-kubectl\n  namespace: default\ndata:\n  a: b\n",
    );
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toContain("configmap/from-kubectl created");
    const cm = await core.readNamespacedConfigMap({ name: "from-kubectl", namespace: "default" });
    expect(cm.data).toEqual({ a: "b" });
    const missing = await kubectl(server, ["get", "configmap", "nope"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('configmaps "nope" not found');
  });
});
