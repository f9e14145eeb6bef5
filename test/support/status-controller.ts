// Test support: the operator's ManagedCluster status controller beside a test's facade, as the operator runs it. The
// facade shows only what this controller writes into ManagedCluster.status, so figure tests start both.
import { registerManagedClusterController } from "../../operator/controllers/managedcluster/status/controller.js";
import type { KubeClient } from "../../src-shared/kube/index.js";
import type { RegionPrices } from "../../src-shared/pricing/region-prices.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";

export interface RunningStatusController {
  stop(): Promise<void>;
}

/** Starts the controller on its own manager (prices: the shipped snapshot unless given); stop() ends its watches. */
export function startStatusController(
  client: KubeClient,
  opts: { prices?: RegionPrices } = {},
): RunningStatusController {
  const manager = new ControllerManager({ client });
  registerManagedClusterController({ manager, client, ...(opts.prices ? { prices: opts.prices } : {}) });
  manager.start();
  return { stop: () => manager.stop() };
}
