// Liveness and readiness endpoints (/healthz, /readyz) for the processes that serve no other HTTP (operator, agent).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface HealthServerOptions {
  port: number;
  /** Default 0.0.0.0: the kubelet probes the pod IP. */
  host?: string;
  /** /readyz answers 200 while this is true, else 503. */
  ready: () => boolean;
}

export interface RunningHealthServer {
  port: number;
  close(): Promise<void>;
}

/** Starts the health server: /healthz is 200 while the event loop runs, /readyz follows `ready()`. */
export async function startHealthServer(options: HealthServerOptions): Promise<RunningHealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const ok = path === "/healthz" ? true : path === "/readyz" ? options.ready() : undefined;
    if (ok === undefined || req.method !== "GET") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "not ready\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The health port from SPOTOPT_HEALTH_PORT (default 8081); throws with the variable's name on a bad value. */
export function healthPortFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SPOTOPT_HEALTH_PORT;
  if (raw === undefined || raw === "") return 8081;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`SPOTOPT_HEALTH_PORT must be a port number, got ${JSON.stringify(raw)}`);
  return port;
}
