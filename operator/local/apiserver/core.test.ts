// Property tests of ApiCore: paginated lists stay consistent under concurrent writes; no-op updates write nothing.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiCore, type WriteContext } from "./core.js";
import { ResourceRegistry } from "./registry.js";
import { ObjectStore } from "./store.js";

function setup(window = 10_000): { core: ApiCore; ctx: WriteContext } {
  const registry = new ResourceRegistry();
  const core = new ApiCore(registry, new ObjectStore(1, window));
  core.create(
    { rt: registry.byGroupPlural("", "namespaces")!, version: "v1", origin: "internal" },
    { metadata: { name: "ns" } },
  );
  return {
    core,
    ctx: { rt: registry.byGroupPlural("", "configmaps")!, version: "v1", namespace: "ns", origin: "http" },
  };
}

const op = fc.oneof(
  fc.record({ kind: fc.constant("create" as const), n: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant("update" as const), n: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant("delete" as const), n: fc.integer({ min: 0, max: 40 }) }),
);

describe("ApiCore lists", () => {
  it("pages with limit/continue add up to the list as of the first page, whatever happens in between", () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 30 }),
        fc.array(fc.array(op, { maxLength: 8 }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 7 }),
        (initial, between, limit) => {
          const { core, ctx } = setup();
          const apply = (o: { kind: string; n: number }): void => {
            const name = `cm-${String(o.n).padStart(2, "0")}`;
            const cur = core.tryGet(ctx.rt, "ns", name);
            if (o.kind === "create" && !cur) core.create(ctx, { metadata: { name }, data: { v: "0" } });
            if (o.kind === "update" && cur)
              core.update(ctx, name, { ...cur, data: { v: String(Number(cur.data.v) + 1) } });
            if (o.kind === "delete" && cur) core.delete(ctx, name, {});
          };
          initial.forEach(apply);
          const snapshot = core
            .list(ctx.rt, "ns", {})
            .items.map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`);
          const seen: string[] = [];
          let page = core.list(ctx.rt, "ns", { limit });
          seen.push(...page.items.map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`));
          let i = 0;
          while (page.continueToken) {
            (between[i++] ?? []).forEach(apply);
            page = core.list(ctx.rt, "ns", { limit, continueToken: page.continueToken });
            seen.push(...page.items.map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`));
          }
          expect(seen).toEqual(snapshot);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("an update that changes nothing keeps the resourceVersion and emits no event", () => {
    const { core, ctx } = setup();
    const created = core.create(ctx, { metadata: { name: "same", labels: { a: "b" } }, data: { k: "v" } });
    const events: string[] = [];
    core.onCommit((w) => events.push(w.event.type));
    const again = core.update(ctx, "same", {
      metadata: { name: "same", labels: { a: "b" }, resourceVersion: created.metadata!.resourceVersion },
      data: { k: "v" },
    });
    expect(again.metadata!.resourceVersion).toBe(created.metadata!.resourceVersion);
    expect(events).toEqual([]);
  });
});
