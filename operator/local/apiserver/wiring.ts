// Adapters from the HTTP layer's hooks to the pure patch/ (merge, JSON, strategic, server-side apply) module.
import type { ManagedFieldsUpdater } from "./core.js";
import type { ApplyFn, PatchApplier } from "./http.js";
import { nowTimestamp } from "./objects.js";
import {
  applyJsonPatch,
  builtinTypeInfo,
  jsonMergePatch,
  recordUpdate,
  schemaTypeInfo,
  serverSideApply,
  strategicMergePatch,
  strategicMergePatchSupported,
  type TypeInfo,
} from "./patch/index.js";
import { hasStatusSubresource, versionOf, type ResourceType } from "./registry.js";
import type { JsonSchemaProps } from "./schema/index.js";
import type { KubeObject } from "./selectors.js";
import { unsupportedPatchType } from "./media-types.js";

/** List/map semantics of a resource version: the CRD schema's list types, or the built-in merge keys. */
function typesFor(rt: ResourceType, version: string): TypeInfo {
  const schema = versionOf(rt, version).openAPIV3Schema;
  return rt.crd && schema ? schemaTypeInfo(schema as JsonSchemaProps) : builtinTypeInfo(rt.kind);
}

/** merge / json / strategic patches; strategic merge on a custom resource is 415 as upstream. */
export const wiredPatch: PatchApplier = ({ type, current, patch, rt, version }) => {
  if (type === "json") return applyJsonPatch(current, patch) as KubeObject;
  if (type === "merge") return jsonMergePatch(current, patch) as KubeObject;
  if (!strategicMergePatchSupported(rt)) throw unsupportedPatchType(rt);
  return strategicMergePatch(current, patch, typesFor(rt, version)) as KubeObject;
};

/** Server-side apply with field ownership, removal of dropped fields and conflicts (409 ApplyConflictError). */
export const wiredApply: ApplyFn = ({ current, applied, manager, force, rt, version, subresource }) =>
  serverSideApply({
    live: current,
    applied,
    manager,
    force,
    now: nowTimestamp(),
    types: typesFor(rt, version),
    statusSubresource: hasStatusSubresource(rt, version),
    subresource,
  }).object as KubeObject;

/** managedFields of create/update/non-apply patches: the writer's Update entry takes the fields it changed. */
export const wiredManagedFields: ManagedFieldsUpdater = ({
  rt,
  version,
  manager,
  oldObject,
  newObject,
  subresource,
}) => {
  const managedFields = recordUpdate({
    before: oldObject,
    after: newObject,
    manager,
    now: nowTimestamp(),
    types: typesFor(rt, version),
    statusSubresource: hasStatusSubresource(rt, version),
    subresource,
  });
  return { ...newObject, metadata: { ...newObject.metadata, managedFields } };
};
