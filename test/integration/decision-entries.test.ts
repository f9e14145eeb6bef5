// Decision entries end to end: a NodeTemplate made through the facade, then changed, makes the NodeTemplate
// controller change its NodePool's instance or capacity types; each change is one decision entry in the
// organisation's audit chain (old and new cheapest type, each price with source and date, the reason), which
// GET /activity/live and GET /client/costs/export show; a pass or a restarted controller that changes nothing adds none.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerNodeTemplateController } from "../../operator/controllers/nodetemplate/controller.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { recordDecision } from "../../src-shared/audit/decisions.js";
import { ACTIVITY_SAVINGS_BASELINE } from "../../operator/facade/services/decisions.js";
import { createAuditChainStore } from "../../src-shared/audit/writer.js";
import type { KubeObject } from "../../src-shared/kube/index.js";
import { loadSnapshotPriceBook } from "../../src-shared/pricing/snapshot/index.js";
import type { Price } from "../../src-shared/pricing/types.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { eventually } from "../support/cluster.js";
import { startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";
import { designateLocalCluster } from "../support/local-cluster.js";

const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" } as const;
const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
const AE = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "AuditEntry" } as const;
const ACTOR = "system:nodetemplate";

let f: TestFacade;
let owner: SignedUp;
let manager: ControllerManager | undefined;
const book = loadSnapshotPriceBook("us-east-1");

async function startOperator(): Promise<void> {
  manager = new ControllerManager({ client: f.client });
  await registerNodeTemplateController({ manager, client: f.client });
  manager.start();
  await manager.waitForCacheSync();
}

type Requirement = { key: string; values: string[] };
type Pool = KubeObject & { spec: { template: { spec: { requirements: Requirement[] } } } };
const values = (pool: Pool, key: string): string[] =>
  pool.spec.template.spec.requirements.find((r) => r.key === key)?.values ?? [];

async function pool(): Promise<Pool> {
  return f.client.get<Pool>({ ...NP, name: karpenterName(owner.namespace, "general") });
}

/** The template's NodePool once Applied=True for the template's current generation. */
async function appliedPool(): Promise<Pool> {
  await eventually(
    async () => {
      const t = await f.client.get<any>({ ...NT, namespace: owner.namespace, name: "general" });
      const c = (t.status?.conditions ?? []).find((x: any) => x.type === "Applied");
      return c?.status === "True" && c.observedGeneration === t.metadata.generation;
    },
    15_000,
    "the template Applied=True",
  );
  return pool();
}

/** The cheapest type of a pool at the capacity it prefers, priced from the book (as the decision must be). */
function cheapest(p: Pool): { type: string; price: Price } {
  const spot = values(p, "karpenter.sh/capacity-type").includes("spot");
  const priced = values(p, "node.kubernetes.io/instance-type").flatMap((type) => {
    const prices = spot ? [...(book.spot.get(type)?.values() ?? [])] : [book.onDemand.get(type)!];
    return prices.map((price) => ({ type, price }));
  });
  return priced.sort((a, b) => a.price.usdPerHour - b.price.usdPerHour)[0]!;
}

/** A NodeClaim (a node) Karpenter launched in `pool`. */
function claim(name: string, pool: string): KubeObject {
  return {
    apiVersion: "karpenter.sh/v1",
    kind: "NodeClaim",
    metadata: { name, labels: { "karpenter.sh/nodepool": pool, "karpenter.sh/capacity-type": "spot" } },
    spec: {
      nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: pool },
      requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["spot"] }],
    },
  };
}

async function decisions(): Promise<Array<Record<string, any>>> {
  const list = await f.client.list<KubeObject & { spec: { actor: string; after: Record<string, any> } }>({
    ...AE,
    namespace: owner.namespace,
  });
  return list.items.filter((e) => e.spec.actor === ACTOR).map((e) => e.spec.after);
}

async function feed(): Promise<Array<Record<string, any>>> {
  const res = await f.call("GET", "/activity/live?limit=500", { token: owner.accessToken });
  expect(res.status).toBe(200);
  return (res.body.events as Array<Record<string, any>>).filter((e) => e.actor === ACTOR);
}

const patchTemplate = (spec: Record<string, unknown>): Promise<unknown> =>
  f.client.patch({ ...NT, namespace: owner.namespace, name: "general" }, { spec }, { type: "merge" });

beforeAll(async () => {
  f = await startTestFacade({}, { crds: "all" });
  owner = await f.signup("Decision Corp");
  await designateLocalCluster(f.client, { namespace: owner.namespace, name: "home", spec: { region: "us-east-1" } });
  await startOperator();
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  await f?.stop();
});

