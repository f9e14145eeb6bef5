// /healthz and /readyz (fail when no heartbeat succeeded for the configured time) and /metrics for the agent's pod.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AgentMetrics } from "./metrics.js";

export interface HealthSource {
  /** Epoch ms of the last accepted heartbeat, 0 if none. */
  lastReportMs: number;
}

export async function startAgentServer(opts: {
  port: number;
  host: string;
  agent: HealthSource;
  metrics: AgentMetrics;
  staleMs: number;
  startedMs?: number;
}): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const startedMs = opts.startedMs ?? Date.now();
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    // Readiness is the same fact: an agent the facade does not hear from is neither live nor useful.
    if (path === "/healthz" || path === "/readyz") {
      // Before the first report the process gets the same grace from its start.
      const since = opts.agent.lastReportMs || startedMs;
      const ageMs = Date.now() - since;
      const healthy = ageMs <= opts.staleMs;
      res.writeHead(healthy ? 200 : 503, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          status: healthy ? "ok" : "stale",
          last_report: opts.agent.lastReportMs ? new Date(opts.agent.lastReportMs).toISOString() : null,
          stale_after_seconds: opts.staleMs / 1000,
        }),
      );
      return;
    }
    if (path === "/metrics") {
      res.writeHead(200, { "content-type": opts.metrics.registry.contentType });
      res.end(opts.metrics.registry.metrics());
      return;
    }
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ detail: "not found" }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, resolve);
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
