// Cluster endpoints: list and detail from the cache, optimise (a re-plan request on the ManagedCluster), and
// connect/install (create the ManagedCluster if needed and issue its agent token, stored only as a hash).
import { z } from "zod";
import {
  REPLAN_ANNOTATION,
  REPLAN_AT_ANNOTATION,
  REPLAN_DONE_ANNOTATION,
  namespaceName,
  type LastPlan,
  type ManagedCluster,
} from "../../../src-shared/crds/index.js";
import { defineRoute, IMPERSONATION_KEEPS_AGENT_TOKENS, type RouteDef } from "../http.js";
import { clusterFigures, interruptionReason, nodeFigures, type ClusterView } from "../services/fleet-view.js";
import { helmSetValue, publicBaseUrl, shellQuote } from "../public-url.js";
import { requireCluster, type ClusterService } from "../services/clusters.js";
import { specOf, type ResourceContext, type ResourceScope } from "../services/resource-scope.js";
import { ClusterId, IdParams, PricesStale } from "./shared.js";
import { TemplateSummary, templateSummary } from "./templates.js";
import { defaultOf } from "../services/templates.js";
import { plainText } from "../text.js";
import type { AgentImage } from "../config.js";
import { knownAsOf } from "../../../src-shared/pricing/freshness.js";

// The annotations are the ManagedCluster's (src-shared/crds), shared with the operator's replan controller.
export { REPLAN_ANNOTATION, REPLAN_AT_ANNOTATION, REPLAN_DONE_ANNOTATION };

const ClusterSummary = z.object({
  id: z.string(),
  name: z.string(),
  region: z.string().nullable(),
  k8s_version: z.string().nullable(),
  node_count: z.number().nullable().describe("Nodes the cluster's status reports; null when it has not reported."),
  node_count_reason: z
    .string()
    .nullable()
    .describe("Why node_count (and health_metrics.spot_nodes / on_demand_nodes) is null."),
  monthly_cost: z
    .number()
    .nullable()
    .describe("Monthly cost (hourly × 730); null when any node has no known price or the cluster has not reported."),
  monthly_cost_reason: z.string().nullable().describe("Why monthly_cost is null."),
  unpriced_nodes: z.number().nullable().describe("Nodes without a known price; null when not reported."),
  efficiency_score: z.string(),
  efficiency_score_value: z.number().nullable(),
  mode: z.string(),
  spot_percentage: z.number().nullable().describe("Spot share of the nodes; null when not reported or no nodes."),
  spot_percentage_reason: z.string().nullable().describe("Why spot_percentage is null."),
  agent_status: z.string(),
  figures_source: z.enum(["nodes", "status"]),
  price_source: z.string().nullable(),
  prices_as_of: z.string().nullable(),
  prices_stale: PricesStale,
});

function agentStatus(cluster: ManagedCluster): string {
  if ((cluster.spec.mode ?? "local") === "local") return "local";
  return cluster.status?.agent?.health ?? (cluster.status?.agent?.lastSeen ? "unknown" : "not_connected");
}

function summary(cluster: ManagedCluster, f: ClusterView): z.infer<typeof ClusterSummary> {
  const nodes = nodeFigures(f);
  return {
    id: cluster.metadata.name ?? "",
    name: cluster.spec.displayName ?? cluster.metadata.name ?? "",
    region: cluster.spec.region ?? null,
    k8s_version: cluster.spec.k8sVersion ?? null,
    node_count: nodes.nodeCount,
    node_count_reason: nodes.nodesReason,
    monthly_cost: f.monthlyCostUsd,
    monthly_cost_reason: f.costReason,
    unpriced_nodes: f.unpricedNodes,
    efficiency_score: f.efficiencyGrade,
    efficiency_score_value: f.efficiencyScore,
    mode: cluster.spec.mode ?? "local",
    spot_percentage: nodes.spotPercentage,
    spot_percentage_reason: nodes.spotPercentageReason,
    agent_status: agentStatus(cluster),
    figures_source: f.source,
    price_source: f.priceSources.length > 0 ? f.priceSources.join("+") : null,
    prices_as_of: f.pricesAsOf,
    prices_stale: f.pricesStale,
  };
}

