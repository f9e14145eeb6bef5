// Node template endpoints: NodeTemplate CRs in the organisation's namespace (list from the cache, create, set the
// cluster's single default, validate, delete) over the template service; the NodeTemplate controller turns them into
// Karpenter objects.
import { z } from "zod";
import {
  MAX_FAMILY_NAME_LENGTH,
  MAX_TEMPLATE_FAMILIES,
  type ManagedCluster,
  type NodeTemplate,
} from "../../../src-shared/crds/index.js";
import { ORG_ROLES, defineRoute, type RouteDef } from "../http.js";
import { resolveCluster } from "../services/fleet-view.js";
import { normaliseArchitecture, validateTemplate } from "../../../src-shared/nodetemplate/validate.js";
import type { ResourceContext, ResourceScope } from "../services/resource-scope.js";
import { specOf } from "../services/resource-scope.js";
import {
  DISPLAY_NAME_ANNOTATION,
  catalogOf,
  defaultOf,
  templateDisplayName,
  templateObjectName,
  type TemplateService,
} from "../services/templates.js";
import { ClusterId, IdParams } from "./shared.js";
import { plainText } from "../text.js";
import { knownAsOf } from "../../../src-shared/pricing/freshness.js";

/** A template at a glance: GET /clusters/{id} lists these as node_groups; the template endpoints add the rest. */
export const TemplateSummary = z.object({
  id: z.string(),
  name: z.string(),
  families: z.array(z.string()),
  architecture: z.string(),
  strategy: z.string(),
  is_default: z
    .boolean()
    .describe("The cluster's default: the one its ManagedCluster names, never a template being deleted"),
  deleting: z
    .boolean()
    .describe("Being deleted: it stays listed until its NodePool and EC2NodeClass are gone, and cannot become default"),
});

const TemplateView = TemplateSummary.extend({
  cluster_id: z.string(),
  disk_type: z.string(),
  disk_size: z.number(),
  warnings: z.array(z.string()),
  instance_types: z
    .object({
      count: z.number(),
      cheapest: z.unknown().optional(),
      dearest: z.unknown().optional(),
      as_of: z
        .string()
        .nullable()
        .describe("Date of the oldest price behind cheapest/dearest; null when one is undated."),
      price_source: z
        .string()
        .nullable()
        .describe("Where those prices came from (comma-separated); null when unknown."),
    })
    .nullable(),
});

function instanceTypesView(t: NodeTemplate): z.infer<typeof TemplateView>["instance_types"] {
  const it = t.status?.instanceTypes;
  if (!it) return null;
  return {
    count: it.count,
    cheapest: it.cheapest,
    dearest: it.dearest,
    as_of: knownAsOf(it.asOf),
    price_source: it.source ?? null,
  };
}

/**
 * `clusterDefault`: the template's cluster's default (defaultOf), so a list shows one default per cluster even while a
 * stale isDefault waits for the controller; undefined when the cluster is unknown (then the live isDefault flag).
 */
export function templateSummary(t: NodeTemplate, clusterDefault?: string | null): z.infer<typeof TemplateSummary> {
  // The API server applies the CRD defaults (x86_64, HYBRID, gp3, 20 GiB), so these fields are present when stored.
  const name = t.metadata.name ?? "";
  const deleting = t.metadata.deletionTimestamp !== undefined;
  return {
    id: name,
    name: t.metadata.annotations?.[DISPLAY_NAME_ANNOTATION] ?? name,
    families: t.spec.families,
    architecture: t.spec.architecture,
    strategy: t.spec.strategy,
    is_default: clusterDefault === undefined ? t.spec.isDefault === true && !deleting : clusterDefault === name,
    deleting,
  };
}

function view(t: NodeTemplate, clusterDefault?: string | null): z.infer<typeof TemplateView> {
  const spec = t.spec;
  return {
    ...templateSummary(t, clusterDefault),
    cluster_id: spec.clusterRef.name,
    disk_type: spec.diskType,
    disk_size: spec.diskSize,
    warnings: t.status?.warnings ?? [],
    instance_types: instanceTypesView(t),
  };
}

