// Admission of custom resources against a CRD version's openAPIV3Schema: prune, default, validate, CEL.
import { hasCelRules, validateCelRules } from "./cel.js";
import { invalidMessage } from "./errors.js";
import { applyDefaults, pruneUnknownFields } from "./prune.js";
import { ratchet } from "./ratchet.js";
import { isPlainObject, sortedKeys, type Cause, type JsonObject, type JsonSchemaProps } from "./types.js";
import { validateValue } from "./validate.js";

export type { Cause, CauseReason, JsonObject, JsonSchemaProps, JsonValue, ValidationRule } from "./types.js";
export { aggregateCauses, causeToString, fieldError, invalidMessage, invalidStatus } from "./errors.js";
export { hasCelRules, uncompilableRules, unevaluatedRules } from "./cel.js";
export { applyDefaults, objectMetaFields, pruneUnknownFields } from "./prune.js";
export { uncheckedPatterns } from "./validate.js";

export interface AdmitCustomResourceArgs {
  /** The served version's `schema.openAPIV3Schema`. */
  schema: JsonSchemaProps;
  /** The decoded request object (not modified: a pruned, defaulted copy is returned). */
  object: JsonObject;
  /** The stored object on update: enables CEL transition rules (`oldSelf`). */
  oldObject?: JsonObject;
  kind: string;
  /** API group, e.g. `karpenter.sh`; used in the Invalid message `NodePool.karpenter.sh "x" is invalid`. */
  group: string;
  name: string;
}

export interface AdmitCustomResourceResult {
  /** Pruned and defaulted copy of the object; store this one when `causes` is empty. */
  object: JsonObject;
  /** StatusCauses for a 422 Invalid; empty when the object is valid. */
  causes: Cause[];
  /** The apiserver's Status message when invalid, e.g. `NodePool.karpenter.sh "x" is invalid: spec.weight: ...`. */
  message?: string;
  /** Paths of dropped unknown fields (e.g. `spec.foo`), for fieldValidation=Strict (400) or Warn (warnings). */
  unknownFields: string[];
}

/** Causes after which the apiserver skips CEL rules (apiextensions strategy hasBlockingErr). */
const blockingReasons = new Set([
  "FieldValueNotSupported",
  "FieldValueRequired",
  "FieldValueTooLong",
  "FieldValueTooMany",
  "FieldValueTypeInvalid",
]);

const celSkippedMessage =
  "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

/**
 * Prunes unknown fields, applies defaults, then validates (OpenAPI, list types, CEL) the way
 * kube-apiserver admits a custom resource on create/update/patch/apply.
 */
export function admitCustomResource(args: AdmitCustomResourceArgs): AdmitCustomResourceResult {
  const object = structuredClone(args.object);
  const unknownFields = pruneUnknownFields(object, args.schema);
  applyDefaults(object, args.schema);
  const found: Cause[] = [];
  validateValue(object, args.schema, "", found);
  const causes = ratchet(found, args.oldObject, object);
  // Without any x-kubernetes-validations there is no CEL validator, hence no "rules were not checked" cause.
  if (!hasCelRules(args.schema)) {
    // nothing to evaluate
  } else if (causes.some((c) => blockingReasons.has(c.reason))) {
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: "null": ${celSkippedMessage}`,
      field: "<nil>",
    });
  } else {
    causes.push(
      ...ratchet(validateCelRules({ object, oldObject: args.oldObject, schema: args.schema }), args.oldObject, object),
    );
  }
  // a real server stores a custom resource as a map and writes its keys sorted: code comparing its JSON as text must
  // not pass here and fail there
  const result: AdmitCustomResourceResult = { object: sortedKeys(object) as typeof object, causes, unknownFields };
  if (causes.length > 0)
    result.message = invalidMessage({ kind: args.kind, group: args.group, name: args.name, causes });
  return result;
}

/**
 * What `fieldValidation` does with unknown fields: Strict -> 400 BadRequest with this message (upstream:
 * `NodePool in version "v1" cannot be handled as a NodePool: strict decoding error: unknown field "spec.foo"`),
 * Warn (the default) -> one Warning header per field, Ignore -> nothing.
 */
export function fieldValidationOutcome(
  directive: string | undefined,
  unknownFields: string[],
  target?: { kind: string; version: string },
): { badRequestMessage?: string; warnings: string[] } {
  const texts = unknownFields.map((f) => `unknown field ${JSON.stringify(f)}`);
  if (texts.length === 0 || directive === "Ignore") return { warnings: [] };
  if (directive === "Strict") {
    const prefix = target
      ? `${target.kind} in version ${JSON.stringify(target.version)} cannot be handled as a ${target.kind}: `
      : "";
    return { badRequestMessage: `${prefix}strict decoding error: ${texts.join(", ")}`, warnings: [] };
  }
  return { warnings: texts };
}

/** The openAPIV3Schema of one version of a CRD object (apiextensions.k8s.io/v1), if it has one. */
export function crdVersionSchema(crd: unknown, version: string): JsonSchemaProps | undefined {
  const versions = isPlainObject(crd) && isPlainObject(crd.spec) ? crd.spec.versions : undefined;
  if (!Array.isArray(versions)) return undefined;
  const entry = versions.find((v) => isPlainObject(v) && v.name === version);
  const schema = isPlainObject(entry) && isPlainObject(entry.schema) ? entry.schema.openAPIV3Schema : undefined;
  return isPlainObject(schema) ? (schema as JsonSchemaProps) : undefined;
}
