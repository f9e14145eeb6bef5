// Test helper: the configuration of a real agent talking to a test facade quickly (short beats, polls and backoff).
import type { AgentConfig } from "../../agent/config.js";
import type { HeartbeatInput, PendingAction } from "../../src-shared/agent/protocol.js";

/** An agent for `clusterId` at `facadeUrl` beating every 300 ms and polling every 100 ms; `overrides` win. */
export function testAgentConfig(
  input: { facadeUrl: string; clusterId: string; readToken: () => string },
  overrides: Partial<AgentConfig> = {},
): AgentConfig {
  return {
    facadeUrl: input.facadeUrl,
    clusterId: input.clusterId,
    readToken: input.readToken,
    heartbeatMs: 300,
    pollMs: 100,
    healthStaleMs: 5000,
    backoffMaxMs: 600,
    port: 0,
    host: "127.0.0.1",
    mode: "deployment",
    imdsUrl: "http://127.0.0.1:9",
    interruptionDrainMs: 5000,
    maxConcurrentActions: 8,
    ...overrides,
  };
}

/** One pending action as the facade hands it out (attempt 1, a 60 s deadline), for running an executor directly. */
export function pendingAction(
  type: string,
  target: PendingAction["target"],
  params: Record<string, unknown> = {},
): PendingAction {
  const now = Date.now();
  return {
    id: `${type}-${target.name}`,
    type,
    target,
    params,
    attempt: 1,
    lease_expires_at: new Date(now + 90_000).toISOString(),
    deadline: new Date(now + 60_000).toISOString(),
    timeout_seconds: 60,
    lease_seconds: 90,
  };
}

/** A heartbeat body reporting one m5.large Spot node per name (ready state unreported), no pods; `overrides` win. */
export function testHeartbeat(
  nodes: string[] = ["ip-10-0-1-1"],
  overrides: Partial<HeartbeatInput> = {},
): HeartbeatInput {
  return {
    agent_version: "0.1.0",
    k8s_version: "v1.31.4",
    nodes: nodes.map((name) => ({
      name,
      instance_type: "m5.large",
      capacity_type: "spot",
      zone: "us-east-1a",
      allocatable: { cpu: "1930m", memory: "7220Mi", pods: "29" },
      cordoned: false,
    })),
    pods: [],
    interruptions: [],
    ...overrides,
  };
}
