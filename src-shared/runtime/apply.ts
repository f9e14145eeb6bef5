// Server-side apply with one field manager (force), for objects and the status subresource; skips writes that change nothing.
import { isNotFound, refOf, type KubeClient, type KubeObject, type ManagedFieldsEntry } from "../kube/client.js";

/** The one field manager every controller of ours applies with. */
export const FIELD_MANAGER = "spot-optimizer";

export interface ApplyOptions {
  fieldManager?: string;
  /** Take fields owned by other managers (default true: the operator's desired state wins). */
  force?: boolean;
  /** The object as it is now (e.g. from an informer cache): null = known absent; undefined = GET it. */
  current?: KubeObject | null;
}

export interface ApplyResult<T extends KubeObject> {
  object: T;
  /** False when nothing was written because the object already held the applied state. */
  changed: boolean;
}

/**
 * Server-side applies `desired` (a full apply configuration: apiVersion, kind, metadata.name/namespace
 * and only the fields we own). When the current object already holds every applied value and our
 * manager owns no field we stopped applying, nothing is sent: a second apply makes zero writes.
 */
export async function applyObject<T extends KubeObject>(
  client: KubeClient,
  desired: T,
  options: ApplyOptions = {},
): Promise<ApplyResult<T>> {
  return applyTo(client, desired, options, undefined);
}

/** Server-side applies `desired.status` through the status subresource (same no-op rule as applyObject). */
export async function applyStatus<T extends KubeObject>(
  client: KubeClient,
  desired: KubeObject & { status: unknown },
  options: ApplyOptions = {},
): Promise<ApplyResult<T>> {
  const body: KubeObject = {
    apiVersion: desired.apiVersion,
    kind: desired.kind,
    metadata: { name: desired.metadata?.name, namespace: desired.metadata?.namespace },
    status: desired.status,
  };
  return applyTo(client, body as T, options, "status");
}

/** Merge-patches the status subresource unless the current status already contains `statusPatch`. */
export async function patchStatus<T extends KubeObject>(
  client: KubeClient,
  target: KubeObject,
  statusPatch: Record<string, unknown>,
  options: Pick<ApplyOptions, "current" | "fieldManager"> = {},
): Promise<ApplyResult<T>> {
  const ref = refOf(target);
  const current = options.current === undefined ? await client.getIfExists<T>(ref) : (options.current as T | null);
  if (current !== null && current !== undefined && isSubset(statusPatch, current.status))
    return { object: current, changed: false };
  const object = await client.patch<T>(
    ref,
    { status: statusPatch },
    {
      type: "merge",
      subresource: "status",
      fieldManager: options.fieldManager ?? FIELD_MANAGER,
    },
  );
  return { object, changed: true };
}

async function applyTo<T extends KubeObject>(
  client: KubeClient,
  desired: T,
  options: ApplyOptions,
  subresource: string | undefined,
): Promise<ApplyResult<T>> {
  const fieldManager = options.fieldManager ?? FIELD_MANAGER;
  const ref = refOf(desired);
  const current = options.current === undefined ? await getOrNull<T>(client, ref) : (options.current as T | null);
  if (current !== null && isApplied(desired, current, { fieldManager, subresource }))
    return { object: current, changed: false };
  const object = await client.patch<T>(ref, desired, {
    type: "apply",
    fieldManager,
    force: options.force ?? true,
    subresource,
  });
  return { object, changed: true };
}

async function getOrNull<T extends KubeObject>(client: KubeClient, ref: ReturnType<typeof refOf>): Promise<T | null> {
  try {
    return await client.get<T>(ref);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/**
 * True when applying `desired` to `current` would change nothing: our manager already has an Apply
 * entry (for this subresource), owns no field outside `desired`, and every desired value is present.
 */
export function isApplied(
  desired: KubeObject,
  current: KubeObject,
  options: { fieldManager?: string; subresource?: string } = {},
): boolean {
  const manager = options.fieldManager ?? FIELD_MANAGER;
  const entry = (current.metadata?.managedFields ?? []).find(
    (m: ManagedFieldsEntry) =>
      m.manager === manager && m.operation === "Apply" && (m.subresource ?? "") === (options.subresource ?? ""),
  );
  if (entry === undefined) return false;
  const desiredPaths = fieldPaths(stripIdentity(desired));
  const owned = ownedFieldPaths(entry.fieldsV1 ?? {});
  if (!owned.every((path) => desiredPaths.has(path))) return false;
  return isSubset(stripIdentity(desired), current);
}

/** apiVersion and kind are never "owned"; name/namespace identify the object. */
function stripIdentity(object: KubeObject): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, ...rest } = object;
  return rest;
}

/** Dotted paths of every object field in `value` (arrays count as leaves). */
export function fieldPaths(value: unknown, prefix = "", out: Set<string> = new Set()): Set<string> {
  if (!isPlainObject(value)) return out;
  for (const [key, child] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    out.add(path);
    fieldPaths(child, path, out);
  }
  return out;
}

/**
 * Leaf paths a manager owns according to managedFields.fieldsV1. Entries inside lists (k:/v:/i:)
 * are cut at the list field, matching fieldPaths' treatment of arrays as leaves.
 */
export function ownedFieldPaths(fieldsV1: Record<string, unknown>, prefix = ""): string[] {
  const out: string[] = [];
  for (const [key, child] of Object.entries(fieldsV1)) {
    if (!key.startsWith("f:")) continue;
    const path = prefix ? `${prefix}.${key.slice(2)}` : key.slice(2);
    const children = isPlainObject(child) ? Object.keys(child).filter((k) => k !== ".") : [];
    if (children.length === 0 || children.some((k) => !k.startsWith("f:"))) out.push(path);
    else out.push(...ownedFieldPaths(child as Record<string, unknown>, path));
  }
  return out;
}

/** Every value in `want` is present and equal in `have`; arrays must match element by element. */
export function isSubset(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(have) && want.length === have.length && want.every((item, i) => isSubset(item, have[i]));
  }
  if (isPlainObject(want)) {
    if (!isPlainObject(have)) return false;
    return Object.entries(want).every(([key, value]) => value === undefined || isSubset(value, have[key]));
  }
  return want === have;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
