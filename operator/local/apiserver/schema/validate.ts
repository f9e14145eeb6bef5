// OpenAPI v3 value validation of custom resources with the apiserver's (kube-openapi) error texts.
import { fieldError, goSyntaxRepr } from "./errors.js";
import { isPlainObject, type Cause, type JsonSchemaProps } from "./types.js";

/** The JSON type name go-openapi reports for a decoded value. */
export function jsonTypeName(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "string") return "string";
  return "object";
}

function typeMatches(value: unknown, schema: JsonSchemaProps): boolean {
  const actual = jsonTypeName(value);
  if (schema["x-kubernetes-int-or-string"]) return actual === "integer" || actual === "string";
  if (!schema.type) return true;
  if (schema.type === "number") return actual === "number" || actual === "integer";
  return actual === schema.type;
}

function child(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

const cheapFormats: Record<string, RegExp> = {
  "date-time": /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  uuid: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  ipv4: /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/,
  byte: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
};

/** Compiled patterns are cached: the same CRD schema validates many objects. */
const patternCache = new Map<string, RegExp | null>();

/** Patterns are RE2 upstream; a few RE2 forms JS cannot compile (even without the `u` flag) are not checked. */
export const uncheckedPatterns = new Set<string>();

function compiledPattern(pattern: string): RegExp | null {
  let re = patternCache.get(pattern);
  if (re === undefined) {
    re = tryRegExp(pattern, "u") ?? tryRegExp(pattern, "");
    if (!re) uncheckedPatterns.add(pattern);
    patternCache.set(pattern, re);
  }
  return re;
}

function tryRegExp(pattern: string, flags: string): RegExp | null {
  try {
    return new RegExp(pattern, flags);
  } catch {
    return null;
  }
}

/** Unicode code points, as Go counts a string's length: only the surrogate pairs make it differ from .length. */
function codePoints(value: string): number {
  let n = value.length;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const d = value.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function validateLength(value: string, schema: JsonSchemaProps, path: string, out: Cause[]): void {
  if (schema.maxLength === undefined && schema.minLength === undefined) return;
  const length = codePoints(value);
  if (schema.maxLength !== undefined && length > schema.maxLength) {
    out.push(
      fieldError(
        "FieldValueTooLong",
        path,
        value,
        `may not be more than ${schema.maxLength} ${schema.maxLength === 1 ? "byte" : "bytes"}`,
      ),
    );
  }
  if (schema.minLength !== undefined && length < schema.minLength) {
    out.push(
      fieldError("FieldValueInvalid", path, value, `${path} in body should be at least ${schema.minLength} chars long`),
    );
  }
}

function validateString(value: string, schema: JsonSchemaProps, path: string, out: Cause[]): void {
  validateLength(value, schema, path, out);
  if (schema.pattern !== undefined && compiledPattern(schema.pattern)?.test(value) === false) {
    out.push(fieldError("FieldValueInvalid", path, value, `${path} in body should match '${schema.pattern}'`));
  }
  const format = schema.format ? cheapFormats[schema.format] : undefined;
  if (format && !format.test(value)) {
    out.push(
      fieldError(
        "FieldValueTypeInvalid",
        path,
        value,
        `${path} in body must be of type ${schema.format}: ${JSON.stringify(value)}`,
      ),
    );
  }
}

/** maximum/minimum with their exclusive flags, in go-openapi's wording. */
function boundError(
  value: number,
  bound: number | undefined,
  exclusive: boolean | undefined,
  upper: boolean,
): string | undefined {
  if (bound === undefined) return undefined;
  const bad = upper ? (exclusive ? value >= bound : value > bound) : exclusive ? value <= bound : value < bound;
  if (!bad) return undefined;
  const rel = upper ? "less than" : "greater than";
  return `${rel}${exclusive ? "" : " or equal to"} ${bound}`;
}

function validateNumber(value: number, schema: JsonSchemaProps, path: string, out: Cause[]): void {
  if (schema.multipleOf !== undefined && !Number.isInteger(value / schema.multipleOf)) {
    out.push(
      fieldError("FieldValueInvalid", path, value, `${path} in body should be a multiple of ${schema.multipleOf}`),
    );
  }
  const max = boundError(value, schema.maximum, schema.exclusiveMaximum, true);
  if (max) out.push(fieldError("FieldValueInvalid", path, value, `${path} in body should be ${max}`));
  const min = boundError(value, schema.minimum, schema.exclusiveMinimum, false);
  if (min) out.push(fieldError("FieldValueInvalid", path, value, `${path} in body should be ${min}`));
}

function inEnum(value: unknown, allowed: unknown[]): boolean {
  // JSON equality; for a string, number or boolean that is ===.
  if (typeof value !== "object" || value === null) return allowed.includes(value);
  const key = JSON.stringify(value);
  return allowed.some((a) => JSON.stringify(a) === key);
}

function validateEnum(value: unknown, schema: JsonSchemaProps, path: string, out: Cause[]): void {
  if (!schema.enum) return;
  if (inEnum(value, schema.enum)) return;
  const supported = schema.enum.map((v) => JSON.stringify(typeof v === "string" ? v : JSON.stringify(v)));
  out.push(fieldError("FieldValueNotSupported", path, value, `supported values: ${supported.join(", ")}`));
}

function listMapKey(item: unknown, keys: string[]): Record<string, unknown> {
  const key: Record<string, unknown> = {};
  for (const k of keys) if (isPlainObject(item) && item[k] !== undefined) key[k] = item[k];
  return key;
}

/** x-kubernetes-list-type set/map uniqueness (structurallisttype.ValidateListSetsAndMaps). */
function validateListType(value: unknown[], schema: JsonSchemaProps, path: string, out: Cause[]): void {
  const listType = schema["x-kubernetes-list-type"];
  if (listType !== "set" && listType !== "map") return;
  const mapKeys = schema["x-kubernetes-list-map-keys"] ?? [];
  const seen = new Set<string>();
  value.forEach((item, i) => {
    const identity = listType === "set" ? item : listMapKey(item, mapKeys);
    const id = goSyntaxRepr(identity);
    if (seen.has(id)) out.push(fieldError("FieldValueDuplicate", `${path}[${i}]`, identity));
    seen.add(id);
  });
}

function validateArray(value: unknown[], schema: JsonSchemaProps, path: string, out: Cause[]): void {
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    out.push(fieldError("FieldValueTooMany", path, value.length, `must have at most ${schema.maxItems} items`));
  }
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    out.push(
      fieldError(
        "FieldValueInvalid",
        path,
        value.length,
        `${path} in body should have at least ${schema.minItems} items`,
      ),
    );
  }
  const items = schema.items;
  if (items) value.forEach((item, i) => validateValue(item, items, `${path}[${i}]`, out));
}

