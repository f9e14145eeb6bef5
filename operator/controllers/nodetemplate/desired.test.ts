// Unit tests of the NodeTemplate builder: every object it produces, across templates × policies, passes Karpenter's
// real v1.14.1 CRD schemas with their CEL rules, and the mapping of each field is a fact one can check by hand.
import { describe, expect, it } from "vitest";
import { admitCustomResource, unevaluatedRules, type JsonSchemaProps } from "../../local/apiserver/schema/index.js";
import { NodeTemplateSpec, type NodeTemplateSpecInput } from "../../../src-shared/crds/index.js";
import { validateKarpenterObject } from "../../../src-shared/karpenter/validate.js";
import { loadCatalogPriceBook } from "../../../src-shared/pricing/catalog/index.js";
import { karpenterCrd } from "../../../test/support/karpenter-fixtures.js";
import { effectivePolicy, MIN_FLEXIBLE_TYPES, type PolicyLike } from "../../../src-shared/karpenter/policy.js";
import {
  DEFAULT_WEIGHT,
  OTHER_WEIGHT,
  SPOT_SETTLE_MS,
  desiredTemplate,
  spotReturn,
  type DesiredTemplateInput,
  type KarpenterObject,
} from "./desired.js";
import { karpenterName } from "../../../src-shared/karpenter/labels.js";

const book = loadCatalogPriceBook("us-east-1");

function input(spec: Partial<NodeTemplateSpecInput>, over: Partial<DesiredTemplateInput> = {}): DesiredTemplateInput {
  return {
    template: {
      namespace: "org-demo",
      name: "general",
      spec: NodeTemplateSpec.parse({ clusterRef: { name: "local" }, families: ["m5"], ...spec }),
    },
    cluster: { name: "local", spec: { region: "us-east-1" } },
    policy: effectivePolicy(undefined),
    isDefault: false,
    catalog: book,
    ...over,
  };
}

function policy(spec: Partial<PolicyLike["spec"]>): ReturnType<typeof effectivePolicy> {
  return effectivePolicy({
    metadata: { name: "p", namespace: "org-demo" },
    spec: { clusterRef: { name: "local" }, ...spec },
  });
}

function requirement(pool: KarpenterObject, key: string): { values: string[]; minValues?: number } | undefined {
  const reqs = (pool.spec.template as any).spec.requirements as Array<{ key: string; values: string[] }>;
  return reqs.find((r) => r.key === key);
}

const TEMPLATES: Array<Partial<NodeTemplateSpecInput>> = [
  { families: ["m5", "c5", "r5"], strategy: "SPOT" },
  { families: ["m6g", "c7g"], architecture: "arm64", strategy: "HYBRID", diskType: "gp2", diskSize: 50 },
  { families: ["m5"], strategy: "ON_DEMAND", diskType: "io2", diskSize: 100 },
  { families: ["g4dn", "g5"], strategy: "HYBRID", diskSize: 500 },
  { families: ["t3", "m7i", "c6i"], strategy: "SPOT", diskType: "io1" },
];
const POLICIES: Array<Partial<PolicyLike["spec"]> | undefined> = [
  undefined,
  { strategy: "lowest-price", binpack: { aggressiveness: 0 }, karpenter: { enabled: false } },
  { strategy: "capacity-optimized", binpack: { aggressiveness: 100 }, spotFallback: { enabled: true } },
  { strategy: "price-capacity-optimized", binpack: { aggressiveness: 30 }, azSpread: { enabled: true } },
  {
    strategy: "lowest-price",
    binpack: { aggressiveness: 80 },
    spotFallback: { enabled: true },
    azSpread: { enabled: true },
  },
];

