// Writes from the facade to the Kubernetes API (create, merge patch, delete) with field manager
// `spot-optimizer-facade`, mapping API errors to the facade's typed HTTP errors.
import {
  ApiException,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { ConflictError, HttpError, NotFoundError, UnprocessableError } from "../errors.js";

export const FIELD_MANAGER = "spot-optimizer-facade";

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

interface StatusBody {
  message?: unknown;
  reason?: unknown;
  details?: { causes?: Array<{ field?: unknown; message?: unknown; reason?: unknown }> };
}

function statusBody(body: unknown): StatusBody {
  if (typeof body !== "string") return (body ?? {}) as StatusBody;
  try {
    return (JSON.parse(body) ?? {}) as StatusBody;
  } catch {
    return {};
  }
}

/** What the facade calls each kind, and which request field each CRD field comes from. */
const FACADE_WORDS: Record<string, { noun: string; fields: Record<string, string> }> = {
  NodeTemplate: {
    noun: "template",
    fields: {
      "metadata.name": "name",
      "spec.clusterRef.name": "cluster_id",
      "spec.diskType": "disk_type",
      "spec.diskSize": "disk_size",
      "spec.isDefault": "is_default",
    },
  },
  ManagedCluster: { noun: "cluster", fields: { "metadata.name": "cluster_id" } },
  HibernationSchedule: {
    noun: "hibernation schedule",
    fields: {
      "spec.clusterRef.name": "cluster_id",
      "spec.weekly": "schedule_matrix",
      "spec.matrix": "schedule_matrix",
      "spec.exceptions.action": "mode",
      "spec.override.durationHours": "duration_hours",
      "spec.prewarmMinutes": "minutes",
    },
  },
  OptimizationPolicy: {
    noun: "policy",
    fields: { "spec.clusterRef.name": "cluster_id", "spec.exclusions.namespaces": "namespaces" },
  },
  Secret: { noun: "agent token", fields: {} },
};

function wordsOf(kind: string): { noun: string; fields: Record<string, string> } {
  return FACADE_WORDS[kind] ?? { noun: "object", fields: {} };
}

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** `spec.families[0]` -> `families`: the declared request field, else the last segment in snake_case. */
export function facadeField(kind: string, path: string): string {
  const bare = path.replace(/\[[^\]]*\]/g, "");
  const fields = wordsOf(kind).fields;
  for (let p = bare; p; p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "") if (fields[p]) return fields[p];
  return snake(bare.split(".").pop() || bare);
}

/** Removes what only Kubernetes knows: resource plurals and groups, kinds, Go types, CRD field paths. */
function scrub(text: string, kind: string, replace: Array<[string, string]>): string {
  let out = text;
  for (const [from, to] of replace) if (from) out = out.split(from).join(to);
  return out
    .replace(/\b[a-z0-9-]+(\.[a-z0-9-]+)*\.(spotoptimizer\.io|k8s\.io)\b/g, wordsOf(kind).noun)
    .replace(/\bv1(alpha|beta)?\d*\.[A-Za-z]+\b/g, "value")
    .replace(/Go (struct field|value of type) \S+/g, "the expected type")
    .replace(/\bin body\b\s*/g, "")
    .replace(new RegExp(`\\b${kind}\\b`, "g"), wordsOf(kind).noun)
    .slice(0, 500);
}

function causeText(kind: string, cause: { field?: unknown; message?: unknown }): string {
  const path = typeof cause.field === "string" ? cause.field : "";
  const message = typeof cause.message === "string" ? cause.message : "invalid value";
  if (!path) return scrub(message, kind, []);
  const field = facadeField(kind, path);
  // `Invalid value: 2000: spec.diskSize in body should be ...` -> `disk_size: should be ...`
  const said = scrub(message.replace(/^Invalid value: ("[^"]*"|\S+): /, ""), kind, [[path, field]]);
  return `${field}: ${said.startsWith(`${field} `) ? said.slice(field.length + 1) : said}`;
}

/** The API's validation answer in the facade's words: `disk_size: must be ...`, one cause after another. */
function invalidDetail(kind: string, status: StatusBody): string {
  const causes = status.details?.causes ?? [];
  if (causes.length > 0) return causes.map((c) => causeText(kind, c)).join("; ");
  const message = typeof status.message === "string" ? status.message.replace(/^.*? is invalid: /, "") : "";
  return `${wordsOf(kind).noun}: ${scrub(message || "rejected by validation", kind, [])}`;
}

/** The object a write was about, as the facade's error texts name it. */
export interface WriteTarget {
  kind?: string | undefined;
  name?: string | undefined;
}

function conflictError(what: string, reason: unknown): ConflictError {
  if (reason === "AlreadyExists") return new ConflictError(`${what} already exists`);
  return new ConflictError(`${what} was changed at the same time; try again`);
}

/**
 * Kubernetes API errors -> facade errors in the facade's own words: a 422's detail names the request field
 * (`families`, `disk_size`), never a CRD plural, group, Go type or CRD field path.
 */
export function mapKubeError(err: unknown, target: WriteTarget): Error {
  if (!(err instanceof ApiException)) return err instanceof Error ? err : new Error(String(err));
  const kind = target.kind ?? "";
  const noun = wordsOf(kind).noun;
  const what = target.name ? `${noun} "${target.name}"` : noun;
  const status = statusBody(err.body);
  if (err.code === 404) return new NotFoundError(`${what} not found`);
  if (err.code === 409) return conflictError(what, status.reason);
  if (err.code === 422 || err.code === 400) return new UnprocessableError(invalidDetail(kind, status));
  return new HttpError(502, `the cluster's API answered ${err.code} for ${what}`);
}

export interface KubeWriter {
  create<T extends object>(obj: T): Promise<T>;
  /** JSON merge patch (RFC 7386) of the given fields; `null` removes a field. */
  mergePatch<T extends object>(ref: ObjectRef, patch: Record<string, unknown>): Promise<T>;
  remove(ref: ObjectRef): Promise<void>;
  read<T extends object>(ref: ObjectRef): Promise<T | undefined>;
}

function header(ref: ObjectRef): KubernetesObject {
  return { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } };
}

export function createKubeWriter(kubeConfig: KubeConfig): KubeWriter {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  const describe = (ref: { kind?: string; metadata?: { name?: string } }): WriteTarget => ({
    kind: ref.kind,
    name: ref.metadata?.name,
  });
  return {
    async create(obj) {
      try {
        return (await api.create(obj as KubernetesObject, undefined, undefined, FIELD_MANAGER)) as never;
      } catch (err) {
        throw mapKubeError(err, describe(obj as KubernetesObject));
      }
    },
    async mergePatch(ref, patch) {
      try {
        const head = header(ref);
        const metadata = { ...((patch.metadata as Record<string, unknown> | undefined) ?? {}), ...head.metadata };
        const body = { ...patch, ...head, metadata } as KubernetesObject;
        return (await api.patch(
          body,
          undefined,
          undefined,
          FIELD_MANAGER,
          undefined,
          PatchStrategy.MergePatch,
        )) as never;
      } catch (err) {
        throw mapKubeError(err, ref);
      }
    },
    async remove(ref) {
      try {
        await api.delete(header(ref));
      } catch (err) {
        throw mapKubeError(err, ref);
      }
    },
    async read(ref) {
      try {
        return (await api.read(header(ref) as never)) as never;
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return undefined;
        throw mapKubeError(err, ref);
      }
    },
  };
}
