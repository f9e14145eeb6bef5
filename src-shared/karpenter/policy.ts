// Pure rules of an OptimizationPolicy: which policy of a cluster is in force, and how it shapes a NodePool
// (disruption table, instance-type ranking by strategy, capacity types with Spot fallback, zone spread, limits).
import type { InstanceShape, InterruptionBucket, Price } from "../pricing/types.js";
import { objectInForce } from "../tenancy/cluster-target.js";

export type PolicyStrategy = "lowest-price" | "capacity-optimized" | "price-capacity-optimized";

/** The policy fields the NodePool builder reads, with the CRD's defaults filled in. */
export interface EffectivePolicy {
  /** `ns/name` of the policy, or undefined when the cluster has none (defaults apply). */
  source?: string;
  karpenterEnabled: boolean;
  strategy: PolicyStrategy;
  aggressiveness: number;
  spotFallback: boolean;
  azSpread: boolean;
  excludedNamespaces: string[];
}

export interface PolicyLike {
  metadata: { name?: string; namespace?: string; creationTimestamp?: string; deletionTimestamp?: string };
  spec: {
    clusterRef: { name: string };
    karpenter?: { enabled?: boolean };
    strategy?: PolicyStrategy;
    binpack?: { aggressiveness?: number };
    spotFallback?: { enabled?: boolean };
    azSpread?: { enabled?: boolean };
    exclusions?: { namespaces?: string[] };
  };
}

const DEFAULTS: Omit<EffectivePolicy, "source"> = {
  karpenterEnabled: true,
  strategy: "price-capacity-optimized",
  aggressiveness: 50,
  spotFallback: false,
  azSpread: false,
  excludedNamespaces: [],
};

/** Defaults of the OptimizationPolicy CRD: what a cluster without a policy gets. */
export function effectivePolicy(policy: PolicyLike | undefined): EffectivePolicy {
  if (!policy) return { ...DEFAULTS, excludedNamespaces: [] };
  const spec = policy.spec;
  const set = <T>(value: T | undefined, fallback: T): T => (value === undefined ? fallback : value);
  return {
    source: `${policy.metadata.namespace ?? ""}/${policy.metadata.name ?? ""}`,
    karpenterEnabled: set(spec.karpenter?.enabled, DEFAULTS.karpenterEnabled),
    strategy: set(spec.strategy, DEFAULTS.strategy),
    aggressiveness: set(spec.binpack?.aggressiveness, DEFAULTS.aggressiveness),
    spotFallback: set(spec.spotFallback?.enabled, DEFAULTS.spotFallback),
    azSpread: set(spec.azSpread?.enabled, DEFAULTS.azSpread),
    excludedNamespaces: [...set(spec.exclusions?.namespaces, [])].sort(),
  };
}

/**
 * Exactly one policy per cluster is in force: the oldest (creationTimestamp, then name) of those naming the cluster
 * in the namespace and not being deleted (the rule every one-per-cluster kind follows). The rest are duplicates.
 */
export function policyInForce<P extends PolicyLike>(
  policies: readonly P[],
  namespace: string,
  clusterName: string,
): { inForce?: P; duplicates: P[] } {
  const mine = policies.filter((p) => p.metadata.namespace === namespace);
  const inForce = objectInForce(mine, clusterName);
  const duplicates = mine.filter(
    (p) => p !== inForce && p.spec.clusterRef.name === clusterName && !p.metadata.deletionTimestamp,
  );
  return { inForce, duplicates };
}

export interface Disruption {
  consolidationPolicy: "WhenEmpty" | "WhenEmptyOrUnderutilized";
  consolidateAfter: string;
  budgets: Array<{ nodes: string }>;
}

/**
 * binpack.aggressiveness (0-100) → Karpenter disruption; the table in docs/controllers.md. 0 never consolidates;
 * higher values consolidate underutilised nodes sooner and let more nodes be disrupted at once.
 */
