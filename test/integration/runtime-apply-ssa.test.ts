// Integration: server-side apply semantics the helpers rely on: removal of dropped fields, status apply via the subresource.
import { beforeAll, describe, expect, it } from "vitest";
import { applyFixture } from "../support/apply-fixture.js";
import { NodeTemplateKind } from "../../src-shared/crds/index.js";
import { getCr } from "../support/typed.js";
import { applyObject, applyStatus, setCondition } from "../../src-shared/runtime/index.js";

const fx = applyFixture("apply-ssa-test");
const { writes, template, ref } = fx;
const ns = "apply-ssa-test";

describe("applyObject and applyStatus with field ownership", () => {
  beforeAll(async () => {
    await applyObject(fx.client, template(["m5", "c5"]));
  });

  it("writes when a value changes, and removes a field it applied before and omits now", async () => {
    const changed = await applyObject(fx.client, template(["m5"], { team: "a", tier: "gold" }));
    expect(changed.changed).toBe(true);
    const dropped = await applyObject(fx.client, template(["m5"], { team: "a" }));
    expect(dropped.changed).toBe(true);
    const onServer = await getCr(fx.client, NodeTemplateKind, ns, "general");
    expect(onServer?.spec.families).toEqual(["m5"]);
    expect(onServer?.metadata.labels).toEqual({ team: "a" });
    // Defaults from the CRD schema were filled in by the server and do not count as a change.
    expect(onServer?.spec.architecture).toBe("x86_64");
    expect((await applyObject(fx.client, template(["m5"], { team: "a" }))).changed).toBe(false);
  });

  it("applies status through the subresource, leaves spec alone, and skips an unchanged status", async () => {
    const before = await fx.client.get(ref);
    const conditions = setCondition([], {
      type: "Valid",
      status: "True",
      reason: "FamiliesKnown",
      observedGeneration: before.metadata?.generation,
    });
    const status = { observedGeneration: before.metadata?.generation, warnings: [], conditions };
    const applied = await applyStatus(fx.client, { ...template(["ignored"]), status });
    expect(applied.changed).toBe(true);
    const after = await getCr(fx.client, NodeTemplateKind, ns, "general");
    expect(after?.spec.families).toEqual(["m5"]);
    expect(after?.status?.conditions?.[0]).toMatchObject({ type: "Valid", status: "True", reason: "FamiliesKnown" });
    expect(after?.metadata.generation).toBe(before.metadata?.generation);

    // Re-computing the same condition later keeps lastTransitionTime, so the status is identical: no write.
    const again = setCondition(
      after?.status?.conditions,
      { type: "Valid", status: "True", reason: "FamiliesKnown", observedGeneration: before.metadata?.generation },
      new Date(Date.now() + 60_000),
    );
    writes.length = 0;
    const second = await applyStatus(fx.client, { ...template(["m5"]), status: { ...status, conditions: again } });
    expect(second.changed).toBe(false);
    expect(writes).toEqual([]);

    // A flip moves lastTransitionTime and is written.
    const flipped = setCondition(
      again,
      { type: "Valid", status: "False", reason: "UnknownFamily", message: "x9 unknown" },
      new Date(Date.now() + 120_000),
    );
    expect(
      (await applyStatus(fx.client, { ...template(["m5"]), status: { ...status, conditions: flipped } })).changed,
    ).toBe(true);
    const final = await getCr(fx.client, NodeTemplateKind, ns, "general");
    expect(final?.status?.conditions?.[0]?.status).toBe("False");
    expect(final?.status?.conditions?.[0]?.lastTransitionTime).not.toBe(
      after?.status?.conditions?.[0]?.lastTransitionTime,
    );
  });
});
