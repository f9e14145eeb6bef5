// Kubernetes field.Error rendering: cause bodies and the aggregated "Kind.group "name" is invalid: ..." message.
import type { Cause, CauseReason } from "./types.js";

/** Go's `%#v` of a decoded JSON value, which is how the apiserver prints maps and lists in error bodies. */
export function goSyntaxRepr(value: unknown): string {
  if (value === null || value === undefined) return "interface {}(nil)";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[]interface {}{${value.map(goSyntaxRepr).join(", ")}}`;
  const entries = Object.keys(value as object)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${goSyntaxRepr((value as Record<string, unknown>)[k])}`);
  return `map[string]interface {}{${entries.join(", ")}}`;
}

/** The `Invalid value: <v>` part: strings quoted (%q), scalars plain (%v), everything else %#v. */
function badValueRepr(value: unknown): string {
  if (value === null || value === undefined) return '"null"';
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return goSyntaxRepr(value);
}

const typeStrings: Record<CauseReason, string> = {
  FieldValueRequired: "Required value",
  FieldValueInvalid: "Invalid value",
  FieldValueNotSupported: "Unsupported value",
  FieldValueTypeInvalid: "Invalid value",
  FieldValueDuplicate: "Duplicate value",
  FieldValueForbidden: "Forbidden",
  FieldValueTooLong: "Too long",
  FieldValueTooMany: "Too many",
};

/** Reasons whose body never shows the bad value (field.Error.ErrorBody). */
const valuelessReasons = new Set<CauseReason>(["FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong"]);

/** Builds a cause the way field.Error.ErrorBody() does. Pass `badValue: undefined` with a valueless reason. */
export function fieldError(reason: CauseReason, field: string, badValue: unknown, detail = ""): Cause {
  let body = typeStrings[reason];
  if (!valuelessReasons.has(reason)) body += `: ${badValueRepr(badValue)}`;
  if (detail) body += `: ${detail}`;
  return { reason, message: body, field };
}

/** `spec.x: Invalid value: ...` — one field.Error as a string. */
export function causeToString(cause: Cause): string {
  return `${cause.field || "<nil>"}: ${cause.message}`;
}

/** Joins causes like utilerrors.NewAggregate: one message alone, several in brackets, duplicates dropped. */
export function aggregateCauses(causes: Cause[]): string {
  const messages = [...new Set(causes.map(causeToString))];
  return messages.length === 1 ? messages[0]! : `[${messages.join(", ")}]`;
}

/** `NodePool.karpenter.sh "x" is invalid: spec.weight: ...` (apierrors.NewInvalid). Core group has no suffix. */
export function invalidMessage(args: { kind: string; group: string; name: string; causes: Cause[] }): string {
  const qualifiedKind = args.group ? `${args.kind}.${args.group}` : args.kind;
  const head = `${qualifiedKind} ${JSON.stringify(args.name)} is invalid`;
  return args.causes.length === 0 ? head : `${head}: ${aggregateCauses(args.causes)}`;
}

/** The metav1.Status body of a 422 Invalid answer. */
export function invalidStatus(args: {
  kind: string;
  group: string;
  name: string;
  causes: Cause[];
}): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: invalidMessage(args),
    reason: "Invalid",
    details: { name: args.name, group: args.group, kind: args.kind, causes: args.causes },
    code: 422,
  };
}
