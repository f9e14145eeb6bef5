// The timed return to Spot, on NodePool state: a SPOT template under a policy with spotFallback allows Spot and
// On-Demand; an On-Demand NodeClaim (Karpenter met a Spot shortage) keeps it widened until the claim has settled, then
// the timed re-check narrows the pool back to Spot; once no On-Demand claim is left it widens again. The controller's
// settle and re-check intervals are shortened to seconds; nothing pokes the controller between the steps.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { registerNodeTemplateController } from "../../operator/controllers/nodetemplate/controller.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { eventually, startTestCluster } from "../support/cluster.js";
import { designateLocalCluster } from "../support/local-cluster.js";

const NS = "org-f";
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" } as const;
const OP = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "OptimizationPolicy" } as const;
const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
const NODE_CLAIM = { apiVersion: "karpenter.sh/v1", kind: "NodeClaim" } as const;
const SETTLE_MS = 2_000;
const POOL = karpenterName(NS, "spot");

let server: LocalApiServer;
let client: KubeClient;
let manager: ControllerManager;

beforeAll(async () => {
  server = await startTestCluster({ crds: "all" });
  client = new KubeClient(server.kubeConfig);
  await designateLocalCluster(client, { namespace: NS, name: "local", spec: { region: "us-east-1" } });
  manager = new ControllerManager({ client });
  await registerNodeTemplateController({ manager, client, spotReturn: { settleMs: SETTLE_MS, recheckMs: 500 } });
  manager.start();
  await manager.waitForCacheSync();
}, 30_000);

afterAll(async () => {
  await manager?.stop();
  client?.close();
  await server?.stop();
});

async function capacityTypes(): Promise<string[] | undefined> {
  const pool = (await client.getIfExists<any>({ ...NP, name: POOL })) as any;
  return pool?.spec.template.spec.requirements.find((r: any) => r.key === "karpenter.sh/capacity-type")?.values;
}

async function fallbackCondition(): Promise<any> {
  const t = (await client.get<any>({ ...NT, namespace: NS, name: "spot" })) as any;
  return (t.status?.conditions ?? []).find((c: any) => c.type === "SpotFallback");
}

function onDemandClaim(name: string): KubeObject {
  return {
    ...NODE_CLAIM,
    metadata: { name, labels: { "karpenter.sh/nodepool": POOL, "karpenter.sh/capacity-type": "on-demand" } },
    spec: {
      nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: POOL },
      requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["spot", "on-demand"] }],
    },
  };
}

it("widens a SPOT pool to Spot + On-Demand under spotFallback, narrows it back once Spot has settled, widens again", async () => {
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
  await eventually(async () => (await capacityTypes())?.join() === "spot,on-demand", 15_000, "pool widened");
  await eventually(async () => (await fallbackCondition())?.reason === "FallbackAllowed", 15_000, "SpotFallback=True");

  // Spot was short: Karpenter launched On-Demand capacity in the pool. Until the claim has settled, the pool stays wide.
  await client.create(onDemandClaim("od-1"));
  const createdMs = Date.parse(
    ((await client.get<any>({ ...NODE_CLAIM, name: "od-1" })) as any).metadata.creationTimestamp,
  );
  await manager.idle();
  const seen: string[][] = [];
  const narrowed = await eventually(
    async () => {
      const types = (await capacityTypes()) ?? [];
      seen.push(types);
      return types.join() === "spot" ? Date.now() : undefined;
    },
    20_000,
    "pool narrowed back to Spot",
  );
  // Narrowed by the timed re-check, not before the claim had settled (creationTimestamp has whole seconds).
  expect(narrowed).toBeGreaterThanOrEqual(createdMs + SETTLE_MS);
  expect(seen[0]).toEqual(["spot", "on-demand"]);
  await eventually(async () => (await fallbackCondition())?.status === "False", 15_000, "SpotFallback=False");
  expect(await fallbackCondition()).toMatchObject({ reason: "ReturningToSpot" });

  // Karpenter replaced the On-Demand node with Spot: with no On-Demand claim left, the next shortage may fall back.
  await client.delete({ ...NODE_CLAIM, name: "od-1" });
  await eventually(async () => (await capacityTypes())?.join() === "spot,on-demand", 15_000, "pool widened again");
  await eventually(async () => (await fallbackCondition())?.reason === "FallbackAllowed", 15_000, "SpotFallback=True");
}, 60_000);

it("keeps the pool Spot only when the policy has no spotFallback", async () => {
  await client.patch(
    { ...OP, namespace: NS, name: "policy" },
    { spec: { spotFallback: { enabled: false } } },
    {
      type: "merge",
    },
  );
  await eventually(async () => (await capacityTypes())?.join() === "spot", 15_000, "pool Spot only");
  await eventually(async () => (await fallbackCondition()) === undefined, 15_000, "no SpotFallback condition");
  await client.create(onDemandClaim("od-2"));
  await manager.idle();
  expect(await capacityTypes()).toEqual(["spot"]);
}, 30_000);
