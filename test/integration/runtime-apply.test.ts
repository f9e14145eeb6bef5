// Integration: server-side apply and status helpers (idempotent, no write when nothing changed), conditions and events.
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalApiServer, type LocalApiServer } from "../../src-shared/apiserver/index.js";
import { NodeTemplateKind } from "../../src-shared/crds/index.js";
import { KubeClient, getCr, type KubeObject } from "../../src-shared/kube/index.js";
import { applyObject, EventRecorder, FIELD_MANAGER, patchStatus } from "../../src-shared/runtime/index.js";

let server: LocalApiServer;
let client: KubeClient;
const writes: string[] = [];
const ns = "apply-test";

beforeAll(async () => {
  server = await startLocalApiServer({ port: 0 });
  await server.installCrdFiles([resolve(import.meta.dirname, "../../crds")]);
  client = new KubeClient(server.kubeConfig);
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  server.faults.onWrite((w) => writes.push(`${w.verb} ${w.resource}/${w.name}`));
});

afterAll(async () => {
  server.faults.onWrite(undefined);
  client.close();
  await server.stop();
});

function template(families: string[], labels: Record<string, string> = { team: "a" }): KubeObject {
  return {
    apiVersion: NodeTemplateKind.apiVersion,
    kind: NodeTemplateKind.kind,
    metadata: { name: "general", namespace: ns, labels },
    spec: { clusterRef: { name: "prod" }, families, strategy: "SPOT" },
  };
}

const ref = { apiVersion: NodeTemplateKind.apiVersion, kind: NodeTemplateKind.kind, namespace: ns, name: "general" };

describe("applyObject", () => {
  it("creates, then makes zero writes when applied again unchanged (resourceVersion stays)", async () => {
    const first = await applyObject(client, template(["m5", "c5"]));
    expect(first.changed).toBe(true);
    const rv = first.object.metadata?.resourceVersion;
    expect(first.object.metadata?.managedFields?.some((m) => m.manager === FIELD_MANAGER && m.operation === "Apply")).toBe(true);

    writes.length = 0;
    const second = await applyObject(client, template(["m5", "c5"]));
    expect(second.changed).toBe(false);
    expect(writes).toEqual([]);
    const onServer = await client.get(ref);
    expect(onServer.metadata?.resourceVersion).toBe(rv);
  });

  it("uses the cached object instead of a GET when given one", async () => {
    const cached = await client.get(ref);
    writes.length = 0;
    const result = await applyObject(client, template(["m5", "c5"]), { current: cached });
    expect(result.changed).toBe(false);
    expect(writes).toEqual([]);
  });
});

describe("patchStatus", () => {
  it("merge-patches status only when it differs", async () => {
    const obj = await client.get(ref);
    expect((await patchStatus(client, obj, { warnings: ["w1"] })).changed).toBe(true);
    writes.length = 0;
    expect((await patchStatus(client, obj, { warnings: ["w1"] })).changed).toBe(false);
    expect(writes).toEqual([]);
    expect((await getCr(client, NodeTemplateKind, ns, "general"))?.status?.warnings).toEqual(["w1"]);
  });
});

describe("EventRecorder", () => {
  it("records an Event about the object and aggregates repeats into count", async () => {
    const involved = await client.get(ref);
    const events = new EventRecorder({ client, instance: "test" });
    await events.normal(involved, "Applied", "Applied NodePool general");
    await events.normal(involved, "Applied", "Applied NodePool general");
    await events.normal(involved, "Applied", "Applied NodePool general");
    await events.warning(involved, "InvalidSpec", "family x9 is unknown");
    const list = await client.list({ apiVersion: "v1", kind: "Event", namespace: ns });
    const ours = list.items.filter((e) => (e.involvedObject as { uid?: string }).uid === involved.metadata?.uid);
    const summary = ours.map((e) => [e.type, e.reason, e.message, e.count]).sort();
    expect(summary).toEqual([
      ["Normal", "Applied", "Applied NodePool general", 3],
      ["Warning", "InvalidSpec", "family x9 is unknown", 1],
    ]);
    expect(ours[0]?.involvedObject).toMatchObject({ kind: "NodeTemplate", name: "general", namespace: ns, apiVersion: NodeTemplateKind.apiVersion });
    expect(ours[0]?.source).toEqual({ component: "spot-optimizer", host: "test" });
  });

  it("starts a new Event when the aggregated one was deleted, and never throws", async () => {
    const involved = await client.get(ref);
    const events = new EventRecorder({ client });
    await events.normal(involved, "Synced", "once");
    const [first] = (await client.list({ apiVersion: "v1", kind: "Event", namespace: ns })).items.filter((e) => e.reason === "Synced");
    await client.delete({ apiVersion: "v1", kind: "Event", namespace: ns, name: first!.metadata!.name! });
    await events.normal(involved, "Synced", "once");
    const after = (await client.list({ apiVersion: "v1", kind: "Event", namespace: ns })).items.filter((e) => e.reason === "Synced");
    expect(after.map((e) => e.count)).toEqual([1]);
    const errors: unknown[] = [];
    const broken = new EventRecorder({ client, onError: (e) => errors.push(e) });
    await expect(broken.normal({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "does-not-exist" } }, "X", "y")).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});
