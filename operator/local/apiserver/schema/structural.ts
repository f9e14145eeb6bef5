// CRD schemas kube-apiserver refuses (422): non-structural schemas and x-kubernetes-validations rules that do not parse.
import { Environment } from "@marcbachmann/cel-js";
import type { JsonSchemaProps, ValidationRule } from "./types.js";

/** A cause of a refused CRD, as status.details.causes carries it. */
export interface CrdSchemaCause {
  reason: "FieldValueRequired" | "FieldValueInvalid";
  message: string;
  field: string;
}

type Level = "root" | "field" | "item";

const EMPTY_TYPE: Record<Level, string> = {
  root: "must not be empty at the root",
  field: "must not be empty for specified object fields",
  item: "must not be empty for specified array items",
};

const parser = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });

/** Go's %#v of the rule, as upstream's field.Invalid prints the ValidationRule value. */
function ruleValue(r: ValidationRule): string {
  const reason = r.reason ? `"${r.reason}"` : "(*apiextensions.FieldValueErrorReason)(nil)";
  return `apiextensions.ValidationRule{Rule:${JSON.stringify(r.rule ?? "")}, Message:${JSON.stringify(r.message ?? "")}, MessageExpression:${JSON.stringify(r.messageExpression ?? "")}, Reason:${reason}, FieldPath:${JSON.stringify(r.fieldPath ?? "")}, OptionalOldSelf:(*bool)(nil)}`;
}

/**
 * Syntax errors only: a rule that parses but calls a Kubernetes CEL library cel-js lacks (quantity(), url(), …) is
 * accepted here as upstream accepts it, and skipped at admission (see cel.ts).
 */
function ruleCauses(rules: ValidationRule[] | undefined, path: string): CrdSchemaCause[] {
  const out: CrdSchemaCause[] = [];
  (rules ?? []).forEach((r, i) => {
    for (const key of ["rule", "messageExpression"] as const) {
      const expr = r[key];
      if (!expr) continue;
      try {
        parser.parse(expr);
      } catch (err) {
        out.push({
          reason: "FieldValueInvalid",
          message: `Invalid value: ${ruleValue(r)}: ${key === "rule" ? "compilation failed" : "messageExpression compilation failed"}: ERROR: <input>: Syntax error: ${(err as Error).message.split("\n")[0]}`,
          field: `${path}.x-kubernetes-validations[${i}].${key}`,
        });
      }
    }
  });
  return out;
}

function typeCauses(s: JsonSchemaProps, path: string, level: Level): CrdSchemaCause[] {
  const x = s as Record<string, unknown>;
  const exempt = x["x-kubernetes-int-or-string"] === true || x["x-kubernetes-preserve-unknown-fields"] === true;
  const embedded = x["x-kubernetes-embedded-resource"] === true;
  const out: CrdSchemaCause[] = [];
  if (!s.type && !exempt && !embedded)
    out.push({ reason: "FieldValueRequired", message: `Required value: ${EMPTY_TYPE[level]}`, field: `${path}.type` });
  if (level === "root" && s.type && s.type !== "object")
    out.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(s.type)}: must be object at the root`,
      field: `${path}.type`,
    });
  if (s.type === "array" && !s.items)
    out.push({ reason: "FieldValueRequired", message: "Required value: must be specified", field: `${path}.items` });
  return out;
}

/** Walks properties, additionalProperties and items (the nodes a structural schema must type). */
function walk(s: JsonSchemaProps, path: string, level: Level, out: CrdSchemaCause[]): void {
  out.push(...typeCauses(s, path, level), ...ruleCauses(s["x-kubernetes-validations"], path));
  for (const [name, child] of Object.entries(s.properties ?? {}))
    if (child && typeof child === "object") walk(child, `${path}.properties[${name}]`, "field", out);
  if (s.additionalProperties && typeof s.additionalProperties === "object")
    walk(s.additionalProperties, `${path}.additionalProperties`, "field", out);
  if (s.items && typeof s.items === "object" && !Array.isArray(s.items)) walk(s.items, `${path}.items`, "item", out);
}

/** The 422 causes of a CRD's version schemas (apiextensions.k8s.io/v1 requires structural schemas). */
export function crdSchemaCauses(versions: unknown): CrdSchemaCause[] {
  if (!Array.isArray(versions)) return [];
  const out: CrdSchemaCause[] = [];
  versions.forEach((v: { schema?: { openAPIV3Schema?: JsonSchemaProps } }, i) => {
    const schema = v?.schema?.openAPIV3Schema;
    const path = `spec.versions[${i}].schema.openAPIV3Schema`;
    if (!schema) {
      out.push({ reason: "FieldValueRequired", message: "Required value: schemas are required", field: path });
      return;
    }
    walk(schema, path, "root", out);
  });
  return out;
}