const ClusterDetail = ClusterSummary.extend({
  vpc_id: z.string().nullable(),
  api_endpoint: z.string().nullable(),
  node_groups: z.array(TemplateSummary),
  health_metrics: z.object({
    fleet_health: z.number().nullable(),
    fleet_health_reason: z.string().nullable().describe("Why fleet_health is null (it needs the interruption rate)."),
    ready_nodes: z.number().nullable(),
    spot_nodes: z.number().nullable().describe("null while node_count is (node_count_reason)."),
    on_demand_nodes: z.number().nullable().describe("null while node_count is (node_count_reason)."),
    cpu_utilisation: z.number().nullable(),
    memory_utilisation: z.number().nullable(),
    utilisation_reason: z
      .string()
      .nullable()
      .describe(
        "Why a utilisation and the efficiency score are null although the cluster has nodes (requests above allocatable).",
      ),
    interruption_rate: z.number().nullable(),
    interruption_rate_reason: z.string().nullable().describe("Why interruption_rate is null."),
    agent_last_seen: z.string().nullable(),
    agent_version: z.string().nullable(),
  }),
  conditions: z.array(
    z.object({ type: z.string(), status: z.string(), reason: z.string(), message: z.string() }).loose(),
  ),
  optimization: z
    .object({
      job_id: z.string(),
      requested_at: z.string().nullable(),
      status: z.enum(["queued", "completed", "failed"]),
      // The outcome, from status.lastPlan of the same job; null while queued.
      completed_at: z.string().nullable(),
      reason: z.string().nullable(),
      message: z.string().nullable(),
      hourly_cost: z.number().nullable(),
      monthly_cost: z.number().nullable(),
      baseline_hourly_cost: z.number().nullable(),
      baseline_monthly_cost: z.number().nullable(),
      baseline: z.string().nullable(),
      savings_pct: z.number().nullable(),
      nodes: z.array(z.object({ instance_type: z.string(), capacity_type: z.string(), count: z.number() })).nullable(),
      pods_planned: z.number().nullable(),
      unplaced_pods: z.number().nullable(),
      price_source: z.string().nullable(),
      prices_as_of: z.string().nullable(),
      prices_stale: z
        .boolean()
        .nullable()
        .describe("The plan's prices are older than the configured maximum age; null without a plan."),
      applied: z
        .boolean()
        .describe("Always false: a plan is computed and shown, never written to NodePools (that is not built)."),
    })
    .nullable(),
});

type Optimization = NonNullable<z.infer<typeof ClusterDetail>["optimization"]>;
type Outcome = Omit<Optimization, "job_id" | "requested_at" | "status" | "applied">;

const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

const NO_OUTCOME: Outcome = {
  completed_at: null,
  reason: null,
  message: null,
  hourly_cost: null,
  monthly_cost: null,
  baseline_hourly_cost: null,
  baseline_monthly_cost: null,
  baseline: null,
  savings_pct: null,
  nodes: null,
  pods_planned: null,
  unplaced_pods: null,
  price_source: null,
  prices_as_of: null,
  prices_stale: null,
};

/** The outcome from status.lastPlan of the job (null figures when the job failed or is still queued). */
function outcome(p: LastPlan | undefined, isStale: (asOf: string) => boolean): Outcome {
  if (!p) return NO_OUTCOME;
  const baselineHourly = orNull(p.baselineHourlyCostUsd);
  return {
    completed_at: p.completedAt,
    reason: orNull(p.reason),
    message: orNull(p.message),
    hourly_cost: orNull(p.hourlyCostUsd),
    monthly_cost: orNull(p.monthlyCostUsd),
    baseline_hourly_cost: baselineHourly,
    // written by the operator from the unrounded figure; a plan recorded before it held only the hourly one
    baseline_monthly_cost:
      p.baselineMonthlyCostUsd ?? (baselineHourly === null ? null : Math.round(baselineHourly * 730 * 100) / 100),
    baseline: orNull(p.baseline),
    savings_pct: orNull(p.savingsPct),
    nodes: p.nodes
      ? p.nodes.map((n) => ({ instance_type: n.instanceType, capacity_type: n.capacityType, count: n.count }))
      : null,
    pods_planned: orNull(p.podsPlanned),
    unplaced_pods: orNull(p.unplacedPods),
    price_source: p.prices ? p.prices.source : null,
    prices_as_of: knownAsOf(p.prices?.asOf),
    prices_stale: p.prices ? isStale(p.prices.asOf) : null,
  };
}

