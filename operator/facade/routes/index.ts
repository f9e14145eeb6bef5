// Every route module the facade mounts; main.ts passes `routeModules` to createFacadeApp (one line per module).
import type { RouteDef } from "../http.js";
import { activityRoutes } from "./activity.js";
import { agentRoutes } from "./agent.js";
import { clusterRoutes } from "./clusters.js";
import { exportRoutes } from "./exports.js";
import { hibernationRoutes } from "./hibernation.js";
import { metricsRoutes } from "./metrics.js";
import { policyRoutes } from "./policies.js";
import { templateRoutes } from "./templates.js";

export const routeModules: RouteDef[][] = [
  clusterRoutes,
  agentRoutes,
  templateRoutes,
  policyRoutes,
  hibernationRoutes,
  metricsRoutes,
  activityRoutes,
  exportRoutes,
];
