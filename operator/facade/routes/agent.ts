// The agent endpoints (per-cluster agent token): heartbeat, pending actions with a lease, idempotent results; and the
// user's GET /clusters/{id}/verify (connected or not, from the liveness Lease the heartbeats renew).
import { z } from "zod";
import {
  ActionResult,
  ActionResultResponse,
  Heartbeat,
  HeartbeatResponse,
  PendingActionsResponse,
} from "../../../src-shared/agent/protocol.js";
import { agentLeaseName, livenessEndsMs, type LeaseView } from "../../../src-shared/agent/snapshot.js";
import { belongsTo } from "../../../src-shared/agent/placement.js";
import { PENDING_ACTIONS_LIMIT_MAX } from "../../../src-shared/agent/action-limits.js";
import { objectName, type AgentAction, type ManagedCluster } from "../../../src-shared/crds/index.js";
import type { KubeObject } from "../../../src-shared/kube/index.js";
import { defineRoute, type RouteDef } from "../http.js";
import { leasableActions } from "../services/agent-actions.js";
import { requireCluster } from "../services/clusters.js";
import { agentConnection } from "../services/fleet-view.js";
import type { ResourceServices } from "../services/index.js";
import type { ResourceContext, ResourceScope } from "../services/resource-scope.js";
import { IdParams } from "./shared.js";

export interface AgentRouteServices {
  scope: ResourceScope;
  agent: ResourceServices["agent"];
}

function actionsOf(rc: ResourceContext, clusterName: string): AgentAction[] {
  return rc.cache.agentActions(rc.namespace).filter((a) => a.spec.clusterRef.name === clusterName);
}

const heartbeat = ({ scope, agent }: AgentRouteServices): RouteDef =>
  defineRoute({
    method: "post",
    path: "/clusters/:id/heartbeat",
    summary: "Agent heartbeat: nodes, pod requests and Spot interruptions of the cluster (agent token)",
    description:
      "Unknown extra fields are ignored (newer agents); wrong types answer 422; bodies above SPOTOPT_HEARTBEAT_BODY_LIMIT_BYTES (decompressed) 413. " +
      "Liveness is a Lease renewed at most every SPOTOPT_AGENT_LEASE_RENEW_SECONDS; the snapshot behind " +
      "ManagedCluster.status is written at most every SPOTOPT_AGENT_STATUS_INTERVAL_SECONDS (sooner, at most every " +
      "SPOTOPT_AGENT_LEASE_RENEW_SECONDS, when the reported workloads or NodePools changed).",
    tags: ["agent"],
    auth: "agent",
    audit: false,
    params: IdParams,
    body: Heartbeat,
    response: HeartbeatResponse,
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      const cluster = requireCluster(rc, ctx.params.id);
      const { receivedAt, intervalS, deferred } = await agent.ingest.ingest({ cluster, heartbeat: ctx.body });
      return {
        received_at: receivedAt.toISOString(),
        next_heartbeat_seconds: intervalS,
        pending_actions: leasableActions(actionsOf(rc, ctx.params.id), ctx.params.id, receivedAt.getTime()).length,
        deferred_interruptions: deferred,
      };
    },
  }) as RouteDef;

const pendingActions = ({ scope, agent }: AgentRouteServices): RouteDef =>
  defineRoute({
    method: "get",
    path: "/clusters/:id/actions/pending",
    summary: "Hands out the cluster's pending AgentActions, each marked Running with a lease (agent token)",
    description:
      "An action whose lease ends without a result is handed out again with the next attempt number, up to 5 " +
      "attempts; after the fifth it is marked Failed instead. " +
      "Results must name the attempt they belong to.",
    tags: ["agent"],
    auth: "agent",
    params: IdParams,
    query: z.object({ limit: z.coerce.number().int().min(1).max(PENDING_ACTIONS_LIMIT_MAX).optional() }).strict(),
    response: PendingActionsResponse,
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      requireCluster(rc, ctx.params.id);
      const actions = await agent.queue.lease({
        namespace: rc.namespace,
        cluster: ctx.params.id,
        actions: actionsOf(rc, ctx.params.id),
        ...(ctx.query.limit !== undefined ? { limit: ctx.query.limit } : {}),
      });
      return { actions };
    },
  }) as RouteDef;

