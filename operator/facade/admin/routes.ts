// Platform routes for super_admin only: client registry, global stats and component health.
import { z } from "zod";
import type { AgentAction, ManagedCluster } from "../../../src-shared/crds/index.js";
import {
  SAVINGS_BASELINE,
  binPackingSavings,
  figuresFromStatus,
  netSavingsReason,
  netSavingsUsd,
  notInTotals,
  priceProvenance,
  sumKnown,
} from "../../../src-shared/fleet/fleet-metrics.js";
import type { KubeClient } from "../../../src-shared/kube/client.js";
import { getOrganisation, listOrganisations, updateOrganisationFlags } from "../auth/orgs.js";
import type { AuthService } from "../auth/service.js";
import type { FacadeCache } from "../cache.js";
import { NotImplementedError, NotReadyError, UnprocessableError } from "../errors.js";
import { defineRoute, type AuthContext, type RouteDef } from "../http.js";
import { agentConnection, binPackingItem, clusterFigures } from "../services/fleet-view.js";
import { nodeKpi } from "../services/node-totals.js";
import { BinPackingBasis, NetSavingsReason, NotInTotals, TotalsBasis } from "../routes/shared.js";

export interface AdminRouteDeps {
  auth: AuthService;
  client: KubeClient;
  cache: Pick<FacadeCache, "allClusters" | "allAgentActions" | "hasSynced" | "templates" | "hibernationSchedules">;
  /** Platform-level audit chain (super_admin actions that outlive an organisation, e.g. its deletion). */
  systemNamespace: string;
  /** Whether a price of this date is older than the configured maximum age; default: never. */
  isStale?: (asOf: string) => boolean;
}

const ClientId = z.uuid();

function caller(auth: AuthContext | undefined): AuthContext {
  if (!auth) throw new Error("admin route ran without an AuthContext");
  return auth;
}

const SUPER = { auth: "user" as const, roles: ["super_admin" as const], tenant: false, tags: ["admin"] };

/**
 * Money over clusters from what their ManagedCluster status holds (the status controller's figures): sums of the
 * clusters that have a figure, the others named in not_in_totals, null when none has one; never an estimate.
 */
function money(
  clusters: ManagedCluster[],
  isStale: (asOf: string) => boolean = () => false,
): {
  monthly_spend: number | null;
  net_savings: number | null;
  net_savings_reason: string | null;
  unpriced_clusters: number;
  not_in_totals: Array<{ cluster_id: string; reason: string }>;
  savings_baseline: string;
  price_source: string | null;
  prices_as_of: string | null;
  prices_stale: boolean | null;
} {
  const figures = clusters.map((c) => ({
    ...clusterFigures(c, { isStale }),
    clusterId: `${c.metadata.namespace ?? ""}/${c.metadata.name ?? ""}`,
  }));
  const priced = figures.filter((f) => f.monthlyCostUsd !== null);
  return {
    monthly_spend: sumKnown(figures.map((f) => f.monthlyCostUsd)),
    net_savings: sumKnown(figures.map(netSavingsUsd)),
    net_savings_reason: netSavingsReason(figures),
    unpriced_clusters: figures.length - priced.length,
    not_in_totals: notInTotals(figures),
    savings_baseline: SAVINGS_BASELINE,
    ...priceProvenance(priced),
  };
}

function binPacking(
  cache: Pick<FacadeCache, "hibernationSchedules">,
  clusters: ManagedCluster[],
): z.infer<typeof BinPackingBasis> & { monthly: number | null } {
  // the same figure as /metrics/projection's: re-packed nodes save only in the hours hibernation leaves awake
  const figure = binPackingSavings(clusters.map((c) => binPackingItem(cache, c, figuresFromStatus(c.status))));
  return {
    monthly: figure.monthlyUsd,
    baseline: figure.baseline,
    as_of: figure.asOf,
    reason: figure.reason,
    price_source: figure.priceSource,
    prices_as_of: figure.pricesAsOf,
  };
}

const Money = {
  unpriced_clusters: z.number().int(),
  ...TotalsBasis,
  // Across organisations a cluster is named namespace/name (the key keeps its place in the spread).
  not_in_totals: NotInTotals.describe(
    "Clusters (namespace/name) whose cost is unknown and left out of the sums, with why.",
  ),
};

