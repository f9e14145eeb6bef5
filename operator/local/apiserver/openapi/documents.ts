// Builds the /openapi/v2 and /openapi/v3 documents from the resource registry (built-in kinds and every CRD version).
import type { ResourceRegistry, ResourceType, ResourceVersion } from "../registry.js";
import { builtinKindSchemas, LIST_META, OBJECT_META, ref, sharedSchemas } from "./builtins.js";
import { swaggerBuiltinKind, swaggerCustomResourceKind, swaggerSchema } from "./swagger.js";

type Schema = Record<string, any>;
export const V3_PREFIX = "#/components/schemas/";
export const V2_PREFIX = "#/definitions/";
const PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
const STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const K8S_VERSION = "v1.33.0";

const apiVersionDoc =
  "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const kindDoc =
  "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const metadataDoc =
  "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/** Upstream names for the groups of built-in kinds (io.k8s.api.<short>.<version>.<Kind>). */
function schemaName(rt: ResourceType, version: string): string {
  if (rt.crd) return `${rt.group.split(".").reverse().join(".")}.${version}.${rt.kind}`;
  if (rt.group === "apiextensions.k8s.io")
    return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${version}.${rt.kind}`;
  const short = rt.group === "" ? "core" : rt.group.replace(/\.k8s\.io$/, "").replace(/\.authorization$/, "");
  return `io.k8s.api.${short}.${version}.${rt.kind}`;
}

/** Rewrites `$ref`s of a schema tree to the other prefix (v3 components vs v2 definitions). */
function withPrefix(schema: unknown, prefix: string): any {
  if (Array.isArray(schema)) return schema.map((s) => withPrefix(s, prefix));
  if (typeof schema !== "object" || schema === null) return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema))
    out[k] = k === "$ref" && typeof v === "string" ? v.replace(V3_PREFIX, prefix) : withPrefix(v, prefix);
  return out;
}

function gvk(rt: ResourceType, version: string, kind = rt.kind): Schema {
  return { group: rt.group, kind, version };
}

function commonProperties(prefix: string): Schema {
  return {
    apiVersion: { type: "string", description: apiVersionDoc },
    kind: { type: "string", description: kindDoc },
    metadata: ref(OBJECT_META, metadataDoc, prefix),
  };
}

/** A CRD version's openAPIV3Schema as published: descriptions kept, metadata -> ObjectMeta, GVK added. */
function crdKindSchema(rt: ResourceType, v: ResourceVersion, prefix: string): Schema {
  const common = commonProperties(prefix);
  const schema: Schema = structuredClone(
    v.openAPIV3Schema ?? { type: "object", "x-kubernetes-preserve-unknown-fields": true },
  );
  const props = schema.properties ?? {};
  schema.properties = { ...common, ...props, metadata: common.metadata };
  schema.properties.apiVersion = { ...common.apiVersion, ...props.apiVersion };
  schema.properties.kind = { ...common.kind, ...props.kind };
  schema.type ??= "object";
  return { ...schema, "x-kubernetes-group-version-kind": [gvk(rt, v.name)] };
}

/** The kind's schema: the CRD's openAPIV3Schema or the built-in one (a generic object for kinds without one). */
function kindSchema(rt: ResourceType, v: ResourceVersion, prefix: string): Schema {
  if (rt.crd) return crdKindSchema(rt, v, prefix);
  const builtin = builtinKindSchemas(prefix)[`${rt.group}/${v.name}/${rt.kind}`] ?? {
    description: `${rt.kind} (${rt.group || "core"}/${v.name}).`,
    properties: {
      spec: {
        type: "object",
        description: `Desired state of the ${rt.kind}.`,
        "x-kubernetes-preserve-unknown-fields": true,
      },
      status: {
        type: "object",
        description: `Observed state of the ${rt.kind}.`,
        "x-kubernetes-preserve-unknown-fields": true,
      },
    },
  };
  return {
    type: "object",
    description: builtin.description,
    properties: { ...commonProperties(prefix), ...builtin.properties },
    ...(builtin.required ? { required: builtin.required } : {}),
    "x-kubernetes-group-version-kind": [gvk(rt, v.name)],
  };
}

function listSchema(rt: ResourceType, version: string, itemName: string, prefix: string): Schema {
  return {
    type: "object",
    description: `${rt.listKind} is a list of ${rt.kind}`,
    required: ["items"],
    properties: {
      apiVersion: { type: "string", description: apiVersionDoc },
      items: { type: "array", description: `List of ${rt.plural}.`, items: ref(itemName, "", prefix) },
      kind: { type: "string", description: kindDoc },
      metadata: ref(LIST_META, "Standard list metadata.", prefix),
    },
    "x-kubernetes-group-version-kind": [gvk(rt, version, rt.listKind)],
  };
}

interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  action: string;
  verb: string;
  write: boolean;
}

const collectionOps: Operation[] = [
  { method: "get", action: "list", verb: "list", write: false },
  { method: "post", action: "post", verb: "create", write: true },
  { method: "delete", action: "deletecollection", verb: "deletecollection", write: false },
];
const itemOps: Operation[] = [
  { method: "get", action: "get", verb: "get", write: false },
  { method: "put", action: "put", verb: "update", write: true },
  { method: "patch", action: "patch", verb: "patch", write: true },
  { method: "delete", action: "delete", verb: "delete", write: false },
];

const q = (name: string, description: string): Schema => ({
  name,
  in: "query",
  description,
  schema: { type: "string", uniqueItems: true },
});
const writeParams = [
  q(
    "dryRun",
    "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed",
  ),
  q("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."),
  q(
    "fieldValidation",
    "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn (default) - Strict",
  ),
];
const forceParam: Schema = {
  name: "force",
  in: "query",
  description: 'Force is going to "force" Apply requests.',
  schema: { type: "boolean", uniqueItems: true },
};

function camel(s: string): string {
  return s
    .split(/[.-]/)
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join("");
}

interface PathCtx {
  rt: ResourceType;
  version: string;
  kindRef: string;
  listRef: string;
}

const operationVerbs: Record<string, string> = { post: "create", put: "replace", get: "read" };

function responseRef(ctx: PathCtx, op: Operation, target: string): string {
  if (target === "collection" && op.method === "get") return ctx.listRef;
  return op.method === "delete" ? STATUS : ctx.kindRef;
}

/**
 * PATCH content types. The server accepts strategic merge patches for built-ins, but we do not list it: kubectl 1.33
 * computes client-side-apply patches from the v3 schema of GVKs whose PATCH lists it, and our compact built-in schemas
 * lack most fields ("warning: error calculating patch from openapi v3 spec: unable to find api field"). Without it,
 * kubectl silently uses its compiled-in Go types, which carry the real patch strategies.
 */
function requestBody(ctx: PathCtx, op: Operation): Schema | undefined {
  if (op.method === "patch") {
    const types = ["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"];
    return {
      content: Object.fromEntries(types.map((t) => [t, { schema: { $ref: `${V3_PREFIX}${PATCH}` } }])),
      required: true,
    };
  }
  return op.write
    ? { content: { "*/*": { schema: { $ref: `${V3_PREFIX}${ctx.kindRef}` } } }, required: true }
    : undefined;
}

function operationParams(op: Operation): Schema[] {
  if (!op.write) return [];
  return op.method === "patch" ? [...writeParams, forceParam] : writeParams;
}

function operationText(ctx: PathCtx, op: Operation, target: string): { description: string; operationId: string } {
  const { rt, version } = ctx;
  const suffix = target === "status" ? "Status" : "";
  const gv = camel(rt.group || "core") + camel(version);
  const what = target === "collection" && op.method !== "post" ? "objects" : "the specified";
  return {
    description: `${op.verb} ${what} ${rt.kind}${suffix ? " status" : ""}`,
    operationId: `${operationVerbs[op.action] ?? op.action}${gv}${rt.namespaced ? "Namespaced" : ""}${rt.kind}${suffix}`,
  };
}

function operation(ctx: PathCtx, op: Operation, target: "collection" | "item" | "status"): Schema {
  const { rt, version } = ctx;
  const out: Schema = {
    tags: [`${rt.group || "core"}_${version}`],
    ...operationText(ctx, op, target),
    parameters: operationParams(op),
    responses: {
      "200": {
        description: "OK",
        content: { "application/json": { schema: { $ref: `${V3_PREFIX}${responseRef(ctx, op, target)}` } } },
      },
    },
    "x-kubernetes-action": op.action,
    "x-kubernetes-group-version-kind": gvk(rt, version),
  };
  const body = requestBody(ctx, op);
  if (body) out.requestBody = body;
  return out;
}

const pathParam = (name: string, description: string): Schema => ({
  name,
  in: "path",
  description,
  required: true,
  schema: { type: "string", uniqueItems: true },
});

function resourcePaths(ctx: PathCtx, v: ResourceVersion): Record<string, Schema> {
  const { rt, version } = ctx;
  const base = rt.group ? `/apis/${rt.group}/${version}` : `/api/${version}`;
  const collection = `${base}${rt.namespaced ? "/namespaces/{namespace}" : ""}/${rt.plural}`;
  const nsParams = rt.namespaced
    ? [pathParam("namespace", "object name and auth scope, such as for teams and projects")]
    : [];
  const nameParams = [pathParam("name", `name of the ${rt.kind}`), ...nsParams];
  const has = (verb: string): boolean => rt.verbs.includes(verb);
  const ops = (list: Operation[], target: "collection" | "item" | "status"): Schema =>
    Object.fromEntries(
      list.filter((o) => target === "status" || has(o.verb)).map((o) => [o.method, operation(ctx, o, target)]),
    );
  const paths: Record<string, Schema> = {
    [collection]: { ...ops(collectionOps, "collection"), parameters: nsParams },
    [`${collection}/{name}`]: { ...ops(itemOps, "item"), parameters: nameParams },
  };
  if (v.subresources.status) {
    paths[`${collection}/{name}/status`] = {
      ...ops(
        itemOps.filter((o) => o.method !== "delete"),
        "status",
      ),
      parameters: nameParams,
    };
  }
  return paths;
}

/** Schemas every document carries (ObjectMeta, ListMeta, Patch, Status, pod templates...). */
function commonSchemas(prefix: string): Record<string, Schema> {
  return {
    ...sharedSchemas(prefix),
    [PATCH]: {
      type: "object",
      description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
    },
    [STATUS]: {
      type: "object",
      description: "Status is a return value for calls that don't return other objects.",
      "x-kubernetes-preserve-unknown-fields": true,
    },
  };
}

/** The OpenAPI 3.0 document of one group/version (`/openapi/v3/apis/{group}/{version}` or `/openapi/v3/api/v1`). */
export function openApiV3GroupVersion(registry: ResourceRegistry, group: string, version: string): Schema | undefined {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const schemas: Record<string, Schema> = commonSchemas(V3_PREFIX);
  const paths: Record<string, Schema> = {};
  for (const rt of types) {
    const v = rt.versions.find((x) => x.name === version)!;
    const kindRef = schemaName(rt, version);
    const listRef = `${kindRef}List`;
    schemas[kindRef] = kindSchema(rt, v, V3_PREFIX);
    schemas[listRef] = listSchema(rt, version, kindRef, V3_PREFIX);
    Object.assign(paths, resourcePaths({ rt, version, kindRef, listRef }, v));
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: K8S_VERSION },
    paths,
    components: { schemas: sortKeys(schemas) },
  };
}

function sortKeys(o: Record<string, Schema>): Record<string, Schema> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `api/v1`, `apis/apps/v1`, ... for every served group/version. */
export function groupVersionPaths(registry: ResourceRegistry): { path: string; group: string; version: string }[] {
  const out: { path: string; group: string; version: string }[] = [];
  for (const [group, versions] of registry.groups()) {
    for (const version of versions)
      out.push({ path: group ? `apis/${group}/${version}` : `api/${version}`, group, version });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Converts a v3 operation to swagger 2.0 (body parameter instead of requestBody, `schema` on responses). */
function v2Operation(op: Schema): Schema {
  const { requestBody, responses, parameters, ...rest } = op;
  const params = (parameters as Schema[]).map(({ schema, ...p }) => ({ ...p, type: schema.type, uniqueItems: true }));
  if (requestBody) {
    const content = requestBody.content as Record<string, Schema>;
    const first = Object.values(content)[0]!;
    params.unshift({ name: "body", in: "body", required: true, schema: withPrefix(first.schema, V2_PREFIX) } as never);
    rest.consumes = Object.keys(content);
  }
  const ok = (responses as Schema)["200"].content["application/json"].schema;
  return {
    ...rest,
    parameters: params,
    produces: ["application/json", "application/yaml"],
    responses: { "200": { description: "OK", schema: withPrefix(ok, V2_PREFIX) } },
  };
}

/** The v2 definition of a v3 schema: kinds by the rules of their origin, everything else by the common ones. */
function v2Definition(schema: Schema, kind: ResourceType | undefined): Schema {
  const v2 = withPrefix(schema, V2_PREFIX);
  if (!kind) return swaggerSchema(v2);
  return kind.crd ? swaggerCustomResourceKind(v2) : swaggerBuiltinKind(v2);
}

/** The swagger 2.0 document (`/openapi/v2`), derived from the v3 documents as kube-apiserver derives it. */
export function openApiV2(registry: ResourceRegistry): Schema {
  const definitions: Record<string, Schema> = {};
  const paths: Record<string, Schema> = {};
  for (const { group, version } of groupVersionPaths(registry)) {
    const doc = openApiV3GroupVersion(registry, group, version)!;
    const kinds = new Map(registry.inGroupVersion(group, version).map((rt) => [schemaName(rt, version), rt]));
    for (const [name, schema] of Object.entries(doc.components.schemas as Record<string, Schema>))
      definitions[name] = v2Definition(schema, kinds.get(name));
    for (const [path, item] of Object.entries(doc.paths as Record<string, Schema>)) {
      const out: Schema = {};
      for (const [k, v] of Object.entries(item)) {
        out[k] =
          k === "parameters"
            ? (v as Schema[]).map(({ schema, ...p }) => ({ ...p, type: schema.type, uniqueItems: true }))
            : v2Operation(v as Schema);
      }
      paths[path] = out;
    }
  }
  return {
    swagger: "2.0",
    info: { title: "Kubernetes", version: K8S_VERSION },
    paths,
    definitions: sortKeys(definitions),
  };
}
