// The operator's controllers: each entry registers one reconciler (and the kinds it watches) with the manager.
import type { ControllerManager } from "../../src-shared/runtime/index.js";
import type { KubeClient } from "../../src-shared/kube/index.js";
import { registerHibernationController } from "./hibernation/controller.js";
import { registerManagedClusterController } from "./managedcluster/status/controller.js";
import { registerReplanController } from "./managedcluster/replan/controller.js";
import { registerNodeTemplateController } from "./nodetemplate/controller.js";
import { registerOptimizationPolicyController } from "./optimizationpolicy/controller.js";

export interface ControllerDeps {
  client: KubeClient;
  manager: ControllerManager;
  now: () => Date;
  /** The installer's namespace, where the local-cluster ConfigMap lives. */
  systemNamespace?: string;
}

/** One function per controller; add a line here when a controller lands. */
export const controllerRegistrations: Array<(deps: ControllerDeps) => Promise<void> | void> = [
  ({ client, manager, now, systemNamespace }: ControllerDeps): Promise<void> =>
    registerHibernationController({ client, manager, nowMs: () => now().getTime(), systemNamespace }),
  ({ client, manager, now, systemNamespace }: ControllerDeps): void =>
    registerManagedClusterController({ client, manager, now, systemNamespace }),
  ({ client, manager, now, systemNamespace }: ControllerDeps): void =>
    registerReplanController({ client, manager, now, systemNamespace }),
  ({ client, manager, now, systemNamespace }: ControllerDeps): Promise<void> =>
    registerNodeTemplateController({ client, manager, now, systemNamespace }),
  ({ client, manager, now, systemNamespace }: ControllerDeps): void =>
    registerOptimizationPolicyController({ client, manager, now, systemNamespace }),
];