/** queued until the operator's replan controller has a result for the job (status.lastPlan or the completed annotation). */
function optimization(
  cluster: ManagedCluster,
  isStale: (asOf: string) => boolean,
): z.infer<typeof ClusterDetail>["optimization"] {
  const annotations = cluster.metadata.annotations ?? {};
  const jobId = annotations[REPLAN_ANNOTATION];
  if (!jobId) return null;
  const lastPlan = cluster.status?.lastPlan?.jobId === jobId ? cluster.status.lastPlan : undefined;
  let status: Optimization["status"] =
    lastPlan !== undefined || annotations[REPLAN_DONE_ANNOTATION] === jobId ? "completed" : "queued";
  if (lastPlan?.phase === "Failed") status = "failed";
  return {
    job_id: jobId,
    requested_at: orNull(annotations[REPLAN_AT_ANNOTATION]),
    status,
    ...outcome(lastPlan, isStale),
    applied: false,
  };
}

function healthMetrics(cluster: ManagedCluster, f: ClusterView): z.infer<typeof ClusterDetail>["health_metrics"] {
  const agent = cluster.status?.agent ?? {};
  const nodes = nodeFigures(f);
  return {
    fleet_health: f.fleetHealth,
    fleet_health_reason: f.fleetHealth === null ? interruptionReason(f) : null,
    ready_nodes: f.readyNodes,
    spot_nodes: nodes.spotNodes,
    on_demand_nodes: nodes.onDemandNodes,
    cpu_utilisation: f.cpuUtilisation,
    memory_utilisation: f.memoryUtilisation,
    utilisation_reason: f.utilisationReason,
    interruption_rate: f.interruptionRate,
    interruption_rate_reason: interruptionReason(f),
    agent_last_seen: agent.lastSeen ?? null,
    agent_version: agent.version ?? null,
  };
}

function detail(rc: ResourceContext, cluster: ManagedCluster): z.infer<typeof ClusterDetail> {
  const f = clusterFigures(cluster, rc);
  const name = cluster.metadata.name ?? "";
  const annotations = cluster.metadata.annotations ?? {};
  const clusterDefault = defaultOf(rc, cluster);
  return {
    ...summary(cluster, f),
    vpc_id: annotations["spotoptimizer.io/vpc-id"] ?? null,
    api_endpoint: annotations["spotoptimizer.io/api-endpoint"] ?? null,
    node_groups: rc.cache
      .templates(rc.namespace)
      .filter((t) => t.spec.clusterRef.name === name)
      .map((t) => templateSummary(t, clusterDefault)),
    health_metrics: healthMetrics(cluster, f),
    conditions: (cluster.status?.conditions ?? []).map((c) => ({ ...c })),
    optimization: optimization(cluster, rc.isStale),
  };
}

const listClusters = (scope: ResourceScope): RouteDef =>
  defineRoute({
    method: "get",
    path: "/clusters",
    summary: "List the organisation's managed clusters",
    tags: ["clusters"],
    auth: "user",
    memo: true,
    response: z.object({ clusters: z.array(ClusterSummary) }),
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      return { clusters: rc.cache.clusters(rc.namespace).map((c) => summary(c, clusterFigures(c, rc))) };
    },
  });

const getCluster = (scope: ResourceScope): RouteDef =>
  defineRoute({
    method: "get",
    path: "/clusters/:id",
    summary: "One cluster with its node groups (templates), health metrics and conditions",
    tags: ["clusters"],
    auth: "user",
    memo: true,
    params: IdParams,
    response: ClusterDetail,
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      return detail(rc, requireCluster(rc, ctx.params.id));
    },
  }) as RouteDef;

const optimizeCluster = (scope: ResourceScope, clusters: ClusterService): RouteDef =>
  defineRoute({
    method: "post",
    path: "/clusters/:id/optimize",
    summary:
      "Request a re-plan of the cluster's pods into status.lastPlan (shown, not applied to NodePools); poll job_id via GET /clusters/{id} (optimization) or /activity/live",
    tags: ["clusters"],
    auth: "user",
    params: IdParams,
    body: z.object({}).strict().optional(),
    status: 202,
    response: z.object({
      job_id: z.string(),
      status: z.literal("queued"),
      estimated_time: z.string(),
      cluster_id: z.string(),
      poll: z.string(),
    }),
    handler: async (ctx) => {
      const { jobId, requestedAt, previousJobId } = await clusters.requestReplan(
        scope.context(ctx.auth),
        ctx.params.id,
      );
      ctx.audit({
        event: "Requested cluster optimization",
        resource: `cluster/${ctx.params.id}`,
        before: { replanRequested: previousJobId },
        after: { replanRequested: jobId, requestedAt },
      });
      return {
        job_id: jobId,
        status: "queued" as const,
        estimated_time: "at the operator's next reconcile of the cluster",
        cluster_id: ctx.params.id,
        poll: `/clusters/${ctx.params.id}`,
      };
    },
  }) as RouteDef;

