// Pure parts of the replan controller: pods -> pod shapes, NodeTemplates + OptimizationPolicy -> optimizer input, plan -> status.lastPlan.
import type { V1Pod } from "@kubernetes/client-node";
import type { LastPlan } from "../../../../src-shared/crds/index.js";
import { kubeTime } from "../../../../src-shared/runtime/conditions.js";
import type { OptimizerPolicy, Plan, PodGroup, Strategy } from "../../../../src-shared/optimizer/types.js";
import {
  HOURS_PER_MONTH,
  type CpuArch,
  type InstanceShape,
  type PriceBook,
} from "../../../../src-shared/pricing/types.js";
import { isPerNodePod, pinnedArch, pinnedZone, podRequest } from "../../../../src-shared/fleet/pod-request.js";
import type { HeartbeatPodGroup } from "../../../../src-shared/agent/protocol.js";
import { oldestAsOf } from "../../../../src-shared/pricing/freshness.js";
import { planPriceDates } from "../../../../src-shared/optimizer/provenance.js";

export const BASELINE_LABEL = "all On-Demand, same packing";

// ---- pods -> shapes -------------------------------------------------------------------------------------------

/** Why a pod is not part of the plan, or undefined when it is. */
export function podExclusion(pod: V1Pod): "finished" | "terminating" | "per-node" | undefined {
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return "finished";
  if (pod.metadata?.deletionTimestamp) return "terminating";
  return isPerNodePod(pod) ? "per-node" : undefined;
}

export interface PodInventory {
  groups: PodGroup[];
  /** Pods the plan places (the sum of the groups' counts). */
  podsPlanned: number;
  skipped: { finished: number; terminating: number; perNode: number };
}

function shapeKey(g: Omit<PodGroup, "app">): string {
  return `${g.cpuMillicores}m-${g.memoryMiB}Mi-${g.gpus ?? 0}gpu-${g.arch ?? "any"}-${g.zone ?? "any"}`;
}

/** One pod as a group of one; `app` is the shape's key (identical requests and pins group together). */
function podGroup(pod: V1Pod): PodGroup {
  const r = podRequest(pod);
  const group: PodGroup = {
    app: "",
    cpuMillicores: Math.ceil(r.cpuMillicores),
    memoryMiB: Math.ceil(r.memoryMiB),
    count: 1,
  };
  if (r.gpus > 0) group.gpus = r.gpus;
  const arch = pinnedArch(pod);
  if (arch) group.arch = arch;
  const zone = pinnedZone(pod);
  if (zone) group.zone = zone;
  group.app = shapeKey(group);
  return group;
}

/**
 * Groups the pods that need capacity into shapes (identical requests, arch and zone pins from `nodeSelector`).
 * Requests are rounded up (whole millicores, whole MiB) so a shape never asks for less than its pods.
 */
export function podShapes(pods: readonly V1Pod[]): PodInventory {
  const skipped = { finished: 0, terminating: 0, perNode: 0 };
  const byKey = new Map<string, PodGroup>();
  for (const pod of pods) {
    const excluded = podExclusion(pod);
    if (excluded !== undefined) {
      skipped[excluded === "per-node" ? "perNode" : excluded] += 1;
      continue;
    }
    const group = podGroup(pod);
    const existing = byKey.get(group.app);
    if (existing) existing.count += 1;
    else byKey.set(group.app, group);
  }
  const groups = [...byKey.values()].sort((a, b) => a.app.localeCompare(b.app));
  return { groups, podsPlanned: groups.reduce((s, g) => s + g.count, 0), skipped };
}

/**
 * The same shapes from a remote cluster's heartbeat, where the agent already grouped its pods (by namespace, request
 * and pins; finished and terminating pods are not reported, so only per-node groups are skipped here).
 */
