// CEL x-kubernetes-validations (incl. oldSelf transition rules) evaluated with @marcbachmann/cel-js.
import { Environment } from "@marcbachmann/cel-js";
import { fieldError } from "./errors.js";
import { isPlainObject, type Cause, type CauseReason, type JsonSchemaProps, type ValidationRule } from "./types.js";

/** Kubernetes CEL library functions the Karpenter CRDs use and cel-js lacks (k8s regex library). */
function kubernetesEnvironment(): Environment {
  return (
    new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false })
      // An invalid regex throws here and is reported as a rule evaluation error (as upstream reports it).
      .registerFunction(
        "string.find(string): string",
        (s: string, re: string) => new RegExp(re, "u").exec(s)?.[0] ?? "",
      )
      .registerFunction("string.findAll(string): list<string>", (s: string, re: string) =>
        [...s.matchAll(new RegExp(re, "gu"))].map((m) => m[0]),
      )
  );
}

const env = kubernetesEnvironment();
type Program = (context: Record<string, unknown>) => unknown;
const programs = new Map<string, Program | Error>();

/** Rules cel-js could not compile, with the reason: they are skipped, never silently claimed as checked. */
export const unevaluatedRules = new Map<string, string>();

function compile(expression: string): Program | undefined {
  let program = programs.get(expression);
  if (program === undefined) {
    try {
      // Type-check first: parse() alone accepts calls to functions cel-js does not have.
      const checked = env.check(expression) as { valid: boolean; error?: Error };
      if (!checked.valid) throw checked.error ?? new Error("type check failed");
      program = env.parse(expression) as unknown as Program;
    } catch (err) {
      program = err instanceof Error ? err : new Error(String(err));
      unevaluatedRules.set(expression, program.message);
    }
    programs.set(expression, program);
  }
  return program instanceof Error ? undefined : program;
}

function isCelInt(value: number, schema: JsonSchemaProps | undefined): boolean {
  if (!Number.isInteger(value)) return false;
  if (schema?.type === "integer" || schema?.["x-kubernetes-int-or-string"]) return true;
  return !schema?.type;
}

function childSchema(schema: JsonSchemaProps | undefined, key: string): JsonSchemaProps | undefined {
  const additional = isPlainObject(schema?.additionalProperties)
    ? (schema?.additionalProperties as JsonSchemaProps)
    : undefined;
  return schema?.properties?.[key] ?? additional;
}

/** Converts a JSON value to CEL's typed view: `integer` fields are ints (bigint), `number` fields doubles. */
function toCel(value: unknown, schema: JsonSchemaProps | undefined): unknown {
  if (typeof value === "number") return isCelInt(value, schema) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map((v) => toCel(v, schema?.items));
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(v, childSchema(schema, k))]));
  return value;
}

const usesOldSelf = /\boldSelf\b/;

function appendFieldPath(path: string, fieldPath: string | undefined): string {
  if (!fieldPath) return path;
  if (fieldPath.startsWith("[")) return path + fieldPath;
  const rel = fieldPath.startsWith(".") ? fieldPath.slice(1) : fieldPath;
  return path ? `${path}.${rel}` : rel;
}

interface Node {
  value: unknown;
  old: unknown;
  schema: JsonSchemaProps;
  path: string;
}

function failureMessage(rule: ValidationRule, context: Record<string, unknown>): string {
  if (rule.messageExpression) {
    const program = compile(rule.messageExpression);
    try {
      const msg = program?.(context);
      if (typeof msg === "string" && msg.trim() !== "") return msg;
    } catch {
      // Falls back to the static message, as the apiserver does when messageExpression fails.
    }
  }
  return rule.message ?? `failed rule: ${rule.rule}`;
}

function ruleCause(rule: ValidationRule, node: Node, message: string): Cause {
  const reason: CauseReason = rule.reason ?? "FieldValueInvalid";
  // A rule on the root reports the nil path, printed "<nil>" by the apiserver.
  const field = appendFieldPath(node.path, rule.fieldPath) || "<nil>";
  return fieldError(reason, field, node.schema.type ?? "", message);
}

