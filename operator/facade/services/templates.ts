// The node template service: creates NodeTemplates and keeps exactly one default per cluster (the cluster's
// spec.defaultTemplate, moved by compare-and-swap so that requests racing on any replica each land whole).
import { createHash } from "node:crypto";
import { API_VERSION, type ManagedCluster, type NodeTemplate } from "../../../src-shared/crds/index.js";
import { validateTemplate, type InstanceCatalog } from "../../../src-shared/nodetemplate/validate.js";
import { ConflictError, NotFoundError, UnprocessableError } from "../errors.js";
import { clusterOwnerReference, targetCluster } from "./cluster-target.js";
import { crRef, settle, type ResourceContext } from "./resource-scope.js";

export const DISPLAY_NAME_ANNOTATION = "spotoptimizer.io/display-name";

/** A template as the API takes it (defaults already applied by the request schema). */
export interface TemplateDraft {
  name: string;
  families: string[];
  architecture: string;
  strategy: string;
  disk_type: string;
  disk_size: number;
  cluster_id?: string | undefined;
  is_default?: boolean | undefined;
}

/**
 * "AI-Workloads" -> "ai-workloads": the NodeTemplate's object name (a slug over 63 characters cut there). A name with no
 * Latin letter or digit (e.g. 名前) gets `template-<hash>`; a cut slug whose id a template of another name holds gets
 * its first 54 characters and the hash, so a long name never collides with one that merely starts the same, while the
 * same name again still finds its template. `heldBy(id)`: the display name of the template with that id, if any.
 */
export function templateObjectName(
  displayName: string,
  heldBy: (id: string) => string | undefined = () => undefined,
): string {
  const slug = displayName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  const hash = (): string => createHash("sha256").update(displayName.normalize("NFC")).digest("hex").slice(0, 8);
  if (slug === "") return /[\p{L}\p{N}]/u.test(displayName) ? `template-${hash()}` : "";
  if (slug.length <= 63) return slug;
  const cut = slug.slice(0, 63).replace(/-+$/g, "");
  const holder = heldBy(cut);
  return holder === undefined || holder === displayName ? cut : `${slug.slice(0, 54).replace(/-+$/g, "")}-${hash()}`;
}

/** The display name of the organisation's template with this id, for templateObjectName. */
export function templateDisplayName(rc: Pick<ResourceContext, "cache" | "namespace">, id: string): string | undefined {
  const template = rc.cache.template(rc.namespace, id);
  return template ? (template.metadata.annotations?.[DISPLAY_NAME_ANNOTATION] ?? id) : undefined;
}

function templatesOfCluster(rc: ResourceContext, clusterName: string): NodeTemplate[] {
  return rc.cache.templates(rc.namespace).filter((t) => t.spec.clusterRef.name === clusterName);
}

/** The instance catalog of the cluster's region (families are then checked against it), if the facade has one. */
export function catalogOf(rc: ResourceContext, cluster: ManagedCluster | undefined): InstanceCatalog | undefined {
  const book = rc.priceBookFor(cluster?.spec.region);
  return book && "instanceTypes" in book ? (book as unknown as InstanceCatalog) : undefined;
}

