// Validates Karpenter objects the operator writes against Karpenter's own CRD schemas (the generated
// crds.generated.yaml), so a bad write is caught even where the cluster serves a looser schema.
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import * as yaml from "js-yaml";
import { KARPENTER_CRD_FILE } from "./crds.js";

/** Thrown when an object the operator is about to write would not pass Karpenter's schema. */
export class KarpenterValidationError extends Error {
  override name = "KarpenterValidationError";
}

interface CrdDocument {
  spec: {
    group: string;
    names: { kind: string };
    versions: Array<{ name: string; schema?: { openAPIV3Schema?: object } }>;
  };
}

let validators: Map<string, ValidateFunction> | undefined;

const addFormats = addFormatsModule as unknown as (ajv: Ajv, formats: string[]) => Ajv;

/** The OpenAPI integer formats Karpenter's schemas use, as ranges. */
function addIntegerFormats(ajv: Ajv): void {
  ajv.addFormat("int32", {
    type: "number",
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isSafeInteger(n) });
}

/** One compiled schema per `group/version/kind`, built on first use from the generated CRD file. */
function validatorsByKind(): Map<string, ValidateFunction> {
  if (validators) return validators;
  // Kubernetes' structural-schema extensions (x-kubernetes-*) are annotations to a JSON Schema validator.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv, ["date-time"]);
  addIntegerFormats(ajv);
  const built = new Map<string, ValidateFunction>();
  for (const doc of yaml.loadAll(readFileSync(KARPENTER_CRD_FILE, "utf8")) as CrdDocument[]) {
    const v1 = doc.spec.versions.find((v) => v.name === "v1");
    if (v1?.schema?.openAPIV3Schema)
      built.set(`${doc.spec.group}/v1/${doc.spec.names.kind}`, ajv.compile(v1.schema.openAPIV3Schema));
  }
  validators = built;
  return built;
}

/**
 * Throws KarpenterValidationError unless `object` is a valid Karpenter v1 NodePool, NodeClaim or EC2NodeClass.
 * Only what the operator writes is checked (apiVersion, kind, metadata name/labels/annotations, spec): the
 * server owns `status` and `managedFields`. With `previous` (the object before this write), errors it already had
 * are tolerated, as the API server's validation ratcheting does on EKS: a write is refused only for what it breaks,
 * so e.g. waking a NodePool a user left invalid still restores its limits.
 */
export function validateKarpenterObject(object: Record<string, unknown>, previous?: Record<string, unknown>): void {
  const key = `${String(object.apiVersion)}/${String(object.kind)}`;
  if (!validatorsByKind().has(key))
    throw new KarpenterValidationError(`${key} is not a Karpenter v1 kind this operator writes`);
  const before = new Set(previous === undefined ? [] : schemaErrors(previous, key));
  const added = schemaErrors(object, key).filter((e) => !before.has(e));
  if (added.length === 0) return;
  const meta = (object.metadata ?? {}) as Record<string, unknown>;
  throw new KarpenterValidationError(
    `${String(object.kind)} "${String(meta.name ?? "")}" is invalid: ${added.join(", ")}`,
  );
}

/** Schema errors as `spec.weight must be <= 100` (ajv says `/spec/weight`; we say it the apiserver way). */
function schemaErrors(object: Record<string, unknown>, key: string): string[] {
  const meta = (object.metadata ?? {}) as Record<string, unknown>;
  const written: Record<string, unknown> = {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: pick(meta, ["name", "labels", "annotations"]),
    spec: object.spec,
  };
  const validate = validatorsByKind().get(key)!;
  if (validate(written)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) =>
    `${e.instancePath.replace(/^\//, "").replace(/\//g, ".")} ${e.message ?? "is invalid"}`.trim(),
  );
}

function pick(from: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}
