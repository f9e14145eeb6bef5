// Encodes a swagger 2.0 document as the gnostic OpenAPIv2 `Document` protobuf message (openapi.v2, gnostic-models'
// OpenAPIv2.proto): what kube-apiserver answers on /openapi/v2 to a client that asks for protobuf, as kubectl does.
import { Writer } from "../protobuf.js";

type Json = Record<string, unknown>;
/** Writes one JSON value as field `num`; `at` is its JSON path, for the error a value of the wrong shape gets. */
type Encode = (w: Writer, num: number, value: unknown, at: string) => void;
/**
 * A message's fields in field-number order: [JSON key, number, encoder]. `x-` stands for the vendor extensions (each a
 * NamedAny); `*` for the entries of a map-like message (each a Named<Value> pair: name 1, value 2).
 */
type Table = ReadonlyArray<readonly [string, number, Encode]>;

function fail(at: string, what: string): never {
  throw new Error(`OpenAPI v2 protobuf: ${at} ${what}`);
}

function object(value: unknown, at: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(at, "is not an object");
  return value as Json;
}

function list(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value)) fail(at, "is not an array");
  return value;
}

// proto3 scalars: a zero value is not written, as Go's proto.Marshal does not write it.
const str: Encode = (w, num, v, at) => {
  if (typeof v !== "string") fail(at, "is not a string");
  if (v !== "") w.bytes(num, Buffer.from(v, "utf8"));
};
const bool: Encode = (w, num, v, at) => {
  if (typeof v !== "boolean") fail(at, "is not a boolean");
  if (v) {
    w.tag(num, 0);
    w.varint(1n);
  }
};
const double: Encode = (w, num, v, at) => {
  if (typeof v !== "number") fail(at, "is not a number");
  if (v === 0) return;
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  w.tag(num, 1);
  w.parts.push(b);
};
const int64: Encode = (w, num, v, at) => {
  if (!Number.isInteger(v)) fail(at, "is not an integer");
  if (v === 0) return;
  w.tag(num, 0);
  w.varint(BigInt(v as number));
};
const strings: Encode = (w, num, v, at) =>
  list(v, at).forEach((s, i) => {
    if (typeof s !== "string") fail(`${at}[${i}]`, "is not a string");
    w.bytes(num, Buffer.from(s, "utf8"));
  });
const repeated =
  (encode: Encode): Encode =>
  (w, num, v, at) =>
    list(v, at).forEach((item, i) => encode(w, num, item, `${at}[${i}]`));

