// The operator process: a leader-elected controller manager running every registered controller.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { KubeClient, loadKubeConfig } from "../src-shared/kube/index.js";
import { createLogger } from "../src-shared/log/index.js";
import { ControllerManager, healthPortFromEnv, startHealthServer } from "../src-shared/runtime/index.js";
import { controllerRegistrations } from "./controllers/index.js";

export const SYSTEM_NAMESPACE = "spot-optimizer-system";
/** Name of the leader-election Lease (the chart's leader Role names it). */
export const LEADER_LEASE_NAME = "spot-optimizer-operator";

/** Where the leader Lease lives: SPOTOPT_SYSTEM_NAMESPACE (the chart sets its release namespace), else the default. */
export function systemNamespace(env: NodeJS.ProcessEnv = process.env): string {
  return env.SPOTOPT_SYSTEM_NAMESPACE || SYSTEM_NAMESPACE;
}

export interface StartOperatorOptions {
  kubeConfig: KubeConfig;
  logger?: Logger;
  /** Lease holder identity; default POD_NAME, else operator-<pid>. */
  identity?: string;
  /** The installer's namespace (leader Lease, local-cluster ConfigMap); default systemNamespace(). */
  systemNamespace?: string;
  /** Namespace of the leader Lease; default the system namespace. */
  leaseNamespace?: string;
  now?: () => Date;
}

export interface RunningOperator {
  manager: ControllerManager;
  stop(): Promise<void>;
}

/** Starts informers, the leader election on a Lease in the system namespace, and the controllers once leading. */
export async function startOperator(options: StartOperatorOptions): Promise<RunningOperator> {
  const logger = options.logger ?? createLogger("operator");
  const client = new KubeClient(options.kubeConfig);
  const identity = options.identity ?? process.env.POD_NAME ?? `operator-${process.pid}`;
  const namespace = options.systemNamespace ?? systemNamespace();
  const manager = new ControllerManager({
    client,
    logger,
    leaderElection: { namespace: options.leaseNamespace ?? namespace, name: LEADER_LEASE_NAME, identity },
  });
  const now = options.now ?? ((): Date => new Date());
  for (const register of controllerRegistrations) await register({ client, manager, now, systemNamespace: namespace });
  manager.start();
  await manager.waitForCacheSync();
  logger.info({ identity, controllers: controllerRegistrations.length }, "Started operator");
  return {
    manager,
    stop: async () => {
      await manager.stop();
      client.close();
      logger.info({ identity }, "Stopped operator");
    },
  };
}

// Run as a process (in a pod, or against KUBECONFIG) when executed directly.
if (import.meta.url === `file://${process.argv[1]}`) {
  // Probes answer from the start: live at once, ready once the caches have synced (on every replica, leader or not).
  const started: { operator?: RunningOperator } = {};
  const health = await startHealthServer({
    port: healthPortFromEnv(),
    ready: () => started.operator?.manager.hasSynced() ?? false,
  });
  const operator = await startOperator({ kubeConfig: loadKubeConfig({}) });
  started.operator = operator;
  const shutdown = (): void =>
    void operator
      .stop()
      .then(() => health.close())
      .then(() => process.exit(0));
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}
