// Typed custom-resource helpers for tests: get, list and apply a CR validated by its zod schema.
import type { z } from "zod";
import type { KubeClient, KubeObject, ListOptions, ResourceRef } from "../../src-shared/kube/client.js";
import { applyObject, type ApplyOptions, type ApplyResult } from "../../src-shared/runtime/apply.js";

/** What the helpers need of a kind from src-shared/crds (e.g. NodeTemplateKind). */
export interface TypedKind<S extends z.ZodType = z.ZodType> {
  apiVersion: string;
  kind: string;
  resource: S;
}

export function crRef(kind: TypedKind, namespace?: string, name?: string): ResourceRef {
  return { apiVersion: kind.apiVersion, kind: kind.kind, namespace, name };
}

/** Reads one custom resource and checks it against the zod schema (throws naming the field if invalid). */
export async function getCr<S extends z.ZodType>(
  client: KubeClient,
  kind: TypedKind<S>,
  namespace: string,
  name: string,
): Promise<z.infer<S> | undefined> {
  const raw = await client.getIfExists({ apiVersion: kind.apiVersion, kind: kind.kind, namespace, name });
  return raw === undefined ? undefined : kind.resource.parse(raw);
}

/** Lists custom resources (all pages) in a namespace, or everywhere when namespace is undefined. */
export async function listCrs<S extends z.ZodType>(
  client: KubeClient,
  kind: TypedKind<S>,
  namespace?: string,
  options: ListOptions = {},
): Promise<Array<z.infer<S>>> {
  const list = await client.listAll({ apiVersion: kind.apiVersion, kind: kind.kind, namespace }, options);
  return list.items.map((item) => kind.resource.parse({ apiVersion: kind.apiVersion, kind: kind.kind, ...item }));
}

/** Server-side applies a custom resource with our field manager (apiVersion/kind filled in from the kind). */
export async function applyCr<S extends z.ZodType>(
  client: KubeClient,
  kind: TypedKind<S>,
  object: Omit<KubeObject, "apiVersion" | "kind"> & { metadata: { name: string; namespace: string } },
  options: ApplyOptions = {},
): Promise<ApplyResult<KubeObject>> {
  return applyObject(client, { ...object, apiVersion: kind.apiVersion, kind: kind.kind }, options);
}
