// Test support: a local API server with the NodeTemplate controller (and, when asked, the OptimizationPolicy and
// hibernation controllers) running over one organisation's designated local cluster, as the NodeTemplate integration
// tests need.
import { afterAll, beforeAll } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import {
  registerNodeTemplateController,
  type NodeTemplateControllerOptions,
} from "../../operator/controllers/nodetemplate/controller.js";
import { registerOptimizationPolicyController } from "../../operator/controllers/optimizationpolicy/controller.js";
import { registerHibernationController } from "../../operator/controllers/hibernation/controller.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { eventually, startTestCluster } from "./cluster.js";
import { designateLocalCluster } from "./local-cluster.js";

export const NODE_TEMPLATE = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" } as const;
export const OPTIMIZATION_POLICY = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "OptimizationPolicy" } as const;
export const NODE_POOL = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
export const NODE_CLAIM = { apiVersion: "karpenter.sh/v1", kind: "NodeClaim" } as const;

export interface TemplateCluster {
  server: LocalApiServer;
  client: KubeClient;
  manager: ControllerManager;
  /** Stops the controllers, then the API server. */
  stop(): Promise<void>;
}

/**
 * Starts the API server with every CRD, makes `namespace/local` (us-east-1) the local cluster, and runs the
 * controllers until their caches are in sync. `nodeTemplate` passes the controller's options (clock, spot return).
 */
export async function startTemplateCluster(input: {
  namespace: string;
  nodeTemplate?: Omit<NodeTemplateControllerOptions, "manager" | "client">;
  policies?: boolean;
  /** Also run the hibernation controller. */
  hibernation?: boolean;
  /** The controllers' own client (a test's wrapper that delays or fails some requests); default: `client`. */
  operatorClient?: (kubeConfig: LocalApiServer["kubeConfig"]) => KubeClient;
}): Promise<TemplateCluster> {
  const server = await startTestCluster({ crds: "all" });
  const client = new KubeClient(server.kubeConfig);
  const operator = input.operatorClient?.(server.kubeConfig) ?? client;
  await designateLocalCluster(client, { namespace: input.namespace, name: "local", spec: { region: "us-east-1" } });
  const manager = new ControllerManager({ client: operator });
  await registerNodeTemplateController({ manager, client: operator, ...input.nodeTemplate });
  if (input.policies) await registerOptimizationPolicyController({ manager, client: operator });
  if (input.hibernation) await registerHibernationController({ manager, client: operator });
  manager.start();
  await manager.waitForCacheSync();
  return {
    server,
    client,
    manager,
    stop: async () => {
      await manager.stop();
      if (operator !== client) operator.close();
      client.close();
      await server.stop();
    },
  };
}

/**
 * The cluster of a test file: started in its beforeAll, stopped in its afterAll. The fields are set once beforeAll has
 * run, so tests read them at run time (`env.client`), never when the file is loaded.
 */
export function useTemplateCluster(input: Parameters<typeof startTemplateCluster>[0]): TemplateCluster {
  const env = {} as TemplateCluster;
  beforeAll(async () => {
    Object.assign(env, await startTemplateCluster(input));
  }, 30_000);
  afterAll(async () => {
    await env.stop?.();
  });
  return env;
}

/** The values of a NodePool's karpenter.sh/capacity-type requirement; undefined while the pool does not exist. */
export async function capacityTypes(client: KubeClient, pool: string): Promise<string[] | undefined> {
  const found = (await client.getIfExists<any>({ ...NODE_POOL, name: pool })) as any;
  return found?.spec.template.spec.requirements.find((r: any) => r.key === "karpenter.sh/capacity-type")?.values;
}

/** A NodeClaim Karpenter launched On-Demand in `pool` (as after a Spot shortage). */
export function onDemandClaim(name: string, pool: string): KubeObject {
  return {
    ...NODE_CLAIM,
    metadata: { name, labels: { "karpenter.sh/nodepool": pool, "karpenter.sh/capacity-type": "on-demand" } },
    spec: {
      nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: pool },
      requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["spot", "on-demand"] }],
    },
  };
}

/**
 * A SPOT template `spot` (m5, c5) on the local cluster under a policy `policy` with spotFallback: resolves once the
 * template's NodePool allows Spot and On-Demand, the state where a return to Spot can start.
 */
export async function createSpotFallbackTemplate(client: KubeClient, namespace: string): Promise<void> {
  await client.create({
    ...OPTIMIZATION_POLICY,
    metadata: { name: "policy", namespace },
    spec: { clusterRef: { name: "local" }, spotFallback: { enabled: true } },
  });
  await client.create({
    ...NODE_TEMPLATE,
    metadata: { name: "spot", namespace },
    spec: { clusterRef: { name: "local" }, families: ["m5", "c5"], strategy: "SPOT" },
  });
  const pool = karpenterName(namespace, "spot");
  await eventually(
    async () => (await capacityTypes(client, pool))?.join() === "spot,on-demand",
    15_000,
    "pool widened",
  );
}
