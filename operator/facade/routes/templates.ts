// Node template endpoints: NodeTemplate CRs in the organisation's namespace (list from the cache, create, set the
// cluster's single default, validate, delete); the NodeTemplate controller turns them into Karpenter objects.
import { z } from "zod";
import { API_VERSION, type ManagedCluster, type NodeTemplate } from "../../../src-shared/crds/index.js";
import { ConflictError, NotFoundError, UnprocessableError } from "../errors.js";
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

/** The cluster as the API server holds it now: the facade's cache may lag a write of another replica. */
async function liveCluster(rc: ResourceContext, clusterName: string): Promise<ManagedCluster> {
  const cluster = await rc.writer.read<ManagedCluster>(crRef("ManagedCluster", rc.namespace, clusterName));
  if (!cluster) throw new NotFoundError(`cluster ${clusterName} not found`);
  return cluster;
}

/** The template spec.defaultTemplate names, when it still exists; else the oldest other template with isDefault. */
function defaultOf(rc: ResourceContext, cluster: ManagedCluster, except?: string): string | null {
  const mine = templatesOfCluster(rc, cluster.metadata.name ?? "").filter((t) => !t.metadata.deletionTimestamp);
  const named = mine.find((t) => t.metadata.name === cluster.spec.defaultTemplate);
  if (named) return named.metadata.name ?? null;
  const flagged = mine
    .filter((t) => t.spec.isDefault === true && t.metadata.name !== except)
    .sort(
      (a, b) =>
        (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
        (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
    );
  return flagged[0]?.metadata.name ?? null;
}

const SWAP_ATTEMPTS = 20;

/**
 * Sets the cluster's spec.defaultTemplate with the resourceVersion just read (compare-and-swap): of requests racing on
 * any replica, each move lands whole and the next one sees it as its previous default. The NodeTemplate controller
 * holds the rest (isDefault of every template, NodePool weights) level-based from this one field. `when` skips the
 * write (answering the default as it is) unless it holds for the default read.
 */
async function swapClusterDefault(
  rc: ResourceContext,
  input: {
    clusterName: string;
    to: string | null;
    except?: string;
    when?: (previous: string | null, named: string | null) => boolean;
  },
): Promise<{ previous: string | null; moved: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const cluster = await liveCluster(rc, input.clusterName);
    const previous = defaultOf(rc, cluster, input.except);
    if (input.when && !input.when(previous, cluster.spec.defaultTemplate ?? null)) return { previous, moved: false };
    if ((cluster.spec.defaultTemplate ?? null) === input.to) return { previous, moved: true };
    try {
      const updated = await rc.writer.mergePatch<ManagedCluster>(
        crRef("ManagedCluster", rc.namespace, input.clusterName),
        { metadata: { resourceVersion: cluster.metadata.resourceVersion }, spec: { defaultTemplate: input.to } },
      );
      await settle(rc, "ManagedCluster", updated);
      return { previous, moved: true };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= SWAP_ATTEMPTS) throw err;
    }
  }
}

/** Sets one template's isDefault so the facade's answer shows it at once; the controller holds it from then on. */
async function flagDefault(rc: ResourceContext, name: string, value: boolean): Promise<NodeTemplate | undefined> {
  const current = rc.cache.template(rc.namespace, name);
  if (!current || (current.spec.isDefault === true) === value) return current;
  try {
    const updated = await rc.writer.mergePatch<NodeTemplate>(crRef("NodeTemplate", rc.namespace, name), {
      spec: { isDefault: value },
    });
    await settle(rc, "NodeTemplate", updated);
    return updated;
  } catch (err) {
    // Deleted meanwhile: nothing to flag.
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** After the default is deleted, the oldest remaining template of the cluster becomes its default (if any remains). */
async function promoteSuccessor(rc: ResourceContext, clusterName: string, deleted: string): Promise<string | null> {
  const successor = [...templatesOfCluster(rc, clusterName)]
    .filter((t) => t.metadata.name !== deleted)
    .sort(
      (a, b) =>
        (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
        (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
    )[0];
  const name = successor?.metadata.name ?? null;
  if (name) await flagDefault(rc, name, true);
  // Only while the cluster still names the deleted template (or none): a concurrent move wins.
  const { moved } = await swapClusterDefault(rc, {
    clusterName,
    to: name,
    except: deleted,
    when: (_previous, named) => named === null || named === deleted || named === name,
  });
  return moved ? name : defaultOf(rc, await liveCluster(rc, clusterName), deleted);
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
    const created = await createTemplateObject(rc, { body: ctx.body, cluster, architecture, id });
    ctx.audit({ event: "Created node template", resource: `nodetemplate/${id}`, after: specOf(created) });
    return { id, success: true, cluster_id: clusterName, template: view(created) };
  },
});

async function createTemplateObject(
  rc: ResourceContext,
  input: { body: z.infer<typeof CreateBody>; cluster: ManagedCluster; architecture: "x86_64" | "arm64"; id: string },
): Promise<NodeTemplate> {
  const { body, cluster, architecture, id } = input;
  const clusterName = cluster.metadata.name ?? "";
  // The first template of a cluster becomes its default, so "exactly one default per cluster" holds from the start.
  const first = defaultOf(rc, cluster) === null;
  const isDefault = body.is_default ?? first;
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
  if (!isDefault) return created;
  // Asked for: move the default here. Implied (first template): only if no other creation got there first.
  const { moved } = await swapClusterDefault(rc, {
    clusterName,
    to: id,
    except: id,
    ...(body.is_default === true
      ? {}
      : { when: (_previous, named) => named === null || rc.cache.template(rc.namespace, named) === undefined }),
  });
  if (!moved) return (await flagDefault(rc, id, false)) ?? created;
  return created;
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
    // isDefault first, then the one field that decides: a template named by the cluster is never left unflagged.
    await flagDefault(rc, ctx.params.id, true);
    const { previous: previousDefault } = await swapClusterDefault(rc, {
      clusterName,
      to: ctx.params.id,
      except: ctx.params.id,
    });
    if (previousDefault && previousDefault !== ctx.params.id) await flagDefault(rc, previousDefault, false);
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
    await rc.writer.remove(crRef("NodeTemplate", rc.namespace, ctx.params.id));
    await settle(rc, "NodeTemplate", null, { name: ctx.params.id });
    const wasDefault =
      template.spec.isDefault === true ||
      rc.cache.cluster(rc.namespace, clusterName)?.spec.defaultTemplate === ctx.params.id;
    const newDefault = wasDefault ? await promoteSuccessor(rc, clusterName, ctx.params.id) : null;
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
