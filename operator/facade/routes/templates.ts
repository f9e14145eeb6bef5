// Node template endpoints: NodeTemplate CRs in the organisation's namespace (list from the cache, create, set the
// cluster's single default, validate, delete); the NodeTemplate controller turns them into Karpenter objects.
import { z } from "zod";
import { API_VERSION, type ManagedCluster, type NodeTemplate } from "../../../src-shared/crds/index.js";
import { NotFoundError, UnprocessableError } from "../errors.js";
import { ORG_ROLES, defineRoute, type RouteDef } from "../http.js";
import { clusterOwnerReference, targetCluster } from "../services/cluster-target.js";
import { resolveCluster } from "../services/fleet-view.js";
import {
  normaliseArchitecture,
  validateTemplate,
  type InstanceCatalog,
} from "../../../src-shared/nodetemplate/validate.js";
import { ClusterId, IdParams, crRef, resourceContext, settle, specOf, type ResourceContext } from "./shared.js";

export const DISPLAY_NAME_ANNOTATION = "spotoptimizer.io/display-name";

const TemplateView = z.object({
  id: z.string(),
  name: z.string(),
  families: z.array(z.string()),
  architecture: z.string(),
  strategy: z.string(),
  is_default: z.boolean(),
  cluster_id: z.string(),
  disk_type: z.string(),
  disk_size: z.number(),
  warnings: z.array(z.string()),
  instance_types: z
    .object({
      count: z.number(),
      cheapest: z.unknown().optional(),
      dearest: z.unknown().optional(),
      as_of: z.string().nullable(),
    })
    .nullable(),
});

function instanceTypesView(t: NodeTemplate): z.infer<typeof TemplateView>["instance_types"] {
  const it = t.status?.instanceTypes;
  return it ? { count: it.count, cheapest: it.cheapest, dearest: it.dearest, as_of: it.asOf ?? null } : null;
}

function view(t: NodeTemplate): z.infer<typeof TemplateView> {
  // The API server applies the CRD defaults (x86_64, HYBRID, gp3, 20 GiB), so these fields are present when stored.
  const spec = t.spec;
  const name = t.metadata.name ?? "";
  return {
    id: name,
    name: t.metadata.annotations?.[DISPLAY_NAME_ANNOTATION] ?? name,
    families: spec.families,
    architecture: spec.architecture,
    strategy: spec.strategy,
    is_default: spec.isDefault === true,
    cluster_id: spec.clusterRef.name,
    disk_type: spec.diskType,
    disk_size: spec.diskSize,
    warnings: t.status?.warnings ?? [],
    instance_types: instanceTypesView(t),
  };
}

/** "AI-Workloads" -> "ai-workloads": the NodeTemplate's object name. */
export function templateObjectName(displayName: string): string {
  const slug = displayName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/g, "");
  return slug;
}

const Strategy = z.string().transform((s, ctx) => {
  const v = s.toUpperCase().replace("-", "_");
  if (v === "SPOT" || v === "ON_DEMAND" || v === "HYBRID") return v;
  ctx.addIssue({ code: "custom", message: "must be one of SPOT, ON_DEMAND, HYBRID" });
  return z.NEVER;
});

const CreateBody = z
  .object({
    name: z.string().min(1).max(200),
    families: z.array(z.string().min(1).max(40)).min(1).max(50),
    architecture: z.string().min(1).max(20).default("x86_64"),
    strategy: Strategy.default("HYBRID"),
    disk_type: z.string().min(1).max(20).default("gp3"),
    disk_size: z.number().int().min(8).max(16384).default(20),
    cluster_id: ClusterId.optional(),
    is_default: z.boolean().optional(),
  })
  .strict();

function templatesOfCluster(rc: ResourceContext, clusterName: string): NodeTemplate[] {
  return rc.cache.templates(rc.namespace).filter((t) => t.spec.clusterRef.name === clusterName);
}

