// The return to Spot with the controller's default intervals, on an injected clock: a pool that launched On-Demand
// stays Spot + On-Demand until its newest On-Demand NodeClaim is 30 minutes old (SPOT_SETTLE_MS) and is narrowed to
// Spot after; each step is a real reconcile on the local API server, started by a change to the claim.
import { expect, it } from "vitest";
import { SPOT_SETTLE_MS } from "../../operator/controllers/nodetemplate/desired.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { eventually } from "../support/cluster.js";
import {
  capacityTypes,
  createSpotFallbackTemplate,
  NODE_CLAIM,
  onDemandClaim,
  useTemplateCluster,
} from "../support/template-cluster.js";

const NS = "org-clock";
const POOL = karpenterName(NS, "spot");

/** How far the controller's clock runs ahead of the real one. */
let aheadMs = 0;
const env = useTemplateCluster({
  namespace: NS,
  nodeTemplate: { now: () => new Date(Date.now() + aheadMs) },
});

/** A change to the claim the controller watches: one reconcile of the pool's template at the clock's time. */
async function touchClaim(value: string): Promise<void> {
  await env.client.patch(
    { ...NODE_CLAIM, name: "od-1" },
    { metadata: { labels: { touched: value } } },
    { type: "merge" },
  );
  const claims = env.manager.informer(NODE_CLAIM);
  await eventually(() => claims.get(undefined, "od-1")?.metadata?.labels?.touched === value, 10_000, "claim seen");
  await env.manager.idle();
}

it("keeps the pool wide until the On-Demand claim is 30 minutes old, then narrows it to Spot", async () => {
  await createSpotFallbackTemplate(env.client, NS);
  await env.client.create(onDemandClaim("od-1", POOL));
  await env.manager.idle();
  const createdMs = Date.parse(
    ((await env.client.get<any>({ ...NODE_CLAIM, name: "od-1" })) as any).metadata.creationTimestamp,
  );

  // A minute short of the settle time (creationTimestamp has whole seconds): still Spot + On-Demand.
  aheadMs = createdMs + SPOT_SETTLE_MS - 60_000 - Date.now();
  await touchClaim("early");
  expect((await capacityTypes(env.client, POOL))?.join()).toBe("spot,on-demand");

  // A minute past it: narrowed back to Spot.
  aheadMs = createdMs + SPOT_SETTLE_MS + 60_000 - Date.now();
  await touchClaim("late");
  await eventually(
    async () => (await capacityTypes(env.client, POOL))?.join() === "spot",
    15_000,
    "pool narrowed back to Spot",
  );
}, 60_000);
