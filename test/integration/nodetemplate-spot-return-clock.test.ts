// The return to Spot with the controller's default intervals, on an injected clock: a pool that launched On-Demand
// stays Spot + On-Demand until its newest On-Demand NodeClaim is 30 minutes old (SPOT_SETTLE_MS) and is narrowed to
// Spot after; each step is a real reconcile on the local API server, started by a change to the claim.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { registerNodeTemplateController } from "../../operator/controllers/nodetemplate/controller.js";
import { SPOT_SETTLE_MS } from "../../operator/controllers/nodetemplate/desired.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { KubeClient } from "../../src-shared/kube/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { eventually, startTestCluster } from "../support/cluster.js";
import { designateLocalCluster } from "../support/local-cluster.js";

const NS = "org-clock";
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" } as const;
const OP = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "OptimizationPolicy" } as const;
const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
const NODE_CLAIM = { apiVersion: "karpenter.sh/v1", kind: "NodeClaim" } as const;
const POOL = karpenterName(NS, "spot");

let server: LocalApiServer;
let client: KubeClient;
let manager: ControllerManager;
/** How far the controller's clock runs ahead of the real one. */
let aheadMs = 0;

beforeAll(async () => {
  server = await startTestCluster({ crds: "all" });
  client = new KubeClient(server.kubeConfig);
  await designateLocalCluster(client, { namespace: NS, name: "local", spec: { region: "us-east-1" } });
  manager = new ControllerManager({ client });
  await registerNodeTemplateController({ manager, client, now: () => new Date(Date.now() + aheadMs) });
  manager.start();
  await manager.waitForCacheSync();
}, 30_000);

afterAll(async () => {
  await manager?.stop();
  client?.close();
  await server?.stop();
});

async function capacityTypes(): Promise<string | undefined> {
  const pool = (await client.getIfExists<any>({ ...NP, name: POOL })) as any;
  return pool?.spec.template.spec.requirements.find((r: any) => r.key === "karpenter.sh/capacity-type")?.values.join();
}

/** A change to the claim the controller watches: one reconcile of the pool's template at the clock's time. */
async function touchClaim(value: string): Promise<void> {
  await client.patch({ ...NODE_CLAIM, name: "od-1" }, { metadata: { labels: { touched: value } } }, { type: "merge" });
  const claims = manager.informer(NODE_CLAIM);
  await eventually(() => claims.get(undefined, "od-1")?.metadata?.labels?.touched === value, 10_000, "claim seen");
  await manager.idle();
}

it("keeps the pool wide until the On-Demand claim is 30 minutes old, then narrows it to Spot", async () => {
  await client.create({
    ...OP,
    metadata: { name: "policy", namespace: NS },
    spec: { clusterRef: { name: "local" }, spotFallback: { enabled: true } },
  });
  await client.create({
    ...NT,
    metadata: { name: "spot", namespace: NS },
    spec: { clusterRef: { name: "local" }, families: ["m5", "c5"], strategy: "SPOT" },
  });
  await eventually(async () => (await capacityTypes()) === "spot,on-demand", 15_000, "pool widened");
  await client.create({
    ...NODE_CLAIM,
    metadata: { name: "od-1", labels: { "karpenter.sh/nodepool": POOL, "karpenter.sh/capacity-type": "on-demand" } },
    spec: {
      nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: POOL },
      requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["spot", "on-demand"] }],
    },
  });
  await manager.idle();
  const createdMs = Date.parse(
    ((await client.get<any>({ ...NODE_CLAIM, name: "od-1" })) as any).metadata.creationTimestamp,
  );

  // A minute short of the settle time (creationTimestamp has whole seconds): still Spot + On-Demand.
  aheadMs = createdMs + SPOT_SETTLE_MS - 60_000 - Date.now();
  await touchClaim("early");
  expect(await capacityTypes()).toBe("spot,on-demand");

  // A minute past it: narrowed back to Spot.
  aheadMs = createdMs + SPOT_SETTLE_MS + 60_000 - Date.now();
  await touchClaim("late");
  await eventually(async () => (await capacityTypes()) === "spot", 15_000, "pool narrowed back to Spot");
}, 60_000);
