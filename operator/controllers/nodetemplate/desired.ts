// Pure builder: a NodeTemplate (+ its cluster, the policy in force, the price book) → the Karpenter v1 NodePool and
// EC2NodeClass the operator applies, the template's status figures and warnings. No I/O; `spotctl render` uses it too.
import type { NodeTemplateSpec, NodeTemplateStatus } from "../../../src-shared/crds/index.js";
import {
  familyIndex,
  kubeArch,
  validateTemplate,
  type TemplateValidation,
} from "../../../src-shared/nodetemplate/validate.js";
import { roundTo } from "../../../src-shared/pricing/rounding.js";
import { oldestAsOf } from "../../../src-shared/pricing/freshness.js";
import type { InstanceShape, Price, PriceBook } from "../../../src-shared/pricing/types.js";
import {
  disruptionFor,
  rankInstanceTypes,
  type EffectivePolicy,
  type RankCandidate,
} from "../../../src-shared/karpenter/policy.js";
import {
  CLUSTER_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  NODEPOOL_API,
  EC2NODECLASS_API,
  TEMPLATE_ANNOTATION,
  TEMPLATE_NAME_LABEL,
  TEMPLATE_NAMESPACE_LABEL,
  karpenterName,
} from "../../../src-shared/karpenter/labels.js";

/** Karpenter weights: the cluster's default template is tried first. */
export const DEFAULT_WEIGHT = 100;
export const OTHER_WEIGHT = 10;
/** Karpenter's getting-started conventions, used when neither the ManagedCluster nor the chart names its own. */
export const FALLBACK_AMI_ALIAS = "al2023@latest";

export type KarpenterObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: Record<string, unknown>;
};

/** AWS settings from the chart's values, used where the ManagedCluster's spec.aws leaves one out. */
export interface AwsDefaults {
  nodeRole?: string;
  amiAlias?: string;
  subnetSelector?: Record<string, string>;
  securityGroupSelector?: Record<string, string>;
}

export interface DesiredTemplateInput {
  template: { namespace: string; name: string; spec: NodeTemplateSpec };
  cluster: {
    name: string;
    spec: { region?: string; aws?: AwsDefaults & { [k: string]: unknown } };
  };
  policy: EffectivePolicy;
  /** Whether this template is the cluster's default (decided across templates by the reconciler). */
  isDefault: boolean;
  /** The price book of the cluster's region; undefined when there is none (then `catalogProblem` says why). */
  catalog?: PriceBook;
  catalogProblem?: string;
  awsDefaults?: AwsDefaults;
  /** True while Spot fallback is narrowed back to Spot only (see spotReturn). */
  narrowToSpot?: boolean;
  /** True while a HibernationSchedule has put the pool to sleep: this controller holds it at zero limits then. */
  hibernating?: boolean;
}

export interface DesiredTemplate {
  validation: TemplateValidation;
  /** Absent when the template is not valid: nothing is applied. */
  nodePool?: KarpenterObject;
  ec2NodeClass?: KarpenterObject;
  instanceTypes?: NonNullable<NodeTemplateStatus["instanceTypes"]>;
  /** Findings of validation plus what the builder had to decide (defaults used, unpriced types). */
  warnings: string[];
}

function labels(input: DesiredTemplateInput): Record<string, string> {
  const out: Record<string, string> = {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [TEMPLATE_NAMESPACE_LABEL]: input.template.namespace,
  };
  if (input.template.name.length <= 63) out[TEMPLATE_NAME_LABEL] = input.template.name;
  if (input.cluster.name.length <= 63) out[CLUSTER_LABEL] = input.cluster.name;
  return out;
}

function cheapestSpot(book: PriceBook, type: string): Price | undefined {
  let best: Price | undefined;
  for (const price of book.spot.get(type)?.values() ?? [])
    if (!best || price.usdPerHour < best.usdPerHour) best = price;
  return best;
}