/** The instance catalog of the cluster's region (families are then checked against it), if the facade has one. */
function catalogOf(rc: ResourceContext, cluster: ManagedCluster | undefined): InstanceCatalog | undefined {
  const book = rc.priceBookFor(cluster?.spec.region);
  return book && "instanceTypes" in book ? (book as unknown as InstanceCatalog) : undefined;
}

function assertValid(body: z.infer<typeof CreateBody>, catalog: InstanceCatalog | undefined): "x86_64" | "arm64" {
  const result = validateTemplate(
    {
      families: body.families,
      architecture: body.architecture,
      strategy: body.strategy,
      diskType: body.disk_type,
      diskSizeGiB: body.disk_size,
    },
    catalog,
  );
  if (!result.valid || !result.architecture)
    throw new UnprocessableError(`template is not valid: ${result.errors.join("; ")}`);
  return result.architecture;
}

async function clearOtherDefaults(rc: ResourceContext, clusterName: string, keep: string): Promise<string | null> {
  let previous: string | null = null;
  for (const other of templatesOfCluster(rc, clusterName)) {
    const name = other.metadata.name ?? "";
    if (name === keep || other.spec.isDefault !== true) continue;
    previous = previous ?? name;
    const updated = await rc.writer.mergePatch<NodeTemplate>(crRef("NodeTemplate", rc.namespace, name), {
      spec: { isDefault: false },
    });
    await settle(rc, "NodeTemplate", updated);
  }
  return previous;
}

const clusterLocks = new Map<string, Promise<unknown>>();

/**
 * Runs default-changing work for one cluster one request at a time (per facade process), so that concurrent requests
 * each see the previous one's settled writes and the cluster ends with exactly one default.
 */
async function withClusterLock<T>(rc: ResourceContext, clusterName: string, work: () => Promise<T>): Promise<T> {
  const key = `${rc.namespace}/${clusterName}`;
  const run = (clusterLocks.get(key) ?? Promise.resolve()).then(work);
  const tail = run.catch(() => undefined);
  clusterLocks.set(key, tail);
  try {
    return await run;
  } finally {
    if (clusterLocks.get(key) === tail) clusterLocks.delete(key);
  }
}

/** Points ManagedCluster.spec.defaultTemplate at `template` (null clears it), if it does not already. */
async function setClusterDefault(rc: ResourceContext, clusterName: string, template: string | null): Promise<void> {
  const cluster = rc.cache.cluster(rc.namespace, clusterName);
  if (!cluster || (cluster.spec.defaultTemplate ?? null) === template) return;
  const updated = await rc.writer.mergePatch<ManagedCluster>(crRef("ManagedCluster", rc.namespace, clusterName), {
    spec: { defaultTemplate: template },
  });
  await settle(rc, "ManagedCluster", updated);
}

