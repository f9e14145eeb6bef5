// Decision entries of policy-driven changes, end to end: spotFallback turned on through the facade widens a SPOT
// template's NodePool to Spot + On-Demand (one SWITCH naming the policy), and once Spot has been healthy past the
// settle time the pool is narrowed back (one RETURN_TO_SPOT). The OptimizationPolicy controller runs beside the
// NodeTemplate controller and writes no entry of its own: each change is one entry in GET /activity/live and
// GET /client/costs/export, and a restarted operator adds none.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerNodeTemplateController } from "../../operator/controllers/nodetemplate/controller.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { registerOptimizationPolicyController } from "../../operator/controllers/optimizationpolicy/controller.js";
import type { KubeObject } from "../../src-shared/kube/index.js";
import { loadSnapshotPriceBook } from "../../src-shared/pricing/snapshot/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { eventually } from "../support/cluster.js";
import { startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";
import { designateLocalCluster } from "../support/local-cluster.js";

const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
const AE = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "AuditEntry" } as const;
const NODE_CLAIM = { apiVersion: "karpenter.sh/v1", kind: "NodeClaim" } as const;
const SYSTEM_ACTORS = ["system:nodetemplate", "system:optimizationpolicy"];

let f: TestFacade;
let owner: SignedUp;
let manager: ControllerManager | undefined;
let poolName = "";
const book = loadSnapshotPriceBook("us-east-1");

async function startOperator(): Promise<void> {
  manager = new ControllerManager({ client: f.client });
  await registerNodeTemplateController({
    manager,
    client: f.client,
    spotReturn: { settleMs: 2_000, recheckMs: 500 },
  });
  await registerOptimizationPolicyController({ manager, client: f.client });
  manager.start();
  await manager.waitForCacheSync();
}

async function capacityTypes(): Promise<string | undefined> {
  const pool = await f.client.getIfExists<any>({ ...NP, name: poolName });
  return pool?.spec.template.spec.requirements.find((r: any) => r.key === "karpenter.sh/capacity-type")?.values.join();
}

/** Entries written by controllers (not by the facade on a user's behalf), in chain order. */
async function controllerEntries(): Promise<Array<{ actor: string; after: Record<string, any> }>> {
  const list = await f.client.list<KubeObject & { spec: { actor: string; after: Record<string, any> } }>({
    ...AE,
    namespace: owner.namespace,
  });
  return list.items
    .filter((e) => e.spec.actor.startsWith("system:"))
    .sort((a, b) => (a.spec as any).sequence - (b.spec as any).sequence)
    .map((e) => ({ actor: e.spec.actor, after: e.spec.after }));
}

async function feed(): Promise<Array<Record<string, any>>> {
  const res = await f.call("GET", "/activity/live?limit=500", { token: owner.accessToken });
  expect(res.status).toBe(200);
  return (res.body.events as Array<Record<string, any>>).filter((e) => SYSTEM_ACTORS.includes(e.actor));
}

async function csvRows(): Promise<string[]> {
  const res = await f.call("GET", "/client/costs/export", { token: owner.accessToken });
  expect(res.status).toBe(200);
  return res.text.trim().split("\r\n");
}

/** The cheapest of the pool's types at the given capacity, from the book (as the decision must price it). */
function cheapest(types: readonly string[], spot: boolean): number {
  const prices = types.flatMap((t) =>
    spot ? [...(book.spot.get(t)?.values() ?? [])].map((p) => p.usdPerHour) : [book.onDemand.get(t)!.usdPerHour],
  );
  return Math.min(...prices);
}

beforeAll(async () => {
  f = await startTestFacade({}, { crds: "all" });
  owner = await f.signup("Policy Decision Corp");
  await designateLocalCluster(f.client, { namespace: owner.namespace, name: "home", spec: { region: "us-east-1" } });
  await startOperator();
  poolName = karpenterName(owner.namespace, "spot");
  const res = await f.call("POST", "/templates", {
    token: owner.accessToken,
    body: { name: "spot", families: ["m5", "c5"], strategy: "SPOT", cluster_id: "home" },
  });
  expect(res.status).toBe(201);
  await eventually(async () => (await capacityTypes()) === "spot", 15_000, "the Spot pool");
  await manager!.idle();
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  await f?.stop();
});

