// Organisations: one labelled namespace each (`org-<org id>`), with the display name and plan as annotations.
import { randomUUID } from "node:crypto";
import { isConflict, type KubeClient, type KubeObject } from "../../../src-shared/kube/client.js";
import { NotFoundError } from "../errors.js";
import { ORG_ID_LABEL } from "./store.js";

export const ORGANISATION_LABEL = "spotoptimizer.io/organisation";
export const ORG_NAME_ANNOTATION = "spotoptimizer.io/org-name";
export const ORG_PLAN_ANNOTATION = "spotoptimizer.io/plan";
export const ORG_CREATED_ANNOTATION = "spotoptimizer.io/created-at";
export const ORG_FLAGS_ANNOTATION = "spotoptimizer.io/feature-flags";

export interface Organisation {
  orgId: string;
  name: string;
  namespace: string;
  plan: string;
  createdAt: string;
  /** Feature flags set by a super_admin (PATCH /clients/{id}/flags). */
  flags: Record<string, boolean>;
}

/** The org id is a UUID, so `org-<uuid>` (40 chars) is always a valid, stable namespace name. */
export function orgNamespace(orgId: string): string {
  return `org-${orgId}`;
}

/** The organisation id of its namespace (orgNamespace's inverse); any other name is returned as it is. */
export function orgIdOfNamespace(namespace: string): string {
  return namespace.startsWith("org-") ? namespace.slice(4) : namespace;
}

const ORG_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isOrgId(value: string): boolean {
  return ORG_ID.test(value);
}

function parseFlags(raw: string | undefined): Record<string, boolean> {
  try {
    const value = JSON.parse(raw ?? "{}") as unknown;
    if (value === null || typeof value !== "object" || Array.isArray(value)) return {};
    return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === "boolean")) as Record<
      string,
      boolean
    >;
  } catch {
    return {};
  }
}

function fromNamespace(ns: KubeObject): Organisation | undefined {
  const meta = ns.metadata ?? {};
  const labels = meta.labels ?? {};
  if (labels[ORGANISATION_LABEL] !== "true" || meta.deletionTimestamp) return undefined;
  const orgId = labels[ORG_ID_LABEL] ?? "";
  return { orgId, namespace: meta.name ?? "", ...described(meta.annotations ?? {}, orgId, meta.creationTimestamp) };
}

/** What the namespace's annotations say about the organisation, with the defaults of an older namespace. */
function described(
  annotations: Record<string, string>,
  orgId: string,
  creationTimestamp: string | undefined,
): Pick<Organisation, "name" | "plan" | "createdAt" | "flags"> {
  return {
    name: annotations[ORG_NAME_ANNOTATION] ?? orgId,
    plan: annotations[ORG_PLAN_ANNOTATION] ?? "free",
    createdAt: annotations[ORG_CREATED_ANNOTATION] ?? creationTimestamp ?? "",
    flags: parseFlags(annotations[ORG_FLAGS_ANNOTATION]),
  };
}

export async function createOrganisation(client: KubeClient, name: string, now: Date): Promise<Organisation> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const orgId = randomUUID();
    const org: Organisation = {
      orgId,
      name,
      namespace: orgNamespace(orgId),
      plan: "free",
      createdAt: now.toISOString(),
      flags: {},
    };
    try {
      await client.create({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
          name: org.namespace,
          labels: {
            [ORGANISATION_LABEL]: "true",
            [ORG_ID_LABEL]: orgId,
            "app.kubernetes.io/managed-by": "spot-optimizer",
          },
          annotations: {
            [ORG_NAME_ANNOTATION]: name,
            [ORG_PLAN_ANNOTATION]: org.plan,
            [ORG_CREATED_ANNOTATION]: org.createdAt,
          },
        },
      });
      return org;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  throw new Error("could not allocate an organisation id");
}

/** NotFoundError for an unknown id, a malformed id and a namespace that is not an organisation alike. */
export async function getOrganisation(client: KubeClient, orgId: string): Promise<Organisation> {
  const ns = isOrgId(orgId)
    ? await client.getIfExists({ apiVersion: "v1", kind: "Namespace", name: orgNamespace(orgId) })
    : undefined;
  const org = ns ? fromNamespace(ns) : undefined;
  if (!org || org.orgId !== orgId) throw new NotFoundError(`organisation ${orgId} not found`);
  return org;
}

/** Whether the organisation exists and is not being deleted (its namespace terminating). */
export async function organisationLive(client: KubeClient, orgId: string): Promise<boolean> {
  const ns = await client.getIfExists({ apiVersion: "v1", kind: "Namespace", name: orgNamespace(orgId) });
  return ns !== undefined && !ns.metadata?.deletionTimestamp && fromNamespace(ns)?.orgId === orgId;
}

/** All organisations (super_admin views only; not on a tenant request path). */
export async function listOrganisations(client: KubeClient): Promise<Organisation[]> {
  const list = await client.list(
    { apiVersion: "v1", kind: "Namespace" },
    { labelSelector: `${ORGANISATION_LABEL}=true` },
  );
  return list.items.map(fromNamespace).filter((o): o is Organisation => o !== undefined);
}

export async function deleteOrganisation(client: KubeClient, orgId: string): Promise<void> {
  await client.delete({ apiVersion: "v1", kind: "Namespace", name: orgNamespace(orgId) });
}

/** Merges `flags` into the organisation's flags (JSON annotation, merge patch); returns before and after. */
export async function updateOrganisationFlags(
  client: KubeClient,
  orgId: string,
  flags: Record<string, boolean>,
): Promise<{ before: Record<string, boolean>; after: Record<string, boolean> }> {
  const org = await getOrganisation(client, orgId);
  const after = { ...org.flags, ...flags };
  await client.patch(
    { apiVersion: "v1", kind: "Namespace", name: org.namespace },
    { metadata: { annotations: { [ORG_FLAGS_ANNOTATION]: JSON.stringify(after) } } },
    { type: "merge" },
  );
  return { before: org.flags, after };
}
