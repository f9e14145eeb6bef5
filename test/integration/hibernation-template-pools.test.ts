// Hibernation of a NodeTemplate's NodePool with the NodeTemplate, policy and hibernation controllers running together:
// a policy edit during the night neither wakes the pool nor leaves it without capacity after the wake.
import { describe, expect, it } from "vitest";
import { SAVED_ANNOTATION } from "../../operator/controllers/hibernation/desired.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { eventually } from "../support/cluster.js";
import { sleepingSpec } from "../support/hibernation-fixtures.js";
import {
  NODE_CLAIM,
  NODE_POOL,
  NODE_TEMPLATE,
  OPTIMIZATION_POLICY,
  useTemplateCluster,
} from "../support/template-cluster.js";

const NS = "acme";
const SCHEDULE = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule", namespace: NS } as const;

const env = useTemplateCluster({ namespace: NS, policies: true, hibernation: true });

interface PoolView {
  limits: unknown;
  saved: Record<string, unknown> | undefined;
  consolidateAfter: unknown;
}

async function pool(name: string): Promise<PoolView | undefined> {
  const found = (await env.client.getIfExists({ ...NODE_POOL, name })) as any;
  if (!found) return undefined;
  const raw = found.metadata.annotations?.[SAVED_ANNOTATION];
  return {
    limits: found.spec.limits,
    saved: raw === undefined ? undefined : JSON.parse(raw),
    consolidateAfter: found.spec.disruption?.consolidateAfter,
  };
}

async function state(name: string): Promise<unknown> {
  return ((await env.client.get({ ...SCHEDULE, name })).status as any)?.state;
}

/** A template and its policy on the local cluster; resolves once the template's NodePool is there. */
async function templateWithPolicy(
  name: string,
  karpenterEnabled: boolean,
  extra: Record<string, unknown> = {},
): Promise<string> {
  await env.client.create({
    ...OPTIMIZATION_POLICY,
    metadata: { name: `${name}-policy`, namespace: NS },
    spec: { clusterRef: { name: "local" }, karpenter: { enabled: karpenterEnabled }, binpack: { aggressiveness: 10 } },
  });
  await env.client.create({
    ...NODE_TEMPLATE,
    metadata: { name, namespace: NS },
    spec: { clusterRef: { name: "local" }, families: ["m5"], strategy: "ON_DEMAND", ...extra },
  });
  const poolName = karpenterName(NS, name);
  await eventually(async () => (await pool(poolName)) !== undefined, 15_000, "template's NodePool written");
  return poolName;
}

const ZERO = { cpu: "0", memory: "0" };

/** Changes the policy and waits until the template's pool shows it (its consolidation changed), i.e. it reconciled. */
async function editPolicy(policy: string, poolName: string, karpenterEnabled: boolean): Promise<void> {
  const before = (await pool(poolName))?.consolidateAfter;
  await env.client.patch(
    { ...OPTIMIZATION_POLICY, namespace: NS, name: policy },
    { spec: { karpenter: { enabled: karpenterEnabled }, binpack: { aggressiveness: 90 } } },
    { type: "merge" },
  );
  await eventually(
    async () => (await pool(poolName))?.consolidateAfter !== before,
    15_000,
    "the NodeTemplate controller applied the edited policy",
  );
}

