// `spotctl render`: the Karpenter NodePools and EC2NodeClasses the operator would apply for NodeTemplate manifests
// (and the cluster's OptimizationPolicy / ManagedCluster when given), from the reconciler's own pure builder.
import { readFileSync } from "node:fs";
import { dump, loadAll } from "js-yaml";
import type { z } from "zod";
import { UsageError, parseFlags, refuseStdin, type CliCommand } from "../command.js";
import {
  ManagedClusterSpec,
  NodeTemplateSpec,
  OptimizationPolicySpec,
  type ManagedCluster,
  type NodeTemplate,
} from "../../../src-shared/crds/index.js";
import { unknownManifestFields } from "../../../src-shared/crds/unknown-fields.js";
import { loadPriceBookFromDataDir } from "../../../src-shared/pricing/data-dir.js";
import { loadSnapshotPriceBook } from "../../../src-shared/pricing/snapshot/index.js";
import type { PriceBook } from "../../../src-shared/pricing/types.js";
import { desiredTemplate, type KarpenterObject } from "../../controllers/nodetemplate/desired.js";
import { effectiveDefault } from "../../controllers/nodetemplate/kube.js";
import { effectivePolicy, policyInForce, type PolicyLike } from "../../../src-shared/karpenter/policy.js";

const USAGE = `spotctl render -f FILE [-f FILE ...] [--data DIR] [--region REGION]

Prints the multi-document YAML (EC2NodeClass, then NodePool, per template) that the operator's NodeTemplate
controller would apply for the NodeTemplate manifests in the files, shaped by the OptimizationPolicy in force for
their cluster when one is given. Files are YAML or JSON and may hold several documents (---). A ManagedCluster
document naming the cluster supplies its region, spec.aws and spec.defaultTemplate.

  -f, --filename FILE  a manifest file (repeatable); '-' is not supported
  --data DIR           price data directory (ec2-instance-types.json, spot-prices.json, spot-advisor.json);
                       default: the shipped price snapshot
  --region REGION      region of clusters without a ManagedCluster document (default us-east-1)

Warnings of the builder (defaults used, unpriced types) go to stderr. Live state the operator also reads
(NodeClaims for the return to Spot) is not known here: the pools are rendered as with no On-Demand NodeClaim.
An invalid manifest exits 2 with one line naming the file, the object and the field path.`;

interface Doc {
  file: string;
  index: number;
  object: Record<string, unknown>;
}

interface Manifests {
  templates: NodeTemplate[];
  policies: PolicyLike[];
  clusters: ManagedCluster[];
}

/** `-f x` is kubectl's spelling; parseFlags reads long flags only. */
function longFlags(args: string[]): string[] {
  return args.map((a) => (a === "-f" ? "--filename" : a.startsWith("-f=") ? `--filename=${a.slice(3)}` : a));
}

function readDocs(file: string): Doc[] {
  refuseStdin("-f", file);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`-f ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let docs: unknown[];
  try {
    docs = loadAll(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid YAML or JSON: ${(err as Error).message.split("\n")[0]}`);
  }
  return docs
    .map((object, index) => ({ file, index, object: object as Record<string, unknown> }))
    .filter((d) => d.object !== null && d.object !== undefined);
}

function where(doc: Doc): string {
  const meta = (doc.object.metadata ?? {}) as { name?: unknown };
  const kind = typeof doc.object.kind === "string" ? doc.object.kind : "document";
  const name = typeof meta.name === "string" ? ` ${meta.name}` : "";
  return `${doc.file} (document ${doc.index + 1}, ${kind}${name})`;
}

function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

/** Parses the document's spec with its CRD schema; the first problem is the one line of exit code 2. */
function parseSpec<S extends z.ZodTypeAny>(doc: Doc, schema: S): z.infer<S> {
  if (typeof doc.object !== "object" || Array.isArray(doc.object))
    throw new UsageError(`${where(doc)}: must be a Kubernetes object`);
  const meta = doc.object.metadata as { name?: unknown } | undefined;
  if (typeof meta?.name !== "string" || meta.name === "")
    throw new UsageError(`${where(doc)}: metadata.name: required`);
  // as kubectl apply refuses them (strict field validation): parsing alone would drop a misspelt field silently
  const unknown = unknownManifestFields(schema, doc.object);
  if (unknown.length > 0) throw new UsageError(`${where(doc)}: unknown field ${JSON.stringify(unknown[0])}`);
  const parsed = schema.safeParse(doc.object.spec);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new UsageError(`${where(doc)}: spec${fieldPath(issue.path)}: ${issue.message}`);
}

function metadataOf(doc: Doc): { name: string; namespace: string } {
  const meta = doc.object.metadata as { name: string; namespace?: unknown };
  return { name: meta.name, namespace: typeof meta.namespace === "string" ? meta.namespace : "default" };
}

/** Where each template was read (file, document, kind and name), for the findings that name it after parsing. */
const TEMPLATE_SOURCES = new WeakMap<object, string>();