/** A JSON value as YAML in flow style, the way gnostic re-marshals the JSON it parsed (JSON itself, spaced). */
function flowYaml(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(flowYaml).join(", ")}]`;
  if (typeof v === "object" && v !== null)
    return `{${Object.entries(v as Json)
      .map(([k, x]) => `${JSON.stringify(k)}: ${flowYaml(x)}`)
      .join(", ")}}`;
  return JSON.stringify(v);
}

/** gnostic's `Any` keeps a free-form value (default, enum, example, vendor extension) as YAML text in field 2. */
const any: Encode = (w, num, v) => {
  const inner = new Writer();
  inner.bytes(2, Buffer.from(`${flowYaml(v)}\n`, "utf8"));
  w.bytes(num, inner.done());
};

function encodeObject(table: Table, value: unknown, at: string): Buffer {
  const o = object(value, at);
  const named = new Set(table.map(([key]) => key));
  const vendor = (k: string): boolean => named.has("x-") && k.startsWith("x-");
  const other = Object.keys(o).filter((k) => !named.has(k) && !vendor(k));
  if (other.length > 0 && !named.has("*")) fail(`${at}.${other[0]}`, "has no place in the gnostic OpenAPI v2 model");
  const w = new Writer();
  for (const [key, num, encode] of table) {
    const keys = key === "x-" ? Object.keys(o).filter(vendor) : key === "*" ? other : [];
    for (const k of keys) w.bytes(num, pair(k, o[k], key === "x-" ? any : encode, `${at}.${k}`));
    if (key !== "x-" && key !== "*" && o[key] !== undefined) encode(w, num, o[key], `${at}.${key}`);
  }
  return w.done();
}

/** A Named<Value> message: the name as field 1, the value as field 2. */
function pair(name: string, value: unknown, encode: Encode, at: string): Buffer {
  const w = new Writer();
  str(w, 1, name, at);
  encode(w, 2, value, at);
  return w.done();
}

/** Field `num` holds a message; `table` is read when called, so messages may refer to each other in any order. */
const message =
  (table: () => Table): Encode =>
  (w, num, v, at) =>
    w.bytes(num, encodeObject(table(), v, at));

/** A message whose only field `field` (a oneof member or a repeated field) is written by `encode`. */
function wrap(field: number, encode: Encode, v: unknown, at: string): Buffer {
  const w = new Writer();
  encode(w, field, v, at);
  return w.done();
}

const schema = message(() => SCHEMA);
const externalDocs = message(() => [
  ["description", 1, str],
  ["url", 2, str],
  ["x-", 3, any],
]);
const jsonReference = message(() => [
  ["$ref", 1, str],
  ["description", 2, str],
]);

/** TypeItem: `type` as a list of names. */
const typeItem: Encode = (w, num, v, at) => w.bytes(num, wrap(1, strings, typeof v === "string" ? [v] : v, at));
/** ItemsItem: one schema or a list of them. */
const itemsItem: Encode = (w, num, v, at) => w.bytes(num, wrap(1, repeated(schema), Array.isArray(v) ? v : [v], at));
/** AdditionalPropertiesItem: oneof schema (1) or boolean (2); a oneof member is written even when false. */
const additionalProperties: Encode = (w, num, v, at) => {
  if (typeof v !== "boolean") return w.bytes(num, wrap(1, schema, v, at));
  const inner = new Writer();
  inner.tag(2, 0);
  inner.varint(v ? 1n : 0n);
  w.bytes(num, inner.done());
};

const SCHEMA: Table = [
  ["$ref", 1, str],
  ["format", 2, str],
  ["title", 3, str],
  ["description", 4, str],
  ["default", 5, any],
  ["multipleOf", 6, double],
  ["maximum", 7, double],
  ["exclusiveMaximum", 8, bool],
  ["minimum", 9, double],
  ["exclusiveMinimum", 10, bool],
  ["maxLength", 11, int64],
  ["minLength", 12, int64],
  ["pattern", 13, str],
  ["maxItems", 14, int64],
  ["minItems", 15, int64],
  ["uniqueItems", 16, bool],
  ["maxProperties", 17, int64],
  ["minProperties", 18, int64],
  ["required", 19, strings],
  ["enum", 20, repeated(any)],
  ["additionalProperties", 21, additionalProperties],
  ["type", 22, typeItem],
  ["items", 23, itemsItem],
  ["allOf", 24, repeated(schema)],
  ["properties", 25, message(() => [["*", 1, schema]])],
  ["discriminator", 26, str],
  ["readOnly", 27, bool],
  [
    "xml",
    28,
    message(() => [
      ["name", 1, str],
      ["namespace", 2, str],
      ["prefix", 3, str],
      ["attribute", 4, bool],
      ["wrapped", 5, bool],
      ["x-", 6, any],
    ]),
  ],
  ["externalDocs", 29, externalDocs],
  ["example", 30, any],
  ["x-", 31, any],
];

/** Numbers fields from 1 in the order given: the parameter and header messages share these runs of fields. */
function numbered(entries: ReadonlyArray<readonly [string, Encode]>): Table {
  return entries.map(([key, encode], i) => [key, i + 1, encode] as const);
}

const primitivesItems = message(() => PRIMITIVES_ITEMS);
const PRIMITIVE: ReadonlyArray<readonly [string, Encode]> = [
  ["type", str],
  ["format", str],
  ["items", primitivesItems],
  ["collectionFormat", str],
  ["default", any],
  ["maximum", double],
  ["exclusiveMaximum", bool],
  ["minimum", double],
  ["exclusiveMinimum", bool],
  ["maxLength", int64],
  ["minLength", int64],
  ["pattern", str],
  ["maxItems", int64],
  ["minItems", int64],
  ["uniqueItems", bool],
  ["enum", repeated(any)],
  ["multipleOf", double],
];
const VENDOR = ["x-", any] as const;
const vendorAt = (num: number): readonly [string, number, Encode] => ["x-", num, any];
const PRIMITIVES_ITEMS = numbered([...PRIMITIVE, VENDOR]);
const PARAMETER_HEAD = [
  ["required", bool],
  ["in", str],
  ["description", str],
  ["name", str],
] as const;
/** Query and formData parameters (with allowEmptyValue); header and path parameters have the same fields without it. */
const QUERY_PARAMETER = numbered([...PARAMETER_HEAD, ["allowEmptyValue", bool], ...PRIMITIVE, VENDOR]);
const PATH_PARAMETER = numbered([...PARAMETER_HEAD, ...PRIMITIVE, VENDOR]);
const NON_BODY: Record<string, [number, Table]> = {
  header: [1, PATH_PARAMETER],
  formData: [2, QUERY_PARAMETER],
  query: [3, QUERY_PARAMETER],
  path: [4, PATH_PARAMETER],
};

const bodyParameter = message(() => [
  ["description", 1, str],
  ["name", 2, str],
  ["in", 3, str],
  ["required", 4, bool],
  ["schema", 5, schema],
  ["x-", 6, any],
]);
/** Parameter: oneof body (1) or non-body (2), the latter a oneof by `in`. */
const parameter: Encode = (w, num, v, at) => {
  const p = object(v, at);
  if (p.in === "body") return w.bytes(num, wrap(1, bodyParameter, p, at));
  const which = NON_BODY[String(p.in)];
  if (!which) fail(`${at}.in`, `is not a parameter location: ${JSON.stringify(p.in)}`);
  const [field, table] = which;
  w.bytes(
    num,
    wrap(
      2,
      (w2, n, x) =>
        w2.bytes(
          n,
          wrap(
            field,
            message(() => table),
            x,
            at,
          ),
        ),
      p,
      at,
    ),
  );
};
/** ParametersItem and ResponseValue: a `$ref` is a JsonReference (2), anything else the thing itself (1). */
const orReference =
  (encode: Encode): Encode =>
  (w, num, v, at) =>
    w.bytes(num, object(v, at).$ref !== undefined ? wrap(2, jsonReference, v, at) : wrap(1, encode, v, at));
const parametersItem = orReference(parameter);

const FILE_SCHEMA: Table = [
  ["format", 1, str],
  ["title", 2, str],
  ["description", 3, str],
  ["default", 4, any],
  ["required", 5, strings],
  ["type", 6, str],
  ["readOnly", 7, bool],
  ["externalDocs", 8, externalDocs],
  ["example", 9, any],
  ["x-", 10, any],
];
/** SchemaItem: oneof schema (1) or, for `type: file`, file schema (2). */
const schemaItem: Encode = (w, num, v, at) =>
  w.bytes(
    num,
    object(v, at).type === "file"
      ? wrap(
          2,
          message(() => FILE_SCHEMA),
          v,
          at,
        )
      : wrap(1, schema, v, at),
  );
const header = message(() => numbered([...PRIMITIVE, ["description", str], VENDOR]));
const response = message(() => [
  ["description", 1, str],
  ["schema", 2, schemaItem],
  ["headers", 3, message(() => [["*", 1, header]])],
  ["examples", 4, message(() => [["*", 1, any]])],
  ["x-", 5, any],
]);
const operation = message(() => [
  ["tags", 1, strings],
  ["summary", 2, str],
  ["description", 3, str],
  ["externalDocs", 4, externalDocs],
  ["operationId", 5, str],
  ["produces", 6, strings],
  ["consumes", 7, strings],
  ["parameters", 8, repeated(parametersItem)],
  ["responses", 9, message(() => [["*", 1, orReference(response)], vendorAt(2)])],
  ["schemes", 10, strings],
  ["deprecated", 11, bool],
  ["x-", 13, any],
]);
const pathItem = message(() => [
  ["$ref", 1, str],
  ...["get", "put", "post", "delete", "options", "head", "patch"].map((m, i) => [m, i + 2, operation] as const),
  ["parameters", 9, repeated(parametersItem)],
  ["x-", 10, any],
]);

const DOCUMENT: Table = [
  ["swagger", 1, str],
  [
    "info",
    2,
    message(() => [
      ["title", 1, str],
      ["version", 2, str],
      ["description", 3, str],
      ["termsOfService", 4, str],
      [
        "contact",
        5,
        message(() => [
          ["name", 1, str],
          ["url", 2, str],
          ["email", 3, str],
          ["x-", 4, any],
        ]),
      ],
      [
        "license",
        6,
        message(() => [
          ["name", 1, str],
          ["url", 2, str],
          ["x-", 3, any],
        ]),
      ],
      ["x-", 7, any],
    ]),
  ],
  ["host", 3, str],
  ["basePath", 4, str],
  ["schemes", 5, strings],
  ["consumes", 6, strings],
  ["produces", 7, strings],
  ["paths", 8, message(() => [vendorAt(1), ["*", 2, pathItem]])],
  ["definitions", 9, message(() => [["*", 1, schema]])],
  ["parameters", 10, message(() => [["*", 1, parameter]])],
  ["responses", 11, message(() => [["*", 1, response]])],
  [
    "tags",
    14,
    repeated(
      message(() => [
        ["name", 1, str],
        ["description", 2, str],
        ["externalDocs", 3, externalDocs],
        ["x-", 4, any],
      ]),
    ),
  ],
  ["externalDocs", 15, externalDocs],
  ["x-", 16, any],
];

/**
 * The document as gnostic's `openapi.v2.Document`. A key swagger 2.0 has no place for (e.g. v3's `nullable`) throws,
 * as gnostic's parser refuses such a document. Security requirements and definitions are not encoded: we publish none.
 */
export function encodeOpenApiV2Document(doc: Record<string, unknown>): Buffer {
  return encodeObject(DOCUMENT, doc, "$");
}