describe("builder output against Karpenter's real CRDs (schema + CEL)", () => {
  const crds = new Map<string, { group: string; schema: JsonSchemaProps }>();
  for (const kind of ["NodePool", "EC2NodeClass"]) {
    const crd = karpenterCrd(kind);
    const v1 = crd.spec.versions.find((v: any) => v.name === "v1");
    crds.set(crd.spec.names.kind, { group: crd.spec.group, schema: v1.schema.openAPIV3Schema });
  }

  function admit(object: KarpenterObject): string[] {
    const crd = crds.get(object.kind)!;
    const result = admitCustomResource({
      schema: crd.schema,
      object: structuredClone(object) as never,
      kind: object.kind,
      group: crd.group,
      name: object.metadata.name,
    });
    return [
      ...result.causes.map((c) => `${c.field}: ${c.message}`),
      ...result.unknownFields.map((f) => `unknown ${f}`),
    ];
  }

  for (const [ti, spec] of TEMPLATES.entries())
    for (const [pi, pol] of POLICIES.entries())
      it(`template ${ti} × policy ${pi}: NodePool and EC2NodeClass are admitted and pass the Karpenter models`, () => {
        const out = desiredTemplate(
          input(spec, { policy: pol ? policy(pol) : effectivePolicy(undefined), isDefault: ti === 0 }),
        );
        expect(out.validation.errors).toEqual([]);
        for (const object of [out.nodePool!, out.ec2NodeClass!]) {
          expect(admit(object)).toEqual([]);
          expect(() => validateKarpenterObject(object as never)).not.toThrow();
        }
      });

  it("evaluated the CEL rules of the parts the builder writes (none was skipped as uncompilable)", () => {
    desiredTemplate(input({ families: ["m5"] }));
    const skipped = [...unevaluatedRules.keys()].filter((r) =>
      /requirements|minValues|budgets|amiSelectorTerms/.test(r),
    );
    expect(skipped).toEqual([]);
  });

  it("a builder mistake would be caught: a weight over 100 or an empty In requirement is refused", () => {
    const out = desiredTemplate(input({ families: ["m5"] }));
    const heavy = structuredClone(out.nodePool!);
    heavy.spec.weight = 101;
    expect(admit(heavy).join()).toMatch(/spec\.weight/);
    const empty = structuredClone(out.nodePool!);
    (empty.spec.template as any).spec.requirements[0].values = [];
    expect(admit(empty).join()).toMatch(/requirements/);
  });
});

