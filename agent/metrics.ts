// The agent's Prometheus metrics (served on /metrics).
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

export interface AgentMetrics {
  registry: Registry;
  heartbeats: Counter<"result">;
  actions: Counter<"type" | "result">;
  interruptions: Counter<"kind">;
  lastReport: Gauge;
}

export function createAgentMetrics(): AgentMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "spotopt_agent_" });
  return {
    registry,
    heartbeats: new Counter({
      name: "spotopt_agent_heartbeats_total",
      help: "Heartbeats sent, by result (ok, failed).",
      labelNames: ["result"],
      registers: [registry],
    }),
    actions: new Counter({
      name: "spotopt_agent_actions_total",
      help: "Actions executed, by type and result (succeeded, failed).",
      labelNames: ["type", "result"],
      registers: [registry],
    }),
    interruptions: new Counter({
      name: "spotopt_agent_interruptions_total",
      help: "Interruption notices handled (node cordoned and drained), by kind.",
      labelNames: ["kind"],
      registers: [registry],
    }),
    lastReport: new Gauge({
      name: "spotopt_agent_last_report_timestamp_seconds",
      help: "Unix time of the last heartbeat the facade accepted.",
      registers: [registry],
    }),
  };
}