export const DISRUPTION_TABLE: ReadonlyArray<{ from: number; disruption: Disruption }> = [
  { from: 0, disruption: { consolidationPolicy: "WhenEmpty", consolidateAfter: "Never", budgets: [{ nodes: "10%" }] } },
  { from: 1, disruption: { consolidationPolicy: "WhenEmpty", consolidateAfter: "30m", budgets: [{ nodes: "10%" }] } },
  {
    from: 25,
    disruption: {
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: "15m",
      budgets: [{ nodes: "10%" }],
    },
  },
  {
    from: 50,
    disruption: {
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: "5m",
      budgets: [{ nodes: "20%" }],
    },
  },
  {
    from: 75,
    disruption: {
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: "1m",
      budgets: [{ nodes: "30%" }],
    },
  },
  {
    from: 100,
    disruption: {
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: "0s",
      budgets: [{ nodes: "50%" }],
    },
  },
];

export function disruptionFor(aggressiveness: number): Disruption {
  let row = DISRUPTION_TABLE[0]!;
  for (const r of DISRUPTION_TABLE) if (aggressiveness >= r.from) row = r;
  return structuredClone(row.disruption);
}

/** Karpenter needs at least this many instance types in a NodePool to consolidate Spot to Spot. */
export const MIN_FLEXIBLE_TYPES = 15;
/** Spot Instance Advisor buckets 3 and 4 (15-20 %, > 20 % interruptions) are dropped by capacity-optimized. */
export const WORST_BUCKET_FROM: InterruptionBucket = 3;
/** Weight of one interruption bucket against the price ratio in price-capacity-optimized. */
export const BUCKET_WEIGHT = 0.25;

export interface RankCandidate {
  shape: InstanceShape;
  /** The price the template pays for this type: Spot for SPOT/HYBRID, On-Demand for ON_DEMAND. */
  price: Price;
  /** Spot interruption bucket, when the template uses Spot and the advisor knows the type. */
  bucket?: InterruptionBucket;
}

function perVcpu(c: RankCandidate): number {
  return c.price.usdPerHour / Math.max(1, c.shape.vcpu);
}

function keepCount(total: number): number {
  return Math.min(total, Math.max(MIN_FLEXIBLE_TYPES, Math.ceil(total / 2)));
}

function byName(a: RankCandidate, b: RankCandidate): number {
  return a.shape.name.localeCompare(b.shape.name);
}

/**
 * Ranks a template's priced instance types by the policy's strategy and keeps the best (formulas in
 * docs/controllers.md). Price is per vCPU-hour, so large and small types compete fairly. Ties break by name, so the
 * result is deterministic. Types without a bucket count as bucket 2 (the middle) for the Spot rules.
 */
export function rankInstanceTypes(input: {
  strategy: PolicyStrategy;
  usesSpot: boolean;
  candidates: readonly RankCandidate[];
}): RankCandidate[] {
  const { candidates } = input;
  if (candidates.length === 0) return [];
  const bucket = (c: RankCandidate): number => c.bucket ?? 2;
  if (input.strategy === "lowest-price" || !input.usesSpot) {
    const sorted = [...candidates].sort((a, b) => perVcpu(a) - perVcpu(b) || byName(a, b));
    return input.strategy === "lowest-price" ? sorted.slice(0, keepCount(sorted.length)) : sorted;
  }
  if (input.strategy === "capacity-optimized") {
    const sorted = [...candidates].sort((a, b) => bucket(a) - bucket(b) || perVcpu(a) - perVcpu(b) || byName(a, b));
    const healthy = sorted.filter((c) => bucket(c) < WORST_BUCKET_FROM);
    return sorted.slice(0, Math.max(healthy.length, Math.min(MIN_FLEXIBLE_TYPES, sorted.length)));
  }
  const cheapest = Math.min(...candidates.map(perVcpu));
  const score = (c: RankCandidate): number => perVcpu(c) / cheapest + BUCKET_WEIGHT * bucket(c);
  const sorted = [...candidates].sort((a, b) => score(a) - score(b) || byName(a, b));
  return sorted.slice(0, keepCount(sorted.length));
}