const actionResult = ({ scope, agent }: AgentRouteServices): RouteDef =>
  defineRoute({
    method: "post",
    path: "/clusters/:id/actions/:action_id/result",
    summary: "Records the result of one attempt of an action; a repeated identical post changes nothing (agent token)",
    description:
      "409 when the action was handed out again meanwhile (the result of an older attempt is not recorded), when the " +
      "attempt named was never handed out, or when it already completed with a different result.",
    tags: ["agent"],
    auth: "agent",
    audit: false,
    params: z.object({ id: objectName("Cluster id."), action_id: objectName("AgentAction name.") }).strict(),
    body: ActionResult,
    response: ActionResultResponse,
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      requireCluster(rc, ctx.params.id);
      return agent.queue.complete({
        namespace: rc.namespace,
        cluster: ctx.params.id,
        id: ctx.params.action_id,
        result: ctx.body,
      });
    },
  }) as RouteDef;

const VerifyResponse = z.object({
  cluster_id: z.string(),
  mode: z.string(),
  status: z.enum(["local", "connected", "disconnected", "never_connected"]),
  connected: z.boolean(),
  last_heartbeat: z.string().nullable(),
  seconds_since_heartbeat: z.number().nullable(),
  disconnected_after_seconds: z.number().nullable(),
  last_seen: z.string().nullable().describe("The catalogue's name of last_heartbeat."),
  agent_version: z.string().nullable().describe("The version the cluster's agent last reported; null before any."),
  health: z
    .enum(["healthy", "unreachable", "unknown"])
    .describe("healthy while connected, unreachable once disconnected, unknown before any heartbeat"),
});

/** The catalogue's fields, from the liveness this answer states and the agent version the status holds. */
function catalogueFields(
  cluster: ManagedCluster,
  live: Pick<z.infer<typeof VerifyResponse>, "status" | "connected" | "last_heartbeat">,
): Pick<z.infer<typeof VerifyResponse>, "last_seen" | "agent_version" | "health"> {
  const health = live.connected ? "healthy" : live.status === "disconnected" ? "unreachable" : "unknown";
  return { last_seen: live.last_heartbeat, agent_version: cluster.status?.agent?.version ?? null, health };
}

const verifyCluster = ({ scope, agent }: AgentRouteServices): RouteDef =>
  defineRoute({
    method: "get",
    path: "/clusters/:id/verify",
    summary: "Whether the cluster's agent is connected (heartbeat age against three missed beats)",
    tags: ["clusters"],
    auth: "user",
    params: IdParams,
    response: VerifyResponse,
    handler: async (ctx) => {
      const rc = scope.context(ctx.auth);
      const cluster = requireCluster(rc, ctx.params.id);
      const mode = cluster.spec.mode ?? "local";
      const base = { cluster_id: ctx.params.id, mode };
      // The operator acts as the agent of the designated local cluster only; its status controller says which.
      if (mode === "local") {
        const local = {
          ...base,
          status: "local" as const,
          connected: agentConnection(cluster)?.status === "True",
          last_heartbeat: null,
          seconds_since_heartbeat: null,
          disconnected_after_seconds: null,
        };
        return { ...local, ...catalogueFields(cluster, local) };
      }
      const found = await agent.client.getIfExists<KubeObject & LeaseView>({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        namespace: rc.config.systemNamespace,
        name: agentLeaseName(rc.namespace, ctx.params.id),
      });
      // Only a Lease whose labels name this organisation and cluster says anything about this cluster.
      const lease = belongsTo(found, rc.namespace, ctx.params.id) ? found : undefined;
      const live = agentLiveness(lease, rc.now);
      return { ...base, ...live, ...catalogueFields(cluster, live) };
    },
  }) as RouteDef;

/** What the agent's liveness Lease says at `now`: never renewed, or connected until three beats were missed. */
function agentLiveness(
  lease: LeaseView | undefined,
  now: Date,
): Omit<z.infer<typeof VerifyResponse>, "cluster_id" | "mode" | "last_seen" | "agent_version" | "health"> {
  const ends = livenessEndsMs(lease);
  const renew = lease?.spec?.renewTime;
  if (ends === undefined || renew === undefined)
    return {
      status: "never_connected" as const,
      connected: false,
      last_heartbeat: null,
      seconds_since_heartbeat: null,
      disconnected_after_seconds: null,
    };
  const renewed = new Date(renew);
  const connected = now.getTime() < ends;
  return {
    status: connected ? ("connected" as const) : ("disconnected" as const),
    connected,
    last_heartbeat: renewed.toISOString(),
    seconds_since_heartbeat: Math.max(0, Math.round((now.getTime() - renewed.getTime()) / 1000)),
    disconnected_after_seconds: lease?.spec?.leaseDurationSeconds ?? null,
  };
}

/** The agent routes (and the user's verify) over the agent services. */
export function createAgentRoutes(services: AgentRouteServices): RouteDef[] {
  return [heartbeat(services), pendingActions(services), actionResult(services), verifyCluster(services)];
}
