// Patch and server-side apply entry points used by the local API server's HTTP layer.
export { applyJsonPatch, jsonMergePatch, parseJsonPatch, type JsonPatchOperation } from "./merge.js";
export { strategicMergePatch, strategicMergePatchSupported } from "./strategic.js";
export {
  ApplyConflictError,
  recordUpdate,
  serverSideApply,
  trackedPart,
  type ManagedFieldsEntry,
  type RecordUpdateArgs,
  type ServerSideApplyArgs,
  type WriteScope,
} from "./ssa.js";
export { builtinTypeInfo, schemaTypeInfo, type ListInfo, type TypeInfo } from "./typeinfo.js";
export { fieldSetOf, fromFieldsV1, pathString, toFieldsV1 } from "./fieldpath.js";

/** The default field manager the apiserver derives from the User-Agent when `fieldManager` is absent. */
export function defaultFieldManager(userAgent: string | undefined): string {
  // Upstream: the User-Agent up to the first "/" (e.g. "kubectl-client-side-apply/v1.33.1 (linux/amd64) ..."), max 128 chars.
  const head = (userAgent ?? "").split("/")[0]!.trim();
  return head.slice(0, 128);
}
