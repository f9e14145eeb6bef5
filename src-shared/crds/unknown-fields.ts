// Fields a CRD's structural schema does not declare: the API server refuses them (kubectl's strict field validation)
// or prunes them, so a tool that checks a manifest offline must not take them silently.
import type { z } from "zod";
import { type OpenApiSchema, zodToStructural } from "./structural.js";

const structural = new WeakMap<z.ZodType, OpenApiSchema>();

/** The paths (`spec.familes`) of the fields of `value` that `schema` (a CRD spec's zod schema) does not declare. */
export function unknownFields(schema: z.ZodType, value: unknown, path: string): string[] {
  let s = structural.get(schema);
  if (!s) {
    s = zodToStructural(schema);
    structural.set(schema, s);
  }
  return undeclared(s, value, path);
}

/** The top-level keys of a custom resource: anything else is not one of its fields. */
const TOP_LEVEL = new Set(["apiVersion", "kind", "metadata", "spec", "status"]);

/** Fields of a whole manifest neither a custom resource's top level nor its spec's `schema` declares. */
export function unknownManifestFields(schema: z.ZodType, manifest: Record<string, unknown>): string[] {
  return [...Object.keys(manifest).filter((k) => !TOP_LEVEL.has(k)), ...unknownFields(schema, manifest.spec, "spec")];
}

function undeclared(schema: OpenApiSchema, value: unknown, path: string): string[] {
  if (schema["x-kubernetes-preserve-unknown-fields"] === true || value === null || typeof value !== "object") return [];
  if (Array.isArray(value)) {
    const items = schema.items as OpenApiSchema | undefined;
    return items ? value.flatMap((v, i) => undeclared(items, v, `${path}[${i}]`)) : [];
  }
  return Object.entries(value).flatMap(([key, child]) => {
    const declared = declaredField(schema, key);
    if (declared) return undeclared(declared, child, `${path}.${key}`);
    // an object schema without properties (and no additionalProperties) declares nothing to compare against
    return schema.properties && schema.additionalProperties !== true ? [`${path}.${key}`] : [];
  });
}

/** The schema of field `key`: a declared property, else a map's value schema. */
function declaredField(schema: OpenApiSchema, key: string): OpenApiSchema | undefined {
  const properties = schema.properties as Record<string, OpenApiSchema> | undefined;
  if (properties && Object.hasOwn(properties, key)) return properties[key];
  const additional = schema.additionalProperties;
  return typeof additional === "object" && additional !== null ? (additional as OpenApiSchema) : undefined;
}
