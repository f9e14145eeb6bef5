// The operator process: a leader-elected controller manager running every registered controller.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { KubeClient, loadKubeConfig } from "../src-shared/kube/index.js";
import { createLogger } from "../src-shared/log/index.js";
import { ControllerManager } from "../src-shared/runtime/index.js";
import { controllerRegistrations } from "./controllers/index.js";

export const SYSTEM_NAMESPACE = "spot-optimizer-system";

export interface StartOperatorOptions {
  kubeConfig: KubeConfig;
  logger?: Logger;
  /** Lease holder identity; default POD_NAME, else operator-<pid>. */
  identity?: string;
  now?: () => Date;
}

export interface RunningOperator {
  manager: ControllerManager;
  stop(): Promise<void>;
}

/** Starts informers, the leader election on a Lease in spot-optimizer-system, and the controllers once leading. */
export async function startOperator(options: StartOperatorOptions): Promise<RunningOperator> {
  const logger = options.logger ?? createLogger("operator");
  const client = new KubeClient(options.kubeConfig);
  const identity = options.identity ?? process.env.POD_NAME ?? `operator-${process.pid}`;
  const manager = new ControllerManager({
    client,
    logger,
    leaderElection: { namespace: SYSTEM_NAMESPACE, name: "spot-optimizer-operator", identity },
  });
  const now = options.now ?? ((): Date => new Date());
  for (const register of controllerRegistrations) await register({ client, manager, now });
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
  const running = await startOperator({ kubeConfig: loadKubeConfig({}) });
  const shutdown = (): void => void running.stop().then(() => process.exit(0));
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}
