// Property tests of server-side apply: a sole manager's apply makes the object equal its configuration.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, fieldSetOf, keyPath, valueAt } from "./fieldpath.js";
import { ApplyConflictError, serverSideApply } from "./ssa.js";
import { schemaTypeInfo } from "./typeinfo.js";

const types = schemaTypeInfo({
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        items: {
          type: "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name"],
          items: { type: "object" },
        },
        tags: { type: "array", "x-kubernetes-list-type": "set", items: { type: "string" } },
      },
    },
  },
});

const key = fc.constantFrom("a", "b", "c", "d");
const leaf = fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: 0, max: 9 }), fc.boolean());
const nested = fc.dictionary(key, fc.oneof(leaf, fc.dictionary(key, leaf, { maxKeys: 3 })), { maxKeys: 3 });
const items = fc.uniqueArray(fc.record({ name: key, value: leaf }), { selector: (i) => i.name, maxLength: 3 });
const tags = fc.uniqueArray(fc.constantFrom("x", "y", "z"), { maxLength: 3 });
const spec = fc.record({ items, tags, extra: nested }, { requiredKeys: [] });
const config = (s: object): Record<string, any> => ({
  apiVersion: "x.io/v1",
  kind: "T",
  metadata: { name: "t" },
  spec: s,
});

/** What the object holds once nobody else owns anything: the config itself (empty maps left by removals aside). */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const n = normalize(x);
    if (n !== null && typeof n === "object" && !Array.isArray(n) && Object.keys(n).length === 0) continue;
    out[k] = n;
  }
  return out;
}

describe("serverSideApply properties", () => {
  it("a sole manager re-applying any configuration ends with exactly that configuration", () => {
    fc.assert(
      fc.property(spec, spec, (first, second) => {
        const created = serverSideApply({
          applied: config(first),
          manager: "m",
          force: false,
          now: "t",
          types,
          statusSubresource: true,
        }).object;
        const updated = serverSideApply({
          live: created,
          applied: config(second),
          manager: "m",
          force: false,
          now: "t",
          types,
          statusSubresource: true,
        }).object;
        expect(normalize(updated.spec ?? {})).toEqual(normalize(second));
      }),
      { numRuns: 300 },
    );
  });

  it("after B force-applies and A withdraws everything, the object is exactly B's configuration", () => {
    fc.assert(
      fc.property(spec, spec, (a, b) => {
        const byA = serverSideApply({
          applied: config(a),
          manager: "a",
          force: false,
          now: "t",
          types,
          statusSubresource: true,
        }).object;
        const byB = serverSideApply({
          live: byA,
          applied: config(b),
          manager: "b",
          force: true,
          now: "t",
          types,
          statusSubresource: true,
        }).object;
        const withdrawn = serverSideApply({
          live: byB,
          applied: config({}),
          manager: "a",
          force: false,
          now: "t",
          types,
          statusSubresource: true,
        }).object;
        expect(normalize(withdrawn.spec ?? {})).toEqual(normalize(b));
        // A still owns the empty `spec: {}` it applies, nothing else.
        const entryA = withdrawn.metadata.managedFields.find((m: { manager: string }) => m.manager === "a");
        expect(entryA?.fieldsV1 ?? { "f:spec": {} }).toEqual({ "f:spec": {} });
      }),
      { numRuns: 300 },
    );
  });

  it("without force, another manager's apply either conflicts or leaves every field A set with A's value", () => {
    fc.assert(
      fc.property(spec, spec, (a, b) => {
        const byA = serverSideApply({
          applied: config(a),
          manager: "a",
          force: false,
          now: "t",
          types,
          statusSubresource: true,
        }).object;
        let result: Record<string, any>;
        try {
          result = serverSideApply({
            live: byA,
            applied: config(b),
            manager: "b",
            force: false,
            now: "t",
            types,
            statusSubresource: true,
          }).object;
        } catch (err) {
          expect(err).toBeInstanceOf(ApplyConflictError);
          return;
        }
        for (const k of fieldSetOf({ spec: a }, types)) {
          const path = keyPath(k);
          const last = path[path.length - 1]!;
          const mine = valueAt({ spec: a }, path);
          if (last.startsWith("k:") || last.startsWith("v:")) expect(valueAt(result, path)).toBeDefined();
          // An empty map/list A set may gain entries from B (structured-merge-diff compares leaves only).
          else if (typeof mine !== "object" || mine === null)
            expect(canonicalJson(valueAt(result, path))).toBe(canonicalJson(mine));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("re-applying the same configuration is a no-op", () => {
    fc.assert(
      fc.property(spec, (s) => {
        const created = serverSideApply({
          applied: config(s),
          manager: "m",
          force: false,
          now: "t1",
          types,
          statusSubresource: true,
        }).object;
        const again = serverSideApply({
          live: created,
          applied: config(s),
          manager: "m",
          force: false,
          now: "t2",
          types,
          statusSubresource: true,
        }).object;
        expect(again).toEqual(created);
      }),
      { numRuns: 200 },
    );
  });
});
