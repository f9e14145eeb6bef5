// Reads a built-in object's JSON as kube-apiserver's typed decoder does: type errors are 400, unknown fields dropped, quantities and times canonical.
import { messageFields, messageOf, type ProtoField } from "./protobuf.js";
import { canonicalQuantity } from "./quantity.js";
import { badRequest } from "./status.js";

const META = "k8s.io.apimachinery.pkg.apis.meta.v1";
const GO_TYPES: Record<string, string> = {
  string: "string",
  bytes: "[]uint8",
  bool: "bool",
  int32: "int32",
  int64: "int64",
  double: "float64",
};

/** What decoding found besides the object: the paths of the unknown fields it dropped. */
export interface BuiltinDecodeResult {
  object: Record<string, unknown>;
  unknownFields: string[];
}

interface Walk {
  kind: string;
  version: string;
  unknown: string[];
}

const jsonTypeOf = (v: unknown): string =>
  Array.isArray(v) ? "array" : v === null ? "null" : typeof v === "object" ? "object" : typeof v;

function typeError(w: Walk, v: unknown, where: { message: string; path: string; type: string }): Error {
  const goType = GO_TYPES[where.type] ?? where.type.split(".").pop();
  return cannotHandle(
    w,
    `json: cannot unmarshal ${jsonTypeOf(v)} into Go struct field ${where.message.split(".").pop()}.${where.path} of type ${goType}`,
  );
}

function cannotHandle(w: Walk, message: string): Error {
  return badRequest(`${w.kind} in version "${w.version}" cannot be handled as a ${w.kind}: ${message}`);
}

/** Go's encoding/json accepts an integer field only from an integral JSON number in range. */
function integer(v: unknown, bits: 32 | 64): boolean {
  if (typeof v !== "number" || !Number.isInteger(v)) return false;
  return bits === 64 || (v >= -(2 ** 31) && v < 2 ** 31);
}

const scalarChecks: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === "string",
  bool: (v) => typeof v === "boolean",
  int32: (v) => integer(v, 32),
  int64: (v) => integer(v, 64),
  double: (v) => typeof v === "number",
};

function scalar(w: Walk, v: unknown, f: { type: string; message: string; path: string }): unknown {
  if (f.type === "bytes" && typeof v === "string") return base64(w, v);
  if (!scalarChecks[f.type]?.(v)) throw typeError(w, v, f);
  return v;
}

/** Go decodes []byte from standard base64 and re-encodes it canonically. */
function base64(w: Walk, v: string): string {
  const compact = v.replace(/[\r\n]/g, "");
  const bad = /[^A-Za-z0-9+/=]/.exec(compact);
  const badPadding = compact.length % 4 !== 0 || /=[^=]/.test(compact);
  if (bad || badPadding) {
    const at = bad ? bad.index : Math.max(0, compact.length - (compact.length % 4 || 4));
    throw cannotHandle(w, `illegal base64 data at input byte ${at}`);
  }
  return Buffer.from(compact, "base64").toString("base64");
}

const TIME_FORMAT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** metav1.Time is written as UTC with whole seconds, MicroTime as UTC with microseconds. */
function time(w: Walk, v: unknown, micro: boolean): unknown {
  if (v === null) return undefined;
  if (typeof v !== "string" || !TIME_FORMAT.test(v) || Number.isNaN(Date.parse(v)))
    throw cannotHandle(w, `parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05Z07:00": cannot parse`);
  const ms = Date.parse(v);
  const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, "");
  if (!micro) return `${iso}Z`;
  const frac = (/\.(\d+)/.exec(v)?.[1] ?? "").padEnd(6, "0").slice(0, 6);
  return `${iso}.${frac}Z`;
}

