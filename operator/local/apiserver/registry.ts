// The resource registry: every served resource (built-in or from a CRD) with its names, scope, verbs and subresources.
import { EVENT_STORAGE, eventFromStored, eventToStored } from "./events.js";
import type { KubeObject } from "./selectors.js";

/** Scale subresource paths (JSONPath-like `.spec.replicas`), as in a CRD's `subresources.scale`. */
export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

/** One version of a resource, with the CRD's schema when the resource comes from a CRD. */
export interface ResourceVersion {
  name: string;
  served: boolean;
  storage: boolean;
  /** `spec.versions[].schema.openAPIV3Schema` of the CRD (undefined for built-ins). */
  openAPIV3Schema?: Record<string, unknown>;
  additionalPrinterColumns?: PrinterColumn[];
  /** Status/scale subresources of this version (CRDs may differ per version). */
  subresources: { status: boolean; scale?: ScaleSubresource };
}

/** A CRD `additionalPrinterColumns` entry. */
export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  format?: string;
  priority?: number;
}

/**
 * A group/resource served by the local API server. Objects are stored once per group+plural; a request for any
 * served version answers with that version in `apiVersion` (CRD conversion strategy `None`).
 */
export interface ResourceType {
  /** "" for the core group. */
  group: string;
  /** Served versions, preferred (storage for CRDs, else first) first. */
  versions: ResourceVersion[];
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Extra subresources handled specially: `eviction` on pods. */
  extraSubresources: string[];
  /** metadata.generation is maintained (CRs, and built-ins with a spec/status split). */
  tracksGeneration: boolean;
  /** On create, status set by the client is dropped (replaced by `initialStatus`); nodes keep it. */
  resetStatusOnCreate: boolean;
  /** A successful immediate DELETE answers with the object rather than a Success Status. */
  returnDeletedObject: boolean;
  /** The CRD object that defines this resource (custom resources only). */
  crd?: Record<string, unknown>;
  /** Objects live in another resource's storage, converted on the way in and out (events.k8s.io/v1 Events). */
  storedAs?: StoredAs;
}

/** Another resource's storage and the conversion between its stored form and this resource's form. */
export interface StoredAs {
  group: string;
  plural: string;
  toStored(obj: KubeObject): KubeObject;
  fromStored(obj: KubeObject): KubeObject;
}

/** `group/plural` — the storage key of a resource type. */
export function resourceKey(r: { group: string; plural: string }): string {
  return `${r.group}/${r.plural}`;
}

/** The store key of a resource's objects: its own, or the storage it shares with another resource. */
export function storageKey(r: ResourceType): string {
  return r.storedAs ? resourceKey(r.storedAs) : resourceKey(r);
}

/** `apps/v1` or `v1`. */
export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

const RW = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

interface BuiltinSpec {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  scale?: boolean;
  extra?: string[];
  generation?: boolean;
  keepStatus?: boolean;
  returnDeleted?: boolean;
  verbs?: string[];
  storedAs?: StoredAs;
}