function isConnected(c: ManagedCluster): boolean {
  return agentConnection(c)?.status === "True";
}

/** /admin/clients: every organisation with its spend and counts. */
function listClientsRoute(deps: AdminRouteDeps): RouteDef {
  return defineRoute({
    ...SUPER,
    method: "get",
    path: "/admin/clients",
    summary: "All client organisations (super_admin)",
    response: z.object({
      clients: z.array(
        z.object({
          id: z.string(),
          org_name: z.string(),
          plan: z.string(),
          monthly_spend: z.number().nullable(),
          ...Money,
          created_at: z.string(),
          namespace: z.string(),
          clusters: z.number().int(),
          members: z.number().int(),
        }),
      ),
    }),
    handler: async () => {
      // A live LIST of namespaces: super_admin only and rare, never on a tenant's request path.
      const orgs = await listOrganisations(deps.client);
      const clusters = deps.cache.allClusters();
      const users = deps.auth.store.cachedUsers();
      return {
        clients: orgs.map((o) => {
          const own = clusters.filter((c) => c.metadata.namespace === o.namespace);
          const { net_savings: _n, net_savings_reason: _r, ...spend } = money(own, deps.isStale);
          return {
            id: o.orgId,
            org_name: o.name,
            plan: o.plan,
            ...spend,
            created_at: o.createdAt,
            namespace: o.namespace,
            clusters: own.length,
            members: users.filter((u) => u.orgId === o.orgId).length,
          };
        }),
      };
    },
  }) as RouteDef;
}

/** /admin/stats: platform totals. */
function statsRoute(deps: AdminRouteDeps): RouteDef {
  return defineRoute({
    ...SUPER,
    method: "get",
    path: "/admin/stats",
    summary:
      "Platform totals from ManagedCluster status (super_admin): monthly spend and savings against the same nodes On-Demand, with what they leave out",
    response: z.object({
      total_clients: z.number().int(),
      total_spend: z.number().nullable(),
      total_savings: z
        .number()
        .nullable()
        .describe("Σ (On-Demand baseline − cost) per month over the priced clusters; null when none is priced."),
      total_savings_reason: NetSavingsReason,
      active_clusters: z.number().int(),
      total_clusters: z.number().int(),
      savings_source: z.string(),
      ...Money,
      bin_packing_savings: BinPackingBasis.extend({ monthly: z.number().nullable() }).describe(
        "What the clusters' last re-plans would save per month against their current nodes (not applied).",
      ),
    }),
    handler: async () => {
      const orgs = await listOrganisations(deps.client);
      const clusters = deps.cache.allClusters();
      const { monthly_spend, net_savings, net_savings_reason, ...rest } = money(clusters, deps.isStale);
      return {
        total_clients: orgs.length,
        total_spend: monthly_spend,
        total_savings: net_savings,
        total_savings_reason: net_savings_reason,
        active_clusters: clusters.filter(isConnected).length,
        total_clusters: clusters.length,
        savings_source:
          net_savings === null
            ? "no cluster reports both a monthly cost and its On-Demand baseline yet"
            : "ManagedCluster.status (monthlyCostUsd, baselineMonthlyCostUsd) written by the operator's status controller",
        ...rest,
        bin_packing_savings: binPacking(deps.cache, clusters),
      };
    },
  }) as RouteDef;
}

/** /admin/health: component health. */
function healthRoute(deps: AdminRouteDeps): RouteDef {
  return defineRoute({
    ...SUPER,
    method: "get",
    path: "/admin/health",
    summary: "Component health (super_admin)",
    response: z.object({
      database: z.string(),
      api_server: z.string(),
      cache: z.string(),
      auth: z.string(),
      redis: z.string(),
      celery_workers: z.string(),
      scraper_health: z.string(),
    }),
    handler: async () => {
      let apiServer = "healthy";
      try {
        await deps.client.request({ method: "GET", path: "/version" });
      } catch {
        apiServer = "unhealthy";
      }
      return {
        // The Kubernetes API (etcd) is our database.
        database: apiServer,
        api_server: apiServer,
        cache: deps.cache.hasSynced() ? "healthy" : "syncing",
        auth: deps.auth.hasSynced() ? "healthy" : "syncing",
        redis: "not_used",
        celery_workers: "not_used",
        scraper_health: "not_used",
      };
    },
  }) as RouteDef;
}