/** Candidates: the catalog's types of the template's families and architecture, priced for its strategy. */
function candidates(spec: NodeTemplateSpec, book: PriceBook): { priced: RankCandidate[]; unpriced: string[] } {
  const arch = kubeArch(spec.architecture);
  const families = new Set(spec.families.map((f) => f.toLowerCase()));
  const index = familyIndex(book);
  const priced: RankCandidate[] = [];
  const unpriced: string[] = [];
  for (const shape of [...families].flatMap((f) => index.get(f) ?? [])) {
    if (shape.arch !== arch) continue;
    const price = spec.strategy === "ON_DEMAND" ? book.onDemand.get(shape.name) : cheapestSpot(book, shape.name);
    if (!price) {
      // HYBRID can still launch On-Demand where Spot is not offered.
      const od = spec.strategy === "HYBRID" ? book.onDemand.get(shape.name) : undefined;
      if (od) priced.push(candidate(shape, od, book));
      else unpriced.push(shape.name);
      continue;
    }
    priced.push(candidate(shape, price, book));
  }
  return { priced, unpriced };
}

function candidate(shape: InstanceShape, price: Price, book: PriceBook): RankCandidate {
  const bucket = book.advice.get(shape.name)?.interruptionBucket;
  return { shape, price, ...(bucket !== undefined ? { bucket } : {}) };
}

function priceSummary(kept: RankCandidate[]): DesiredTemplate["instanceTypes"] {
  if (kept.length === 0) return { count: 0 };
  const byPrice = [...kept].sort(
    (a, b) => a.price.usdPerHour - b.price.usdPerHour || a.shape.name.localeCompare(b.shape.name),
  );
  const first = byPrice[0]!;
  const last = byPrice[byPrice.length - 1]!;
  const asOf = oldestAsOf(kept.map((c) => c.price.asOf))!;
  const sources = [...new Set(kept.map((c) => c.price.source))].sort();
  return {
    count: kept.length,
    // a derived Spot estimate (On-Demand × advised discount) carries float noise: hourly prices are shown to 4 decimals
    cheapest: { name: first.shape.name, hourlyUsd: roundTo(first.price.usdPerHour, 4) },
    dearest: { name: last.shape.name, hourlyUsd: roundTo(last.price.usdPerHour, 4) },
    asOf,
    source: sources.join(","),
  };
}

function capacityTypes(input: DesiredTemplateInput): string[] {
  const { strategy } = input.template.spec;
  if (strategy === "ON_DEMAND") return ["on-demand"];
  if (strategy === "HYBRID") return ["spot", "on-demand"];
  return input.policy.spotFallback && !input.narrowToSpot ? ["spot", "on-demand"] : ["spot"];
}

type Requirement = { key: string; operator: "In"; values: string[]; minValues?: number };

