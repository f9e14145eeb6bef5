// Small helpers over plain JSON objects: deep equality, cloning, timestamps, names, dotted paths.
import { randomBytes } from "node:crypto";
import type { KubeObject } from "./selectors.js";

/** Structural equality of JSON values (key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]));
}

/** A deep copy of a JSON value (drops undefined, as the wire would). */
export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

const GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** `generateName` suffix: 5 characters from the apiserver's alphabet (no vowels, no ambiguous digits). */
export function generatedSuffix(): string {
  const bytes = randomBytes(5);
  let out = "";
  for (const b of bytes) out += GENERATE_ALPHABET[b % GENERATE_ALPHABET.length];
  return out;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Error message for a name that is not a DNS-1123 subdomain, or undefined when valid. */
export function dns1123SubdomainError(name: string): string | undefined {
  if (name.length > 253) return "must be no more than 253 characters";
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }
  return undefined;
}

/** Error message for a name that is not a DNS-1123 label, or undefined when valid. */
export function dns1123LabelError(name: string): string | undefined {
  if (name.length > 63) return "must be no more than 63 characters";
  if (!DNS1123_LABEL.test(name)) {
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
  }
  return undefined;
}

/** Error for names that are not valid path segments (RBAC names may contain ':'). */
export function pathSegmentError(name: string): string | undefined {
  if (name === "." || name === "..") return `may not be '${name}'`;
  if (/[/%]/.test(name)) return "may not contain '/' or '%'";
  return undefined;
}

/** Reads `.spec.replicas`-style paths. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: any = obj;
  for (const seg of path.replace(/^\./, "").split(".")) {
    if (seg === "") continue;
    cur = cur?.[seg];
  }
  return cur;
}

/** Writes `.spec.replicas`-style paths, creating intermediate objects. */
export function setPath(obj: Record<string, any>, path: string, value: unknown): void {
  const segs = path
    .replace(/^\./, "")
    .split(".")
    .filter((s) => s !== "");
  let cur: Record<string, any> = obj;
  for (const seg of segs.slice(0, -1)) {
    if (typeof cur[seg] !== "object" || cur[seg] === null) cur[seg] = {};
    cur = cur[seg] as Record<string, any>;
  }
  cur[segs[segs.length - 1]!] = value;
}

/** The metadata of an object, created if absent. */
export function meta(obj: KubeObject): Record<string, any> {
  if (!obj.metadata || typeof obj.metadata !== "object") obj.metadata = {};
  return obj.metadata;
}

/** An object without metadata and (optionally) status: what "spec changes" compare. */
export function specPart(obj: KubeObject, withoutStatus: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === "metadata" || k === "apiVersion" || k === "kind") continue;
    if (withoutStatus && k === "status") continue;
    out[k] = v;
  }
  return out;
}

/** Whether `v` is a plain JSON object. */
export function isObject(v: unknown): v is Record<string, any> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Human age like kubectl prints it ("5s", "3m", "2d4h"), for Table rows. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ""}`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return `${d}d${h % 24 ? `${h % 24}h` : ""}`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}
