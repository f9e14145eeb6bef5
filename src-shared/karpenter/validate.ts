// Validates Karpenter objects the operator writes against Karpenter's own schemas (@kubernetes-models/karpenter), so a bad write is caught even where the cluster serves a looser schema.
import { EC2NodeClass } from "@kubernetes-models/karpenter/karpenter.k8s.aws/v1/EC2NodeClass";
import { NodeClaim } from "@kubernetes-models/karpenter/karpenter.sh/v1/NodeClaim";
import { NodePool } from "@kubernetes-models/karpenter/karpenter.sh/v1/NodePool";

/** Thrown when an object the operator is about to write would not pass Karpenter's schema. */
export class KarpenterValidationError extends Error {
  override name = "KarpenterValidationError";
}

type Model = { validate(): void };
const MODELS: Record<string, (object: Record<string, unknown>) => Model> = {
  "karpenter.sh/v1/NodePool": (o) => new NodePool(o as never),
  "karpenter.sh/v1/NodeClaim": (o) => new NodeClaim(o as never),
  "karpenter.k8s.aws/v1/EC2NodeClass": (o) => new EC2NodeClass(o as never),
};

/**
 * Throws KarpenterValidationError unless `object` is a valid Karpenter v1 NodePool, NodeClaim or EC2NodeClass.
 * Only what the operator writes is checked (apiVersion, kind, metadata name/labels/annotations, spec): the
 * server owns `status` and `managedFields`. With `previous` (the object before this write), errors it already had
 * are tolerated, as the API server's validation ratcheting does on EKS: a write is refused only for what it breaks,
 * so e.g. waking a NodePool a user left invalid still restores its limits.
 */
export function validateKarpenterObject(object: Record<string, unknown>, previous?: Record<string, unknown>): void {
  const key = `${String(object.apiVersion)}/${String(object.kind)}`;
  if (!MODELS[key]) throw new KarpenterValidationError(`${key} is not a Karpenter v1 kind this operator writes`);
  const before = new Set(previous === undefined ? [] : schemaErrors(previous, key));
  const added = schemaErrors(object, key).filter((e) => !before.has(e));
  if (added.length === 0) return;
  const meta = (object.metadata ?? {}) as Record<string, unknown>;
  throw new KarpenterValidationError(
    `${String(object.kind)} "${String(meta.name ?? "")}" is invalid: ${added.join(", ")}`,
  );
}

/** Schema errors as `spec.weight must be <= 100` (the model says `data/spec/weight`; we say it the apiserver way). */
function schemaErrors(object: Record<string, unknown>, key: string): string[] {
  const meta = (object.metadata ?? {}) as Record<string, unknown>;
  const written: Record<string, unknown> = {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: pick(meta, ["name", "labels", "annotations"]),
    spec: object.spec,
  };
  try {
    MODELS[key]!(written).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: Array<{ instancePath?: string; message?: string }> }).errors;
    if (!Array.isArray(errors)) return [err instanceof Error ? err.message : String(err)];
    return errors.map((e) =>
      `${(e.instancePath ?? "").replace(/^\//, "").replace(/\//g, ".")} ${e.message ?? "is invalid"}`.trim(),
    );
  }
}

function pick(from: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}
