// Converts zod's JSON Schema output to a Kubernetes structural OpenAPI v3 schema, and checks structural rules.
import { z } from "zod";

/** A node of an apiextensions.k8s.io/v1 JSONSchemaProps tree (the keys we emit). */
export type OpenApiSchema = { [key: string]: unknown };

/** Keys apiextensions.k8s.io/v1 accepts, in the order we write them (stable, readable output). */
const KEY_ORDER = [
  "description",
  "type",
  "format",
  "enum",
  "default",
  "nullable",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "exclusiveMinimum",
  "maximum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "required",
  "items",
  "properties",
  "additionalProperties",
  "x-kubernetes-int-or-string",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-validations",
] as const;
const ALLOWED_KEYS = new Set<string>(KEY_ORDER);

/** Keys zod emits that carry no validation meaning for Kubernetes and are dropped. */
const DROPPED_KEYS = new Set(["$schema", "$id", "id", "title", "examples", "$comment"]);

/**
 * Formats whose zod-generated regex duplicates the format and only clutters the CRD. The `date`
 * regex stays: it rejects impossible days (2025-02-30) even where a server checks only the shape.
 */
const FORMATS_WITH_REDUNDANT_PATTERN = new Set(["date-time"]);

const SAFE_INT_BOUND = Number.MAX_SAFE_INTEGER;

export class SchemaConversionError extends Error {
  constructor(path: string, message: string) {
    super(`${path || "<root>"}: ${message}`);
    this.name = "SchemaConversionError";
  }
}

/** zod schema -> structural OpenAPI v3 (input shape, so defaulted fields are optional and carry their default). */
export function zodToStructural(schema: z.ZodType): OpenApiSchema {
  const jsonSchema = z.toJSONSchema(schema, { io: "input", target: "openapi-3.0" }) as OpenApiSchema;
  return jsonSchemaToStructural(jsonSchema);
}

/** JSON Schema (OpenAPI 3.0 flavour, as zod writes it) -> structural OpenAPI v3; throws on constructs Kubernetes rejects. */
export function jsonSchemaToStructural(node: OpenApiSchema, path = ""): OpenApiSchema {
  const merged = collapseUnion(node, path);
  const out: OpenApiSchema = {};
  for (const [key, value] of Object.entries(merged)) {
    if (DROPPED_KEYS.has(key)) continue;
    if (key === "const") {
      out.enum = [value];
      continue;
    }
    if (!ALLOWED_KEYS.has(key)) throw new SchemaConversionError(path, `keyword '${key}' is not allowed in a structural schema`);
    out[key] = value;
  }
  normaliseNumbers(out);
  normaliseStrings(out);
  convertChildren(out, path);
  if (Array.isArray(out.required) && out.required.length === 0) delete out.required;
  return orderKeys(out);
}

/** anyOf/oneOf are only accepted where they mean something Kubernetes has a native form for. */
function collapseUnion(node: OpenApiSchema, path: string): OpenApiSchema {
  if (node.allOf !== undefined || node.not !== undefined) {
    throw new SchemaConversionError(path, "allOf/not (zod intersections, negations) cannot be expressed structurally");
  }
  const branches = (node.anyOf ?? node.oneOf) as OpenApiSchema[] | undefined;
  if (branches === undefined) return node;
  const rest = Object.fromEntries(Object.entries(node).filter(([k]) => k !== "anyOf" && k !== "oneOf"));
  const collapsed = intOrString(branches) ?? literalEnum(branches);
  if (collapsed === undefined) {
    throw new SchemaConversionError(path, "unions other than int-or-string or same-type literals are not structural");
  }
  return { ...rest, ...collapsed };
}

function intOrString(branches: OpenApiSchema[]): OpenApiSchema | undefined {
  const types = new Set(branches.map((b) => b.type));
  const numeric = types.has("integer") || types.has("number");
  return branches.length === 2 && types.has("string") && numeric ? { "x-kubernetes-int-or-string": true } : undefined;
}

function literalEnum(branches: OpenApiSchema[]): OpenApiSchema | undefined {
  const types = new Set(branches.map((b) => b.type));
  const allLiterals = branches.every((b) => Array.isArray(b.enum) || b.const !== undefined);
  if (types.size !== 1 || !allLiterals) return undefined;
  const values = branches.flatMap((b) => (Array.isArray(b.enum) ? (b.enum as unknown[]) : [b.const]));
  return { type: branches[0]?.type, enum: values };
}

