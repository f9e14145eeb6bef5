// The swagger 2.0 form of our OpenAPI v3 schemas, by the rules kube-apiserver applies when it publishes /openapi/v2.
type Schema = Record<string, any>;

const PRESERVE = "x-kubernetes-preserve-unknown-fields";
/** v3 keywords swagger 2.0 has no place for (a swagger document holding one is refused by its parsers). */
const JUNCTORS = ["allOf", "oneOf", "anyOf", "not"];

/** `{allOf: [{$ref}], description, default}` is how v3 writes a `$ref` with siblings; swagger 2.0 puts them beside it. */
function refWithSiblings(s: Schema): Schema | undefined {
  const only = Array.isArray(s.allOf) && s.allOf.length === 1 ? (s.allOf[0] as Schema) : undefined;
  if (!only || Object.keys(only).join() !== "$ref" || s.type !== undefined || s.properties !== undefined) return;
  return { $ref: only.$ref, ...(s.description ? { description: s.description } : {}) };
}

/**
 * kube-apiserver's ToStructuralOpenAPIV2 on one node: what kubectl's v2 schema reader rejects or would misread goes —
 * junctors, `nullable` (with the type, items and properties of a nullable value), the items and properties of a node
 * that keeps unknown fields, and the type of an item-less array or of such an object.
 */
function strip(s: Schema): Schema {
  const out: Schema = { ...s };
  for (const k of [...JUNCTORS, "nullable"]) delete out[k];
  if (s.nullable === true) for (const k of ["type", "items", "properties"]) delete out[k];
  if (s[PRESERVE] === true) for (const k of ["items", "properties"]) delete out[k];
  if (out.type === "array" && out.items === undefined) delete out.type;
  if (s[PRESERVE] === true && out.type === "object") delete out.type;
  const props = (out.properties ?? {}) as Record<string, Schema>;
  if (Array.isArray(out.required)) {
    // A field that may be null is not required in v2, nor is any key of a map whose values may be null.
    const required = (out.required as string[]).filter((f) => props[f]?.nullable !== true);
    if (required.length === 0 || out.additionalProperties?.nullable === true) delete out.required;
    else out.required = required;
  }
  return out;
}

/** The swagger 2.0 form of a v3 schema tree (its `$ref`s already point at `#/definitions/`). */
export function swaggerSchema(schema: Schema): Schema {
  const asRef = refWithSiblings(schema);
  if (asRef) return asRef;
  const out = strip(schema);
  if (out.items && typeof out.items === "object") out.items = swaggerSchema(out.items as Schema);
  if (out.additionalProperties && typeof out.additionalProperties === "object")
    out.additionalProperties = swaggerSchema(out.additionalProperties as Schema);
  if (out.properties) {
    const props = out.properties as Record<string, Schema>;
    out.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, swaggerSchema(v)]));
  }
  return out;
}

/**
 * A custom resource kind in v2: a schema that keeps unknown fields at its root is published as a bare object (kubectl
 * would otherwise refuse every field it does not list), as kube-apiserver does.
 */
export function swaggerCustomResourceKind(schema: Schema): Schema {
  const gvk = schema["x-kubernetes-group-version-kind"] as unknown;
  if (schema[PRESERVE] === true) return { type: "object", "x-kubernetes-group-version-kind": gvk };
  return swaggerSchema(schema);
}

/**
 * A built-in kind in v2. Our built-in schemas are compact (the fields we use), and kubectl checks the items of a
 * `kind: List` against v2, refusing any field a schema does not list: so a built-in kind is an open object there,
 * and its fields are checked by the server's strict field validation instead.
 */
export function swaggerBuiltinKind(schema: Schema): Schema {
  return {
    type: "object",
    ...(schema.description ? { description: schema.description } : {}),
    "x-kubernetes-group-version-kind": schema["x-kubernetes-group-version-kind"] as unknown,
  };
}