export interface WorkerHealth {
  queue_depth: number;
  stuck_actions: number;
  workers_active: number;
  workers_total: number;
  status: "green" | "yellow" | "red";
  status_reason: string;
}

/**
 * The agents are the workers of the action queue, one per cluster: an action is queued until it succeeds or fails, and
 * stuck while its cluster's agent is not connected (or the cluster is gone). Red: some action is stuck; yellow: some
 * agent is not connected; green: every agent is.
 */
export function workerHealth(clusters: ManagedCluster[], actions: AgentAction[]): WorkerHealth {
  const key = (namespace: string | undefined, name: string | undefined): string => `${namespace ?? ""}/${name ?? ""}`;
  const connected = new Set(clusters.filter(isConnected).map((c) => key(c.metadata.namespace, c.metadata.name)));
  const queued = actions.filter((a) => a.status?.phase !== "Succeeded" && a.status?.phase !== "Failed");
  const stuck = queued.filter((a) => !connected.has(key(a.metadata.namespace, a.spec.clusterRef.name))).length;
  const idle = clusters.length - connected.size;
  const [status, reason]: [WorkerHealth["status"], string] =
    stuck > 0
      ? ["red", `${stuck} queued action(s) wait for an agent that is not connected`]
      : idle > 0
        ? ["yellow", `${idle} of ${clusters.length} cluster agent(s) not connected; no queued action waits on them`]
        : ["green", clusters.length === 0 ? "no clusters" : "every cluster's agent is connected"];
  return {
    queue_depth: queued.length,
    stuck_actions: stuck,
    workers_active: connected.size,
    workers_total: clusters.length,
    status,
    status_reason: reason,
  };
}

/** /admin/health/workers: the action queue and the agents that work it. */
function workersRoute(deps: AdminRouteDeps): RouteDef {
  return defineRoute({
    ...SUPER,
    method: "get",
    path: "/admin/health/workers",
    errors: { "503": "Caches not synced yet (just after start)" },
    summary:
      "The agents as the action queue's workers (super_admin): queued AgentActions, those whose agent is not connected, agents connected of all clusters",
    response: z.object({
      queue_depth: z.number().int().describe("AgentActions of every organisation not yet Succeeded or Failed."),
      stuck_actions: z.number().int().describe("Of those, the ones whose cluster's agent is not connected."),
      workers_active: z.number().int().describe("Clusters whose agent is connected (AgentConnected=True)."),
      workers_total: z.number().int().describe("Clusters (one agent each)."),
      status: z.enum(["green", "yellow", "red"]),
      status_reason: z.string(),
    }),
    handler: async () => {
      if (!deps.cache.hasSynced()) throw new NotReadyError("caches not synced yet");
      return workerHealth(deps.cache.allClusters(), deps.cache.allAgentActions());
    },
  }) as RouteDef;
}

/** /admin/impersonate: a scoped token inside one organisation. */
function impersonateRoute(deps: AdminRouteDeps): RouteDef {
  return defineRoute({
    ...SUPER,
    method: "post",
    path: "/admin/impersonate",
    noStore: true,
    summary: "A 1-hour token with which the super_admin acts inside one organisation (super_admin)",
    body: z.object({ client_id: ClientId }).strict(),
    response: z.object({
      temp_token: z.string(),
      expires_in: z.number().int(),
      client_org: z.string(),
      org_id: z.string(),
    }),
    handler: async ({ auth, body, audit }) => {
      const admin = caller(auth);
      const { token, expiresInSeconds, org } = await deps.auth.impersonate(admin, body.client_id, 3600);
      // Recorded in the organisation's own chain, so its owners can see who looked.
      audit({
        namespace: org.namespace,
        event: "admin.impersonate",
        resource: `organisation/${org.orgId}`,
        after: { expires_in: expiresInSeconds },
      });
      return { temp_token: token, expires_in: expiresInSeconds, client_org: org.name, org_id: org.orgId };
    },
  }) as RouteDef;
}

/**
 * Feature flags one organisation may hold: they live in one annotation of its namespace and every change copies them
 * into the audit chain, so their number is bounded (a real API server refuses 256 KiB of annotations).
 */
const MAX_FLAGS = 100;

