// Platform routes for super_admin only: client registry, global stats and component health.
import { z } from "zod";
import type { ManagedCluster } from "../../../src-shared/crds/index.js";
import type { KubeClient } from "../../../src-shared/kube/client.js";
import { listOrganisations } from "../auth/orgs.js";
import type { AuthService } from "../auth/service.js";
import type { FacadeCache } from "../cache.js";
import { defineRoute, type RouteDef } from "../http.js";

export interface AdminRouteDeps {
  auth: AuthService;
  client: KubeClient;
  cache: Pick<FacadeCache, "allClusters" | "hasSynced">;
}

const SUPER = { auth: "user" as const, roles: ["super_admin" as const], tenant: false, tags: ["admin"] };

/** Only what the ManagedCluster status holds: no status yet counts as 0, never an estimate. */
function monthlyCostUsd(clusters: ManagedCluster[]): number {
  return Math.round(clusters.reduce((sum, c) => sum + (c.status?.monthlyCostUsd ?? 0), 0) * 100) / 100;
}

function isConnected(c: ManagedCluster): boolean {
  return c.status?.conditions?.some((cond) => cond.type === "AgentConnected" && cond.status === "True") ?? false;
}

export function createAdminRoutes(deps: AdminRouteDeps): RouteDef[] {
  return [
    defineRoute({
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
            monthly_spend: z.number(),
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
            return {
              id: o.orgId,
              org_name: o.name,
              plan: o.plan,
              monthly_spend: monthlyCostUsd(own),
              created_at: o.createdAt,
              namespace: o.namespace,
              clusters: own.length,
              members: users.filter((u) => u.orgId === o.orgId).length,
            };
          }),
        };
      },
    }),
    defineRoute({
      ...SUPER,
      method: "get",
      path: "/admin/stats",
      summary: "Platform totals from ManagedCluster status (super_admin)",
      response: z.object({
        total_clients: z.number().int(),
        total_spend: z.number(),
        total_savings: z.number(),
        active_clusters: z.number().int(),
        total_clusters: z.number().int(),
        savings_source: z.string(),
      }),
      handler: async () => {
        const orgs = await listOrganisations(deps.client);
        const clusters = deps.cache.allClusters();
        return {
          total_clients: orgs.length,
          total_spend: monthlyCostUsd(clusters),
          // No controller reports realised savings yet; 0 rather than an invented figure.
          total_savings: 0,
          active_clusters: clusters.filter(isConnected).length,
          total_clusters: clusters.length,
          savings_source: "not reported by any controller yet",
        };
      },
    }),
    defineRoute({
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
    }),
  ] as RouteDef[];
}