function requirements(input: DesiredTemplateInput, kept: RankCandidate[], warnings: string[]): Requirement[] {
  const spec = input.template.spec;
  const out: Requirement[] = [
    { key: "karpenter.sh/capacity-type", operator: "In", values: capacityTypes(input) },
    { key: "kubernetes.io/arch", operator: "In", values: [kubeArch(spec.architecture)] },
    { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
    {
      key: "karpenter.k8s.aws/instance-family",
      operator: "In",
      values: [...new Set(spec.families.map((f) => f.toLowerCase()))].sort(),
    },
  ];
  if (kept.length > 0)
    out.push({ key: "node.kubernetes.io/instance-type", operator: "In", values: kept.map((c) => c.shape.name).sort() });
  if (input.policy.azSpread) {
    const zones = [...(input.catalog?.zones ?? [])].sort();
    if (zones.length >= 2) out.push({ key: "topology.k8s.aws/zone-id", operator: "In", values: zones, minValues: 2 });
    else
      warnings.push("azSpread is on, but the price book knows fewer than two zones of the region: no zone requirement");
  }
  return out;
}

function nodePool(
  input: DesiredTemplateInput,
  name: string,
  kept: RankCandidate[],
  warnings: string[],
): KarpenterObject {
  const policy = input.policy;
  const spec: Record<string, unknown> = {
    weight: input.isDefault ? DEFAULT_WEIGHT : OTHER_WEIGHT,
    disruption: disruptionFor(policy.aggressiveness),
    template: {
      metadata: {
        labels: input.template.name.length <= 63 ? { [TEMPLATE_NAME_LABEL]: input.template.name } : {},
      },
      spec: {
        nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name },
        requirements: requirements(input, kept, warnings),
      },
    },
  };
  // karpenter.enabled=false: no new capacity (existing nodes stay until they are disrupted). Asleep, the same: this
  // controller alone writes the pool's limits, so a policy edit during the night neither wakes it nor outlasts the wake.
  if (!policy.karpenterEnabled || input.hibernating === true) spec.limits = { cpu: "0", memory: "0" };
  else if (input.template.spec.limits && Object.keys(input.template.spec.limits).length > 0)
    spec.limits = { ...input.template.spec.limits };
  return {
    ...NODEPOOL_API,
    metadata: { name, labels: labels(input), annotations: { [TEMPLATE_ANNOTATION]: templateKey(input) } },
    spec,
  };
}

function templateKey(input: DesiredTemplateInput): string {
  return `${input.template.namespace}/${input.template.name}`;
}

function awsSettings(input: DesiredTemplateInput, warnings: string[]): Required<AwsDefaults> {
  const aws = input.cluster.spec.aws ?? {};
  const defaults = input.awsDefaults ?? {};
  const discovery = { "karpenter.sh/discovery": input.cluster.name };
  const fallback: Required<AwsDefaults> = {
    nodeRole: `KarpenterNodeRole-${input.cluster.name}`,
    amiAlias: FALLBACK_AMI_ALIAS,
    subnetSelector: discovery,
    securityGroupSelector: discovery,
  };
  const keys = Object.keys(fallback) as Array<keyof AwsDefaults>;
  const missing = keys.filter((k) => aws[k] === undefined && defaults[k] === undefined);
  if (missing.length > 0)
    warnings.push(
      `EC2NodeClass uses Karpenter's getting-started defaults for ${missing.join(", ")} (role ` +
        `KarpenterNodeRole-${input.cluster.name}, AMI ${FALLBACK_AMI_ALIAS}, tags karpenter.sh/discovery=` +
        `${input.cluster.name}); set them in the ManagedCluster's spec.aws or the chart's values`,
    );
  const pick = <K extends keyof AwsDefaults>(k: K): Required<AwsDefaults>[K] =>
    (aws[k] ?? defaults[k] ?? fallback[k]) as Required<AwsDefaults>[K];
  return {
    nodeRole: pick("nodeRole"),
    amiAlias: pick("amiAlias"),
    subnetSelector: pick("subnetSelector"),
    securityGroupSelector: pick("securityGroupSelector"),
  };
}

function ec2NodeClass(input: DesiredTemplateInput, name: string, warnings: string[]): KarpenterObject {
  const spec = input.template.spec;
  const aws = awsSettings(input, warnings);
  const ebs: Record<string, unknown> = {
    volumeSize: `${spec.diskSize}Gi`,
    volumeType: spec.diskType,
    encrypted: true,
    deleteOnTermination: true,
  };
  // Provisioned-IOPS volumes need a rate; 3000 matches gp3's baseline.
  if (spec.diskType === "io1" || spec.diskType === "io2") ebs.iops = 3000;
  return {
    ...EC2NODECLASS_API,
    metadata: { name, labels: labels(input), annotations: { [TEMPLATE_ANNOTATION]: templateKey(input) } },
    spec: {
      role: aws.nodeRole,
      amiSelectorTerms: [{ alias: aws.amiAlias }],
      subnetSelectorTerms: [{ tags: aws.subnetSelector }],
      securityGroupSelectorTerms: [{ tags: aws.securityGroupSelector }],
      blockDeviceMappings: [{ deviceName: "/dev/xvda", rootVolume: true, ebs }],
      tags: { "spotoptimizer.io/nodetemplate": templateKey(input) },
    },
  };
}