function quantity(w: Walk, v: unknown): string {
  const q = canonicalQuantity(typeof v === "number" ? String(v) : v);
  if (q === undefined)
    throw cannotHandle(
      w,
      "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    );
  return q;
}

function special(
  w: Walk,
  v: unknown,
  f: { type: string; message: string; path: string },
): { value: unknown } | undefined {
  switch (f.type) {
    case `${META}.Time`:
      return { value: time(w, v, false) };
    case `${META}.MicroTime`:
      return { value: time(w, v, true) };
    case "k8s.io.apimachinery.pkg.api.resource.Quantity":
      return { value: quantity(w, v) };
    case "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
      if (typeof v === "string" || integer(v, 32)) return { value: v };
      throw typeError(w, v, { ...f, type: "IntOrString" });
    case "k8s.io.apimachinery.pkg.runtime.RawExtension":
    case `${META}.FieldsV1`:
    case `${META}.Duration`:
      return { value: v };
    default:
      return undefined;
  }
}

function value(w: Walk, v: unknown, f: { type: string; message: string; path: string }): unknown {
  if (v === null) return undefined;
  const custom = special(w, v, f);
  if (custom) return custom.value;
  if (f.type.startsWith("map:")) return map(w, v, f);
  if (messageFields(f.type)) {
    if (typeof v !== "object" || Array.isArray(v)) throw typeError(w, v, f);
    return message(w, v as Record<string, unknown>, { name: f.type, path: f.path });
  }
  return scalar(w, v, f);
}

function map(w: Walk, v: unknown, f: { type: string; message: string; path: string }): unknown {
  if (typeof v !== "object" || Array.isArray(v)) throw typeError(w, v, { ...f, type: "map" });
  const valueType = f.type.split(":")[2]!;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const decoded = value(w, x, { type: valueType, message: f.message, path: `${f.path}.${k}` });
    // A null map value is the value type's zero value in Go.
    out[k] = decoded === undefined ? (valueType === "string" || valueType === "bytes" ? "" : {}) : decoded;
  }
  return out;
}

function field(w: Walk, v: unknown, f: ProtoField, at: { message: string; path: string }): unknown {
  const where = { type: f.type, message: at.message, path: at.path ? `${at.path}.${f.json}` : f.json };
  if (!f.repeated || v === null) return value(w, v, where);
  if (!Array.isArray(v)) throw typeError(w, v, { ...where, type: `[]${where.type.split(".").pop()}` });
  return v.map((item, i) => value(w, item, { ...where, path: `${where.path}[${i}]` }) ?? zeroOf(f.type));
}

function zeroOf(type: string): unknown {
  if (type === "string") return "";
  if (type === "bool") return false;
  if (type === "int32" || type === "int64" || type === "double") return 0;
  return type.startsWith("map:") || messageFields(type) ? {} : undefined;
}

const fieldPath = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/** Go writes a non-omitempty, non-pointer scalar even when it is zero. */
function writtenZero(f: ProtoField): unknown {
  if (f.omitempty || f.pointer || f.repeated) return undefined;
  const zero = zeroOf(f.type);
  return typeof zero === "object" ? undefined : zero;
}

/** The JSON keys of a message, its inlined members' keys included (Volume: name and every VolumeSource key). */
function jsonKeys(name: string, into = new Set<string>()): Set<string> {
  for (const f of messageFields(name) ?? []) {
    if (f.inline) jsonKeys(f.type, into);
    else into.add(f.json);
  }
  return into;
}

/**
 * Decodes one message's JSON object; Go's zero values of non-omitempty scalars are filled in as Go writes them. An
 * inlined member reads the same JSON object as its parent, so only the outermost message reports unknown keys.
 */
function message(
  w: Walk,
  obj: Record<string, unknown>,
  at: { name: string; path: string; inlined?: boolean },
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of messageFields(at.name)!) {
    if (f.inline) {
      Object.assign(out, message(w, obj, { name: f.type, path: at.path, inlined: true }));
      continue;
    }
    const decoded = f.json in obj ? field(w, obj[f.json], f, { message: at.name, path: at.path }) : undefined;
    const v = decoded ?? writtenZero(f);
    if (v !== undefined) out[f.json] = v;
  }
  if (at.inlined) return out;
  const known = jsonKeys(at.name);
  w.unknown.push(
    ...Object.keys(obj)
      .filter((k) => !known.has(k))
      .map((k) => fieldPath(at.path, k)),
  );
  return out;
}

/**
 * Decodes a built-in object as the typed decoder would, or undefined for kinds without a typed schema (custom
 * resources). apiVersion and kind are kept; unknown fields are dropped and reported.
 */
export function decodeBuiltinObject(
  obj: Record<string, unknown>,
  apiVersion: string,
  kind: string,
): BuiltinDecodeResult | undefined {
  const name = messageOf(apiVersion, kind);
  if (!name) return undefined;
  const w: Walk = { kind, version: apiVersion.split("/").pop()!, unknown: [] };
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  const decoded = message(w, rest, { name, path: "" });
  return { object: { apiVersion, kind, ...decoded }, unknownFields: w.unknown };
}