export function podShapesFromReport(groups: readonly HeartbeatPodGroup[]): PodInventory {
  const skipped = { finished: 0, terminating: 0, perNode: 0 };
  const byKey = new Map<string, PodGroup>();
  for (const g of groups) {
    if (g.per_node === true) {
      skipped.perNode += g.count;
      continue;
    }
    const shape: Omit<PodGroup, "app"> = { cpuMillicores: g.cpu_millicores, memoryMiB: g.memory_mib, count: g.count };
    if (g.gpus) shape.gpus = g.gpus;
    if (g.arch === "amd64" || g.arch === "arm64") shape.arch = g.arch;
    if (g.zone) shape.zone = g.zone;
    const key = shapeKey(shape);
    const existing = byKey.get(key);
    if (existing) existing.count += g.count;
    else byKey.set(key, { app: key, ...shape });
  }
  const out = [...byKey.values()].sort((a, b) => a.app.localeCompare(b.app));
  return { groups: out, podsPlanned: out.reduce((s, g) => s + g.count, 0), skipped };
}

// ---- templates + policy -> optimizer input -----------------------------------------------------------------------

/** The parts of a NodeTemplate spec the plan reads (cache objects are not defaulted by us: absent = CRD default). */
export interface TemplateView {
  metadata: { name?: string; generation?: number };
  spec: { families?: string[]; architecture?: "x86_64" | "arm64"; strategy?: "SPOT" | "ON_DEMAND" | "HYBRID" };
  status?: { conditions?: Array<{ type?: string; status?: string; reason?: string; observedGeneration?: number }> };
}

/**
 * Whether the NodeTemplate controller found this spec invalid for the current generation (Valid=False, or — a spec
 * that does not even parse gets no Valid condition — Applied=False for InvalidSpec): it applies no NodePool for it,
 * so a plan must not buy what only that template allows. One not yet checked counts as valid.
 */
export function invalidTemplate(t: TemplateView): boolean {
  const current = (c: { observedGeneration?: number }): boolean =>
    c.observedGeneration === undefined || c.observedGeneration === t.metadata.generation;
  return (t.status?.conditions ?? []).some(
    (c) =>
      current(c) &&
      c.status === "False" &&
      (c.type === "Valid" || (c.type === "Applied" && c.reason === "InvalidSpec")),
  );
}

/** The parts of an OptimizationPolicy spec the plan reads. */
export interface PolicyView {
  metadata: { name?: string };
  spec: { strategy?: Strategy; spotFallback?: { enabled?: boolean } };
}

/** Used when the cluster has no OptimizationPolicy: the OptimizationPolicy CRD's own defaults. */
export const DEFAULT_STRATEGY: Strategy = "price-capacity-optimized";
export const DEFAULT_SPOT_FALLBACK = false;

export interface PlanInput {
  policy: OptimizerPolicy;
  /** The price book restricted to what the templates allow (Spot prices only for types some Spot-capable template allows). */
  book: PriceBook;
  /** One line on what the plan was made with, for lastPlan.message. */
  basis: string;
}

const ARCH: Record<string, CpuArch> = { x86_64: "amd64", arm64: "arm64" };

function templateAllows(t: TemplateView, shape: InstanceShape): boolean {
  const families = t.spec.families ?? [];
  if (families.length > 0 && !families.some((f) => f === shape.family || f === shape.category)) return false;
  return ARCH[t.spec.architecture ?? "x86_64"] === shape.arch;
}

const allowsSpot = (t: TemplateView): boolean => (t.spec.strategy ?? "HYBRID") !== "ON_DEMAND";

/**
 * The optimizer input for the cluster's NodeTemplates and OptimizationPolicy. A type is allowed when some template
 * allows it (families + architecture); it may be Spot only when a template allowing it is SPOT or HYBRID. All
 * templates SPOT -> capacity `spot` (the policy's spotFallback decides On-Demand fallback); all ON_DEMAND -> `on-demand`;
 * otherwise `mixed`. Templates found invalid are left out (invalidTemplate). Without templates: the NodeTemplate
 * defaults (x86_64, HYBRID) over every family.
 */
