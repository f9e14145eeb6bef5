// Unit tests for the zod -> structural OpenAPI converter and the structural-rule checker.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { jsonSchemaToStructural, SchemaConversionError, structuralViolations, zodToStructural } from "./structural.js";

describe("zodToStructural", () => {
  it("keeps descriptions, defaults and bounds, and makes defaulted fields optional", () => {
    const schema = zodToStructural(
      z.object({
        name: z.string().min(1).describe("The name."),
        sizeGiB: z.number().int().min(8).default(20).describe("Disk size."),
      }),
    );
    expect(schema).toEqual({
      type: "object",
      required: ["name"],
      properties: {
        name: { description: "The name.", type: "string", minLength: 1 },
        sizeGiB: { description: "Disk size.", type: "integer", default: 20, minimum: 8 },
      },
    });
  });

  it("drops the safe-integer bounds zod writes for every int", () => {
    expect(zodToStructural(z.number().int())).toEqual({ type: "integer" });
  });

  it("turns integer|string unions into x-kubernetes-int-or-string", () => {
    expect(zodToStructural(z.union([z.number().int(), z.string()]).describe("Port."))).toEqual({
      description: "Port.",
      "x-kubernetes-int-or-string": true,
    });
  });

  it("merges unions of same-typed literals into one enum", () => {
    expect(zodToStructural(z.union([z.literal("a"), z.literal("b")]))).toEqual({ type: "string", enum: ["a", "b"] });
  });

  it("rejects unions that have no structural form, naming the path", () => {
    const bad = z.object({ spec: z.object({ x: z.union([z.string(), z.object({ y: z.string() })]) }) });
    expect(() => zodToStructural(bad)).toThrow(SchemaConversionError);
    expect(() => zodToStructural(bad)).toThrow(/\.spec\.x/);
  });

  it("rejects allOf (intersections zod cannot merge) and not", () => {
    expect(() => jsonSchemaToStructural({ allOf: [{ type: "string" }, { minLength: 1 }] })).toThrow(/allOf/);
    expect(() => jsonSchemaToStructural({ type: "string", not: { enum: ["x"] } })).toThrow(/allOf\/not/);
  });

  it("turns loose objects into preserve-unknown-fields and drops additionalProperties: false of strict ones", () => {
    const loose = zodToStructural(z.object({ a: z.string() }).loose());
    expect(loose["x-kubernetes-preserve-unknown-fields"]).toBe(true);
    expect(loose.additionalProperties).toBeUndefined();
    const strict = zodToStructural(z.object({ a: z.string() }).strict());
    expect(strict.additionalProperties).toBeUndefined();
    expect(strict["x-kubernetes-preserve-unknown-fields"]).toBeUndefined();
  });

  it("keeps typed maps as additionalProperties and free-form records as preserve-unknown-fields", () => {
    expect(zodToStructural(z.record(z.string(), z.string()))).toEqual({
      type: "object",
      additionalProperties: { type: "string" },
    });
    const free = zodToStructural(z.record(z.string(), z.unknown()).meta({ "x-kubernetes-preserve-unknown-fields": true }));
    expect(free).toEqual({ type: "object", "x-kubernetes-preserve-unknown-fields": true });
  });

  it("writes exclusive bounds in OpenAPI 3.0 boolean form and nullable for nullable fields", () => {
    expect(zodToStructural(z.number().gt(0))).toEqual({ type: "number", minimum: 0, exclusiveMinimum: true });
    expect(zodToStructural(z.string().nullable())).toEqual({ type: "string", nullable: true });
  });

  it("drops the regex zod adds to date-time but keeps the calendar-exact one of date", () => {
    expect(zodToStructural(z.iso.datetime({ offset: true }))).toEqual({ type: "string", format: "date-time" });
    const date = zodToStructural(z.iso.date());
    expect(date.format).toBe("date");
    const pattern = new RegExp(date.pattern as string);
    expect(["2024-02-29", "2025-12-31"].map((d) => pattern.test(d))).toEqual([true, true]);
    expect(["2025-02-29", "2025-02-30", "2025-13-01", "25-01-01"].map((d) => pattern.test(d))).toEqual([false, false, false, false]);
  });

  it("converts const to a one-value enum and rejects unknown keywords", () => {
    expect(jsonSchemaToStructural({ type: "string", const: "x" })).toEqual({ type: "string", enum: ["x"] });
    expect(() => jsonSchemaToStructural({ type: "object", $ref: "#/defs/x" })).toThrow(/\$ref/);
  });

  it("passes through Kubernetes extensions given with .meta()", () => {
    const schema = zodToStructural(
      z.object({ a: z.string() }).meta({ "x-kubernetes-validations": [{ rule: "self.a != ''", message: "a empty" }] }),
    );
    expect(schema["x-kubernetes-validations"]).toEqual([{ rule: "self.a != ''", message: "a empty" }]);
  });

  it("emits keys in a fixed order whatever the input order", () => {
    const a = jsonSchemaToStructural({ minLength: 1, type: "string", description: "d" });
    expect(Object.keys(a)).toEqual(["description", "type", "minLength"]);
  });
});

describe("structuralViolations", () => {
  it("accepts a typed tree and the exempt untyped nodes", () => {
    expect(
      structuralViolations({
        type: "object",
        properties: {
          port: { "x-kubernetes-int-or-string": true },
          blob: { "x-kubernetes-preserve-unknown-fields": true },
          tags: { type: "array", items: { type: "string" } },
        },
      }),
    ).toEqual([]);
  });

  it("reports untyped nodes, properties with additionalProperties, unions and arrays without items", () => {
    const problems = structuralViolations({
      type: "object",
      properties: {
        a: { description: "no type" },
        b: { type: "object", properties: { c: { type: "string" } }, additionalProperties: { type: "string" } },
        d: { type: "string", anyOf: [{ minLength: 1 }] },
        e: { type: "array" },
      },
    });
    expect(problems).toEqual([
      ".a: missing type",
      ".b: properties and additionalProperties together",
      ".d: keyword 'anyOf' not allowed",
      ".e: array without items",
    ]);
  });
});
