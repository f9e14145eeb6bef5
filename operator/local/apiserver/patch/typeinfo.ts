// List and map semantics per field path (associative lists, sets, atomic), for SSA field sets and strategic merge.
import type { JsonSchemaProps } from "../schema/types.js";

/** How a list merges: `map` = associative by `keys`, `set` = of scalars, `atomic` = replaced whole. */
export interface ListInfo {
  type: "atomic" | "set" | "map";
  keys?: string[];
}

/**
 * Answers list/map semantics for a path of field names where list items are written `*`,
 * e.g. `["spec", "template", "spec", "containers", "*", "env"]`.
 */
export interface TypeInfo {
  list(path: string[]): ListInfo;
  /** `x-kubernetes-map-type: atomic` objects (e.g. label selectors) are owned and replaced as one value. */
  atomicMap(path: string[]): boolean;
}

function schemaAt(root: JsonSchemaProps, path: string[]): JsonSchemaProps | undefined {
  let s: JsonSchemaProps | undefined = root;
  for (const seg of path) {
    if (!s) return undefined;
    if (seg === "*") s = s.items;
    else s = s.properties?.[seg] ?? (typeof s.additionalProperties === "object" ? s.additionalProperties : undefined);
  }
  return s;
}

/** Type information from a CRD's openAPIV3Schema (lists without x-kubernetes-list-type are atomic, as upstream). */
export function schemaTypeInfo(schema: JsonSchemaProps): TypeInfo {
  const common = commonTypeInfo();
  return {
    list(path) {
      if (path[0] === "metadata") return common.list(path);
      const s = schemaAt(schema, path);
      const type = s?.["x-kubernetes-list-type"] ?? "atomic";
      return type === "map" ? { type, keys: s?.["x-kubernetes-list-map-keys"] ?? [] } : { type };
    },
    atomicMap(path) {
      if (path[0] === "metadata") return false;
      return schemaAt(schema, path)?.["x-kubernetes-map-type"] === "atomic";
    },
  };
}

type Table = Record<string, ListInfo>;

/** Merge keys of core/v1 PodSpec lists (x-kubernetes-list-map-keys / patchMergeKey in the upstream OpenAPI). */
const podSpecLists: Table = {
  containers: { type: "map", keys: ["name"] },
  initContainers: { type: "map", keys: ["name"] },
  ephemeralContainers: { type: "map", keys: ["name"] },
  "containers.*.env": { type: "map", keys: ["name"] },
  "initContainers.*.env": { type: "map", keys: ["name"] },
  "containers.*.ports": { type: "map", keys: ["containerPort", "protocol"] },
  "initContainers.*.ports": { type: "map", keys: ["containerPort", "protocol"] },
  "containers.*.volumeMounts": { type: "map", keys: ["mountPath"] },
  "initContainers.*.volumeMounts": { type: "map", keys: ["mountPath"] },
  "containers.*.volumeDevices": { type: "map", keys: ["devicePath"] },
  volumes: { type: "map", keys: ["name"] },
  imagePullSecrets: { type: "map", keys: ["name"] },
  hostAliases: { type: "map", keys: ["ip"] },
  topologySpreadConstraints: { type: "map", keys: ["topologyKey", "whenUnsatisfiable"] },
  resourceClaims: { type: "map", keys: ["name"] },
};

/** Where a PodSpec sits in each workload kind. */
const podSpecPrefixes: Record<string, string[]> = {
  Pod: ["spec"],
  Deployment: ["spec", "template", "spec"],
  StatefulSet: ["spec", "template", "spec"],
  DaemonSet: ["spec", "template", "spec"],
  ReplicaSet: ["spec", "template", "spec"],
  Job: ["spec", "template", "spec"],
  CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
};

const kindLists: Record<string, Table> = {
  Node: { "status.addresses": { type: "map", keys: ["type"] }, "spec.podCIDRs": { type: "set" } },
  Service: { "spec.ports": { type: "map", keys: ["port", "protocol"] } },
  Namespace: { "spec.finalizers": { type: "atomic" } },
};

const selectorKinds = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "PodDisruptionBudget"]);

const commonLists: Table = {
  "metadata.ownerReferences": { type: "map", keys: ["uid"] },
  "metadata.finalizers": { type: "set" },
  "status.conditions": { type: "map", keys: ["type"] },
};

function commonTypeInfo(): TypeInfo {
  return {
    list: (path) => commonLists[path.join(".")] ?? { type: "atomic" },
    atomicMap: () => false,
  };
}

function startsWith(path: string[], prefix: string[]): boolean {
  return prefix.every((p, i) => path[i] === p);
}

/** Type information for a built-in kind, from the upstream patch strategies and list-map keys of the fields we use. */
export function builtinTypeInfo(kind: string): TypeInfo {
  const prefix = podSpecPrefixes[kind];
  const own = kindLists[kind] ?? {};
  return {
    list(path) {
      const joined = path.join(".");
      const hit = commonLists[joined] ?? own[joined];
      if (hit) return hit;
      if (prefix && startsWith(path, prefix))
        return podSpecLists[path.slice(prefix.length).join(".")] ?? { type: "atomic" };
      return { type: "atomic" };
    },
    atomicMap(path) {
      const joined = path.join(".");
      if (selectorKinds.has(kind) && joined === "spec.selector") return true;
      return prefix !== undefined && joined === [...prefix, "nodeSelector"].join(".");
    },
  };
}
