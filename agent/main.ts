// The agent's entrypoint: configuration from the environment, the loops, /healthz + /metrics, graceful SIGTERM.
import { pathToFileURL } from "node:url";
import { KubeClient, type KubeAccess } from "../src-shared/kube/client.js";
import { createLogger } from "../src-shared/log/index.js";
import { Agent } from "./agent.js";
import { AgentConfigError, loadAgentConfig, type AgentConfig } from "./config.js";
import { createFacadeClient } from "./facade-client.js";
import { loadKubeAccess } from "./kube-access.js";
import { createAgentMetrics } from "./metrics.js";
import { NoticeWatcher } from "./notice-watcher.js";
import { startAgentServer } from "./server.js";
import type { Logger } from "pino";

export interface RunningAgent {
  /** the Deployment mode's agent (none in DaemonSet mode) */
  agent?: Agent;
  port: number;
  stop(): Promise<void>;
}

export interface StartAgentOptions {
  env?: NodeJS.ProcessEnv;
  /** The workload cluster (a client-node KubeConfig will do); default from SPOTOPT_KUBECONFIG, in-cluster, or the usual kubeconfig. */
  kubeConfig?: KubeAccess;
}

/** Starts the agent with a parsed configuration (tests call this directly). */
export async function startAgent(config: AgentConfig, opts: StartAgentOptions = {}): Promise<RunningAgent> {
  const logger = createLogger("agent", opts.env ?? process.env);
  const kubeConfig =
    opts.kubeConfig ??
    (await loadKubeAccess({
      ...(config.kubeconfigPath !== undefined ? { kubeconfigPath: config.kubeconfigPath } : {}),
      ...(opts.env !== undefined ? { env: opts.env } : {}),
    }));
  const client = new KubeClient(kubeConfig);
  const metrics = createAgentMetrics();
  const worker =
    config.mode === "daemonset" ? noticeWatcher(config, client, logger) : agentOf(config, { client, logger, metrics });
  const server = await startAgentServer({
    port: config.port,
    host: config.host,
    agent: worker,
    metrics,
    staleMs: config.healthStaleMs,
    // a round waits up to the longest backoff, then its requests' own timeouts
    liveMs: Math.max(config.healthStaleMs, 2 * config.backoffMaxMs + 30_000),
  });
  worker.start();
  logger.info({ cluster: config.clusterId, mode: config.mode, port: server.port }, "Started agent");
  return {
    ...(worker instanceof Agent ? { agent: worker } : {}),
    port: server.port,
    stop: async () => {
      await worker.stop();
      await server.close();
      client.close();
      logger.info({ cluster: config.clusterId }, "Stopped agent");
    },
  };
}

/** Deployment mode: heartbeats, actions and the drains of the notices the cluster's nodes carry. */
function agentOf(
  c: AgentConfig,
  deps: { client: KubeClient; logger: Logger; metrics: ReturnType<typeof createAgentMetrics> },
): Agent {
  return new Agent({
    client: deps.client,
    facade: createFacadeClient({ baseUrl: c.facadeUrl, clusterId: c.clusterId, readToken: c.readToken }),
    heartbeatMs: c.heartbeatMs,
    pollMs: c.pollMs,
    backoffMaxMs: c.backoffMaxMs,
    maxConcurrentActions: c.maxConcurrentActions,
    interruptionDrainMs: c.interruptionDrainMs,
    metrics: deps.metrics,
    logger: deps.logger,
    ...(c.ownNamespace !== undefined ? { ownNamespace: c.ownNamespace } : {}),
  });
}

/** DaemonSet mode: only this node's instance-metadata notices, which taint it for the Deployment agent. */
function noticeWatcher(config: AgentConfig, client: KubeClient, logger: Logger): NoticeWatcher {
  return new NoticeWatcher({
    client,
    nodeName: config.nodeName!,
    imdsUrl: config.imdsUrl,
    pollMs: config.pollMs,
    backoffMaxMs: config.backoffMaxMs,
    logger,
  });
}

/** Bad configuration (environment, kubeconfig): one line and exit code 2. */
function exitOnConfigError(err: unknown): never {
  if (!(err instanceof AgentConfigError)) throw err;
  process.stderr.write(`spot-optimizer agent: ${err.message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let running: RunningAgent;
  try {
    const config = loadAgentConfig(process.env);
    // a DaemonSet pod never talks to the facade, so it holds no token
    if (config.mode === "deployment") config.readToken();
    running = await startAgent(config);
  } catch (err) {
    exitOnConfigError(err);
  }
  const shutdown = (): void => {
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`spot-optimizer agent: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
