// The facade's one way to write to the Kubernetes API over the shared KubeClient (create, server-side apply with one
// field manager per service, delete, read), and the one place Kubernetes API errors become HTTP errors.
import { KubeApiError, isNotFound, type KubeClient, type KubeObject } from "../../../src-shared/kube/client.js";
import { ConflictError, HttpError, NotFoundError, UnprocessableError } from "../errors.js";

export const FIELD_MANAGER = "spot-optimizer-facade";

/**
 * Server-side apply managers, one per facade service: an apply owns exactly the fields it names, so each service
 * keeps its own set (the replan request's annotations never drop the default template the template service set).
 */
export const APPLY_MANAGERS = {
  connect: "spot-optimizer-facade-connect",
  replan: "spot-optimizer-facade-replan",
  templates: "spot-optimizer-facade-templates",
} as const;

export type ApplyManager = (typeof APPLY_MANAGERS)[keyof typeof APPLY_MANAGERS];

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

/** `template "web"`, or the bare noun when the name is not known. */
function described(target: WriteTarget): string {
  const noun = wordsOf(target.kind ?? "").noun;
  return target.name ? `${noun} "${target.name}"` : noun;
}

function conflictError(what: string, reason: unknown): ConflictError {
  if (reason === "AlreadyExists") return new ConflictError(`${what} already exists`);
  return new ConflictError(`${what} was changed at the same time; try again`);
}

/**
 * Kubernetes API errors -> facade errors in the facade's own words: a 422's detail names the request field
 * (`families`, `disk_size`), never a CRD plural, group, Go type or CRD field path. Anything else passes unchanged.
 */
export function mapKubeError(err: unknown, target: WriteTarget = {}): Error {
  if (!(err instanceof KubeApiError)) return err instanceof Error ? err : new Error(String(err));
  const kind = target.kind ?? "";
  const what = described(target);
  const status = statusBody(err.body);
  if (err.statusCode === 404) return new NotFoundError(`${what} not found`);
  if (err.statusCode === 409) return conflictError(what, status.reason);
  if (err.statusCode === 422 || err.statusCode === 400) return new UnprocessableError(invalidDetail(kind, status));
  return new HttpError(502, `the cluster's API answered ${err.statusCode} for ${what}`);
}

/** A server-side apply: the fields this configuration names are the manager's; `null` removes a field. */
export interface ApplyInput {
  ref: ObjectRef;
  manager: ApplyManager;
  /** The configuration's body besides apiVersion, kind, name and namespace (spec, metadata.annotations, data...). */
  body: Record<string, unknown>;
}

/** A compare-and-swap: the change lands only on the object at `resourceVersion`, else ConflictError. */
export interface SwapInput {
  ref: ObjectRef;
  resourceVersion: string | undefined;
  /** RFC 7386 merge patch of the object as read (`null` removes a field). */
  patch: Record<string, unknown>;
}

export interface KubeWriter {
  /** Creates; an object of that name that exists already answers ConflictError ("... already exists"). */
  create<T extends object>(obj: T): Promise<T>;
  /** Server-side apply (force) as the input's manager: creates the object or sets the fields it names. */
  apply<T extends object>(input: ApplyInput): Promise<T>;
  /**
   * Read-modify-write of an invariant that spans concurrent writers (one default per cluster, one schedule per
   * cluster): the caller retries a ConflictError on a fresh read. Never creates.
   */
  swap<T extends object>(input: SwapInput): Promise<T>;
  remove(ref: ObjectRef): Promise<void>;
  /** The object as the API server holds it now; undefined when it does not exist. */
  read<T extends object>(ref: ObjectRef): Promise<T | undefined>;
}

function applyBody(input: ApplyInput): KubeObject {
  const { ref, body } = input;
  const metadata = {
    ...((body.metadata as Record<string, unknown> | undefined) ?? {}),
    name: ref.name,
    namespace: ref.namespace,
  };
  return { ...body, apiVersion: ref.apiVersion, kind: ref.kind, metadata } as KubeObject;
}

/** The patch with the precondition: a merge patch naming metadata.resourceVersion fails with 409 when it moved. */
function swapBody(input: SwapInput): Record<string, unknown> {
  const metadata = { ...((input.patch.metadata as Record<string, unknown> | undefined) ?? {}) };
  return { ...input.patch, metadata: { ...metadata, resourceVersion: input.resourceVersion } };
}

/** The facade's writer over the shared client; every failure leaves as a facade error (mapKubeError). */
export function createKubeWriter(client: KubeClient): KubeWriter {
  const fail = (err: unknown, target: WriteTarget): never => {
    throw mapKubeError(err, target);
  };
  return {
    async create(obj) {
      const object = obj as KubeObject;
      return (await client
        .create(object, { fieldManager: FIELD_MANAGER })
        .catch((err: unknown) => fail(err, { kind: object.kind, name: object.metadata?.name }))) as never;
    },
    async apply(input) {
      return (await client
        .patch(input.ref, applyBody(input), { type: "apply", fieldManager: input.manager, force: true })
        .catch((err: unknown) => fail(err, input.ref))) as never;
    },
    async swap(input) {
      return (await client
        .patch(input.ref, swapBody(input), { type: "merge", fieldManager: FIELD_MANAGER })
        .catch((err: unknown) => fail(err, input.ref))) as never;
    },
    async remove(ref) {
      const deleted = await client.delete(ref).catch((err: unknown) => fail(err, ref));
      if (!deleted) throw new NotFoundError(`${described(ref)} not found`);
    },
    async read(ref) {
      try {
        return (await client.get(ref)) as never;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        return fail(err, ref);
      }
    },
  };
}