/** Each template with its cluster's default decided once per cluster. */
function listView(rc: ResourceContext): Array<z.infer<typeof TemplateView>> {
  const defaults = new Map<string, string | null | undefined>();
  const defaultFor = (clusterName: string): string | null | undefined => {
    if (!defaults.has(clusterName)) {
      const cluster = rc.cache.cluster(rc.namespace, clusterName);
      defaults.set(clusterName, cluster ? defaultOf(rc, cluster) : undefined);
    }
    return defaults.get(clusterName);
  };
  return rc.cache.templates(rc.namespace).map((t) => view(t, defaultFor(t.spec.clusterRef.name)));
}

const Strategy = z.string().transform((s, ctx) => {
  const v = s.toUpperCase().replace("-", "_");
  if (v === "SPOT" || v === "ON_DEMAND" || v === "HYBRID") return v;
  ctx.addIssue({ code: "custom", message: "must be one of SPOT, ON_DEMAND, HYBRID" });
  return z.NEVER;
});

/** What a template draft's left-out fields become: POST /templates creates them so, and validate checks them so. */
const TEMPLATE_DEFAULTS = { architecture: "x86_64", strategy: "HYBRID", disk_type: "gp3", disk_size: 20 } as const;

const CreateBody = z
  .object({
    name: plainText(z.string().min(1).max(200)),
    families: z.array(z.string().min(1).max(MAX_FAMILY_NAME_LENGTH)).min(1).max(MAX_TEMPLATE_FAMILIES),
    architecture: z.string().min(1).max(20).default(TEMPLATE_DEFAULTS.architecture),
    strategy: Strategy.default(TEMPLATE_DEFAULTS.strategy),
    disk_type: z.string().min(1).max(20).default(TEMPLATE_DEFAULTS.disk_type),
    disk_size: z.number().int().min(8).max(16384).default(TEMPLATE_DEFAULTS.disk_size),
    cluster_id: ClusterId.optional(),
    is_default: z.boolean().optional(),
  })
  .strict();

export interface TemplateRouteServices {
  scope: ResourceScope;
  templates: TemplateService;
}

/** The template routes over their service. */
export function createTemplateRoutes({ scope, templates }: TemplateRouteServices): RouteDef[] {
  return [
    listTemplates(scope),
    createTemplate(scope, templates),
    validate(scope),
    setDefault(scope, templates),
    deleteTemplate(scope, templates),
  ] as RouteDef[];
}

const listTemplates = (scope: ResourceScope): RouteDef =>
  defineRoute({
    method: "get",
    path: "/templates",
    summary: "List the organisation's node templates",
    tags: ["templates"],
    auth: "user",
    response: z.object({ templates: z.array(TemplateView) }),
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      return { templates: listView(rc) };
    },
  }) as RouteDef;

const createTemplate = (scope: ResourceScope, templates: TemplateService): RouteDef =>
  defineRoute({
    method: "post",
    path: "/templates",
    summary:
      "Create a node template (for cluster_id, or the caller's active account, else the only cluster); validated first",
    tags: ["templates"],
    auth: "user",
    body: CreateBody,
    status: 201,
    response: z.object({ id: z.string(), success: z.boolean(), cluster_id: z.string(), template: TemplateView }),
    handler: async (ctx) => {
      const { id, clusterName, template } = await templates.create(scope.context(ctx.auth), ctx.body);
      ctx.audit({ event: "Created node template", resource: `nodetemplate/${id}`, after: specOf(template) });
      return { id, success: true, cluster_id: clusterName, template: view(template) };
    },
  }) as RouteDef;

const setDefault = (scope: ResourceScope, templates: TemplateService): RouteDef =>
  defineRoute({
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
      const id = ctx.params.id;
      const { clusterName, previousDefault } = await templates.setDefault(scope.context(ctx.auth), id);
      ctx.audit({
        event: "Set default node template",
        resource: `cluster/${clusterName}`,
        before: { defaultTemplate: previousDefault },
        after: { defaultTemplate: id },
      });
      return { success: true, previous_default: previousDefault, new_default: id, cluster_id: clusterName };
    },
  }) as RouteDef;

