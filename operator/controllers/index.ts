// The operator's controllers: each entry registers one reconciler (and the kinds it watches) with the manager.
import type { ControllerManager } from "../../src-shared/runtime/index.js";
import type { KubeClient } from "../../src-shared/kube/index.js";
import { registerHibernationController } from "./hibernation/controller.js";
import { registerManagedClusterController } from "./managedcluster/status/controller.js";
import { registerReplanController } from "./managedcluster/replan/controller.js";
import { registerRemoteCleanupController } from "./managedcluster/remote-cleanup/controller.js";
import { registerNodeTemplateController } from "./nodetemplate/controller.js";
import { registerOptimizationPolicyController } from "./optimizationpolicy/controller.js";
import { bookOf, operatorPrices } from "../../src-shared/pricing/operator-prices.js";
import { registerPriceBookController } from "./pricebook/controller.js";
import { regionBookPrices } from "./hibernation/savings.js";
import type { PriceBook } from "../../src-shared/pricing/types.js";

export interface ControllerDeps {
  client: KubeClient;
  manager: ControllerManager;
  now: () => Date;
  /** The installer's namespace, where the local-cluster ConfigMap lives. */
  systemNamespace?: string;
}

/** The operator's price book (the price-book controller's ConfigMaps) as every other controller reads it. */
const prices = ({ manager, systemNamespace, now }: ControllerDeps): ReturnType<typeof operatorPrices> =>
  operatorPrices(manager, { systemNamespace, now });

/** A region's book, or an error naming why there is none (the replan reports it on the cluster). */
const bookOrThrow =
  (deps: ControllerDeps) =>
  (region: string): PriceBook => {
    const found = prices(deps)(region);
    if (!found.book) throw new Error(found.reason ?? `no prices for region ${region}`);
    return found.book;
  };

/** One function per controller; add a line here when a controller lands. */
export const controllerRegistrations: Array<(deps: ControllerDeps) => Promise<void> | void> = [
  ({ client, manager, now, systemNamespace }: ControllerDeps): void =>
    registerPriceBookController({ client, manager, now, systemNamespace }),
  (deps: ControllerDeps): Promise<void> =>
    registerHibernationController({
      client: deps.client,
      manager: deps.manager,
      nowMs: () => deps.now().getTime(),
      systemNamespace: deps.systemNamespace,
      price: regionBookPrices(bookOf(prices(deps))),
    }),
  (deps: ControllerDeps): void => registerManagedClusterController({ ...deps, prices: prices(deps) }),
  (deps: ControllerDeps): void => registerReplanController({ ...deps, priceBook: bookOrThrow(deps) }),
  (deps: ControllerDeps): Promise<void> => registerNodeTemplateController({ ...deps, priceBook: bookOf(prices(deps)) }),
  ({ client, manager, now, systemNamespace }: ControllerDeps): void =>
    registerRemoteCleanupController({ client, manager, now, systemNamespace }),
  ({ client, manager, now, systemNamespace }: ControllerDeps): Promise<void> =>
    registerOptimizationPolicyController({ client, manager, now, systemNamespace }),
];