function validatePropertyCount(
  value: Record<string, unknown>,
  schema: JsonSchemaProps,
  path: string,
  out: Cause[],
): void {
  const count = Object.keys(value).length;
  if (schema.maxProperties !== undefined && count > schema.maxProperties) {
    out.push(fieldError("FieldValueTooMany", path, count, `must have at most ${schema.maxProperties} items`));
  }
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    out.push(
      fieldError(
        "FieldValueInvalid",
        path,
        count,
        `${path} in body should have at least ${schema.minProperties} properties`,
      ),
    );
  }
}

function validateObject(value: Record<string, unknown>, schema: JsonSchemaProps, path: string, out: Cause[]): void {
  validatePropertyCount(value, schema, path, out);
  for (const name of schema.required ?? []) {
    if (value[name] === undefined) out.push(fieldError("FieldValueRequired", child(path, name), undefined));
  }
  const additional = isPlainObject(schema.additionalProperties)
    ? (schema.additionalProperties as JsonSchemaProps)
    : undefined;
  for (const [key, v] of Object.entries(value)) {
    const sub = schema.properties?.[key] ?? additional;
    if (sub && v !== undefined) validateValue(v, sub, child(path, key), out);
  }
}

/** anyOf/oneOf/allOf/not as value validations (structural schemas never add types or properties there). */
function validateJunctors(value: unknown, schema: JsonSchemaProps, path: string, out: Cause[]): void {
  if (!schema.allOf && !schema.anyOf && !schema.oneOf && !schema.not) return;
  for (const sub of schema.allOf ?? []) validateValue(value, { ...sub, type: sub.type ?? schema.type }, path, out);
  validateAlternatives(value, schema, path, out);
}

/** How many of `subs` the value validates against. */
function matches(value: unknown, subs: JsonSchemaProps[], path: string): number {
  return subs.filter((s) => collectErrors(value, s, path).length === 0).length;
}

function validateAlternatives(value: unknown, schema: JsonSchemaProps, path: string, out: Cause[]): void {
  const anyOfFails =
    schema.anyOf !== undefined && !schema["x-kubernetes-int-or-string"] && matches(value, schema.anyOf, path) === 0;
  if (anyOfFails)
    out.push(fieldError("FieldValueInvalid", path, value, `"${path}" must validate at least one schema (anyOf)`));
  if (schema.oneOf && matches(value, schema.oneOf, path) !== 1) {
    out.push(fieldError("FieldValueInvalid", path, value, `"${path}" must validate one and only one schema (oneOf)`));
  }
  if (schema.not && collectErrors(value, schema.not, path).length === 0) {
    out.push(fieldError("FieldValueInvalid", path, value, `"${path}" must not validate the schema (not)`));
  }
}

function collectErrors(value: unknown, schema: JsonSchemaProps, path: string): Cause[] {
  const out: Cause[] = [];
  validateValue(value, schema, path, out);
  return out;
}

function typeErrorDetail(path: string, value: unknown, schema: JsonSchemaProps): string {
  const expected = schema["x-kubernetes-int-or-string"] ? "integer,string" : schema.type;
  return `${path} in body must be of type ${expected}: ${JSON.stringify(jsonTypeName(value))}`;
}

/** Validates one value against its schema node, appending apiserver-shaped causes to `out`. */
export function validateValue(value: unknown, schema: JsonSchemaProps, path: string, out: Cause[]): void {
  if (value === null && schema.nullable) return;
  if (!typeMatches(value, schema)) {
    out.push(fieldError("FieldValueTypeInvalid", path, jsonTypeName(value), typeErrorDetail(path, value, schema)));
    return;
  }
  if (typeof value === "string") validateString(value, schema, path, out);
  else if (typeof value === "number") validateNumber(value, schema, path, out);
  validateEnum(value, schema, path, out);
  validateJunctors(value, schema, path, out);
  if (Array.isArray(value)) {
    validateArray(value, schema, path, out);
    validateListType(value, schema, path, out);
  } else if (isPlainObject(value)) {
    validateObject(value, schema, path, out);
  }
}