// A field left out is checked at the value POST /templates would give it, so a draft valid here is created there.
const ValidateBody = z
  .object({
    families: z.array(z.string().max(MAX_FAMILY_NAME_LENGTH)).max(MAX_TEMPLATE_FAMILIES),
    architecture: z.string().max(20).default(TEMPLATE_DEFAULTS.architecture),
    strategy: z.string().max(20).default(TEMPLATE_DEFAULTS.strategy),
    disk_type: z.string().max(20).default(TEMPLATE_DEFAULTS.disk_type),
    disk_size: z.number().default(TEMPLATE_DEFAULTS.disk_size),
    name: plainText(z.string().max(200)).optional(),
    cluster_id: ClusterId.optional(),
  })
  .strict();

/** What POST /templates would refuse about a name: none usable as an id, or one a template of the organisation has. */
function templateNameErrors(rc: ResourceContext, name: string): string[] {
  const id = templateObjectName(name, (candidate) => templateDisplayName(rc, candidate));
  if (!id) return ["name must contain at least one letter or digit"];
  const shown = templateDisplayName(rc, id);
  if (shown === undefined) return [];
  return [`a template with id ${id} already exists (named ${JSON.stringify(shown)}): choose another name`];
}

const validate = (scope: ResourceScope): RouteDef =>
  defineRoute({
    method: "post",
    path: "/templates/validate",
    summary: "Check a template draft for conflicts (families vs architecture, disk); changes nothing",
    tags: ["templates"],
    auth: "user",
    errors: { "409": null },
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
      const rc = scope.context(ctx.auth);
      // The cluster's region decides the instance catalog; without a cluster, families are checked by name only.
      let cluster: ManagedCluster | undefined;
      try {
        cluster = resolveCluster(rc.cache, rc.namespace, ctx.body.cluster_id, rc.activeClusterId);
      } catch (err) {
        if (ctx.body.cluster_id !== undefined) throw err;
      }
      const checked = validateTemplate(
        {
          families: ctx.body.families,
          architecture: ctx.body.architecture,
          strategy: ctx.body.strategy,
          diskType: ctx.body.disk_type,
          diskSizeGiB: ctx.body.disk_size,
        },
        catalogOf(rc, cluster),
      );
      const nameErrors = ctx.body.name === undefined ? [] : templateNameErrors(rc, ctx.body.name);
      const result = {
        ...checked,
        valid: checked.valid && nameErrors.length === 0,
        errors: [...nameErrors, ...checked.errors],
        warnings: [...nameErrors, ...checked.warnings],
      };
      return {
        ...result,
        architecture:
          result.architecture ??
          (ctx.body.architecture ? (normaliseArchitecture(ctx.body.architecture) ?? null) : null),
      };
    },
  }) as RouteDef;

const deleteTemplate = (scope: ResourceScope, templates: TemplateService): RouteDef =>
  defineRoute({
    method: "delete",
    path: "/templates/:id",
    summary:
      "Delete a node template (the controller removes its NodePool); deleting the default promotes the oldest remaining",
    tags: ["templates"],
    auth: "user",
    params: IdParams,
    response: z.object({ success: z.boolean(), message: z.string(), new_default: z.string().nullable() }),
    handler: async (ctx) => {
      const id = ctx.params.id;
      const { template, wasDefault, newDefault, pending } = await templates.remove(scope.context(ctx.auth), id);
      ctx.audit({
        event: "Deleted node template",
        resource: `nodetemplate/${id}`,
        before: specOf(template),
        ...(wasDefault ? { after: { defaultTemplate: newDefault } } : {}),
      });
      const deleted = pending
        ? "Template deletion started: its NodePool and EC2NodeClass are removed first"
        : "Template deleted";
      return {
        success: true,
        message: newDefault ? `${deleted}; ${newDefault} is now the default` : deleted,
        new_default: newDefault,
      };
    },
  }) as RouteDef;