const BUILTINS: BuiltinSpec[] = [
  {
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    namespaced: false,
    shortNames: ["ns"],
    status: true,
    returnDeleted: true,
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
  },
  {
    group: "",
    version: "v1",
    kind: "Node",
    plural: "nodes",
    namespaced: false,
    shortNames: ["no"],
    status: true,
    keepStatus: true,
  },
  {
    group: "",
    version: "v1",
    kind: "Pod",
    plural: "pods",
    namespaced: true,
    shortNames: ["po"],
    categories: ["all"],
    status: true,
    extra: ["binding", "eviction"],
    returnDeleted: true,
  },
  // What a scheduler posts: create only (pods/binding is the same write on the pod's subresource).
  { group: "", version: "v1", kind: "Binding", plural: "bindings", namespaced: true, verbs: ["create"] },
  { group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true },
  { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true, shortNames: ["cm"] },
  { group: "", version: "v1", kind: "Event", plural: "events", namespaced: true, shortNames: ["ev"] },
  {
    group: "",
    version: "v1",
    kind: "Service",
    plural: "services",
    namespaced: true,
    shortNames: ["svc"],
    categories: ["all"],
    status: true,
  },
  { group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true, shortNames: ["sa"] },
  {
    group: "events.k8s.io",
    version: "v1",
    kind: "Event",
    plural: "events",
    namespaced: true,
    shortNames: ["ev"],
    storedAs: { ...EVENT_STORAGE, toStored: eventToStored, fromStored: eventFromStored },
  },
  {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
    namespaced: true,
    shortNames: ["deploy"],
    categories: ["all"],
    status: true,
    scale: true,
    generation: true,
  },
  {
    group: "apps",
    version: "v1",
    kind: "StatefulSet",
    plural: "statefulsets",
    namespaced: true,
    shortNames: ["sts"],
    categories: ["all"],
    status: true,
    scale: true,
    generation: true,
  },
  {
    group: "apps",
    version: "v1",
    kind: "DaemonSet",
    plural: "daemonsets",
    namespaced: true,
    shortNames: ["ds"],
    categories: ["all"],
    status: true,
    generation: true,
  },
  {
    group: "apps",
    version: "v1",
    kind: "ReplicaSet",
    plural: "replicasets",
    namespaced: true,
    shortNames: ["rs"],
    categories: ["all"],
    status: true,
    scale: true,
    generation: true,
  },
  {
    group: "batch",
    version: "v1",
    kind: "CronJob",
    plural: "cronjobs",
    namespaced: true,
    shortNames: ["cj"],
    categories: ["all"],
    status: true,
    generation: true,
  },
  {
    group: "batch",
    version: "v1",
    kind: "Job",
    plural: "jobs",
    namespaced: true,
    categories: ["all"],
    status: true,
    generation: true,
  },
  {
    group: "policy",
    version: "v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    namespaced: true,
    shortNames: ["pdb"],
    status: true,
    generation: true,
  },
  { group: "rbac.authorization.k8s.io", version: "v1", kind: "Role", plural: "roles", namespaced: true },
  { group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding", plural: "rolebindings", namespaced: true },
  { group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRoleBinding",
    plural: "clusterrolebindings",
    namespaced: false,
  },
  { group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true },
  // Answered by the request gate (auth/reviews.ts), never stored: `kubectl auth can-i` creates them.
  {
    group: "authorization.k8s.io",
    version: "v1",
    kind: "SelfSubjectAccessReview",
    plural: "selfsubjectaccessreviews",
    namespaced: false,
    verbs: ["create"],
  },
  {
    group: "authorization.k8s.io",
    version: "v1",
    kind: "SubjectAccessReview",
    plural: "subjectaccessreviews",
    namespaced: false,
    verbs: ["create"],
  },
  {
    group: "authorization.k8s.io",
    version: "v1",
    kind: "SelfSubjectRulesReview",
    plural: "selfsubjectrulesreviews",
    namespaced: false,
    verbs: ["create"],
  },
  {
    group: "authentication.k8s.io",
    version: "v1",
    kind: "SelfSubjectReview",
    plural: "selfsubjectreviews",
    namespaced: false,
    verbs: ["create"],
  },
  {
    group: "authorization.k8s.io",
    version: "v1",
    kind: "LocalSubjectAccessReview",
    plural: "localsubjectaccessreviews",
    namespaced: true,
    verbs: ["create"],
  },
  // Charts commonly ship an Ingress (ours does, optionally); stored and served, no controller acts on it.
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "Ingress",
    plural: "ingresses",
    namespaced: true,
    shortNames: ["ing"],
    status: true,
    generation: true,
  },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    namespaced: false,
    shortNames: ["crd", "crds"],
    categories: ["api-extensions"],
    status: true,
    generation: true,
  },
];