/** /clients/:id/flags: feature flags of one organisation. */
function flagsRoute(deps: AdminRouteDeps): RouteDef {
  return defineRoute({
    ...SUPER,
    method: "patch",
    path: "/clients/:id/flags",
    summary: "Set feature flags of one organisation (super_admin)",
    params: z.object({ id: ClientId }).strict(),
    body: z
      .object({
        flags: z
          .record(z.string().regex(/^[a-z][a-z0-9_]{0,62}$/), z.boolean())
          .refine((f) => Object.keys(f).length <= MAX_FLAGS, `at most ${MAX_FLAGS} flags`),
      })
      .strict(),
    response: z.object({ success: z.literal(true), client_id: z.string(), flags: z.record(z.string(), z.boolean()) }),
    handler: async ({ params, body, audit }) => {
      const org = await getOrganisation(deps.client, params.id);
      const held = new Set([...Object.keys(org.flags), ...Object.keys(body.flags)]).size;
      if (held > MAX_FLAGS)
        throw new UnprocessableError(
          `an organisation holds at most ${MAX_FLAGS} feature flags; this change makes ${held}`,
        );
      const { before, after } = await updateOrganisationFlags(deps.client, params.id, body.flags);
      audit({ namespace: org.namespace, event: "admin.flags", resource: `organisation/${org.orgId}`, before, after });
      return { success: true as const, client_id: params.id, flags: after };
    },
  }) as RouteDef;
}

const RESET_NOT_BUILT =
  "password-reset e-mails are not built: this endpoint answers 501 whatever mail provider is configured";

/** /admin/reset-pass: not built, answers 501. */
function resetPasswordRoute(deps: AdminRouteDeps): RouteDef {
  return defineRoute({
    ...SUPER,
    method: "post",
    path: "/admin/reset-pass",
    summary: "Password-reset e-mail: not built, always answers 501 (with or without a mail transport)",
    body: z.object({ client_id: ClientId }).strict(),
    response: z.object({ success: z.literal(true) }),
    notBuilt: RESET_NOT_BUILT,
    handler: async ({ body }) => {
      await getOrganisation(deps.client, body.client_id);
      throw new NotImplementedError(RESET_NOT_BUILT);
    },
  }) as RouteDef;
}

/** /admin/clients/:id: deletes an organisation. */
function deleteClientRoute(deps: AdminRouteDeps): RouteDef {
  return defineRoute({
    ...SUPER,
    method: "delete",
    path: "/admin/clients/:id",
    summary:
      "Delete an organisation: its namespace (and every object in it), users, sessions and invites (super_admin)",
    params: z.object({ id: ClientId }).strict(),
    response: z.object({
      success: z.literal(true),
      deleted_resources: z.object({
        clusters: z.number().int(),
        instances: z
          .number()
          .int()
          .nullable()
          .describe("Nodes of the clusters that reported them; null when none of them did."),
        instances_reason: z
          .string()
          .nullable()
          .describe("The clusters whose nodes are not counted (never reported), or null when every one is."),
        templates: z.number().int(),
        users: z.number().int(),
      }),
    }),
    handler: async ({ params, audit }) => {
      const org = await getOrganisation(deps.client, params.id);
      const clusters = deps.cache.allClusters().filter((c) => c.metadata.namespace === org.namespace);
      // A cluster that never reported has no node count: it is named, not counted as 0.
      const nodes = nodeKpi(clusters.map((c) => clusterFigures(c, {})));
      const counts = {
        clusters: clusters.length,
        instances: nodes.active_nodes,
        instances_reason: nodes.active_nodes_reason,
        templates: deps.cache.templates(org.namespace).length,
      };
      const { users } = await deps.auth.deleteOrganisation(org.orgId);
      // The organisation's own chain goes with its namespace: the deletion is kept in the platform chain.
      audit({
        namespace: deps.systemNamespace,
        event: "admin.delete_client",
        resource: `organisation/${org.orgId}`,
        before: { org_name: org.name, ...counts, users },
      });
      return { success: true as const, deleted_resources: { ...counts, users } };
    },
  }) as RouteDef;
}

export function createAdminRoutes(deps: AdminRouteDeps): RouteDef[] {
  return [
    listClientsRoute(deps),
    statsRoute(deps),
    healthRoute(deps),
    workersRoute(deps),
    impersonateRoute(deps),
    flagsRoute(deps),
    resetPasswordRoute(deps),
    deleteClientRoute(deps),
  ];
}
