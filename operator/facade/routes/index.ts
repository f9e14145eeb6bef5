// Every resource route module the facade mounts, each built from the services it uses (start.ts passes the result to
// createFacadeApp).
import type { RouteDef } from "../http.js";
import type { ResourceServices } from "../services/index.js";
import { createActivityRoutes } from "./activity.js";
import { createAgentRoutes } from "./agent.js";
import { createBillingRoutes } from "./billing.js";
import { createClusterRoutes } from "./clusters.js";
import { createExportRoutes } from "./exports.js";
import { createHibernationRoutes } from "./hibernation.js";
import { createMetricsRoutes } from "./metrics.js";
import { createPolicyRoutes } from "./policies.js";
import { createTemplateRoutes } from "./templates.js";
import { createUnbuiltRoutes } from "./unbuilt.js";

export function createResourceRoutes(services: ResourceServices): RouteDef[][] {
  const { scope } = services;
  return [
    createUnbuiltRoutes(),
    createClusterRoutes(services),
    createAgentRoutes(services),
    createTemplateRoutes(services),
    createPolicyRoutes(services),
    createHibernationRoutes(services),
    createMetricsRoutes(scope),
    createActivityRoutes(scope),
    createExportRoutes(scope),
    createBillingRoutes(scope),
  ];
}