function normaliseNumbers(out: OpenApiSchema): void {
  if (out.type !== "integer" && out.type !== "number") return;
  // zod writes the safe-integer range for every .int(); Kubernetes integers are int64 anyway.
  if (out.minimum === -SAFE_INT_BOUND) delete out.minimum;
  if (out.maximum === SAFE_INT_BOUND) delete out.maximum;
  if (typeof out.exclusiveMinimum === "number") {
    out.minimum = out.exclusiveMinimum;
    out.exclusiveMinimum = true;
  }
  if (typeof out.exclusiveMaximum === "number") {
    out.maximum = out.exclusiveMaximum;
    out.exclusiveMaximum = true;
  }
}

function normaliseStrings(out: OpenApiSchema): void {
  if (typeof out.format === "string" && FORMATS_WITH_REDUNDANT_PATTERN.has(out.format)) delete out.pattern;
}

function convertChildren(out: OpenApiSchema, path: string): void {
  if (out.properties !== undefined) {
    const props = out.properties as Record<string, OpenApiSchema>;
    out.properties = Object.fromEntries(
      Object.entries(props).map(([name, child]) => [name, jsonSchemaToStructural(child, `${path}.${name}`)]),
    );
  }
  if (out.items !== undefined) {
    if (Array.isArray(out.items)) throw new SchemaConversionError(path, "tuple items are not structural");
    out.items = jsonSchemaToStructural(out.items as OpenApiSchema, `${path}[]`);
  }
  convertAdditionalProperties(out, path);
}

function convertAdditionalProperties(out: OpenApiSchema, path: string): void {
  const additional = out.additionalProperties;
  if (additional === undefined) return;
  const isOpen = additional === true || (typeof additional === "object" && Object.keys(additional as object).length === 0);
  if (additional === false) {
    // Strict zod objects: Kubernetes prunes unknown fields anyway, and `false` is not allowed.
    delete out.additionalProperties;
  } else if (isOpen) {
    delete out.additionalProperties;
    out["x-kubernetes-preserve-unknown-fields"] = true;
  } else if (out.properties !== undefined) {
    throw new SchemaConversionError(path, "properties and additionalProperties are mutually exclusive");
  } else {
    out.additionalProperties = jsonSchemaToStructural(additional as OpenApiSchema, `${path}{}`);
  }
  if (out["x-kubernetes-preserve-unknown-fields"] === true && out.additionalProperties !== undefined) {
    // A free-form map (z.record(..., z.unknown())): preserving unknown fields says all there is to say.
    const valueSchema = out.additionalProperties as OpenApiSchema;
    if (Object.keys(valueSchema).every((k) => k === "x-kubernetes-preserve-unknown-fields")) delete out.additionalProperties;
  }
}

function orderKeys(node: OpenApiSchema): OpenApiSchema {
  const ordered: OpenApiSchema = {};
  for (const key of KEY_ORDER) if (node[key] !== undefined) ordered[key] = node[key];
  return ordered;
}

/**
 * Returns the ways `schema` breaks Kubernetes' structural-schema rules (empty = structural):
 * every node typed unless int-or-string or preserve-unknown-fields, no properties together with
 * additionalProperties, no $ref / unions / unknown keywords, and metadata limited to name/generateName.
 */
export function structuralViolations(schema: OpenApiSchema, path = ""): string[] {
  return [...nodeViolations(schema, path || "<root>"), ...childViolations(schema, path)];
}

function nodeViolations(schema: OpenApiSchema, here: string): string[] {
  const problems = Object.keys(schema)
    .filter((key) => !ALLOWED_KEYS.has(key))
    .map((key) => `${here}: keyword '${key}' not allowed`);
  const exempt = schema["x-kubernetes-int-or-string"] === true || schema["x-kubernetes-preserve-unknown-fields"] === true;
  if (typeof schema.type !== "string" && !exempt) problems.push(`${here}: missing type`);
  if (schema.properties !== undefined && schema.additionalProperties !== undefined) {
    problems.push(`${here}: properties and additionalProperties together`);
  }
  if (schema.additionalProperties === false) problems.push(`${here}: additionalProperties: false`);
  if (schema.type === "array" && schema.items === undefined) problems.push(`${here}: array without items`);
  return problems;
}

function childViolations(schema: OpenApiSchema, path: string): string[] {
  const props = (schema.properties ?? {}) as Record<string, OpenApiSchema>;
  const problems = Object.entries(props).flatMap(([name, child]) => structuralViolations(child, `${path}.${name}`));
  const { items, additionalProperties } = schema;
  if (typeof items === "object" && items !== null) problems.push(...structuralViolations(items as OpenApiSchema, `${path}[]`));
  if (typeof additionalProperties === "object" && additionalProperties !== null) {
    problems.push(...structuralViolations(additionalProperties as OpenApiSchema, `${path}{}`));
  }
  return problems;
}
