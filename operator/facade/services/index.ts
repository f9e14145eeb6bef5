// The facade's resource services, built once per facade from its parts: each route module receives the ones it uses.
import type { AuditWriter } from "../../../src-shared/audit/types.js";
import { createAgentActionQueue, type AgentActionQueue } from "./agent-actions.js";
import { createClusterService, type ClusterService } from "./clusters.js";
import { createHeartbeatIngest, type HeartbeatIngest } from "./heartbeats.js";
import { createPolicyService, type PolicyService } from "./policies.js";
import { createResourceScope, type ResourceParts, type ResourceScope } from "./resource-scope.js";
import { createScheduleService, type ScheduleService } from "./schedules.js";
import { createTemplateService, type TemplateService } from "./templates.js";
import type { KubeClient } from "../../../src-shared/kube/client.js";

export interface ResourceServices {
  scope: ResourceScope;
  clusters: ClusterService;
  templates: TemplateService;
  schedules: ScheduleService;
  policies: PolicyService;
  agent: { client: KubeClient; ingest: HeartbeatIngest; queue: AgentActionQueue };
}

export function createResourceServices(parts: ResourceParts & { audit: AuditWriter }): ResourceServices {
  const { client, config, now, logger } = parts;
  return {
    scope: createResourceScope(parts),
    clusters: createClusterService(),
    templates: createTemplateService(),
    schedules: createScheduleService(),
    policies: createPolicyService(),
    agent: {
      client,
      ingest: createHeartbeatIngest({
        client,
        audit: parts.audit,
        releaseNamespace: config.systemNamespace,
        now,
        statusIntervalMs: config.agentStatusIntervalSeconds * 1000,
        leaseRenewMs: config.agentLeaseRenewSeconds * 1000,
        noticeNamespace: config.systemNamespace,
        recordedEntries: (namespace) => parts.cache.auditEntries(namespace),
        ...(logger ? { logger } : {}),
      }),
      queue: createAgentActionQueue({ client, now }),
    },
  };
}