describe("desiredTemplate mapping", () => {
  it("maps families, architecture, strategy and disk to the documented fields", () => {
    const out = desiredTemplate(
      input({ families: ["m6g", "c6g"], architecture: "arm64", strategy: "SPOT", diskType: "gp3", diskSize: 64 }),
    );
    const pool = out.nodePool!;
    expect(requirement(pool, "karpenter.k8s.aws/instance-family")!.values).toEqual(["c6g", "m6g"]);
    expect(requirement(pool, "kubernetes.io/arch")!.values).toEqual(["arm64"]);
    expect(requirement(pool, "karpenter.sh/capacity-type")!.values).toEqual(["spot"]);
    expect((out.ec2NodeClass!.spec.blockDeviceMappings as any)[0]).toMatchObject({
      rootVolume: true,
      ebs: { volumeSize: "64Gi", volumeType: "gp3" },
    });
    expect(
      requirement(desiredTemplate(input({ strategy: "HYBRID" })).nodePool!, "karpenter.sh/capacity-type")!.values,
    ).toEqual(["spot", "on-demand"]);
    expect(
      requirement(desiredTemplate(input({ strategy: "ON_DEMAND" })).nodePool!, "karpenter.sh/capacity-type")!.values,
    ).toEqual(["on-demand"]);
  });

  it("names objects deterministically and uniquely per namespace/name, within the 63-character label limit", () => {
    expect(karpenterName("a-b", "c")).not.toBe(karpenterName("a", "b-c"));
    expect(karpenterName("org-demo", "general")).toBe(karpenterName("org-demo", "general"));
    expect(karpenterName("x".repeat(63), "y".repeat(253)).length).toBeLessThanOrEqual(63);
  });

  it("gives the default template's NodePool the higher weight", () => {
    expect(desiredTemplate(input({}, { isDefault: true })).nodePool!.spec.weight).toBe(DEFAULT_WEIGHT);
    expect(desiredTemplate(input({}, { isDefault: false })).nodePool!.spec.weight).toBe(OTHER_WEIGHT);
  });

  it("reports the resolved types with the cheapest and dearest price and their asOf", () => {
    const out = desiredTemplate(input({ families: ["m5"], strategy: "ON_DEMAND" }));
    const m5 = [...book.instanceTypes.values()].filter((t) => t.family === "m5");
    const prices = m5.map((t) => book.onDemand.get(t.name)!.usdPerHour).sort((a, b) => a - b);
    expect(out.instanceTypes).toMatchObject({
      count: m5.length,
      cheapest: { hourlyUsd: prices[0] },
      dearest: { hourlyUsd: prices[prices.length - 1] },
      asOf: book.onDemand.get(m5[0]!.name)!.asOf,
      source: "snapshot",
    });
  });

  it("shows a derived Spot estimate's float noise rounded to 4 decimals, as every hourly price", () => {
    const m5 = [...book.instanceTypes.values()].filter((t) => t.family === "m5");
    // On-Demand × (1 − 20 %) in binary floating point: 0.032639999999999995 for 0.0408
    const spot = new Map(
      m5.map((t) => {
        const usdPerHour = book.onDemand.get(t.name)!.usdPerHour * (1 - 20 / 100);
        return [t.name, new Map([["us-east-1a", { usdPerHour, source: "derived" as const, asOf: "2026-01-01" }]])];
      }),
    );
    const out = desiredTemplate(input({ families: ["m5"], strategy: "SPOT" }, { catalog: { ...book, spot } }));
    const cheapest = out.instanceTypes!.cheapest!.hourlyUsd;
    const exact = Math.min(...m5.map((t) => book.onDemand.get(t.name)!.usdPerHour * 0.8));
    expect(exact.toString().length).toBeGreaterThan(8);
    expect(cheapest).toBe(Number(exact.toFixed(4)));
    expect(out.instanceTypes!.dearest!.hourlyUsd.toString()).toMatch(/^\d+(\.\d{1,4})?$/);
    expect(out.instanceTypes!.asOf).toBe("2026-01-01");
    // one undated price (an observed Spot price of the snapshot) leaves the summary undated
    const first = m5[0]!.name;
    spot.set(first, new Map([["us-east-1a", { ...spot.get(first)!.get("us-east-1a")!, asOf: "unknown" }]]));
    const undated = desiredTemplate(input({ families: ["m5"], strategy: "SPOT" }, { catalog: { ...book, spot } }));
    expect(undated.instanceTypes!.asOf).toBe("unknown");
  });

  it("karpenter.enabled=false sets limits to zero; enabled sets none", () => {
    expect(
      desiredTemplate(input({}, { policy: policy({ karpenter: { enabled: false } }) })).nodePool!.spec.limits,
    ).toEqual({
      cpu: "0",
      memory: "0",
    });
    expect(desiredTemplate(input({})).nodePool!.spec.limits).toBeUndefined();
  });

  it("binpack aggressiveness follows the table", () => {
    const at = (a: number): unknown =>
      desiredTemplate(input({}, { policy: policy({ binpack: { aggressiveness: a } }) })).nodePool!.spec.disruption;
    expect(at(0)).toEqual({ consolidationPolicy: "WhenEmpty", consolidateAfter: "Never", budgets: [{ nodes: "10%" }] });
    expect(at(10)).toMatchObject({ consolidationPolicy: "WhenEmpty", consolidateAfter: "30m" });
    expect(at(50)).toMatchObject({ consolidationPolicy: "WhenEmptyOrUnderutilized", consolidateAfter: "5m" });
    expect(at(100)).toEqual({
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: "0s",
      budgets: [{ nodes: "50%" }],
    });
  });

  it("lowest-price keeps the cheapest types per vCPU but at least 15; capacity-optimized drops the worst Spot buckets", () => {
    const families = ["m5", "m6i", "m7i", "c5", "c6i", "r5", "r6i", "t3", "m6a"];
    const all = desiredTemplate(
      input({ families, strategy: "SPOT" }, { policy: policy({ strategy: "capacity-optimized" }) }),
    );
    const cheap = desiredTemplate(
      input({ families, strategy: "SPOT" }, { policy: policy({ strategy: "lowest-price" }) }),
    );
    const total = [...book.instanceTypes.values()].filter(
      (t) => families.includes(t.family) && t.arch === "amd64",
    ).length;
    expect(total).toBeGreaterThan(MIN_FLEXIBLE_TYPES);
    expect(cheap.instanceTypes!.count).toBe(Math.max(MIN_FLEXIBLE_TYPES, Math.ceil(total / 2)));
    const kept = requirement(all.nodePool!, "node.kubernetes.io/instance-type")!.values;
    const types = [...book.instanceTypes.values()].filter((t) => families.includes(t.family) && t.arch === "amd64");
    const healthy = types.filter((t) => (book.advice.get(t.name)?.interruptionBucket ?? 2) < 3).map((t) => t.name);
    // Every healthy type is kept; worse buckets only to reach Karpenter's 15-type flexibility.
    expect(kept.length).toBe(Math.max(healthy.length, Math.min(MIN_FLEXIBLE_TYPES, types.length)));
    for (const type of healthy) expect(kept).toContain(type);
    expect(healthy.length).toBeLessThan(types.length);
  });

  it("spotFallback widens a SPOT template to Spot + On-Demand, unless narrowed back to Spot", () => {
    const fallback = policy({ spotFallback: { enabled: true } });
    const wide = desiredTemplate(input({ strategy: "SPOT" }, { policy: fallback }));
    expect(requirement(wide.nodePool!, "karpenter.sh/capacity-type")!.values).toEqual(["spot", "on-demand"]);
    const narrow = desiredTemplate(input({ strategy: "SPOT" }, { policy: fallback, narrowToSpot: true }));
    expect(requirement(narrow.nodePool!, "karpenter.sh/capacity-type")!.values).toEqual(["spot"]);
  });

  it("azSpread adds a zone-id requirement with minValues 2", () => {
    const out = desiredTemplate(input({}, { policy: policy({ azSpread: { enabled: true } }) }));
    expect(requirement(out.nodePool!, "topology.k8s.aws/zone-id")).toMatchObject({
      values: book.zones.slice().sort(),
      minValues: 2,
    });
  });

  it("an invalid template builds nothing and says why: unknown family, wrong architecture, SPOT GPU without Spot", () => {
    const unknown = desiredTemplate(input({ families: ["m99"] }));
    expect(unknown.nodePool).toBeUndefined();
    expect(unknown.validation.errors.join()).toMatch(/m99 is not in the instance catalog of us-east-1/);
    expect(desiredTemplate(input({ families: ["g4dn"], architecture: "arm64" })).validation.errors).toContain(
      "Instance family g4dn is incompatible with ARM64",
    );
    const noSpot = { ...book, spot: new Map([...book.spot].filter(([t]) => !t.startsWith("g5."))) };
    expect(
      desiredTemplate(input({ families: ["g5"], strategy: "SPOT" }, { catalog: noSpot })).validation.errors.join(),
    ).toMatch(/g5 has no Spot offering in us-east-1.*use HYBRID/);
  });

  it("without a price book, the NodePool allows the families as written and the warning says why", () => {
    const out = desiredTemplate(
      input({}, { catalog: undefined, catalogProblem: "no price book for region eu-west-3" }),
    );
    expect(out.nodePool).toBeDefined();
    expect(requirement(out.nodePool!, "node.kubernetes.io/instance-type")).toBeUndefined();
    expect(out.instanceTypes).toBeUndefined();
    expect(out.warnings.join()).toMatch(/eu-west-3/);
  });

  it("uses the ManagedCluster's AWS settings, else Karpenter's getting-started defaults with a warning", () => {
    const aws = {
      nodeRole: "MyRole",
      amiAlias: "bottlerocket@v1.20.0",
      subnetSelector: { tier: "private" },
      securityGroupSelector: { sg: "nodes" },
    };
    const own = desiredTemplate(input({}, { cluster: { name: "local", spec: { region: "us-east-1", aws } } }));
    expect(own.ec2NodeClass!.spec).toMatchObject({
      role: "MyRole",
      amiSelectorTerms: [{ alias: "bottlerocket@v1.20.0" }],
      subnetSelectorTerms: [{ tags: { tier: "private" } }],
    });
    expect(own.warnings.join()).not.toMatch(/getting-started/);
    const fallback = desiredTemplate(input({}));
    expect(fallback.ec2NodeClass!.spec.role).toBe("KarpenterNodeRole-local");
    expect(fallback.warnings.join()).toMatch(/getting-started defaults/);
  });
});

