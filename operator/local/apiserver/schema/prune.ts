// Structural pruning and defaulting of custom resources, as kube-apiserver does before validation.
import { isPlainObject, type JsonObject, type JsonSchemaProps, type JsonValue } from "./types.js";

/** metav1.ObjectMeta JSON fields: anything else under a resource's `metadata` is dropped by the decoder. */
export const objectMetaFields = new Set([
  "name",
  "generateName",
  "namespace",
  "selfLink",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
]);

function childPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Drops unknown metadata fields; returns the dropped paths (for fieldValidation=Strict|Warn). */
function pruneObjectMeta(meta: JsonObject, path: string, unknown: string[]): void {
  for (const key of Object.keys(meta)) {
    if (!objectMetaFields.has(key)) {
      delete meta[key];
      unknown.push(childPath(path, key));
    }
  }
}

/** A resource's schema without apiVersion, kind and metadata, made once per schema node. */
const bodySchemas = new WeakMap<JsonSchemaProps, JsonSchemaProps>();

function bodySchema(schema: JsonSchemaProps): JsonSchemaProps {
  let body = bodySchemas.get(schema);
  if (body === undefined) {
    body = { ...schema, properties: withoutResourceFields(schema.properties) };
    bodySchemas.set(schema, body);
  }
  return body;
}

function pruneResourceRoot(obj: JsonObject, schema: JsonSchemaProps, path: string, unknown: string[]): void {
  const { apiVersion, kind, metadata, ...rest } = obj;
  if (isPlainObject(metadata)) pruneObjectMeta(metadata, childPath(path, "metadata"), unknown);
  for (const key of Object.keys(obj)) delete obj[key];
  const body = { ...rest };
  pruneObject(body, bodySchema(schema), path, unknown);
  if (apiVersion !== undefined) obj.apiVersion = apiVersion;
  if (kind !== undefined) obj.kind = kind;
  if (metadata !== undefined) obj.metadata = metadata;
  Object.assign(obj, body);
}

function withoutResourceFields(props: Record<string, JsonSchemaProps> | undefined): Record<string, JsonSchemaProps> {
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = props ?? {};
  return rest;
}

function pruneObject(obj: JsonObject, schema: JsonSchemaProps, path: string, unknown: string[]): void {
  const props = schema.properties;
  const additional = schema.additionalProperties;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  for (const key of Object.keys(obj)) {
    const sub = props?.[key] ?? (isPlainObject(additional) ? additional : undefined);
    if (sub) {
      obj[key] = pruneValue(obj[key]!, sub, childPath(path, key), unknown);
    } else if (!preserve && additional !== true) {
      delete obj[key];
      unknown.push(childPath(path, key));
    }
  }
}

function pruneValue(value: JsonValue, schema: JsonSchemaProps, path: string, unknown: string[]): JsonValue {
  if (isPlainObject(value)) {
    if (schema["x-kubernetes-embedded-resource"]) pruneResourceRoot(value, schema, path, unknown);
    else pruneObject(value, schema, path, unknown);
  } else if (Array.isArray(value) && schema.items) {
    const items = schema.items;
    value.forEach((item, i) => {
      value[i] = pruneValue(item, items, `${path}[${i}]`, unknown);
    });
  }
  return value;
}

/**
 * Removes fields the schema does not specify (in place) and returns their paths, e.g. `spec.foo`.
 * apiVersion, kind and metadata survive at the root and in x-kubernetes-embedded-resource objects.
 */
export function pruneUnknownFields(object: JsonObject, schema: JsonSchemaProps): string[] {
  const unknown: string[] = [];
  pruneResourceRoot(object, schema, "", unknown);
  return unknown;
}

/** The properties of a schema node that carry a default, listed once per node (most objects have none). */
const defaultedProps = new WeakMap<Record<string, JsonSchemaProps>, Array<[string, JsonSchemaProps]>>();

function withDefaults(props: Record<string, JsonSchemaProps>): Array<[string, JsonSchemaProps]> {
  let list = defaultedProps.get(props);
  if (list === undefined) {
    list = Object.entries(props).filter(([, sub]) => sub.default !== undefined);
    defaultedProps.set(props, list);
  }
  return list;
}

function fillDefaults(obj: JsonObject, props: Record<string, JsonSchemaProps>): void {
  // A null in a non-nullable field is dropped, then the default (if any) fills the gap.
  for (const key of Object.keys(obj)) {
    if (obj[key] === null && Object.hasOwn(props, key) && !props[key]!.nullable) delete obj[key];
  }
  for (const [key, sub] of withDefaults(props)) {
    if (obj[key] === undefined) obj[key] = structuredClone(sub.default) as JsonValue;
  }
}

function defaultObject(obj: JsonObject, schema: JsonSchemaProps): void {
  const props = schema.properties ?? {};
  fillDefaults(obj, props);
  const additional = isPlainObject(schema.additionalProperties) ? schema.additionalProperties : undefined;
  for (const [key, value] of Object.entries(obj)) {
    const sub = props[key] ?? additional;
    if (sub) applyDefaults(value, sub);
  }
}

/** Applies `default`s (in place) inside objects that exist, recursing into defaulted values too. */
export function applyDefaults(value: JsonValue, schema: JsonSchemaProps): void {
  if (isPlainObject(value)) defaultObject(value, schema);
  else if (Array.isArray(value) && schema.items) for (const item of value) applyDefaults(item, schema.items);
}