function builtinType(b: BuiltinSpec): ResourceType {
  const scale: ScaleSubresource | undefined = b.scale
    ? {
        specReplicasPath: ".spec.replicas",
        statusReplicasPath: ".status.replicas",
        labelSelectorPath: ".spec.selector",
      }
    : undefined;
  return {
    group: b.group,
    versions: [{ name: b.version, served: true, storage: true, subresources: { status: b.status ?? false, scale } }],
    kind: b.kind,
    listKind: `${b.kind}List`,
    plural: b.plural,
    singular: b.kind.toLowerCase(),
    namespaced: b.namespaced,
    shortNames: b.shortNames ?? [],
    categories: b.categories ?? [],
    verbs: b.verbs ?? RW,
    extraSubresources: b.extra ?? [],
    tracksGeneration: b.generation ?? false,
    resetStatusOnCreate: b.status === true && !b.keepStatus,
    returnDeletedObject: b.returnDeleted ?? false,
    ...(b.storedAs ? { storedAs: b.storedAs } : {}),
  };
}

/** The built-in resources served at start, in discovery order. */
export function builtinResourceTypes(): ResourceType[] {
  return BUILTINS.map(builtinType);
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > other). */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    const stage = m[2] === undefined ? 3 : m[2] === "beta" ? 2 : 1;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return pa ? -1 : pb ? 1 : a.localeCompare(b);
  if (pa[0] !== pb[0]) return pb[0] - pa[0];
  if (pa[1] !== pb[1]) return pb[1] - pa[1];
  return pb[2] - pa[2];
}

/** The set of served resource types, keyed by group/plural; lookups by version, kind and short name. */
export class ResourceRegistry {
  private readonly types = new Map<string, ResourceType>();
  private readonly listeners = new Set<() => void>();

  constructor(initial: ResourceType[] = builtinResourceTypes()) {
    for (const t of initial) this.types.set(resourceKey(t), t);
  }

  /** Adds or replaces a resource type (CRD registration). */
  upsert(t: ResourceType): void {
    this.types.set(resourceKey(t), t);
    this.changed();
  }

  remove(group: string, plural: string): void {
    if (this.types.delete(`${group}/${plural}`)) this.changed();
  }

  /** Called after every registry change (discovery/OpenAPI caches). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  byGroupPlural(group: string, plural: string): ResourceType | undefined {
    return this.types.get(`${group}/${plural}`);
  }

  /** The type serving `plural` at group/version, if that version is served. */
  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    const t = this.types.get(`${group}/${plural}`);
    return t && t.versions.some((v) => v.name === version && v.served) ? t : undefined;
  }

  /** The type for an apiVersion + kind (owner references, eviction bodies). */
  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const slash = apiVersion.indexOf("/");
    const group = slash < 0 ? "" : apiVersion.slice(0, slash);
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    for (const t of this.types.values()) {
      if (t.group === group && t.kind === kind && t.versions.some((v) => v.name === version && v.served)) return t;
    }
    return undefined;
  }

  /** group -> served versions (preferred first), for discovery. */
  groups(): Map<string, string[]> {
    const out = new Map<string, Set<string>>();
    for (const t of this.types.values()) {
      const set = out.get(t.group) ?? new Set<string>();
      for (const v of t.versions) if (v.served) set.add(v.name);
      out.set(t.group, set);
    }
    const sorted = new Map<string, string[]>();
    for (const [g, vs] of out) sorted.set(g, [...vs].sort(compareKubeVersions));
    return sorted;
  }

  /** Types served at group/version. */
  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.all().filter((t) => t.group === group && t.versions.some((v) => v.name === version && v.served));
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}

/** The version entry of `t` for `version` (falls back to the first). */
export function versionOf(t: ResourceType, version: string): ResourceVersion {
  return t.versions.find((v) => v.name === version) ?? t.versions[0]!;
}

/** Whether `t` has a status subresource (CRDs: in any served version, as storage semantics are shared). */
export function hasStatusSubresource(t: ResourceType, version?: string): boolean {
  if (version) return versionOf(t, version).subresources.status;
  return t.versions.some((v) => v.subresources.status);
}