export function optimizerInput(input: {
  templates: readonly TemplateView[];
  policy?: PolicyView;
  book: PriceBook;
}): PlanInput {
  const valid = input.templates.filter((t) => !invalidTemplate(t));
  const templates: TemplateView[] = valid.length > 0 ? valid : [{ metadata: { name: "(defaults)" }, spec: {} }];
  const capacity = capacityOf(templates);
  const strategy = input.policy?.spec.strategy ?? DEFAULT_STRATEGY;
  const spotFallback = input.policy ? input.policy.spec.spotFallback?.enabled === true : DEFAULT_SPOT_FALLBACK;
  const policy: OptimizerPolicy = {
    strategy,
    capacity,
    spotFallback,
    families: [],
    arch: [],
    minTypeDiversity: 0,
    allowType: (shape) => templates.some((t) => templateAllows(t, shape)),
  };
  const spotTemplates = templates.filter(allowsSpot);
  const spot = new Map(
    [...input.book.spot].filter(([type]) => {
      const shape = input.book.instanceTypes.get(type);
      return shape !== undefined && spotTemplates.some((t) => templateAllows(t, shape));
    }),
  );
  return { policy, book: { ...input.book, spot }, basis: describeBasis(input, { valid, policy }) };
}

function capacityOf(templates: readonly TemplateView[]): OptimizerPolicy["capacity"] {
  const strategies = new Set(templates.map((t) => t.spec.strategy ?? "HYBRID"));
  const only = strategies.size === 1 ? [...strategies][0] : undefined;
  if (only === "SPOT") return "spot";
  return only === "ON_DEMAND" ? "on-demand" : "mixed";
}

function describeBasis(
  input: { templates: readonly TemplateView[]; policy?: PolicyView },
  { valid, policy }: { valid: readonly TemplateView[]; policy: OptimizerPolicy },
): string {
  const invalid = input.templates.filter((t) => !valid.includes(t)).map((t) => t.metadata.name ?? "");
  const names =
    (valid.length > 0
      ? valid.map((t) => t.metadata.name ?? "").join(", ")
      : "none (defaults: every family, x86_64, HYBRID)") +
    (invalid.length > 0 ? ` (left out, not valid: ${invalid.join(", ")})` : "");
  const policyName = input.policy
    ? `OptimizationPolicy ${input.policy.metadata.name ?? ""}`
    : "no OptimizationPolicy (defaults)";
  return `NodeTemplates: ${names}; capacity ${policy.capacity}; ${policyName}: strategy ${policy.strategy}, spotFallback ${policy.spotFallback ? "on" : "off"}`;
}

/** A plan with the optimizer's proven lower bound on its cost, when it computed one. */
export interface BoundedPlan {
  lowerBound?: { hourlyUsd: number };
}

// ---- plan -> status.lastPlan ---------------------------------------------------------------------------------------

