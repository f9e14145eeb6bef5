// Unit tests of CRD admission against Karpenter's real CRDs (the generated copy the repo ships) and small schemas.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadAll } from "js-yaml";
import {
  karpenterCrd,
  minimalEC2NodeClass,
  minimalNodePool as fixtureNodePool,
} from "../../../../test/support/karpenter-fixtures.js";
import { itWithSharedData, sharedDataDir } from "../../../../test/support/shared-data.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  admitCustomResource,
  crdVersionSchema,
  uncompilableRules,
  fieldValidationOutcome,
  type JsonObject,
  type JsonSchemaProps,
} from "./index.js";

const readShared = (rel: string): JsonObject[] =>
  loadAll(readFileSync(resolve(sharedDataDir, rel), "utf8")) as JsonObject[];
const nodePoolSchema = crdVersionSchema(karpenterCrd("NodePool") as JsonObject, "v1")!;
const nodeClassSchema = crdVersionSchema(karpenterCrd("EC2NodeClass") as JsonObject, "v1")!;
const schemaFor = (kind: unknown): JsonSchemaProps => (kind === "NodePool" ? nodePoolSchema : nodeClassSchema);

function admitNodePool(object: JsonObject, oldObject?: JsonObject): ReturnType<typeof admitCustomResource> {
  return admitCustomResource({
    schema: nodePoolSchema,
    object,
    oldObject,
    kind: "NodePool",
    group: "karpenter.sh",
    name: "x",
  });
}

function minimalNodePool(): JsonObject {
  return fixtureNodePool() as JsonObject;
}

