// Discovery documents: legacy (/api, /apis, APIResourceList) and aggregated apidiscovery.k8s.io/v2.
import type { ResourceRegistry, ResourceType } from "./registry.js";
import { groupVersion, versionOf } from "./registry.js";

/** An entry of APIResourceList.resources. */
interface ApiResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

const SUB_VERBS = ["get", "patch", "update"];

function subresources(
  t: ResourceType,
  version: string,
): { name: string; kind: string; group?: string; version?: string; verbs: string[] }[] {
  const v = versionOf(t, version);
  const out: { name: string; kind: string; group?: string; version?: string; verbs: string[] }[] = [];
  if (t.extraSubresources.includes("binding")) out.push({ name: "binding", kind: "Binding", verbs: ["create"] });
  if (t.extraSubresources.includes("eviction"))
    out.push({ name: "eviction", kind: "Eviction", group: "policy", version: "v1", verbs: ["create"] });
  if (v.subresources.scale)
    out.push({ name: "scale", kind: "Scale", group: "autoscaling", version: "v1", verbs: SUB_VERBS });
  if (v.subresources.status) out.push({ name: "status", kind: t.kind, verbs: SUB_VERBS });
  return out;
}

/** GET /api/v1 or /apis/{group}/{version}. */
export function apiResourceList(registry: ResourceRegistry, group: string, version: string): Record<string, unknown> {
  const resources: ApiResource[] = [];
  for (const t of registry.inGroupVersion(group, version).sort((a, b) => a.plural.localeCompare(b.plural))) {
    const r: ApiResource = {
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
    };
    if (t.shortNames.length > 0) r.shortNames = t.shortNames;
    if (t.categories.length > 0) r.categories = t.categories;
    resources.push(r);
    for (const s of subresources(t, version)) {
      const sr: ApiResource = {
        name: `${t.plural}/${s.name}`,
        singularName: "",
        namespaced: t.namespaced,
        kind: s.kind,
        verbs: s.verbs,
      };
      if (s.group !== undefined) sr.group = s.group;
      if (s.version !== undefined) sr.version = s.version;
      resources.push(sr);
    }
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: groupVersion(group, version), resources };
}

/** GET /api. */
export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function apiGroup(name: string, versions: string[]): Record<string, unknown> {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

/** GET /apis. */
export function apiGroupList(registry: ResourceRegistry): Record<string, unknown> {
  const groups: Record<string, unknown>[] = [];
  for (const [g, vs] of registry.groups()) if (g !== "") groups.push(apiGroup(g, vs));
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

/** GET /apis/{group}, or undefined when the group is not served. */
export function apiGroupDoc(registry: ResourceRegistry, group: string): Record<string, unknown> | undefined {
  const vs = registry.groups().get(group);
  if (!vs || group === "") return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...apiGroup(group, vs) };
}

/** Media type of aggregated discovery responses. */
export const AGGREGATED_DISCOVERY_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

function discoveryVersion(registry: ResourceRegistry, group: string, version: string): Record<string, unknown> {
  const resources = registry
    .inGroupVersion(group, version)
    .sort((a, b) => a.plural.localeCompare(b.plural))
    .map((t) => {
      const r: Record<string, unknown> = {
        resource: t.plural,
        responseKind: { group, version, kind: t.kind },
        scope: t.namespaced ? "Namespaced" : "Cluster",
        singularResource: t.singular,
        verbs: t.verbs,
      };
      if (t.shortNames.length > 0) r.shortNames = t.shortNames;
      if (t.categories.length > 0) r.categories = t.categories;
      const subs = subresources(t, version).map((s) => ({
        subresource: s.name,
        responseKind: { group: s.group ?? group, version: s.version ?? version, kind: s.kind },
        verbs: s.verbs,
      }));
      if (subs.length > 0) r.subresources = subs;
      return r;
    });
  return { version, resources, freshness: "Current" };
}

/** GET /api or /apis as apidiscovery.k8s.io/v2 APIGroupDiscoveryList (legacy = the core group only). */
export function aggregatedDiscovery(registry: ResourceRegistry, legacy: boolean): Record<string, unknown> {
  const items: Record<string, unknown>[] = [];
  for (const [g, vs] of registry.groups()) {
    if ((g === "") !== legacy) continue;
    items.push({
      metadata: { name: g, creationTimestamp: null },
      versions: vs.map((v) => discoveryVersion(registry, g, v)),
    });
  }
  return { kind: "APIGroupDiscoveryList", apiVersion: "apidiscovery.k8s.io/v2", metadata: {}, items };
}
