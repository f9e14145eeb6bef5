// The remote executor's pure parts: a heartbeat snapshot as the planner's observation, and a patch's expectations.
import { describe, expect, it } from "vitest";
import type { ClusterSnapshot } from "../../../src-shared/agent/snapshot.js";
import { SAVED_ANNOTATION, planHibernation } from "./desired.js";
import {
  FINISHED_ACTION_TTL_MS,
  SCHEDULE_LABEL,
  expectationsOf,
  expiredActions,
  observationFromSnapshot,
  remoteExecutor,
} from "./executor.js";
import type { HibernationReader, HibernationWriter } from "./kube.js";
import type { KubeObject } from "../../../src-shared/kube/index.js";
import { labelValue } from "../../../src-shared/karpenter/labels.js";

const SNAPSHOT: ClusterSnapshot = {
  receivedAt: "2026-12-03T18:00:00.000Z",
  agentVersion: "0.1.0",
  k8sVersion: "v1.31.2",
  heartbeatIntervalSeconds: 15,
  nodes: [
    {
      name: "n1",
      instance_type: "m5.large",
      capacity_type: "spot",
      zone: "us-east-1a",
      allocatable: { cpu: "2" },
      cordoned: false,
      node_pool: "general",
    },
  ],
  pods: [],
  objects: [
    { kind: "Deployment", namespace: "shop", name: "web", resource_version: "7", replicas: 3 },
    { kind: "Deployment", namespace: "shop", name: "bare", resource_version: "8", replicas: null },
    { kind: "CronJob", namespace: "shop", name: "nightly", suspend: false },
    { kind: "StatefulSet", namespace: "shop", name: "gone", replicas: 1, deleting: true },
    { kind: "NodePool", name: "general", resource_version: "9", limits: { cpu: "100" } },
    { kind: "NodeClaim", name: "general-a", labels: { "karpenter.sh/nodepool": "general" } },
  ],
};

/** The plan that puts what was observed to sleep at once (no grace period, nothing excluded). */
function sleepNow(
  scheduleKey: string,
  o: Pick<Parameters<typeof planHibernation>[0], "workloads" | "nodePools" | "nodeClaims">,
): ReturnType<typeof planHibernation> {
  const at = Date.parse("2026-12-03T18:00:00Z");
  return planHibernation({
    desired: "asleep",
    scheduleKey,
    nowMs: at,
    asleepSinceMs: at,
    gracePeriodMs: 0,
    enforce: false,
    excludedNamespaces: [],
    workloads: o.workloads,
    nodePools: o.nodePools,
    nodeClaims: o.nodeClaims,
  });
}

describe("observationFromSnapshot", () => {
  it("turns reported objects into the planner's shapes (absent stays absent) and labels nodes with the region", () => {
    const o = observationFromSnapshot(SNAPSHOT, "us-east-1");
    expect(o.workloads.map((w) => [w.kind, w.metadata.name, w.spec])).toEqual([
      ["Deployment", "web", { replicas: 3 }],
      ["Deployment", "bare", {}],
      ["StatefulSet", "gone", { replicas: 1 }],
      ["CronJob", "nightly", { suspend: false }],
    ]);
    expect(o.workloads[2]!.metadata.deletionTimestamp).toBe(SNAPSHOT.receivedAt);
    expect(o.nodePools[0]).toEqual({
      metadata: { name: "general", resourceVersion: "9" },
      spec: { limits: { cpu: "100" } },
    });
    expect(o.nodeClaims[0]!.metadata.labels).toEqual({ "karpenter.sh/nodepool": "general" });
    expect(o.nodes[0]!.metadata.labels).toMatchObject({
      "node.kubernetes.io/instance-type": "m5.large",
      "karpenter.sh/capacity-type": "spot",
      "karpenter.sh/nodepool": "general",
      "topology.kubernetes.io/region": "us-east-1",
    });
  });

  it("plans the same patches from a report as from the objects themselves, with expectations on what it read", () => {
    const o = observationFromSnapshot(SNAPSHOT);
    const plan = sleepNow("acme/nightly", o);
    const web = plan.patches.find((p) => p.name === "web")!;
    expect(expectationsOf(web, o.workloads[0]!)).toEqual([
      { path: "/spec/replicas", value: 3 },
      { path: `/metadata/annotations/hibernation.spotoptimizer.io~1saved`, value: null },
    ]);
    const pool = plan.patches.find((p) => p.kind === "NodePool")!;
    expect(expectationsOf(pool, o.nodePools[0]!)[0]).toEqual({ path: "/spec/limits", value: { cpu: "100" } });
    const bare = plan.patches.find((p) => p.name === "bare")!;
    expect(JSON.parse((bare.patch.metadata as any).annotations[SAVED_ANNOTATION])).toEqual({
      by: "acme/nightly",
      replicas: null,
    });
    expect(expectationsOf(bare, o.workloads[1]!)[0]).toEqual({ path: "/spec/replicas", value: null });
    // The NodeClaim of the pool being limited to zero is planned for deletion.
    expect(plan.nodeClaimDeletes).toEqual(["general-a"]);
  });
});

describe("a schedule whose name is longer than a label value", () => {
  // Object names reach 253 characters, label values 63: the API server refuses an action labelled with the full name.
  const LONG = `n${"i".repeat(251)}t`;
  const NAMESAKE = labelValue(LONG);

  async function actionsMadeFor(name: string): Promise<KubeObject[]> {
    const created: KubeObject[] = [];
    const reader = {
      snapshot: () => Promise.resolve(SNAPSHOT),
      listAgentActions: () => Promise.resolve([]),
    } as unknown as HibernationReader;
    const writer = {
      createIfAbsent: (o: KubeObject) => Promise.resolve(created.push(o) > 0),
    } as unknown as HibernationWriter;
    const executor = remoteExecutor(reader, writer, {
      namespace: "acme",
      clusterName: "far",
      schedule: { metadata: { name, namespace: "acme", uid: `uid-${name.length}` } },
    });
    const o = await executor.observe();
    if ("unknown" in o) throw new Error(o.unknown);
    const plan = sleepNow(`acme/${name}`, o);
    await executor.execute(plan);
    return created;
  }

  it("labels its AgentActions with a value that fits and keeps the full name beside it", async () => {
    const created = await actionsMadeFor(LONG);
    expect(created.length).toBeGreaterThan(0);
    for (const a of created) {
      expect(a.metadata?.labels?.[SCHEDULE_LABEL]).toBe(NAMESAKE);
      expect(a.metadata?.labels?.[SCHEDULE_LABEL]?.length).toBeLessThanOrEqual(63);
      expect(a.metadata?.annotations?.[SCHEDULE_LABEL]).toBe(LONG);
    }
  });

  it("prunes only its own finished actions, not those of a schedule named like its label value", async () => {
    const done = (a: KubeObject): KubeObject => ({
      ...a,
      status: { phase: "Succeeded", completedAt: "2026-12-03T18:00:00Z" },
    });
    const longs = (await actionsMadeFor(LONG)).map(done);
    const namesakes = (await actionsMadeFor(NAMESAKE)).map(done);
    const nowMs = Date.parse("2026-12-03T18:00:00Z") + FINISHED_ACTION_TTL_MS;
    const all = [...longs, ...namesakes];
    expect(expiredActions(all, LONG, nowMs)).toEqual(longs.map((a) => a.metadata?.name).sort());
    expect(expiredActions(all, NAMESAKE, nowMs)).toEqual(namesakes.map((a) => a.metadata?.name).sort());
  });
});
