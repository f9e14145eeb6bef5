// /healthz (the agent's own loop runs), /readyz (the facade accepted a heartbeat lately) and /metrics for its pod.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AgentMetrics } from "./metrics.js";

export interface HealthSource {
  /** Epoch ms of the last accepted heartbeat, 0 if none. */
  lastReportMs: number;
  /** Epoch ms at which the last heartbeat round ended, accepted or not, 0 if none. */
  lastRoundMs: number;
}

interface ServerOptions {
  port: number;
  host: string;
  agent: HealthSource;
  metrics: AgentMetrics;
  /** /readyz: how long since the last accepted heartbeat is still ready */
  staleMs: number;
  /** /healthz: how long since the last heartbeat round ended the loop still counts as running */
  liveMs?: number;
  startedMs?: number;
}

/**
 * Liveness is the agent's own loop: a facade outage or a refused token is no reason to restart it (that would also cut
 * short the drains of Spot interruptions it runs). Readiness is whether the facade hears from it. Before the first
 * round (or report) the process gets the same grace from its start.
 */
function health(opts: ServerOptions, startedMs: number, live: boolean): { code: number; body: string } {
  const since = (live ? opts.agent.lastRoundMs : opts.agent.lastReportMs) || startedMs;
  const limitMs = live ? (opts.liveMs ?? opts.staleMs) : opts.staleMs;
  const healthy = Date.now() - since <= limitMs;
  const body = JSON.stringify({
    status: healthy ? "ok" : "stale",
    last_report: opts.agent.lastReportMs ? new Date(opts.agent.lastReportMs).toISOString() : null,
    stale_after_seconds: limitMs / 1000,
  });
  return { code: healthy ? 200 : 503, body };
}

export async function startAgentServer(
  opts: ServerOptions,
): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const startedMs = opts.startedMs ?? Date.now();
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz" || path === "/readyz") {
      const { code, body } = health(opts, startedMs, path === "/healthz");
      res.writeHead(code, { "content-type": "application/json" }).end(body);
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