function assertValid(draft: TemplateDraft, catalog: InstanceCatalog | undefined): "x86_64" | "arm64" {
  const result = validateTemplate(
    {
      families: draft.families,
      architecture: draft.architecture,
      strategy: draft.strategy,
      diskType: draft.disk_type,
      diskSizeGiB: draft.disk_size,
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

const byAge = (a: NodeTemplate, b: NodeTemplate): number =>
  (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
  (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");

const deleting = (t: NodeTemplate): boolean => t.metadata.deletionTimestamp !== undefined;

/**
 * The cluster's default as the NodeTemplate controller decides it (its effectiveDefault), from the cache: the template
 * spec.defaultTemplate names while it is live; else the oldest live template with isDefault (other than `except`);
 * else, when the named one is gone or being deleted, the oldest live template (its successor). A template being
 * deleted is never the default.
 */
export function defaultOf(rc: ResourceContext, cluster: ManagedCluster, except?: string): string | null {
  const mine = templatesOfCluster(rc, cluster.metadata.name ?? "")
    .filter((t) => !deleting(t))
    .sort(byAge);
  const named = mine.find((t) => t.metadata.name === cluster.spec.defaultTemplate);
  if (named) return named.metadata.name ?? null;
  const others = mine.filter((t) => t.metadata.name !== except);
  const flagged = others.find((t) => t.spec.isDefault === true);
  const successor = cluster.spec.defaultTemplate ? others[0] : undefined;
  return (flagged ?? successor)?.metadata.name ?? null;
}

const SWAP_ATTEMPTS = 20;

interface Swap {
  clusterName: string;
  to: string | null;
  except?: string;
  /** Moves the default only if this holds for the default read (else answers the default as it is). */
  when?: (previous: string | null, named: string | null) => boolean;
}

/**
 * Sets the cluster's spec.defaultTemplate with the resourceVersion just read (compare-and-swap): of requests racing on
 * any replica, each move lands whole and the next one sees it as its previous default. The NodeTemplate controller
 * holds the rest (isDefault of every template, NodePool weights) level-based from this one field.
 */
async function swapClusterDefault(
  rc: ResourceContext,
  swap: Swap,
): Promise<{ previous: string | null; moved: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const cluster = await liveCluster(rc, swap.clusterName);
    const previous = defaultOf(rc, cluster, swap.except);
    const named = cluster.spec.defaultTemplate ?? null;
    if (swap.when && !swap.when(previous, named)) return { previous, moved: false };
    if (named === swap.to) return { previous, moved: true };
    try {
      const updated = await rc.writer.swap<ManagedCluster>({
        ref: crRef("ManagedCluster", rc.namespace, swap.clusterName),
        resourceVersion: cluster.metadata.resourceVersion,
        patch: { spec: { defaultTemplate: swap.to } },
      });
      await settle(rc, "ManagedCluster", updated);
      return { previous, moved: true };
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= SWAP_ATTEMPTS) throw err;
    }
  }
}

const FLAG_ATTEMPTS = 20;

/**
 * Sets one template's isDefault so the facade's answer shows it at once; the controller holds it from then on. Read
 * from the API server and written with its resourceVersion: a lagging cache must not skip a needed write. A template
 * being deleted is never flagged (its finalizer may hold it for long, and the controller no longer tends it).
 */
async function flagDefault(rc: ResourceContext, name: string, value: boolean): Promise<NodeTemplate | undefined> {
  const ref = crRef("NodeTemplate", rc.namespace, name);
  for (let attempt = 1; ; attempt++) {
    const current = await rc.writer.read<NodeTemplate>(ref);
    if (!current || (current.spec.isDefault === true) === value || (value && deleting(current))) return current;
    try {
      const updated = await rc.writer.swap<NodeTemplate>({
        ref,
        resourceVersion: current.metadata.resourceVersion,
        patch: { spec: { isDefault: value } },
      });
      await settle(rc, "NodeTemplate", updated);
      return updated;
    } catch (err) {
      // Deleted meanwhile (404): nothing to flag. Changed meanwhile (409): decide again on a fresh read.
      if (err instanceof NotFoundError) return undefined;
      if (!(err instanceof ConflictError) || attempt >= FLAG_ATTEMPTS) throw err;
    }
  }
}

/** After the default is deleted, the oldest remaining template of the cluster becomes its default (if any remains). */
async function promoteSuccessor(rc: ResourceContext, clusterName: string, deleted: string): Promise<string | null> {
  const successor = templatesOfCluster(rc, clusterName)
    .filter((t) => t.metadata.name !== deleted && !deleting(t))
    .sort(byAge)[0];
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

function templateManifest(
  rc: ResourceContext,
  input: { draft: TemplateDraft; cluster: ManagedCluster; architecture: "x86_64" | "arm64"; id: string },
  isDefault: boolean,
): NodeTemplate {
  const { draft, cluster, architecture, id } = input;
  return {
    apiVersion: API_VERSION,
    kind: "NodeTemplate",
    metadata: {
      name: id,
      namespace: rc.namespace,
      annotations: { [DISPLAY_NAME_ANNOTATION]: draft.name },
      ownerReferences: [clusterOwnerReference(cluster)],
    },
    spec: {
      clusterRef: { name: cluster.metadata.name ?? "" },
      families: draft.families.map((f) => f.trim().toLowerCase()),
      architecture,
      strategy: draft.strategy as NodeTemplate["spec"]["strategy"],
      diskType: draft.disk_type.toLowerCase() as NodeTemplate["spec"]["diskType"],
      diskSize: draft.disk_size,
      isDefault,
    },
  };
}

/** Creates the template; the first of a cluster (or one asked to be) becomes the cluster's default. */
async function createTemplate(
  rc: ResourceContext,
  draft: TemplateDraft,
): Promise<{ id: string; clusterName: string; template: NodeTemplate }> {
  const cluster = await targetCluster(rc, draft.cluster_id);
  const clusterName = cluster.metadata.name ?? "";
  const architecture = assertValid(draft, catalogOf(rc, cluster));
  const id = templateObjectName(draft.name, (candidate) => templateDisplayName(rc, candidate));
  if (!id) throw new UnprocessableError("body.name: must contain at least one letter or digit");
  // The first template of a cluster becomes its default, so "exactly one default per cluster" holds from the start.
  const isDefault = draft.is_default ?? defaultOf(rc, cluster) === null;
  const created = await rc.writer.create(templateManifest(rc, { draft, cluster, architecture, id }, isDefault));
  await settle(rc, "NodeTemplate", created);
  if (!isDefault) return { id, clusterName, template: created };
  // Asked for: move the default here. Implied (first template): only if no other creation got there first.
  const { moved } = await swapClusterDefault(rc, {
    clusterName,
    to: id,
    except: id,
    ...(draft.is_default === true
      ? {}
      : { when: (_previous, named) => named === null || rc.cache.template(rc.namespace, named) === undefined }),
  });
  const template = moved ? created : ((await flagDefault(rc, id, false)) ?? created);
  return { id, clusterName, template };
}

function requireTemplate(rc: ResourceContext, id: string): NodeTemplate {
  const template = rc.cache.template(rc.namespace, id);
  if (!template) throw new NotFoundError(`template ${id} not found`);
  return template;
}

/** The template as the API server holds it: 404 when gone, 409 while it is being deleted. */
async function liveTemplateToDefault(rc: ResourceContext, id: string): Promise<NodeTemplate> {
  const template = await rc.writer.read<NodeTemplate>(crRef("NodeTemplate", rc.namespace, id));
  if (!template) throw new NotFoundError(`template ${id} not found`);
  if (deleting(template))
    throw new ConflictError(`template ${id} is being deleted: it cannot become the default; choose another template`);
  return template;
}

/** Makes the template its cluster's default; answers the default it replaced. */
async function setDefault(
  rc: ResourceContext,
  id: string,
): Promise<{ clusterName: string; previousDefault: string | null }> {
  const clusterName = (await liveTemplateToDefault(rc, id)).spec.clusterRef.name;
  // isDefault first, then the one field that decides: a template named by the cluster is never left unflagged.
  await flagDefault(rc, id, true);
  const { previous } = await swapClusterDefault(rc, { clusterName, to: id, except: id });
  if (previous && previous !== id) await flagDefault(rc, previous, false);
  await undoIfDeleted(rc, clusterName, id);
  return { clusterName, previousDefault: previous };
}

/** A DELETE that raced the move (after the check above) left the cluster naming a deleting template: hand it on. */
async function undoIfDeleted(rc: ResourceContext, clusterName: string, id: string): Promise<void> {
  const template = await rc.writer.read<NodeTemplate>(crRef("NodeTemplate", rc.namespace, id));
  if (template && !deleting(template)) return;
  await promoteSuccessor(rc, clusterName, id);
  throw new ConflictError(`template ${id} was deleted at the same time: it did not become the default`);
}

/**
 * Deletes the template; deleting the default promotes the oldest remaining template of its cluster. `pending`: the
 * template is still there, held by a finalizer (its NodePool and EC2NodeClass go first). One already being deleted is
 * 409: deleting it again would change nothing.
 */
async function removeTemplate(
  rc: ResourceContext,
  id: string,
): Promise<{ template: NodeTemplate; wasDefault: boolean; newDefault: string | null; pending: boolean }> {
  const template = requireTemplate(rc, id);
  if (template.metadata.deletionTimestamp)
    throw new ConflictError(
      `template ${id} is already being deleted: its NodePool and EC2NodeClass are removed first (see its status)`,
    );
  const clusterName = template.spec.clusterRef.name;
  const ref = crRef("NodeTemplate", rc.namespace, id);
  await rc.writer.remove(ref);
  // One its finalizer holds is still there, marked: settle on that version rather than wait for it to go.
  const held = await rc.writer.read<NodeTemplate>(ref);
  await settle(rc, "NodeTemplate", held ?? null, { name: id });
  const wasDefault =
    template.spec.isDefault === true || rc.cache.cluster(rc.namespace, clusterName)?.spec.defaultTemplate === id;
  // A template its finalizer holds stays listed for a while; it must not stay flagged beside its successor.
  if (held) await flagDefault(rc, id, false);
  const newDefault = wasDefault ? await promoteSuccessor(rc, clusterName, id) : null;
  return { template, wasDefault, newDefault, pending: held !== undefined };
}

export interface TemplateService {
  create: typeof createTemplate;
  setDefault: typeof setDefault;
  remove: typeof removeTemplate;
}

export function createTemplateService(): TemplateService {
  return { create: createTemplate, setDefault, remove: removeTemplate };
}