describe("spotReturn", () => {
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  it("narrows once the newest On-Demand NodeClaim is older than the settle time and Spot is offered; widens with none", () => {
    expect(spotReturn({ fallbackActive: true, onDemandClaimCreatedMs: [], spotOffered: true, nowMs: t0 }).narrow).toBe(
      false,
    );
    const early = spotReturn({
      fallbackActive: true,
      onDemandClaimCreatedMs: [t0],
      spotOffered: true,
      nowMs: t0 + 60_000,
    });
    expect(early).toEqual({ narrow: false, recheckInMs: SPOT_SETTLE_MS - 60_000 });
    expect(
      spotReturn({ fallbackActive: true, onDemandClaimCreatedMs: [t0], spotOffered: true, nowMs: t0 + SPOT_SETTLE_MS })
        .narrow,
    ).toBe(true);
    expect(
      spotReturn({ fallbackActive: true, onDemandClaimCreatedMs: [t0], spotOffered: false, nowMs: t0 + SPOT_SETTLE_MS })
        .narrow,
    ).toBe(false);
    expect(
      spotReturn({ fallbackActive: false, onDemandClaimCreatedMs: [t0], spotOffered: true, nowMs: t0 + SPOT_SETTLE_MS })
        .narrow,
    ).toBe(false);
  });
});