// ---- connect / install ------------------------------------------------------------------------------------------

const ConnectBody = z
  .object({
    // Any ManagedCluster name, checked before anything is written: the agent objects keep it in full in annotations.
    cluster_id: ClusterId,
    namespace: namespaceName(
      "Namespace the agent is installed into (default: the one named at the cluster's last connect, else spot-optimizer-agent).",
    ).optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/)
      .optional(),
    display_name: plainText(z.string().min(1).max(253)).optional(),
  })
  .strict();

const ConnectResponse = z.object({
  helm_command: z.string(),
  api_token: z.string(),
  endpoint: z.string(),
  cluster_id: z.string(),
  created: z.boolean(),
  manifest_url: z.string().nullable(),
});

/**
 * The agent's install command: the chart in agent mode (release `spot-optimizer`, so its objects are named
 * spot-optimizer-agent...). Every value is a literal helm string (--set-string: a token of digits stays a string)
 * inside one shell word.
 */
function helmCommand(opts: {
  chart: string;
  image?: AgentImage | undefined;
  clusterId: string;
  endpoint: string;
  token: string;
  namespace: string;
}): string {
  const set = (key: string, value: string): string => `--set-string ${shellQuote(`${key}=${helmSetValue(value)}`)}`;
  const image = opts.image;
  return [
    `helm upgrade --install spot-optimizer ${shellQuote(opts.chart)}`,
    `--namespace ${shellQuote(opts.namespace)} --create-namespace`,
    "--set mode=agent",
    ...(image ? [set("image.repository", image.repository)] : []),
    ...(image?.tag !== undefined ? [set("image.tag", image.tag)] : []),
    ...(image?.digest !== undefined ? [set("image.digest", image.digest)] : []),
    set("agent.clusterId", opts.clusterId),
    set("agent.endpoint", opts.endpoint),
    set("agent.token", opts.token),
  ].join(" ");
}

interface ConnectDeps {
  scope: ResourceScope;
  clusters: ClusterService;
}

async function connect(
  { scope, clusters }: ConnectDeps,
  ctx: { auth: Parameters<ResourceScope["context"]>[0]; body: z.infer<typeof ConnectBody>; audit: (n: object) => void },
): Promise<z.infer<typeof ConnectResponse>> {
  const rc = scope.context(ctx.auth);
  // Known before any write: a facade that cannot name its public URL must not create anything first.
  const endpoint = publicBaseUrl(rc.config);
  const request = ctx.auth?.impersonating
    ? { ...ctx.body, reconnectRefused: IMPERSONATION_KEEPS_AGENT_TOKENS }
    : ctx.body;
  const { created, cluster, current, token, namespace } = await clusters.connect(rc, request);
  ctx.audit({
    event: created ? "Connected new cluster (agent token issued)" : "Rotated cluster agent token",
    resource: `cluster/${ctx.body.cluster_id}`,
    before: created ? undefined : specOf(cluster),
    // Never the token: the audit log keeps only that a token was issued and where its hash lives.
    after: { ...specOf(current), agentToken: "issued (hash stored in Secret)" },
  });
  return {
    helm_command: helmCommand({
      chart: rc.config.agentChart,
      image: rc.config.agentImage,
      clusterId: ctx.body.cluster_id,
      endpoint,
      token,
      namespace,
    }),
    api_token: token,
    endpoint,
    cluster_id: ctx.body.cluster_id,
    created,
    manifest_url: null,
  };
}

/** POST /clusters/connect and /clusters/install: one operation under two paths, each with its own summary. */
const connectRoute = (deps: ConnectDeps, route: { path: string; summary: string }): RouteDef =>
  defineRoute({
    method: "post",
    path: route.path,
    summary: route.summary,
    tags: ["clusters"],
    auth: "user",
    body: ConnectBody,
    response: ConnectResponse,
    noStore: true,
    handler: async (ctx) => connect(deps, ctx),
  }) as RouteDef;

/** The cluster routes over their service. */
export function createClusterRoutes(deps: ConnectDeps): RouteDef[] {
  const { scope, clusters } = deps;
  return [
    listClusters(scope),
    connectRoute(deps, {
      path: "/clusters/connect",
      summary:
        "Create the ManagedCluster if needed and issue its agent token (shown once; stored only as a hash; an impersonation token connects new clusters only)",
    }),
    connectRoute(deps, {
      path: "/clusters/install",
      summary:
        "Helm install command for the cluster's agent (same as connect; namespace selects the agent's namespace)",
    }),
    getCluster(scope),
    optimizeCluster(scope, clusters),
  ];
}