describe("policy-driven decision entries", () => {
  it("spotFallback turned on through the facade records one SWITCH naming the policy", async () => {
    expect(await controllerEntries()).toEqual([]);
    const res = await f.call("PATCH", "/policies/fallback", {
      token: owner.accessToken,
      body: { enabled: true, cluster_id: "home" },
    });
    expect(res.status).toBe(200);
    await eventually(async () => (await capacityTypes()) === "spot,on-demand", 15_000, "pool widened");
    const [d, ...more] = await eventually(async () =>
      (await controllerEntries()).length > 0 ? controllerEntries() : undefined,
    );
    await manager!.idle();
    expect(more).toEqual([]);
    expect(d!.actor).toBe("system:nodetemplate");
    expect(d!.after).toMatchObject({ decision: "SWITCH", instanceId: `nodepool/${poolName}` });
    expect(d!.after.reason).toMatch(
      new RegExp(
        `^Capacity types spot → on-demand,spot \\(NodeTemplate ${owner.namespace}/spot, OptimizationPolicy ${owner.namespace}/`,
      ),
    );
    // Karpenter still prefers Spot in a pool that allows both: both sides are the cheapest Spot type.
    const pool = await f.client.get<any>({ ...NP, name: poolName });
    const types = pool.spec.template.spec.requirements.find((r: any) => r.key === "node.kubernetes.io/instance-type")
      .values as string[];
    expect(d!.after.newPriceUsdPerHour).toBe(cheapest(types, true));
  }, 30_000);

  it("Spot healthy past the settle time narrows the pool back: one RETURN_TO_SPOT, in the feed and the CSV", async () => {
    await f.client.create({
      ...NODE_CLAIM,
      metadata: {
        name: "od-1",
        labels: { "karpenter.sh/nodepool": poolName, "karpenter.sh/capacity-type": "on-demand" },
      },
      spec: {
        nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: poolName },
        requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["spot", "on-demand"] }],
      },
    });
    await eventually(async () => (await capacityTypes()) === "spot", 20_000, "pool narrowed back to Spot");
    const all = await eventually(async () =>
      (await controllerEntries()).length === 2 ? controllerEntries() : undefined,
    );
    await manager!.idle();
    expect(await controllerEntries()).toHaveLength(2);
    const back = all[1]!.after;
    expect(back).toMatchObject({ decision: "RETURN_TO_SPOT", instanceId: `nodepool/${poolName}` });
    expect(back.reason).toMatch(/narrowed to Spot \(spotFallback of OptimizationPolicy /);
    expect(back.newPrice.source).toBeTruthy();
    expect(back.newPrice.asOf).toBeTruthy();

    const events = await feed();
    expect(events.map((e) => e.action)).toEqual([
      `nodepool.capacity-type (cluster/home/nodepool/${poolName})`,
      `nodepool.capacity-type (cluster/home/nodepool/${poolName})`,
    ]);
    const rows = await csvRows();
    const [returned, switched] = [",RETURN_TO_SPOT,", ",SWITCH,"].map((kind) => rows.filter((r) => r.includes(kind)));
    expect(returned).toHaveLength(1);
    expect(switched).toHaveLength(1);
    // The pool had no node when it was widened (nothing to project) and one, od-1, when it was narrowed back.
    expect(switched[0]!.split(",")[7]).toBe("$0.00");
    expect(all[0]!.after.periodSavingsBaseline).toMatch(/^0 node\(s\) of the pool/);
    const hourly = Math.round((back.oldPriceUsdPerHour - back.newPriceUsdPerHour) * 10_000) / 10_000;
    const monthly = Math.round(hourly * 730 * 100) / 100;
    expect(returned[0]!.split(",")[7]).toBe(`${monthly < 0 ? "-" : ""}$${Math.abs(monthly).toFixed(2)}`);
    expect(back.periodSavingsBaseline).toMatch(/^1 node\(s\) of the pool/);
  }, 40_000);

  it("a restarted operator adds no entry", async () => {
    await manager!.stop();
    await startOperator();
    await manager!.idle();
    expect(await capacityTypes()).toBe("spot");
    expect(await controllerEntries()).toHaveLength(2);
    expect(await feed()).toHaveLength(2);
  }, 30_000);
});