/** Resolves and ranks the template's instance types; warnings say what could not be priced or resolved. */
function resolveTypes(input: DesiredTemplateInput, warnings: string[]): RankCandidate[] {
  const book = input.catalog;
  if (!book) {
    warnings.push(
      `Instance types not resolved: ${input.catalogProblem ?? "no price book for the cluster's region"}; ` +
        "the NodePool allows the families as written",
    );
    return [];
  }
  const { priced, unpriced } = candidates(input.template.spec, book);
  if (unpriced.length > 0)
    warnings.push(`No price for ${unpriced.sort().join(", ")} in ${book.region}: left out of the NodePool`);
  return rankInstanceTypes({
    strategy: input.policy.strategy,
    usesSpot: input.template.spec.strategy !== "ON_DEMAND",
    candidates: priced,
  });
}

/** The objects and status for one template; nothing to apply when it is not valid. */
export function desiredTemplate(input: DesiredTemplateInput): DesiredTemplate {
  const spec = input.template.spec;
  const validation = validateTemplate(
    {
      families: spec.families,
      architecture: spec.architecture,
      strategy: spec.strategy,
      diskType: spec.diskType,
      diskSizeGiB: spec.diskSize,
    },
    input.catalog,
  );
  const warnings = [...validation.warnings];
  if (!validation.valid) return { validation, warnings };
  const kept = resolveTypes(input, warnings);
  const name = karpenterName(input.template.namespace, input.template.name);
  return {
    validation,
    nodePool: nodePool(input, name, kept, warnings),
    ec2NodeClass: ec2NodeClass(input, name, warnings),
    ...(input.catalog ? { instanceTypes: priceSummary(kept) } : {}),
    warnings,
  };
}

/** Return to Spot after a fallback: no On-Demand launch for this long means Spot has been healthy again. */
export const SPOT_SETTLE_MS = 30 * 60_000;
/** How often a pool that fell back to On-Demand is re-checked. */
export const SPOT_RECHECK_MS = 5 * 60_000;

/**
 * Whether a SPOT template with spotFallback should narrow its NodePool back to Spot only, so Karpenter drifts the
 * On-Demand nodes it launched during a Spot shortage onto Spot. Karpenter prefers Spot when both are allowed, so a
 * pool that launched On-Demand met a shortage; once its newest On-Demand NodeClaim is SPOT_SETTLE_MS old and the price
 * book still offers Spot for the pool's types, Spot is taken as healthy. With no On-Demand NodeClaim left, the pool is
 * widened again so the next shortage can fall back.
 */
export function spotReturn(input: {
  fallbackActive: boolean;
  onDemandClaimCreatedMs: readonly number[];
  spotOffered: boolean;
  nowMs: number;
  /** Default SPOT_SETTLE_MS and SPOT_RECHECK_MS (the controller's `spotReturn` option overrides both). */
  timing?: SpotReturnTiming;
}): { narrow: boolean; recheckInMs?: number } {
  if (!input.fallbackActive || input.onDemandClaimCreatedMs.length === 0) return { narrow: false };
  const { settleMs = SPOT_SETTLE_MS, recheckMs = SPOT_RECHECK_MS } = input.timing ?? {};
  const newest = Math.max(...input.onDemandClaimCreatedMs);
  const settledAt = newest + settleMs;
  if (input.nowMs >= settledAt && input.spotOffered) return { narrow: true, recheckInMs: recheckMs };
  return { narrow: false, recheckInMs: Math.max(recheckMs, settledAt - input.nowMs) };
}

/** How long Spot must stay healthy before a pool narrows back, and how often a fallen-back pool is re-checked. */
export interface SpotReturnTiming {
  settleMs?: number;
  recheckMs?: number;
}
