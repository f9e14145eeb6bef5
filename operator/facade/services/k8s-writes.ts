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

function statusMessage(body: unknown): string {
  let parsed = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      return body.slice(0, 500);
    }
  }
  const message = (parsed as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : "request rejected by the Kubernetes API";
}

/** Kubernetes API errors -> facade errors; the API's validation message (with field path) is kept for 422s. */
export function mapKubeError(err: unknown, what: string): Error {
  if (!(err instanceof ApiException)) return err instanceof Error ? err : new Error(String(err));
  const message = statusMessage(err.body);
  if (err.code === 404) return new NotFoundError(`${what} not found`);
  if (err.code === 409) return new ConflictError(`${what}: ${message}`);
  if (err.code === 422 || err.code === 400) return new UnprocessableError(`${what}: ${message}`);
  return new HttpError(502, `Kubernetes API answered ${err.code} for ${what}`);
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
  const describe = (ref: { kind?: string; metadata?: { name?: string } }): string =>
    `${ref.kind ?? "object"} ${ref.metadata?.name ?? ""}`.trim();
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
        throw mapKubeError(err, `${ref.kind} ${ref.name}`);
      }
    },
    async remove(ref) {
      try {
        await api.delete(header(ref));
      } catch (err) {
        throw mapKubeError(err, `${ref.kind} ${ref.name}`);
      }
    },
    async read(ref) {
      try {
        return (await api.read(header(ref) as never)) as never;
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return undefined;
        throw mapKubeError(err, `${ref.kind} ${ref.name}`);
      }
    },
  };
}
