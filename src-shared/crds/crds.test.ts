// The generated CRDs: committed YAML is current, every schema is structural, and sample objects validate.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { crdFileName, generateCrdFiles, openApiSchemaFor } from "./generate.js";
import { crdKinds, findCrdKind, type CrdKind } from "./index.js";
import { crdSamples as samples, sampleObject as full } from "../../test/support/crd-samples.js";
import { type OpenApiSchema, structuralViolations } from "./structural.js";

const crdDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../crds");
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** OpenAPI 3.0 writes exclusive bounds as booleans; ajv (draft 7) wants numbers. */
function toAjvSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toAjvSchema);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = key === "enum" || key === "default" ? value : toAjvSchema(value);
  if (out.exclusiveMinimum === true) {
    out.exclusiveMinimum = out.minimum;
    delete out.minimum;
  }
  if (out.exclusiveMaximum === true) {
    out.exclusiveMaximum = out.maximum;
    delete out.maximum;
  }
  return out;
}

function validatorFor(kind: CrdKind): (obj: unknown) => boolean {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(toAjvSchema(openApiSchemaFor(kind)) as object) as (obj: unknown) => boolean;
}


describe("generated CRD files", () => {
  it("match the zod schemas (run `npm run gen` and commit crds/ if this fails)", () => {
    const generated = generateCrdFiles();
    const onDisk = readdirSync(crdDir).filter((n) => n.endsWith(".spotoptimizer.io.yaml"));
    expect(onDisk.sort()).toEqual([...generated.keys()].sort());
    for (const [name, content] of generated) expect(readFileSync(join(crdDir, name), "utf8"), name).toBe(content);
  });

  it("are deterministic", () => {
    expect([...generateCrdFiles()]).toEqual([...generateCrdFiles()]);
  });

  it.each(crdKinds.map((k) => [k.kind, k] as const))("%s is a structural CRD with status subresource and printer columns", (_name, kind) => {
    const crd = load(readFileSync(join(crdDir, crdFileName(kind)), "utf8")) as any;
    expect(crd.metadata.name).toBe(`${kind.plural}.spotoptimizer.io`);
    expect(crd.spec.scope).toBe("Namespaced");
    expect(crd.spec.names.categories).toEqual(["spotoptimizer"]);
    expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
    const version = crd.spec.versions[0];
    expect(version.name).toBe("v1alpha1");
    expect(version.subresources).toEqual({ status: {} });
    expect(version.additionalPrinterColumns.at(-1)).toEqual({ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" });
    const schema = version.schema.openAPIV3Schema as OpenApiSchema;
    expect(structuralViolations(schema)).toEqual([]);
    expect((schema.properties as any).metadata).toEqual({ type: "object" });
  });

  it("carry a description on every spec and status field, so kubectl explain is useful", () => {
    const undescribed: string[] = [];
    const walk = (node: any, path: string): void => {
      if (path && typeof node.description !== "string") undescribed.push(path);
      for (const [name, child] of Object.entries(node.properties ?? {})) walk(child, `${path}.${name}`);
      if (node.items) walk(node.items, `${path}[]`);
    };
    for (const kind of crdKinds) {
      const props = openApiSchemaFor(kind).properties as Record<string, OpenApiSchema>;
      walk(props.spec, `${kind.kind}.spec`);
      walk(props.status, `${kind.kind}.status`);
    }
    expect(undescribed).toEqual([]);
  });

  it("gives NodeTemplate the columns kubectl get shows", () => {
    const names = findCrdKind("nt")?.printerColumns.map((c) => c.name);
    expect(names).toEqual(["Cluster", "Strategy", "Families", "Default", "Applied", "Types", "Age"]);
  });

  it("gives AgentAction the target's kind beside its name (a template's NodePool and EC2NodeClass share a name)", () => {
    const names = findCrdKind("aa")?.printerColumns.map((c) => c.name);
    expect(names).toEqual(["Cluster", "Type", "Kind", "Target", "Phase", "Attempts", "Age"]);
  });
});

describe("sample objects", () => {
  it("cover every kind", () => {
    expect(Object.keys(samples).sort()).toEqual(crdKinds.map((k) => k.kind).sort());
  });

  it.each(crdKinds.map((k) => [k.kind, k] as const))("%s: valid sample passes the CRD schema and zod; invalid ones fail both", (_name, kind) => {
    const validate = validatorFor(kind);
    const sample = samples[kind.kind]!;
    const good = full(kind, sample.valid);
    expect(validate(good)).toBe(true);
    expect(kind.resource.safeParse(good).success).toBe(true);
    for (const bad of sample.invalid) {
      const obj = full(kind, bad);
      expect(validate(obj), JSON.stringify(bad)).toBe(false);
      expect(kind.resource.safeParse(obj).success, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe("LabExperiment rules (zod refinements; list-map keys and CEL in the CRD)", () => {
  const kind = findCrdKind("LabExperiment")!;
  const arm = (name: string) => ({ name, target: `i-${name}`, model: "m" });
  it.each([
    ["two arms of one name", { mode: "parallel", arms: [arm("a"), arm("a")] }, "duplicate arm name a"],
    ["a parallel experiment of one arm", { mode: "parallel", arms: [arm("a")] }, "mode parallel needs at least two arms"],
    ["a live switch of two arms", { mode: "live-switch", arms: [arm("a"), arm("b")] }, "mode live-switch takes exactly one arm"],
  ])("rejects %s", (_what, spec, message) => {
    const result = kind.spec.safeParse(spec);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toContain(message);
  });
  it("accepts a parallel A/B test and a live switch", () => {
    expect(kind.spec.safeParse({ mode: "parallel", arms: [arm("a"), arm("b")] }).success).toBe(true);
    expect(kind.spec.safeParse({ mode: "live-switch", arms: [arm("a")], durationHours: 1 }).success).toBe(true);
  });
});

describe("rules the OpenAPI schema cannot express (zod refinements, CEL in the CRD)", () => {
  const kind = findCrdKind("HibernationSchedule")!;
  const spec = { clusterRef: { name: "prod" } };
  it("rejects weekly together with matrix", () => {
    const both = { ...spec, weekly: [{ days: ["Mon"], start: "08:00", end: "18:00" }], matrix: new Array(168).fill(1) };
    const result = kind.spec.safeParse(both);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["matrix"]);
  });
  it("rejects a window whose start equals its end", () => {
    const result = kind.spec.safeParse({ ...spec, weekly: [{ days: ["Mon"], start: "08:00", end: "08:00" }] });
    expect(result.success).toBe(false);
  });
  it("rejects a schedule with neither weekly nor matrix (it would have no awake hours)", () => {
    const result = kind.spec.safeParse(spec);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ path: ["weekly"], message: "one of weekly or matrix is required" });
  });
  it("fills defaults (timezone UTC, grace period 15 min, enforce false)", () => {
    expect(kind.spec.parse({ ...spec, matrix: new Array(168).fill(1) })).toMatchObject({ timezone: "UTC", gracePeriodMinutes: 15, enforce: false, prewarmMinutes: 0 });
  });
});

describe("ManagedCluster spec.aws: what Karpenter's EC2NodeClass would refuse is refused here", () => {
  const kind = findCrdKind("ManagedCluster")!;
  const aws = (value: object): boolean => kind.spec.safeParse({ aws: value }).success;
  it("accepts a role, selectors of 1 to 20 non-empty tags, and '*' as a value", () => {
    expect(aws({ nodeRole: "KarpenterNodeRole-prod", subnetSelector: { "karpenter.sh/discovery": "*" } })).toBe(true);
  });
  it.each([
    ["an empty role", { nodeRole: "" }],
    ["an empty tag key", { securityGroupSelector: { "": "x" } }],
    ["an empty tag value", { securityGroupSelector: { "a b": "" } }],
    ["an empty selector", { subnetSelector: {} }],
    ["a tag key over 128 characters", { subnetSelector: { ["k".repeat(129)]: "x" } }],
    ["21 tags", { subnetSelector: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, "v"])) }],
  ])("refuses %s", (_what, value) => {
    expect(aws(value)).toBe(false);
  });
});