describe("hibernation of a NodeTemplate's NodePool", () => {
  it("a policy turned on while asleep keeps the pool asleep, and the wake gives it the policy's limits (none)", async () => {
    const poolName = await templateWithPolicy("night", false);
    await eventually(async () => JSON.stringify((await pool(poolName))?.limits) === JSON.stringify(ZERO), 15_000);
    await env.client.create({
      ...NODE_CLAIM,
      metadata: { name: "night-claim", labels: { "karpenter.sh/nodepool": poolName } },
      spec: { nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: poolName }, requirements: [] },
    });
    await env.client.create({ ...SCHEDULE, metadata: { name: "nightly", namespace: NS }, spec: sleepingSpec("local") });
    await eventually(async () => (await state("nightly")) === "asleep", 15_000, "asleep");
    expect((await pool(poolName))?.saved).toMatchObject({ by: `${NS}/nightly` });
    await eventually(
      async () => !(await env.client.getIfExists({ ...NODE_CLAIM, name: "night-claim" })),
      15_000,
      "the pool's NodeClaim deleted",
    );

    await env.client.patch({ ...SCHEDULE, name: "nightly" }, { spec: { enforce: true } }, { type: "merge" });
    await editPolicy("night-policy", poolName, true);
    expect((await pool(poolName))?.limits).toEqual(ZERO);

    await env.client.patch({ ...SCHEDULE, name: "nightly" }, { spec: { override: null } }, { type: "merge" });
    await eventually(async () => (await state("nightly")) === "awake", 15_000, "awake");
    await eventually(
      async () => {
        const p = await pool(poolName);
        return p?.saved === undefined && p?.limits === undefined;
      },
      15_000,
      "the pool has no limits after the wake (the policy is on)",
    );
    // One policy and one schedule per cluster are in force: the next test brings its own.
    await env.client.delete({ ...SCHEDULE, name: "nightly" });
    await env.client.delete({ ...OPTIMIZATION_POLICY, namespace: NS, name: "night-policy" });
    await eventually(async () => !(await env.client.getIfExists({ ...SCHEDULE, name: "nightly" })), 15_000);
  });

  it("a policy turned off while asleep keeps the pool at zero after the wake, and turned on again frees it", async () => {
    const poolName = await templateWithPolicy("day", true);
    expect((await pool(poolName))?.limits).toBeUndefined();
    await env.client.create({ ...SCHEDULE, metadata: { name: "daily", namespace: NS }, spec: sleepingSpec("local") });
    await eventually(async () => (await state("daily")) === "asleep", 15_000, "asleep");
    // Recorded asleep only once the NodeTemplate controller holds the pool at zero.
    expect((await pool(poolName))?.limits).toEqual(ZERO);

    await editPolicy("day-policy", poolName, false);
    await env.client.patch({ ...SCHEDULE, name: "daily" }, { spec: { override: null } }, { type: "merge" });
    await eventually(async () => (await state("daily")) === "awake", 15_000, "awake");
    await eventually(async () => (await pool(poolName))?.saved === undefined, 15_000, "annotation gone");
    expect((await pool(poolName))?.limits).toEqual(ZERO);

    await env.client.patch(
      { ...OPTIMIZATION_POLICY, namespace: NS, name: "day-policy" },
      { spec: { karpenter: { enabled: true } } },
      { type: "merge" },
    );
    await eventually(async () => (await pool(poolName))?.limits === undefined, 15_000, "limits gone with the policy");
  });

  it("a template's own limits cap its pool, which sleep holds at zero and the wake gives back", async () => {
    // the schedule an earlier test left would stay the cluster's one in force: this test's own must be
    await env.client.delete({ ...SCHEDULE, name: "daily" });
    await eventually(async () => !(await env.client.getIfExists({ ...SCHEDULE, name: "daily" })), 15_000, "daily gone");
    const caps = { cpu: "200", memory: "800Gi" };
    const poolName = await templateWithPolicy("capped", true, { limits: caps });
    await eventually(async () => JSON.stringify((await pool(poolName))?.limits) === JSON.stringify(caps), 15_000);
    await env.client.create({
      ...SCHEDULE,
      metadata: { name: "capped-night", namespace: NS },
      spec: sleepingSpec("local"),
    });
    await eventually(async () => (await state("capped-night")) === "asleep", 15_000, "asleep");
    expect((await pool(poolName))?.limits).toEqual(ZERO);
    await env.client.patch({ ...SCHEDULE, name: "capped-night" }, { spec: { override: null } }, { type: "merge" });
    await eventually(async () => (await state("capped-night")) === "awake", 15_000, "awake");
    await eventually(
      async () => JSON.stringify((await pool(poolName))?.limits) === JSON.stringify(caps),
      15_000,
      "woken to the template's limits",
    );
    await env.client.delete({ ...SCHEDULE, name: "capped-night" });
  });
});