function evaluateRule(rule: ValidationRule, node: Node, context: Record<string, unknown>, out: Cause[]): void {
  // Transition rules only run on updates where the old value correlates. optionalOldSelf rules need CEL optionals
  // (oldSelf.hasValue(), orValue) that we do not model: skipped and listed as not evaluated.
  if (rule.optionalOldSelf) {
    unevaluatedRules.set(rule.rule, "optionalOldSelf rules are not evaluated");
    return;
  }
  if (usesOldSelf.test(rule.rule) && node.old === undefined) return;
  const program = compile(rule.rule);
  if (!program) return;
  let ok: unknown;
  try {
    ok = program(context);
  } catch (err) {
    out.push(ruleCause(rule, node, `${rule.message ?? `failed rule: ${rule.rule}`}: ${(err as Error).message}`));
    return;
  }
  if (ok !== true) out.push(ruleCause(rule, node, failureMessage(rule, context)));
}

function evaluateRules(node: Node, out: Cause[]): void {
  const rules = node.schema["x-kubernetes-validations"];
  if (!rules || node.value === undefined) return;
  const context: Record<string, unknown> = { self: toCel(node.value, node.schema) };
  if (node.old !== undefined) context.oldSelf = toCel(node.old, node.schema);
  for (const rule of rules) evaluateRule(rule, node, context, out);
}

function listItemKey(item: unknown, keys: string[]): string {
  return JSON.stringify(keys.map((k) => (isPlainObject(item) ? item[k] : undefined)));
}

function walkArray(node: Node, value: unknown[], out: Cause[]): void {
  const items = node.schema.items;
  if (!items) return;
  // Only associative lists (list-type map) correlate old items; other lists have no oldSelf below them.
  const keys =
    node.schema["x-kubernetes-list-type"] === "map" ? (node.schema["x-kubernetes-list-map-keys"] ?? []) : undefined;
  const oldByKey = new Map<string, unknown>();
  if (keys && Array.isArray(node.old)) for (const o of node.old) oldByKey.set(listItemKey(o, keys), o);
  value.forEach((item, i) => {
    const old = keys ? oldByKey.get(listItemKey(item, keys)) : undefined;
    walk({ value: item, old, schema: items, path: `${node.path}[${i}]` }, out);
  });
}

function walkObject(node: Node, value: Record<string, unknown>, out: Cause[]): void {
  const old = isPlainObject(node.old) ? node.old : undefined;
  for (const [key, v] of Object.entries(value)) {
    const sub = childSchema(node.schema, key);
    if (!sub) continue;
    const path = node.path ? `${node.path}.${key}` : key;
    walk({ value: v, old: old?.[key], schema: sub, path }, out);
  }
}

function walk(node: Node, out: Cause[]): void {
  if (node.value === null || node.value === undefined) return;
  evaluateRules(node, out);
  if (Array.isArray(node.value)) walkArray(node, node.value, out);
  else if (isPlainObject(node.value)) walkObject(node, node.value, out);
}

/** Evaluates every x-kubernetes-validations rule in the schema against `object` (and `oldObject` on update). */
export function validateCelRules(args: { object: unknown; oldObject?: unknown; schema: JsonSchemaProps }): Cause[] {
  const out: Cause[] = [];
  walk({ value: args.object, old: args.oldObject, schema: args.schema, path: "" }, out);
  return out;
}

/** Every rule (and messageExpression) in a schema that cel-js cannot compile, e.g. to list them when a CRD is created. */
export function uncompilableRules(schema: JsonSchemaProps): string[] {
  const bad: string[] = [];
  const visit = (s: JsonSchemaProps | undefined): void => {
    if (!s) return;
    for (const r of s["x-kubernetes-validations"] ?? []) {
      for (const expr of [r.rule, r.messageExpression]) if (expr && !compile(expr)) bad.push(expr);
    }
    Object.values(s.properties ?? {}).forEach(visit);
    if (isPlainObject(s.additionalProperties)) visit(s.additionalProperties as JsonSchemaProps);
    visit(s.items);
  };
  visit(schema);
  return bad;
}