describe("Karpenter CRDs", () => {
  it.each(["NodePool", "NodeClaim", "EC2NodeClass"])("compiles every CEL rule of Karpenter's %s CRD", (kind) => {
    const doc = karpenterCrd(kind);
    for (const version of doc.spec.versions) expect(uncompilableRules(version.schema.openAPIV3Schema)).toEqual([]);
  });

  itWithSharedData("compiles every CEL rule of Karpenter's NodeOverlay CRD (../shared/data)", () => {
    const doc = readShared("karpenter-crds/karpenter.sh_nodeoverlays.yaml")[0] as any;
    for (const version of doc.spec.versions) expect(uncompilableRules(version.schema.openAPIV3Schema)).toEqual([]);
  });

  function expectAccepted(objects: JsonObject[]): void {
    for (const object of objects) {
      const group = String(object.apiVersion).split("/")[0]!;
      const result = admitCustomResource({
        schema: schemaFor(object.kind),
        object,
        kind: String(object.kind),
        group,
        name: "x",
      });
      expect(result.causes).toEqual([]);
      expect(result.unknownFields).toEqual([]);
    }
  }

  it("accepts a minimal NodePool and EC2NodeClass", () => {
    expectAccepted([fixtureNodePool() as JsonObject, minimalEC2NodeClass() as JsonObject]);
  });

  itWithSharedData("accepts every object in ../shared/data's Karpenter examples", () => {
    for (const file of ["minimal.yaml", "typical.yaml"]) expectAccepted(readShared(`karpenter-examples/${file}`));
  });

  it("applies the NodePool defaults (consolidateAfter, expireAfter, budgets)", () => {
    const { object } = admitNodePool(minimalNodePool());
    const spec = object.spec as any;
    expect(spec.disruption.consolidateAfter).toBe("0s");
    expect(spec.disruption.consolidationPolicy).toBe("WhenEmptyOrUnderutilized");
    expect(spec.disruption.budgets).toEqual([{ nodes: "10%" }]);
    expect(spec.template.spec.expireAfter).toBe("720h");
  });

  it("rejects an unsupported requirement operator with the field path", () => {
    const pool = minimalNodePool();
    (pool.spec as any).template.spec.requirements[0].operator = "Maybe";
    const result = admitNodePool(pool);
    expect(result.causes[0]).toEqual({
      reason: "FieldValueNotSupported",
      field: "spec.template.spec.requirements[0].operator",
      message:
        'Unsupported value: "Maybe": supported values: "Gte", "Lte", "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"',
    });
    expect(result.message).toMatch(
      /^NodePool\.karpenter\.sh "x" is invalid: \[spec\.template\.spec\.requirements\[0\]\.operator: Unsupported value: "Maybe"/,
    );
  });

  it("rejects a missing required field and skips CEL like the apiserver", () => {
    const pool = minimalNodePool();
    delete (pool.spec as any).template.spec.nodeClassRef;
    const result = admitNodePool(pool);
    expect(result.causes.map((c) => `${c.field}: ${c.message}`)).toEqual([
      "spec.template.spec.nodeClassRef: Required value",
      '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
    ]);
  });

  it("rejects a bad consolidateAfter with the schema pattern", () => {
    const pool = minimalNodePool();
    (pool.spec as any).disruption = { consolidateAfter: "5 minutes" };
    const result = admitNodePool(pool);
    expect(result.causes).toHaveLength(1);
    expect(result.message).toBe(
      `NodePool.karpenter.sh "x" is invalid: spec.disruption.consolidateAfter: Invalid value: "5 minutes": spec.disruption.consolidateAfter in body should match '^(([0-9]+(s|m|h))+|Never)$'`,
    );
  });

  it("rejects a wrong type and an out-of-range weight", () => {
    const pool = minimalNodePool();
    (pool.spec as any).weight = "heavy";
    expect(admitNodePool(pool).causes[0]).toEqual({
      reason: "FieldValueTypeInvalid",
      field: "spec.weight",
      message: 'Invalid value: "string": spec.weight in body must be of type integer: "string"',
    });
    (pool.spec as any).weight = 101;
    expect(admitNodePool(pool).causes[0]!.message).toBe(
      "Invalid value: 101: spec.weight in body should be less than or equal to 100",
    );
  });

  it("evaluates CEL rules with the rule's message", () => {
    const pool = minimalNodePool();
    (pool.spec as any).template.spec.requirements = [{ key: "karpenter.sh/capacity-type", operator: "In", values: [] }];
    expect(admitNodePool(pool).causes).toEqual([
      {
        reason: "FieldValueInvalid",
        field: "spec.template.spec.requirements",
        message: `Invalid value: "array": requirements with operator 'In' must have a value defined`,
      },
    ]);
    (pool.spec as any).template.spec.requirements = [{ key: "karpenter.sh/custom", operator: "Exists" }];
    expect(admitNodePool(pool).causes.map((c) => c.message)).toContain(
      'Invalid value: "string": label domain "karpenter.sh" is restricted',
    );
    (pool.spec as any).template.spec.requirements = [{ key: "a", operator: "Gt", values: ["1", "2"] }];
    expect(admitNodePool(pool).causes[0]!.message).toContain("must have a single positive integer value");
  });

  it("evaluates oldSelf transition rules only on update", () => {
    const before = admitNodePool(minimalNodePool()).object;
    const after = structuredClone(before);
    (after.spec as any).template.spec.nodeClassRef.kind = "OtherNodeClass";
    expect(admitNodePool(after).causes).toEqual([]);
    expect(admitNodePool(after, before).causes).toEqual([
      {
        reason: "FieldValueInvalid",
        field: "spec.template.spec.nodeClassRef",
        message: 'Invalid value: "object": nodeClassRef.kind is immutable',
      },
    ]);
  });

  it("ratchets: an unchanged invalid value passes on update, a changed or new one does not", () => {
    const stored = admitNodePool(minimalNodePool()).object;
    (stored.spec as any).disruption.consolidateAfter = "5 minutes"; // stored under an older, laxer schema
    const update = structuredClone(stored);
    (update.spec as any).weight = 10;
    expect(admitNodePool(update, stored).causes).toEqual([]);
    (update.spec as any).disruption.consolidateAfter = "6 minutes";
    expect(admitNodePool(update, stored).causes.map((c) => c.field)).toEqual(["spec.disruption.consolidateAfter"]);
    expect(admitNodePool(stored).causes.map((c) => c.field)).toEqual(["spec.disruption.consolidateAfter"]);
  });

  it("prunes unknown fields and unknown metadata but keeps labels and annotations", () => {
    const pool = minimalNodePool();
    (pool.spec as any).bogus = 1;
    (pool.metadata as any).labels = { a: "b" };
    (pool.metadata as any).color = "red";
    const result = admitNodePool(pool);
    expect(result.causes).toEqual([]);
    expect(result.unknownFields).toEqual(["metadata.color", "spec.bogus"]);
    expect((result.object.spec as any).bogus).toBeUndefined();
    expect(result.object.metadata).toEqual({ name: "default", labels: { a: "b" } });
    expect(
      fieldValidationOutcome("Strict", result.unknownFields, { kind: "NodePool", version: "v1" }).badRequestMessage,
    ).toBe(
      'NodePool in version "v1" cannot be handled as a NodePool: strict decoding error: unknown field "metadata.color", unknown field "spec.bogus"',
    );
    expect(fieldValidationOutcome(undefined, result.unknownFields).warnings).toEqual([
      'unknown field "metadata.color"',
      'unknown field "spec.bogus"',
    ]);
    expect(fieldValidationOutcome("Ignore", result.unknownFields)).toEqual({ warnings: [] });
  });

  it("validates EC2NodeClass CEL (exactly one of role/instanceProfile)", () => {
    const nodeClass = minimalEC2NodeClass() as JsonObject;
    (nodeClass.spec as any).instanceProfile = "p";
    const result = admitCustomResource({
      schema: nodeClassSchema,
      object: nodeClass,
      kind: "EC2NodeClass",
      group: "karpenter.k8s.aws",
      name: "default",
    });
    expect(result.causes.map((c) => c.field)).toEqual(["spec"]);
  });
});

describe("small schemas", () => {
  it("lists rules cel-js cannot evaluate instead of claiming them", () => {
    expect(
      uncompilableRules({ "x-kubernetes-validations": [{ rule: "isQuantity(self)" }, { rule: "self.size() > 1" }] }),
    ).toEqual(["isQuantity(self)"]);
    const result = admitCustomResource({
      schema: {
        type: "object",
        properties: { spec: { type: "string", "x-kubernetes-validations": [{ rule: "isQuantity(self)" }] } },
      },
      object: { spec: "nope" },
      kind: "T",
      group: "",
      name: "t",
    });
    expect(result.causes).toEqual([]);
  });

  const schema: JsonSchemaProps = {
    type: "object",
    properties: {
      spec: {
        type: "object",
        required: ["name"],
        properties: {
          name: { type: "string", minLength: 2, maxLength: 5 },
          size: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] },
          ratio: { type: "number", minimum: 0, exclusiveMinimum: true },
          when: { type: "string", format: "date-time" },
          tags: { type: "array", items: { type: "string" }, maxItems: 2, "x-kubernetes-list-type": "set" },
          ports: {
            type: "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            items: { type: "object", properties: { name: { type: "string" }, port: { type: "integer", default: 80 } } },
          },
          labels: { type: "object", additionalProperties: { type: "string" }, maxProperties: 1 },
          free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
          opt: { type: "string", nullable: true },
        },
      },
    },
  };
  const admit = (spec: unknown): ReturnType<typeof admitCustomResource> =>
    admitCustomResource({
      schema,
      object: { apiVersion: "x.io/v1", kind: "T", metadata: { name: "t" }, spec } as JsonObject,
      kind: "T",
      group: "x.io",
      name: "t",
    });
  const lines = (spec: unknown): string[] => admit(spec).causes.map((c) => `${c.field}: ${c.message}`);

  it("accepts int-or-string both ways, nullable null, preserved unknown fields, and defaults list items", () => {
    const result = admit({ name: "ab", size: 3, opt: null, free: { any: { thing: 1 } }, ports: [{ name: "http" }] });
    expect(result.causes).toEqual([]);
    expect((result.object.spec as any).free).toEqual({ any: { thing: 1 } });
    expect((result.object.spec as any).ports).toEqual([{ name: "http", port: 80 }]);
    expect(admit({ name: "ab", size: "3Gi" }).causes).toEqual([]);
  });

  it("reports lengths, bounds, formats, sets, maps and map properties", () => {
    expect(lines({ name: "toolong", ratio: 0, when: "yesterday", size: true })).toEqual([
      "spec.name: Too long: may not be more than 5 bytes",
      "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0",
      'spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"',
      'spec.size: Invalid value: "boolean": spec.size in body must be of type integer,string: "boolean"',
    ]);
    expect(
      lines({ name: "a", tags: ["x", "x", "y"], ports: [{ name: "a" }, { name: "a" }], labels: { a: "1", b: "2" } }),
    ).toEqual([
      'spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long',
      "spec.tags: Too many: 3: must have at most 2 items",
      'spec.tags[1]: Duplicate value: "x"',
      'spec.ports[1]: Duplicate value: map[string]interface {}{"name":"a"}',
      "spec.labels: Too many: 2: must have at most 1 items",
    ]);
  });

  it("uses messageExpression, fieldPath and reason, and reports root rules at <nil>", () => {
    const celSchema: JsonSchemaProps = {
      type: "object",
      "x-kubernetes-validations": [{ rule: "self.spec.min <= self.spec.max", message: "min above max" }],
      properties: {
        spec: {
          type: "object",
          properties: { min: { type: "integer" }, max: { type: "integer" }, name: { type: "string" } },
          "x-kubernetes-validations": [
            {
              rule: "self.max < 10",
              messageExpression: "'max must be below 10, got ' + string(self.max)",
              fieldPath: ".max",
              reason: "FieldValueForbidden",
            },
            { rule: "!has(self.name) || self.name.size() > 1", messageExpression: "''", message: "name too short" },
          ],
        },
      },
    };
    const result = admitCustomResource({
      schema: celSchema,
      object: { spec: { min: 20, max: 12, name: "a" } },
      kind: "T",
      group: "x.io",
      name: "t",
    });
    expect(result.causes).toEqual([
      { reason: "FieldValueInvalid", field: "<nil>", message: 'Invalid value: "object": min above max' },
      { reason: "FieldValueForbidden", field: "spec.max", message: "Forbidden: max must be below 10, got 12" },
      { reason: "FieldValueInvalid", field: "spec", message: 'Invalid value: "object": name too short' },
    ]);
  });

  it("does not crash on a pattern JavaScript cannot compile (the value is then not checked against it)", () => {
    const odd: JsonSchemaProps = { type: "object", properties: { spec: { type: "string", pattern: "(?P<name>x)" } } };
    expect(admitCustomResource({ schema: odd, object: { spec: "y" }, kind: "T", group: "", name: "t" }).causes).toEqual(
      [],
    );
  });

  it("drops a non-nullable null and then requires the field", () => {
    expect(lines({ name: null })).toContain("spec.name: Required value");
  });
});

describe("robustness", () => {
  it("never throws on arbitrary JSON, and admitting an admitted valid object changes nothing", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 3 }), (spec, disruption) => {
        const pool = minimalNodePool();
        (pool as any).spec = {
          ...(pool.spec as object),
          ...(typeof spec === "object" && spec && !Array.isArray(spec) ? spec : { x: spec }),
          disruption,
        };
        const first = admitNodePool(pool, minimalNodePool());
        if (first.causes.length === 0)
          expect(admitNodePool(first.object, first.object)).toEqual({
            object: first.object,
            causes: [],
            unknownFields: [],
          });
        else expect(first.message).toMatch(/^NodePool\.karpenter\.sh "x" is invalid/);
      }),
      { numRuns: 300 },
    );
  });
});
