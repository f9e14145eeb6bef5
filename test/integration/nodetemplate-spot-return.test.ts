// The timed return to Spot, on NodePool state: a SPOT template under a policy with spotFallback allows Spot and
// On-Demand; an On-Demand NodeClaim (Karpenter met a Spot shortage) keeps it widened until the claim has settled, then
// the timed re-check narrows the pool back to Spot; once no On-Demand claim is left it widens again. The controller's
// settle and re-check intervals are shortened to seconds; nothing pokes the controller between the steps.
import { expect, it } from "vitest";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { eventually } from "../support/cluster.js";
import {
  capacityTypes,
  createSpotFallbackTemplate,
  NODE_CLAIM,
  NODE_TEMPLATE as NT,
  OPTIMIZATION_POLICY as OP,
  onDemandClaim,
  useTemplateCluster,
} from "../support/template-cluster.js";

const NS = "org-f";
const SETTLE_MS = 2_000;
const POOL = karpenterName(NS, "spot");

const env = useTemplateCluster({
  namespace: NS,
  nodeTemplate: { spotReturn: { settleMs: SETTLE_MS, recheckMs: 500 } },
});

async function fallbackCondition(): Promise<any> {
  const t = (await env.client.get<any>({ ...NT, namespace: NS, name: "spot" })) as any;
  return (t.status?.conditions ?? []).find((c: any) => c.type === "SpotFallback");
}

it("widens a SPOT pool to Spot + On-Demand under spotFallback, narrows it back once Spot has settled, widens again", async () => {
  await createSpotFallbackTemplate(env.client, NS);
  await eventually(async () => (await fallbackCondition())?.reason === "FallbackAllowed", 15_000, "SpotFallback=True");

  // Spot was short: Karpenter launched On-Demand capacity in the pool. Until the claim has settled, the pool stays wide.
  await env.client.create(onDemandClaim("od-1", POOL));
  const createdMs = Date.parse(
    ((await env.client.get<any>({ ...NODE_CLAIM, name: "od-1" })) as any).metadata.creationTimestamp,
  );
  await env.manager.idle();
  const seen: string[][] = [];
  const narrowed = await eventually(
    async () => {
      const types = (await capacityTypes(env.client, POOL)) ?? [];
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
  await env.client.delete({ ...NODE_CLAIM, name: "od-1" });
  await eventually(
    async () => (await capacityTypes(env.client, POOL))?.join() === "spot,on-demand",
    15_000,
    "pool widened again",
  );
  await eventually(async () => (await fallbackCondition())?.reason === "FallbackAllowed", 15_000, "SpotFallback=True");
}, 60_000);

it("keeps the pool Spot only when the policy has no spotFallback", async () => {
  await env.client.patch(
    { ...OP, namespace: NS, name: "policy" },
    { spec: { spotFallback: { enabled: false } } },
    {
      type: "merge",
    },
  );
  await eventually(async () => (await capacityTypes(env.client, POOL))?.join() === "spot", 15_000, "pool Spot only");
  await eventually(async () => (await fallbackCondition()) === undefined, 15_000, "no SpotFallback condition");
  await env.client.create(onDemandClaim("od-2", POOL));
  await env.manager.idle();
  expect(await capacityTypes(env.client, POOL)).toEqual(["spot"]);
}, 30_000);