const round = (value: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/** Sources and oldest date of the prices behind the plan (node prices and, for the baseline, their On-Demand prices). */
export function priceProvenance(plan: Plan, book: PriceBook): { source: string; asOf: string } {
  const bySource = planPriceDates(plan, book);
  const sources = new Set(bySource.keys());
  const dates = [...bySource.values()];
  if (sources.size === 0) {
    // No node planned: name the book the plan would have priced from.
    const any = book.onDemand.values().next().value;
    if (any) {
      sources.add(any.source);
      dates.push(any.asOf);
    }
  }
  return { source: [...sources].sort().join("+") || "unknown", asOf: oldestAsOf(dates) ?? "unknown" };
}

/** Planned nodes counted by instance type and capacity type, sorted (a compact, stable status field). */
export function nodeCounts(plan: Plan): NonNullable<LastPlan["nodes"]> {
  const counts = new Map<string, { instanceType: string; capacityType: "spot" | "on-demand"; count: number }>();
  for (const n of plan.nodes) {
    const key = `${n.instanceType}/${n.capacityType}`;
    const entry = counts.get(key) ?? { instanceType: n.instanceType, capacityType: n.capacityType, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  return [...counts.values()].sort(
    (a, b) => a.instanceType.localeCompare(b.instanceType) || a.capacityType.localeCompare(b.capacityType),
  );
}

/**
 * What the bound says of the plan: it bounds the cheapest plan's price, so under a strategy that also weighs Spot
 * interruption risk a wide gap is that strategy's choice, not a poor plan, and the message says so.
 */
function boundPhrase(plan: Plan & BoundedPlan, strategy: string): string | undefined {
  const lb = plan.lowerBound?.hourlyUsd ?? 0;
  if (lb <= 0) return undefined;
  const pct = ((100 * (plan.hourlyCostUsd - lb)) / lb).toFixed(2);
  const phrase = `proven lower bound ${lb.toFixed(4)} $/h: the plan costs at most ${pct} % more than the cheapest possible plan`;
  return strategy === "lowest-price"
    ? phrase
    : `${phrase} (strategy ${strategy} weighs interruption risk as well as price)`;
}

function planMessage(plan: Plan & BoundedPlan, inventory: PodInventory, planInput: PlanInput): string {
  const s = inventory.skipped;
  const parts = [`Planned ${plan.nodes.length} node(s) for ${inventory.podsPlanned} pod(s)`, planInput.basis];
  const bound = boundPhrase(plan, planInput.policy.strategy);
  if (bound) parts.push(bound);
  if (s.perNode + s.finished + s.terminating > 0)
    parts.push(
      `not planned: ${s.perNode} DaemonSet/static pod(s) (per-node overhead), ${s.finished} finished, ${s.terminating} terminating`,
    );
  const unplaced = plan.unplaced.reduce((n, u) => n + u.count, 0);
  if (unplaced > 0) parts.push(`${unplaced} pod(s) unplaced: ${plan.unplaced[0]!.reason}`);
  parts.push(...plan.warnings);
  parts.push(
    "not applied to NodePools (applying a plan is not built: the NodeTemplate controller writes them from the templates)",
  );
  return parts.join("; ").slice(0, 4096);
}

/** status.lastPlan of a successful job. Monthly = hourly x 730; hourly to 1/10 000 USD, monthly to cents. */
export function succeededPlan(input: {
  jobId: string;
  now: Date;
  plan: Plan & BoundedPlan;
  inventory: PodInventory;
  planInput: PlanInput;
}): LastPlan {
  const { plan } = input;
  const hourlyCostUsd = round(plan.hourlyCostUsd, 4);
  return {
    jobId: input.jobId,
    phase: "Succeeded",
    completedAt: kubeTime(input.now),
    reason: "Planned",
    message: planMessage(plan, input.inventory, input.planInput),
    hourlyCostUsd,
    // monthly from the unrounded hourly figure: rounded only where shown
    monthlyCostUsd: round(plan.hourlyCostUsd * HOURS_PER_MONTH, 2),
    baselineHourlyCostUsd: round(plan.baselineHourlyCostUsd, 4),
    baselineMonthlyCostUsd: round(plan.baselineHourlyCostUsd * HOURS_PER_MONTH, 2),
    baseline: BASELINE_LABEL,
    ...(plan.savingsPct === null ? {} : { savingsPct: round(plan.savingsPct, 2) }),
    nodes: nodeCounts(plan),
    podsPlanned: input.inventory.podsPlanned,
    unplacedPods: plan.unplaced.reduce((n, u) => n + u.count, 0),
    prices: priceProvenance(plan, input.planInput.book),
  };
}

/** status.lastPlan of a job that could not be planned (no figures: nothing is guessed). */
export function failedPlan(input: { jobId: string; now: Date; reason: string; message: string }): LastPlan {
  return {
    jobId: input.jobId,
    phase: "Failed",
    completedAt: kubeTime(input.now),
    reason: input.reason,
    message: input.message.slice(0, 4096),
  };
}