function collect(docs: Doc[]): Manifests {
  const out: Manifests = { templates: [], policies: [], clusters: [] };
  for (const doc of docs) {
    const kind = typeof doc.object === "object" ? doc.object.kind : undefined;
    const apiVersion = String(doc.object.apiVersion ?? "spotoptimizer.io/v1alpha1");
    // parseSpec first: it checks the metadata that metadataOf reads
    if (kind === "NodeTemplate") {
      const spec = parseSpec(doc, NodeTemplateSpec);
      const template = { apiVersion, kind, metadata: metadataOf(doc), spec };
      TEMPLATE_SOURCES.set(template, where(doc));
      out.templates.push(template as NodeTemplate);
    } else if (kind === "OptimizationPolicy") {
      const spec = parseSpec(doc, OptimizationPolicySpec);
      out.policies.push({ metadata: metadataOf(doc), spec } as PolicyLike);
    } else if (kind === "ManagedCluster") {
      const spec = parseSpec(doc, ManagedClusterSpec);
      out.clusters.push({ apiVersion, kind, metadata: metadataOf(doc), spec } as ManagedCluster);
    } else
      throw new UsageError(
        `${where(doc)}: kind: must be NodeTemplate, OptimizationPolicy or ManagedCluster, got ${JSON.stringify(kind)}`,
      );
  }
  if (out.templates.length === 0) throw new UsageError("no NodeTemplate in the given files");
  return out;
}

/** Maps a validation finding to the field it is about, so the error names the path like the schema errors do. */
function findingPath(spec: NodeTemplateSpec, message: string): string {
  if (message.startsWith("architecture")) return "spec.architecture";
  if (message.startsWith("strategy")) return "spec.strategy";
  if (message.startsWith("disk_type")) return "spec.diskType";
  if (message.startsWith("disk_size")) return "spec.diskSize";
  const index = spec.families.findIndex((f) => new RegExp(`\\b${f.toLowerCase()}\\b`).test(message));
  return index === -1 ? "spec.families" : `spec.families[${index}]`;
}

interface RenderContext {
  manifests: Manifests;
  region: string;
  book: (region: string) => PriceBook;
}

function clusterOf(ctx: RenderContext, template: NodeTemplate): ManagedCluster {
  const { namespace = "default" } = template.metadata;
  const name = template.spec.clusterRef.name;
  const found = ctx.manifests.clusters.find((c) => c.metadata.name === name && c.metadata.namespace === namespace);
  return (
    found ?? {
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "ManagedCluster",
      metadata: { name, namespace },
      spec: { mode: "local", region: ctx.region } as ManagedCluster["spec"],
    }
  );
}

/** The cluster's OptimizationPolicy in force; the others that name the cluster are ignored, with a warning each. */
function policyOf(
  ctx: RenderContext,
  where: { namespace: string; clusterName: string },
  warn: (line: string) => void,
): ReturnType<typeof policyInForce>["inForce"] {
  const { inForce, duplicates } = policyInForce(ctx.manifests.policies, where.namespace, where.clusterName);
  for (const d of duplicates)
    warn(
      `OptimizationPolicy ${d.metadata.name ?? ""} ignored: ${inForce?.metadata.name ?? ""} is in force for ${where.clusterName}`,
    );
  return inForce;
}

/** The objects of one template, exactly as the reconciler builds them; throws UsageError when it is not valid. */
function renderTemplate(ctx: RenderContext, template: NodeTemplate, warn: (line: string) => void): KarpenterObject[] {
  const namespace = template.metadata.namespace ?? "default";
  const name = template.metadata.name ?? "";
  const cluster = clusterOf(ctx, template);
  const clusterName = cluster.metadata.name ?? "";
  const inForce = policyOf(ctx, { namespace, clusterName }, warn);
  const desired = desiredTemplate({
    template: { namespace, name, spec: template.spec },
    cluster: { name: clusterName, spec: cluster.spec },
    policy: effectivePolicy(inForce),
    isDefault: effectiveDefault(ctx.manifests.templates, cluster) === name,
    catalog: ctx.book(cluster.spec.region ?? ctx.region),
  });
  if (!desired.validation.valid) {
    const first = desired.validation.errors[0] ?? "not valid";
    const source = TEMPLATE_SOURCES.get(template) ?? `NodeTemplate ${namespace}/${name}`;
    throw new UsageError(`${source}: ${findingPath(template.spec, first)}: ${first}`);
  }
  for (const w of desired.warnings) warn(`NodeTemplate ${namespace}/${name}: ${w}`);
  return [desired.ec2NodeClass!, desired.nodePool!];
}

function priceBooks(dataDir: string | undefined): (region: string) => PriceBook {
  const books = new Map<string, PriceBook>();
  return (region) => {
    let book = books.get(region);
    if (!book) {
      try {
        book = dataDir === undefined ? loadSnapshotPriceBook(region) : loadPriceBookFromDataDir(dataDir, region);
      } catch (err) {
        // render reads no AWS API: prices for another region come only from --data
        const hint = dataDir === undefined ? " (give --data DIR)" : "";
        throw new UsageError(`${dataDir === undefined ? "--region" : "--data"}: ${(err as Error).message}${hint}`);
      }
      books.set(region, book);
    }
    return book;
  };
}

export const renderCommand: CliCommand = {
  usage: USAGE,
  run: async (args, io) => {
    const { flags, positional } = parseFlags(longFlags(args), { values: ["filename", "data", "region"] });
    if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
    const files = flags.get("filename") ?? [];
    if (files.length === 0) throw new UsageError("-f FILE is required");
    const manifests = collect(files.flatMap(readDocs));
    const ctx: RenderContext = {
      manifests,
      region: flags.get("region")?.at(-1) ?? "us-east-1",
      book: priceBooks(flags.get("data")?.at(-1)),
    };
    const warnings: string[] = [];
    const objects = manifests.templates.flatMap((t) => renderTemplate(ctx, t, (w) => warnings.push(w)));
    for (const w of [...new Set(warnings)]) io.stderr(`spotctl render: warning: ${w}\n`);
    io.stdout(objects.map((o) => dump(o, { noRefs: true, lineWidth: -1 })).join("---\n"));
    return 0;
  },
};
