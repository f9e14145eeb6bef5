// CustomResourceDefinition -> ResourceType: what a CRD makes the server serve.
import type { KubeObject } from "./selectors.js";
import type { PrinterColumn, ResourceType, ResourceVersion, ScaleSubresource } from "./registry.js";
import { compareKubeVersions } from "./registry.js";

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
  subresources?: { status?: unknown; scale?: ScaleSubresource };
  additionalPrinterColumns?: PrinterColumn[];
}

/** The resource a CRD defines (served versions only, preferred version first). */
export function resourceTypeFromCrd(crd: KubeObject): ResourceType {
  const spec = crd.spec as Record<string, any>;
  const names = spec.names as Record<string, any>;
  const versions: ResourceVersion[] = (spec.versions as CrdVersion[])
    .filter((v) => v.served !== false)
    .map((v) => ({
      name: v.name,
      served: true,
      storage: v.storage === true,
      openAPIV3Schema: v.schema?.openAPIV3Schema,
      additionalPrinterColumns: v.additionalPrinterColumns,
      subresources: {
        status: v.subresources?.status !== undefined && v.subresources.status !== null,
        scale: v.subresources?.scale,
      },
    }))
    .sort((a, b) => compareKubeVersions(a.name, b.name));
  const kind = names.kind as string;
  return {
    group: spec.group as string,
    versions,
    kind,
    listKind: (names.listKind as string | undefined) ?? `${kind}List`,
    plural: names.plural as string,
    singular: (names.singular as string | undefined) ?? kind.toLowerCase(),
    namespaced: spec.scope === "Namespaced",
    shortNames: (names.shortNames as string[] | undefined) ?? [],
    categories: (names.categories as string[] | undefined) ?? [],
    verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
    extraSubresources: [],
    tracksGeneration: true,
    resetStatusOnCreate: false,
    returnDeletedObject: true,
    crd,
  };
}

/** `status.acceptedNames` for a CRD whose names were accepted. */
export function acceptedNames(crd: KubeObject): Record<string, unknown> {
  const names = (crd.spec as Record<string, any>).names as Record<string, any>;
  const kind = names.kind as string;
  const out: Record<string, unknown> = {
    kind,
    listKind: names.listKind ?? `${kind}List`,
    plural: names.plural,
    singular: names.singular ?? kind.toLowerCase(),
  };
  if (names.shortNames) out.shortNames = names.shortNames;
  if (names.categories) out.categories = names.categories;
  return out;
}
