// CEL x-kubernetes-validations (incl. oldSelf transition rules) evaluated with @marcbachmann/cel-js.
import { Environment } from "@marcbachmann/cel-js";
import { fieldError } from "./errors.js";
import { isPlainObject, type Cause, type CauseReason, type JsonSchemaProps, type ValidationRule } from "./types.js";

/** Compiled regexes of find()/findAll(): a rule's pattern is a literal, evaluated once per object and list item. */
const regexes = new Map<string, RegExp>();

function regex(source: string, flags: string): RegExp {
  const key = `${flags}/${source}`;
  let re = regexes.get(key);
  if (re === undefined) {
    // An invalid regex throws here and is reported as a rule evaluation error (as upstream reports it).
    re = new RegExp(source, flags);
    if (regexes.size >= 1000) regexes.clear();
    regexes.set(key, re);
  }
  return re;
}

/** Kubernetes CEL library functions the Karpenter CRDs use and cel-js lacks (k8s regex library). */
function kubernetesEnvironment(): Environment {
  return (
    new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false })
      // Without the g flag exec() keeps no state, and matchAll() copies its regex: sharing them is safe.
      .registerFunction("string.find(string): string", (s: string, re: string) => regex(re, "u").exec(s)?.[0] ?? "")
      .registerFunction("string.findAll(string): list<string>", (s: string, re: string) =>
        [...s.matchAll(regex(re, "gu"))].map((m) => m[0]),
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

const celRuleCache = new WeakMap<JsonSchemaProps, boolean>();

/** Whether any node of the schema carries x-kubernetes-validations. */
export function hasCelRules(schema: JsonSchemaProps | undefined): boolean {
  if (!schema) return false;
  let found = celRuleCache.get(schema);
  if (found === undefined) {
    const additional = isPlainObject(schema.additionalProperties)
      ? (schema.additionalProperties as JsonSchemaProps)
      : undefined;
    found =
      (schema["x-kubernetes-validations"]?.length ?? 0) > 0 ||
      Object.values(schema.properties ?? {}).some(hasCelRules) ||
      hasCelRules(additional) ||
      hasCelRules(schema.items);
    celRuleCache.set(schema, found);
  }
  return found;
}

/**
 * CEL views of the objects and lists converted in one validation pass, by identity and schema: a rule on `spec`
 * converts the whole spec, and the rules below it reuse those parts instead of converting them again.
 */
type Converted = Map<object, { schema: JsonSchemaProps | undefined; cel: unknown }>;

/** Converts a JSON value to CEL's typed view: `integer` fields are ints (bigint), `number` fields doubles. */
function toCel(value: unknown, schema: JsonSchemaProps | undefined, converted: Converted): unknown {
  if (typeof value === "number") return isCelInt(value, schema) ? BigInt(value) : value;
  if (typeof value !== "object" || value === null) return value;
  const hit = converted.get(value);
  if (hit !== undefined && hit.schema === schema) return hit.cel;
  let cel: unknown = value;
  if (Array.isArray(value)) cel = value.map((v) => toCel(v, schema?.items, converted));
  else if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value)) out[k] = toCel(value[k], childSchema(schema, k), converted);
    cel = out;
  }
  converted.set(value, { schema, cel });
  return cel;
}

const usesOldSelf = /\boldSelf\b/;

/**
 * Per rule of a schema: whether it is a transition rule, and the scalar `self` values it held for. CEL is pure, so a
 * rule without oldSelf that held for a string, number or boolean holds again for the same value: the keys of
 * requirements and labels and the names repeat across objects. Only successes are kept (a failure's message is
 * evaluated each time), and each set is bounded.
 */
interface RuleInfo {
  transition: boolean;
  held: Set<string>;
}
const ruleInfos = new WeakMap<ValidationRule, RuleInfo>();
const HELD_LIMIT = 5_000;

function ruleInfo(rule: ValidationRule): RuleInfo {
  let info = ruleInfos.get(rule);
  if (info === undefined) {
    info = { transition: usesOldSelf.test(rule.rule), held: new Set() };
    ruleInfos.set(rule, info);
  }
  return info;
}

function scalarKey(self: unknown): string | undefined {
  const type = typeof self;
  if (type !== "string" && type !== "bigint" && type !== "number" && type !== "boolean") return undefined;
  return `${type.charAt(0)}${String(self)}`;
}

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
  const info = ruleInfo(rule);
  if (info.transition && node.old === undefined) return;
  const program = compile(rule.rule);
  if (!program) return;
  const memo = info.transition ? undefined : scalarKey(context.self);
  if (memo !== undefined && info.held.has(memo)) return;
  let ok: unknown;
  try {
    ok = program(context);
  } catch (err) {
    out.push(ruleCause(rule, node, `${rule.message ?? `failed rule: ${rule.rule}`}: ${(err as Error).message}`));
    return;
  }
  if (ok !== true) out.push(ruleCause(rule, node, failureMessage(rule, context)));
  else if (memo !== undefined) {
    if (info.held.size >= HELD_LIMIT) info.held.clear();
    info.held.add(memo);
  }
}

function evaluateRules(node: Node, converted: Converted, out: Cause[]): void {
  const rules = node.schema["x-kubernetes-validations"];
  if (!rules || node.value === undefined) return;
  const context: Record<string, unknown> = { self: toCel(node.value, node.schema, converted) };
  if (node.old !== undefined) context.oldSelf = toCel(node.old, node.schema, converted);
  for (const rule of rules) evaluateRule(rule, node, context, out);
}

function listItemKey(item: unknown, keys: string[]): string {
  return JSON.stringify(keys.map((k) => (isPlainObject(item) ? item[k] : undefined)));
}

function walkArray(node: Node, value: unknown[], converted: Converted, out: Cause[]): void {
  const items = node.schema.items;
  if (!items) return;
  // Only associative lists (list-type map) correlate old items; other lists have no oldSelf below them.
  const keys =
    node.schema["x-kubernetes-list-type"] === "map" ? (node.schema["x-kubernetes-list-map-keys"] ?? []) : undefined;
  const oldByKey = new Map<string, unknown>();
  if (keys && Array.isArray(node.old)) for (const o of node.old) oldByKey.set(listItemKey(o, keys), o);
  value.forEach((item, i) => {
    const old = keys ? oldByKey.get(listItemKey(item, keys)) : undefined;
    walk({ value: item, old, schema: items, path: `${node.path}[${i}]` }, converted, out);
  });
}

function walkObject(node: Node, value: Record<string, unknown>, converted: Converted, out: Cause[]): void {
  const old = isPlainObject(node.old) ? node.old : undefined;
  for (const [key, v] of Object.entries(value)) {
    const sub = childSchema(node.schema, key);
    if (!sub || !hasCelRules(sub)) continue;
    const path = node.path ? `${node.path}.${key}` : key;
    walk({ value: v, old: old?.[key], schema: sub, path }, converted, out);
  }
}

function walk(node: Node, converted: Converted, out: Cause[]): void {
  if (node.value === null || node.value === undefined || !hasCelRules(node.schema)) return;
  evaluateRules(node, converted, out);
  if (Array.isArray(node.value)) walkArray(node, node.value, converted, out);
  else if (isPlainObject(node.value)) walkObject(node, node.value, converted, out);
}

/** Evaluates every x-kubernetes-validations rule in the schema against `object` (and `oldObject` on update). */
export function validateCelRules(args: { object: unknown; oldObject?: unknown; schema: JsonSchemaProps }): Cause[] {
  const out: Cause[] = [];
  walk({ value: args.object, old: args.oldObject, schema: args.schema, path: "" }, new Map(), out);
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