describe("decision entries", () => {
  it("a template made through the facade records no decision: nothing was replaced", async () => {
    const res = await f.call("POST", "/templates", {
      token: owner.accessToken,
      body: { name: "general", families: ["m5"], strategy: "SPOT", cluster_id: "home" },
    });
    expect(res.status).toBe(201);
    await appliedPool();
    await manager!.idle();
    expect(await decisions()).toEqual([]);
    expect(await feed()).toEqual([]);
  }, 30_000);

  it("changing the template's families records one RESHAPE with both prices, shown in the feed and the CSV", async () => {
    const before = cheapest(await pool());
    // Three nodes run in the pool: the CSV projects the change for each of them (counted from the controller's cache,
    // so the change waits until that cache holds them).
    for (const n of [1, 2, 3]) await f.client.create(claim(`general-${n}`, karpenterName(owner.namespace, "general")));
    const claims = manager!.informer({ apiVersion: "karpenter.sh/v1", kind: "NodeClaim" });
    await eventually(() => claims.list().length === 3, 10_000, "the controller's cache holds the three NodeClaims");
    await patchTemplate({ families: ["c5"] });
    const after = cheapest(
      await eventually(async () => {
        const p = await appliedPool();
        return values(p, "karpenter.k8s.aws/instance-family").join() === "c5" ? p : undefined;
      }, 15_000),
    );
    const [d, ...more] = await eventually(async () => ((await decisions()).length > 0 ? decisions() : undefined));
    expect(more).toEqual([]);
    const poolName = karpenterName(owner.namespace, "general");
    expect(d).toMatchObject({
      decision: "RESHAPE",
      instanceId: `nodepool/${poolName}`,
      oldInstanceType: before.type,
      instanceType: after.type,
      oldPriceUsdPerHour: before.price.usdPerHour,
      newPriceUsdPerHour: after.price.usdPerHour,
      oldPrice: { source: before.price.source, asOf: before.price.asOf },
      newPrice: { source: after.price.source, asOf: after.price.asOf },
    });
    expect(d.reason).toMatch(/^Instance types \d+ → \d+ .* NodeTemplate .*\/general/);

    const events = await feed();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: `nodepool.reshape (cluster/home/nodepool/${poolName})`,
      savings: Math.round((before.price.usdPerHour - after.price.usdPerHour) * 10_000) / 10_000,
      savings_baseline: ACTIVITY_SAVINGS_BASELINE,
      price_source: [...new Set([before.price.source, after.price.source])].sort().join(","),
      prices_as_of: d.pricesAsOf,
    });
    expect(events[0]!.prices_as_of).toEqual(expect.any(String));

    const csv = await f.call("GET", "/client/costs/export", { token: owner.accessToken });
    expect(csv.status).toBe(200);
    const rows = csv.text.trim().split("\r\n");
    const row = rows.find((r) => r.includes(`nodepool/${poolName}`))!;
    expect(row.split(",").slice(1, 6)).toEqual([
      `nodepool/${poolName}`,
      after.type,
      d.zone,
      `$${before.price.usdPerHour.toFixed(4)}`,
      `$${after.price.usdPerHour.toFixed(4)}`,
    ]);
    expect(row).toContain(",RESHAPE,");
    const hourly = Math.round((before.price.usdPerHour - after.price.usdPerHour) * 10_000) / 10_000;
    const monthly = Math.round(hourly * 3 * 730 * 100) / 100;
    const cell = `${monthly < 0 ? "-" : ""}$${Math.abs(monthly).toFixed(2)}`;
    expect(row.split(",")[7]).toBe(cell);
    expect(d.periodSavingsBaseline).toMatch(/^3 node\(s\) of the pool at the change/);
    expect(row).toContain("; projected: 3 node(s) of the pool at the change");
    expect(rows.at(-1)!.startsWith(`TOTAL,,,,,,,${cell},,"sum of Monthly Projected`)).toBe(true);
    // the decision's prices carry their source and date into the export
    expect(row.endsWith(`,${d.priceSource},${d.pricesAsOf}`)).toBe(true);
  }, 30_000);

  it("switching the strategy to On-Demand records a SWITCH priced On-Demand", async () => {
    const before = cheapest(await pool());
    await patchTemplate({ strategy: "ON_DEMAND" });
    const after = cheapest(
      await eventually(async () => {
        const p = await appliedPool();
        return values(p, "karpenter.sh/capacity-type").join() === "on-demand" ? p : undefined;
      }, 15_000),
    );
    const all = await eventually(async () => ((await decisions()).length === 2 ? decisions() : undefined));
    const d = all.find((x) => x.decision === "SWITCH")!;
    expect(d).toMatchObject({
      oldPriceUsdPerHour: before.price.usdPerHour,
      newPriceUsdPerHour: after.price.usdPerHour,
      newPrice: { source: after.price.source, asOf: after.price.asOf },
    });
    expect(after.price).toEqual(book.onDemand.get(after.type));
    expect(d.reason).toMatch(/^Capacity types spot → on-demand/);
  }, 30_000);

  it("a pass that changes nothing, and a restarted controller, add no entry", async () => {
    await manager!.idle();
    const count = (await decisions()).length;
    // A price-book-like resync: every template reconciled again.
    await manager!.stop();
    await startOperator();
    await manager!.idle();
    await appliedPool();
    expect((await decisions()).length).toBe(count);
    expect(await feed()).toHaveLength(count);
  }, 30_000);

  it("the same change recorded twice (a retry after a lost answer) is one entry", async () => {
    const audit = createAuditChainStore({ client: f.client });
    const change = {
      namespace: owner.namespace,
      actor: ACTOR,
      event: "nodepool.reshape",
      resource: "cluster/home/nodepool/x",
      decision: "RESHAPE",
      instanceId: "nodepool/x",
      reason: "test",
      old: { instanceType: "m5.large", usdPerHour: 0.05, source: "snapshot", asOf: "2026-01-01" },
      new: { instanceType: "c5.large", usdPerHour: null },
      change: { pool: "x", from: "1", to: ["c5.large"] },
    };
    const before = (await decisions()).length;
    expect(await recordDecision(audit, change)).toBe(true);
    expect(await recordDecision(audit, change)).toBe(false);
    const all = await decisions();
    expect(all.length).toBe(before + 1);
    // An unknown price is absent with a reason, never 0: the CSV leaves such an entry out, the feed shows it.
    expect(all.find((d) => d.instanceId === "nodepool/x")).toMatchObject({
      newPrice: { unpriced: "no price for c5.large" },
    });
    expect(all.find((d) => d.instanceId === "nodepool/x")).not.toHaveProperty("newPriceUsdPerHour");
  }, 30_000);
});
