// Integration: server-side apply and status helpers (idempotent, no write when nothing changed), conditions and events.
import { describe, expect, it } from "vitest";
import { applyFixture } from "../support/apply-fixture.js";
import { NodeTemplateKind } from "../../src-shared/crds/index.js";
import { getCr } from "../support/typed.js";
import { applyObject, EventRecorder, FIELD_MANAGER, patchStatus } from "../../src-shared/runtime/index.js";

const fx = applyFixture("apply-test");
const { writes, template, ref } = fx;
const ns = "apply-test";

describe("applyObject", () => {
  it("creates, then makes zero writes when applied again unchanged (resourceVersion stays)", async () => {
    const first = await applyObject(fx.client, template(["m5", "c5"]));
    expect(first.changed).toBe(true);
    const rv = first.object.metadata?.resourceVersion;
    expect(
      first.object.metadata?.managedFields?.some((m) => m.manager === FIELD_MANAGER && m.operation === "Apply"),
    ).toBe(true);

    writes.length = 0;
    const second = await applyObject(fx.client, template(["m5", "c5"]));
    expect(second.changed).toBe(false);
    expect(writes).toEqual([]);
    const onServer = await fx.client.get(ref);
    expect(onServer.metadata?.resourceVersion).toBe(rv);
  });

  it("uses the cached object instead of a GET when given one", async () => {
    const cached = await fx.client.get(ref);
    writes.length = 0;
    const result = await applyObject(fx.client, template(["m5", "c5"]), { current: cached });
    expect(result.changed).toBe(false);
    expect(writes).toEqual([]);
  });
});

describe("patchStatus", () => {
  it("merge-patches status only when it differs", async () => {
    const obj = await fx.client.get(ref);
    expect((await patchStatus(fx.client, obj, { warnings: ["w1"] })).changed).toBe(true);
    writes.length = 0;
    expect((await patchStatus(fx.client, obj, { warnings: ["w1"] })).changed).toBe(false);
    expect(writes).toEqual([]);
    expect((await getCr(fx.client, NodeTemplateKind, ns, "general"))?.status?.warnings).toEqual(["w1"]);
  });
});

describe("EventRecorder", () => {
  it("records an Event about the object and aggregates repeats into count", async () => {
    const involved = await fx.client.get(ref);
    const events = new EventRecorder({ client: fx.client, instance: "test" });
    await events.normal(involved, "Applied", "Applied NodePool general");
    await events.normal(involved, "Applied", "Applied NodePool general");
    await events.normal(involved, "Applied", "Applied NodePool general");
    await events.warning(involved, "InvalidSpec", "family x9 is unknown");
    const list = await fx.client.list({ apiVersion: "v1", kind: "Event", namespace: ns });
    const ours = list.items.filter((e) => (e.involvedObject as { uid?: string }).uid === involved.metadata?.uid);
    const summary = ours.map((e) => [e.type, e.reason, e.message, e.count]).sort();
    expect(summary).toEqual([
      ["Normal", "Applied", "Applied NodePool general", 3],
      ["Warning", "InvalidSpec", "family x9 is unknown", 1],
    ]);
    expect(ours[0]?.involvedObject).toMatchObject({
      kind: "NodeTemplate",
      name: "general",
      namespace: ns,
      apiVersion: NodeTemplateKind.apiVersion,
    });
    expect(ours[0]?.source).toEqual({ component: "spot-optimizer", host: "test" });
  });

  it("starts a new Event when the aggregated one was deleted, and never throws", async () => {
    const involved = await fx.client.get(ref);
    const events = new EventRecorder({ client: fx.client });
    await events.normal(involved, "Synced", "once");
    const [first] = (await fx.client.list({ apiVersion: "v1", kind: "Event", namespace: ns })).items.filter(
      (e) => e.reason === "Synced",
    );
    await fx.client.delete({ apiVersion: "v1", kind: "Event", namespace: ns, name: first!.metadata!.name! });
    await events.normal(involved, "Synced", "once");
    const after = (await fx.client.list({ apiVersion: "v1", kind: "Event", namespace: ns })).items.filter(
      (e) => e.reason === "Synced",
    );
    expect(after.map((e) => e.count)).toEqual([1]);
    const errors: unknown[] = [];
    const broken = new EventRecorder({ client: fx.client, onError: (e) => errors.push(e) });
    await expect(
      broken.normal({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "does-not-exist" } }, "X", "y"),
    ).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});
