// Kind references of our custom resources (apiVersion + kind), the one place controllers and informers take them from.
import { API_VERSION } from "./common.js";

export const MANAGED_CLUSTER = { apiVersion: API_VERSION, kind: "ManagedCluster" } as const;
export const NODE_TEMPLATE = { apiVersion: API_VERSION, kind: "NodeTemplate" } as const;
export const OPTIMIZATION_POLICY = { apiVersion: API_VERSION, kind: "OptimizationPolicy" } as const;
export const HIBERNATION_SCHEDULE = { apiVersion: API_VERSION, kind: "HibernationSchedule" } as const;
export const AGENT_ACTION = { apiVersion: API_VERSION, kind: "AgentAction" } as const;
export const AUDIT_ENTRY = { apiVersion: API_VERSION, kind: "AuditEntry" } as const;