/** After the default is deleted, the oldest remaining template of the cluster becomes its default (if any remains). */
async function promoteSuccessor(rc: ResourceContext, clusterName: string): Promise<string | null> {
  const successor = [...templatesOfCluster(rc, clusterName)].sort(
    (a, b) =>
      (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
      (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  )[0];
  const name = successor?.metadata.name ?? null;
  if (successor && name && successor.spec.isDefault !== true) {
    const updated = await rc.writer.mergePatch<NodeTemplate>(crRef("NodeTemplate", rc.namespace, name), {
      spec: { isDefault: true },
    });
    await settle(rc, "NodeTemplate", updated);
  }
  await setClusterDefault(rc, clusterName, name);
  return name;
}

const listTemplates = defineRoute({
  method: "get",
  path: "/templates",
  summary: "List the organisation's node templates",
  tags: ["templates"],
  auth: "user",
  response: z.object({ templates: z.array(TemplateView) }),
  handler: async (ctx) => {
    const rc = resourceContext(ctx);
    return { templates: rc.cache.templates(rc.namespace).map(view) };
  },
});

const createTemplate = defineRoute({
  method: "post",
  path: "/templates",
  summary: "Create a node template (for cluster_id, or the active cluster); validated first",
  tags: ["templates"],
  auth: "user",
  body: CreateBody,
  status: 201,
  response: z.object({ id: z.string(), success: z.boolean(), cluster_id: z.string(), template: TemplateView }),
  handler: async (ctx) => {
    const rc = resourceContext(ctx);
    const cluster: ManagedCluster = await targetCluster(rc, ctx.body.cluster_id);
    const clusterName = cluster.metadata.name ?? "";
    const architecture = assertValid(ctx.body, catalogOf(rc, cluster));
    const id = templateObjectName(ctx.body.name);
    if (!id) throw new UnprocessableError("body.name: must contain at least one letter or digit");
    const created = await withClusterLock(rc, clusterName, () =>
      createLocked(rc, { body: ctx.body, cluster, architecture, id }),
    );
    ctx.audit({ event: "Created node template", resource: `nodetemplate/${id}`, after: specOf(created) });
    return { id, success: true, cluster_id: clusterName, template: view(created) };
  },
});

async function createLocked(
  rc: ResourceContext,
  input: { body: z.infer<typeof CreateBody>; cluster: ManagedCluster; architecture: "x86_64" | "arm64"; id: string },
): Promise<NodeTemplate> {
  const { body, cluster, architecture, id } = input;
  const clusterName = cluster.metadata.name ?? "";
  // The first template of a cluster becomes its default, so "exactly one default per cluster" holds from the start.
  const isDefault = body.is_default ?? !templatesOfCluster(rc, clusterName).some((t) => t.spec.isDefault === true);
  const created = await rc.writer.create<NodeTemplate>({
    apiVersion: API_VERSION,
    kind: "NodeTemplate",
    metadata: {
      name: id,
      namespace: rc.namespace,
      annotations: { [DISPLAY_NAME_ANNOTATION]: body.name },
      ownerReferences: [clusterOwnerReference(cluster)],
    },
    spec: {
      clusterRef: { name: clusterName },
      families: body.families.map((f) => f.trim().toLowerCase()),
      architecture,
      strategy: body.strategy as NodeTemplate["spec"]["strategy"],
      diskType: body.disk_type.toLowerCase() as NodeTemplate["spec"]["diskType"],
      diskSize: body.disk_size,
      isDefault,
    },
  });
  await settle(rc, "NodeTemplate", created);
  if (isDefault) {
    await clearOtherDefaults(rc, clusterName, id);
    await setClusterDefault(rc, clusterName, id);
  }
  return created;
}

/** Returns the previous default (the template itself when it already was the default). */
async function setDefaultLocked(rc: ResourceContext, id: string, clusterName: string): Promise<string | null> {
  const current = rc.cache.template(rc.namespace, id);
  if (!current) throw new NotFoundError(`template ${id} not found`);
  const wasDefault = current.spec.isDefault === true;
  if (!wasDefault) {
    const updated = await rc.writer.mergePatch<NodeTemplate>(crRef("NodeTemplate", rc.namespace, id), {
      spec: { isDefault: true },
    });
    await settle(rc, "NodeTemplate", updated);
  }
  const previous = await clearOtherDefaults(rc, clusterName, id);
  await setClusterDefault(rc, clusterName, id);
  return wasDefault ? id : previous;
}

const setDefault = defineRoute({
  method: "patch",
  path: "/templates/:id/default",
  summary: "Make the template its cluster's default (exactly one default per cluster)",
  tags: ["templates"],
  auth: "user",
  params: IdParams,
  body: z.object({}).strict().optional(),
  response: z.object({
    success: z.boolean(),
    previous_default: z.string().nullable(),
    new_default: z.string(),
    cluster_id: z.string(),
  }),
  handler: async (ctx) => {
    const rc = resourceContext(ctx);
    const template = rc.cache.template(rc.namespace, ctx.params.id);
    if (!template) throw new NotFoundError(`template ${ctx.params.id} not found`);
    const clusterName = template.spec.clusterRef.name;
    const previousDefault = await withClusterLock(rc, clusterName, () =>
      setDefaultLocked(rc, ctx.params.id, clusterName),
    );
    ctx.audit({
      event: "Set default node template",
      resource: `cluster/${clusterName}`,
      before: { defaultTemplate: previousDefault },
      after: { defaultTemplate: ctx.params.id },
    });
    return { success: true, previous_default: previousDefault, new_default: ctx.params.id, cluster_id: clusterName };
  },
});

const ValidateBody = z
  .object({
    families: z.array(z.string().max(40)).max(50),
    architecture: z.string().max(20).optional(),
    strategy: z.string().max(20).optional(),
    disk_type: z.string().max(20).optional(),
    disk_size: z.number().optional(),
    name: z.string().max(200).optional(),
    cluster_id: ClusterId.optional(),
  })
  .strict();

const validate = defineRoute({
  method: "post",
  path: "/templates/validate",
  summary: "Check a template draft for conflicts (families vs architecture, disk); changes nothing",
  tags: ["templates"],
  auth: "user",
  roles: ORG_ROLES,
  audit: false,
  body: ValidateBody,
  response: z.object({
    valid: z.boolean(),
    warnings: z.array(z.string()),
    errors: z.array(z.string()),
    architecture: z.string().nullable(),
  }),
  handler: async (ctx) => {
    const rc = resourceContext(ctx);
    // The cluster's region decides the instance catalog; without a cluster, families are checked by name only.
    let cluster: ManagedCluster | undefined;
    try {
      cluster = resolveCluster(rc.cache, rc.namespace, ctx.body.cluster_id, rc.activeClusterId);
    } catch (err) {
      if (ctx.body.cluster_id !== undefined) throw err;
    }
    const result = validateTemplate(
      {
        families: ctx.body.families,
        architecture: ctx.body.architecture,
        strategy: ctx.body.strategy,
        diskType: ctx.body.disk_type,
        diskSizeGiB: ctx.body.disk_size,
      },
      catalogOf(rc, cluster),
    );
    return {
      ...result,
      architecture:
        result.architecture ?? (ctx.body.architecture ? (normaliseArchitecture(ctx.body.architecture) ?? null) : null),
    };
  },
});

const deleteTemplate = defineRoute({
  method: "delete",
  path: "/templates/:id",
  summary:
    "Delete a node template (the controller removes its NodePool); deleting the default promotes the oldest remaining",
  tags: ["templates"],
  auth: "user",
  params: IdParams,
  response: z.object({ success: z.boolean(), message: z.string(), new_default: z.string().nullable() }),
  handler: async (ctx) => {
    const rc = resourceContext(ctx);
    const template = rc.cache.template(rc.namespace, ctx.params.id);
    if (!template) throw new NotFoundError(`template ${ctx.params.id} not found`);
    const clusterName = template.spec.clusterRef.name;
    const { wasDefault, newDefault } = await withClusterLock(rc, clusterName, async () => {
      const current = rc.cache.template(rc.namespace, ctx.params.id);
      if (!current) throw new NotFoundError(`template ${ctx.params.id} not found`);
      await rc.writer.remove(crRef("NodeTemplate", rc.namespace, ctx.params.id));
      await settle(rc, "NodeTemplate", null, { name: ctx.params.id });
      const wasDefault =
        current.spec.isDefault === true ||
        rc.cache.cluster(rc.namespace, clusterName)?.spec.defaultTemplate === ctx.params.id;
      return { wasDefault, newDefault: wasDefault ? await promoteSuccessor(rc, clusterName) : null };
    });
    ctx.audit({
      event: "Deleted node template",
      resource: `nodetemplate/${ctx.params.id}`,
      before: specOf(template),
      ...(wasDefault ? { after: { defaultTemplate: newDefault } } : {}),
    });
    return {
      success: true,
      message: newDefault ? `Template deleted; ${newDefault} is now the default` : "Template deleted",
      new_default: newDefault,
    };
  },
});

export const templateRoutes: RouteDef[] = [listTemplates, createTemplate, validate, setDefault, deleteTemplate];
