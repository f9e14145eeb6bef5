// Replan controller against the local API server and the real facade: POST /clusters/{id}/optimize is performed
// (status.lastPlan priced from the catalog, completed annotation, audit, GET shows the outcome), once per job id.
import {
  DEFAULT_SYSTEM_NAMESPACE,
  localClusterConfigMap,
  localClusterFromConfigMap,
} from "../../src-shared/tenancy/cluster-target.js";
import { snapshotRef } from "../../src-shared/agent/snapshot.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";
import type { KubeClient, KubeObject } from "../../src-shared/kube/index.js";
import { ControllerManager, type KindRef } from "../../src-shared/runtime/index.js";
import { loadCatalogPriceBook } from "../../src-shared/pricing/catalog/index.js";
import { createAuditChainStore } from "../../src-shared/audit/writer.js";
import { verifyChain } from "../../src-shared/audit/chain.js";
import type { LastPlan } from "../../src-shared/crds/index.js";
import { registerManagedClusterController } from "../../operator/controllers/managedcluster/status/controller.js";
import { registerReplanController } from "../../operator/controllers/managedcluster/replan/controller.js";
import { AUDIT_ACTOR, createReplanReconciler } from "../../operator/controllers/managedcluster/replan/reconciler.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" } as const;
const REGION = "us-east-1";
const APPS = "apps";
const FAMILIES = ["m5", "c5"];

type ClusterObject = KubeObject & {
  status?: {
    lastPlan?: LastPlan;
    conditions?: Array<{ type: string; status: string; reason: string; observedGeneration?: number }>;
  };
};

let t: TestFacade;
let client: KubeClient;
let manager: ControllerManager;
let owner: SignedUp;

interface PodSpecInput {
  name: string;
  containers: Array<[cpu: string, memory: string]>;
  init?: [cpu: string, memory: string];
  owner?: { kind: string; name: string; uid: string };
}

function pod(p: PodSpecInput): KubeObject {
  const container = ([cpu, memory]: [string, string], i: number, prefix: string): Record<string, unknown> => ({
    name: `${prefix}${i}`,
    image: "registry.example/app:1",
    resources: { requests: { cpu, memory } },
  });
  const spec: Record<string, unknown> = { containers: p.containers.map((c, i) => container(c, i, "main")) };
  if (p.init) spec.initContainers = [container(p.init, 0, "init")];
  const metadata: Record<string, unknown> = { name: p.name, namespace: APPS };
  if (p.owner)
    metadata.ownerReferences = [
      { apiVersion: "apps/v1", kind: p.owner.kind, name: p.owner.name, uid: p.owner.uid, controller: true },
    ];
  return { apiVersion: "v1", kind: "Pod", metadata, spec, status: { phase: "Running" } } as KubeObject;
}

/** The workload: web 30 × (500m, 1Gi); api 4 × (1 CPU + init 2 CPU -> 2 CPU effective, 2Gi); worker 3 × two containers. */
const WORKLOAD: PodSpecInput[] = [
  ...Array.from({ length: 30 }, (_, i) => ({
    name: `web-${i}`,
    containers: [["500m", "1Gi"]] as Array<[string, string]>,
  })),
  ...Array.from({ length: 4 }, (_, i) => ({
    name: `api-${i}`,
    containers: [["1", "2Gi"]] as Array<[string, string]>,
    init: ["2", "1Gi"] as [string, string],
  })),
  ...Array.from({ length: 3 }, (_, i) => ({
    name: `worker-${i}`,
    containers: [
      ["250m", "512Mi"],
      ["250m", "512Mi"],
    ] as Array<[string, string]>,
  })),
];
/** Σ effective requests of WORKLOAD: CPU millicores and MiB. */
const REQUESTED = { cpuMillicores: 30 * 500 + 4 * 2000 + 3 * 500, memoryMiB: 30 * 1024 + 4 * 2048 + 3 * 1024 };

async function createAll(objects: KubeObject[]): Promise<void> {
  for (const o of objects) await client.create(o);
}

async function clusterObject(name: string): Promise<ClusterObject> {
  return client.get<ClusterObject>({ ...MC, namespace: owner.namespace, name });
}

async function completed(name: string, jobId: string): Promise<ClusterObject> {
  return eventually(
    async () => {
      const mc = await clusterObject(name);
      return mc.metadata?.annotations?.["spotoptimizer.io/replan-completed"] === jobId ? mc : undefined;
    },
    20_000,
    `job ${jobId} completed`,
  );
}

beforeAll(async () => {
  t = await startTestFacade();
  client = t.client;
  owner = await t.signup("Replan Corp");
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: APPS } });
  const ns = owner.namespace;
  await createAll([
    { ...MC, metadata: { name: "prod", namespace: ns }, spec: { mode: "local", region: REGION } },
    // prod is the cluster the operator runs in, as the installer says (only then are the Pods here its pods).
    localClusterConfigMap({ namespace: ns, name: "prod" }) as KubeObject,
    { ...MC, metadata: { name: "edge", namespace: ns }, spec: { mode: "remote", region: REGION } },
    {
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "NodeTemplate",
      metadata: { name: "general", namespace: ns },
      spec: { clusterRef: { name: "prod" }, families: FAMILIES, architecture: "x86_64", strategy: "HYBRID" },
    },
    // A template of another cluster: its families must not widen prod's plan.
    {
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "NodeTemplate",
      metadata: { name: "edge-gpu", namespace: ns },
      spec: { clusterRef: { name: "edge" }, families: ["r5"], strategy: "SPOT" },
    },
    {
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "OptimizationPolicy",
      metadata: { name: "prod", namespace: ns },
      spec: { clusterRef: { name: "prod" }, strategy: "lowest-price" },
    },
  ]);
  await createAll(WORKLOAD.map(pod));
  // Not planned: a finished pod, and a DaemonSet's pod (per-node overhead).
  await client.create(pod({ name: "migrate-done", containers: [["4", "8Gi"]] }));
  await client.patch(
    { apiVersion: "v1", kind: "Pod", namespace: APPS, name: "migrate-done" },
    { status: { phase: "Succeeded" } },
    { type: "merge", subresource: "status" },
  );
  const ds = await client.create<KubeObject>({
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "node-agent", namespace: APPS },
    spec: {
      selector: { matchLabels: { app: "node-agent" } },
      template: {
        metadata: { labels: { app: "node-agent" } },
        spec: { containers: [{ name: "a", image: "registry.example/agent:1" }] },
      },
    },
  });
  await client.create(
    pod({
      name: "node-agent-x1",
      containers: [["3", "6Gi"]],
      owner: { kind: "DaemonSet", name: "node-agent", uid: ds.metadata?.uid ?? "" },
    }),
  );
  manager = new ControllerManager({ client });
  registerManagedClusterController({ manager, client });
  registerReplanController({ manager, client, planBudgetMs: 500 });
  manager.start();
  await manager.waitForCacheSync();
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  await t?.stop();
});

describe("replan controller", () => {
  it("performs POST /clusters/{id}/optimize: a priced plan in status.lastPlan, the completed annotation, and GET shows it", async () => {
    const posted = await t.call("POST", "/clusters/prod/optimize", { token: owner.accessToken });
    expect(posted.status).toBe(202);
    const jobId: string = posted.body.job_id;
    const mc = await completed("prod", jobId);
    const plan = mc.status!.lastPlan!;
    expect(plan).toMatchObject({
      jobId,
      phase: "Succeeded",
      reason: "Planned",
      baseline: "all On-Demand, same packing",
      podsPlanned: WORKLOAD.length,
      unplacedPods: 0,
    });
    expect(plan.message).toContain("1 DaemonSet/static pod(s)");
    expect(plan.message).toContain("1 finished");

    // Every figure traces to the catalog: the cost is Σ count × price of the planned types, the baseline the same nodes On-Demand.
    const book = loadCatalogPriceBook(REGION);
    const nodes = plan.nodes!;
    expect(nodes.length).toBeGreaterThan(0);
    let hourly = 0;
    let baseline = 0;
    let cpu = 0;
    let memory = 0;
    for (const n of nodes) {
      expect(n.count).toBeGreaterThan(0);
      expect(FAMILIES).toContain(n.instanceType.split(".")[0]);
      const od = book.onDemand.get(n.instanceType)!.usdPerHour;
      const price =
        n.capacityType === "spot"
          ? Math.min(...[...book.spot.get(n.instanceType)!.values()].map((p) => p.usdPerHour))
          : od;
      hourly += n.count * price;
      baseline += n.count * od;
      const allocatable = book.instanceTypes.get(n.instanceType)!.allocatable;
      cpu += n.count * allocatable.cpuMillicores;
      memory += n.count * allocatable.memoryMiB;
    }
    expect(plan.hourlyCostUsd).toBeCloseTo(hourly, 3);
    expect(plan.baselineHourlyCostUsd).toBeCloseTo(baseline, 3);
    expect(plan.baselineHourlyCostUsd!).toBeGreaterThanOrEqual(plan.hourlyCostUsd!);
    // monthly from the unrounded hourly prices, not from the 4-decimal hourly figure
    expect(plan.monthlyCostUsd).toBeCloseTo(hourly * 730, 2);
    expect(plan.baselineMonthlyCostUsd).toBeCloseTo(baseline * 730, 2);
    expect(plan.savingsPct).toBeCloseTo((100 * (baseline - hourly)) / baseline, 1);
    // The nodes hold the effective requests (the init container's 2 CPU counts, the DaemonSet and finished pods do not).
    expect(cpu).toBeGreaterThanOrEqual(REQUESTED.cpuMillicores);
    expect(memory).toBeGreaterThanOrEqual(REQUESTED.memoryMiB);
    expect(plan.prices).toEqual({
      source: expect.stringMatching(/^(derived\+)?snapshot$/),
      asOf: expect.stringMatching(/^\d{4}-\d{2}-\d{2}/),
    });
    expect(mc.status?.conditions?.find((c) => c.type === "Planned")).toMatchObject({
      status: "True",
      reason: "Planned",
      observedGeneration: mc.metadata?.generation,
    });

    // The facade shows the outcome of the same job.
    const detail = await eventually(
      async () => {
        const r = await t.call("GET", "/clusters/prod", { token: owner.accessToken });
        return r.body?.optimization?.status === "completed" ? r : undefined;
      },
      10_000,
      "GET shows completed",
    );
    expect(detail.body.optimization).toMatchObject({
      job_id: jobId,
      status: "completed",
      hourly_cost: plan.hourlyCostUsd,
      monthly_cost: plan.monthlyCostUsd,
      baseline_hourly_cost: plan.baselineHourlyCostUsd,
      baseline: "all On-Demand, same packing",
      savings_pct: plan.savingsPct,
      price_source: plan.prices!.source,
      prices_as_of: plan.prices!.asOf,
      completed_at: plan.completedAt,
      pods_planned: WORKLOAD.length,
      unplaced_pods: 0,
      applied: false,
    });
    expect(detail.body.optimization.nodes.reduce((s: number, n: { count: number }) => s + n.count, 0)).toBe(
      nodes.reduce((s, n) => s + n.count, 0),
    );

    // One audit entry by system:replan for the job, in a chain that still verifies; an Event for kubectl describe.
    const chain = await createAuditChainStore({ client }).readChain(owner.namespace);
    expect(
      chain.entries.filter((e) => e.actor === AUDIT_ACTOR && (e.after as { jobId?: string }).jobId === jobId),
    ).toHaveLength(1);
    expect(verifyChain(chain.entries, chain.anchor)).toBeUndefined();
    const events = await client.list<
      KubeObject & { reason?: string; message?: string; involvedObject?: { name?: string } }
    >({
      apiVersion: "v1",
      kind: "Event",
      namespace: owner.namespace,
    });
    const replanned = events.items.find((e) => e.reason === "Replanned" && e.involvedObject?.name === "prod");
    // money in an Event names its baseline and its prices' source and date, as the status does
    const lastPlan = (await clusterObject("prod")).status!.lastPlan!;
    expect(replanned?.message).toContain(`below ${lastPlan.baseline}`);
    expect(replanned?.message).toContain(`prices ${lastPlan.prices!.source} as of ${lastPlan.prices!.asOf}`);
  });

  it("a second reconcile of the same job writes nothing", async () => {
    await manager.idle();
    const before = await clusterObject("prod");
    const entriesBefore = (await createAuditChainStore({ client }).readChain(owner.namespace)).entries.length;
    let writes = 0;
    const counting = Object.create(client) as KubeClient;
    for (const method of ["patch", "create", "replace", "delete"] as const) {
      (counting as unknown as Record<string, unknown>)[method] = (...args: unknown[]): unknown => {
        writes += 1;
        return (client[method] as (...a: unknown[]) => unknown)(...args);
      };
    }
    const reconcile = createReplanReconciler({
      client: counting,
      clusters: manager.informer(MC as KindRef),
      templates: manager.informer({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" }),
      policies: manager.informer({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "OptimizationPolicy" }),
      pods: manager.informer({ apiVersion: "v1", kind: "Pod" }),
      priceBook: loadCatalogPriceBook,
      localCluster: localClusterFromConfigMap((ref) => client.getIfExists(ref)),
      audit: createAuditChainStore({ client: counting }),
    });
    await eventually(
      () =>
        manager.informer(MC as KindRef).get(owner.namespace, "prod")?.metadata?.resourceVersion ===
        before.metadata?.resourceVersion,
      5000,
      "cache caught up",
    );
    await reconcile(`${owner.namespace}/prod`);
    expect(writes).toBe(0);
    // A cache that lags our own writes (no lastPlan, no completed annotation yet) does not plan the job a second time.
    const stale = structuredClone(before);
    delete stale.status!.lastPlan;
    delete stale.metadata!.annotations!["spotoptimizer.io/replan-completed"];
    const lagging = { getByKey: () => stale, list: () => [stale] } as unknown as ReturnType<
      ControllerManager["informer"]
    >;
    const staleReconcile = createReplanReconciler({
      client: counting,
      clusters: lagging,
      templates: manager.informer({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" }),
      policies: manager.informer({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "OptimizationPolicy" }),
      pods: manager.informer({ apiVersion: "v1", kind: "Pod" }),
      priceBook: loadCatalogPriceBook,
      localCluster: localClusterFromConfigMap((ref) => client.getIfExists(ref)),
      audit: createAuditChainStore({ client: counting }),
    });
    await staleReconcile(`${owner.namespace}/prod`);
    expect(writes).toBe(0);
    expect((await clusterObject("prod")).metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect((await createAuditChainStore({ client }).readChain(owner.namespace)).entries.length).toBe(entriesBefore);
  });

  it("a remote cluster plans the pods of its agent's latest heartbeat; before any report its job fails NotReported", async () => {
    const connected = await t.call("POST", "/clusters/connect", {
      token: owner.accessToken,
      body: { cluster_id: "far", region: REGION },
    });
    expect(connected.status).toBe(200);
    const early = await t.call("POST", "/clusters/far/optimize", { token: owner.accessToken });
    expect(early.status).toBe(202);
    const silent = await completed("far", early.body.job_id);
    expect(silent.status?.lastPlan).toMatchObject({ phase: "Failed", reason: "NotReported" });
    expect(silent.status?.lastPlan?.hourlyCostUsd).toBeUndefined();
    const detail = await eventually(
      async () => {
        const r = await t.call("GET", "/clusters/far", { token: owner.accessToken });
        return r.body?.optimization?.status === "failed" ? r : undefined;
      },
      10_000,
      "GET shows failed",
    );
    expect(detail.body.optimization).toMatchObject({ reason: "NotReported", hourly_cost: null, monthly_cost: null });

    // The agent reports 12 pods of one shape, 2 pinned to arm64, and a DaemonSet's pods (per node, not planned).
    const beat = await t.call("POST", "/clusters/far/heartbeat", {
      token: connected.body.api_token,
      body: {
        agent_version: "0.1.0",
        k8s_version: "v1.31.2",
        nodes: [],
        pods: [
          { namespace: "shop", cpu_millicores: 500, memory_mib: 1024, count: 10, scheduled: 10 },
          { namespace: "shop", cpu_millicores: 500, memory_mib: 1024, count: 2, arch: "arm64" },
          { namespace: "kube-system", cpu_millicores: 100, memory_mib: 128, count: 3, per_node: true },
        ],
      },
    });
    expect(beat.status).toBe(200);
    await eventually(
      () =>
        manager.informer(snapshotRef()).get(DEFAULT_SYSTEM_NAMESPACE, `${owner.namespace}.far-agent-snapshot`) !==
        undefined,
      10_000,
      "snapshot in the cache",
    );
    const posted = await t.call("POST", "/clusters/far/optimize", { token: owner.accessToken });
    const mc = await completed("far", posted.body.job_id);
    const plan = mc.status?.lastPlan;
    // No NodeTemplate names "far": the defaults allow x86_64 only, so the two arm64-pinned pods (the pin travelled
    // through the heartbeat) cannot be placed.
    expect(plan).toMatchObject({ jobId: posted.body.job_id, phase: "Succeeded", podsPlanned: 12, unplacedPods: 2 });
    expect(plan?.hourlyCostUsd).toBeGreaterThan(0);
    expect(plan?.monthlyCostUsd).toBeCloseTo((plan?.hourlyCostUsd ?? 0) * 730, 1);
    expect(plan?.message).toContain("pods as the agent reported them at");
    expect(plan?.message).toContain("3 DaemonSet/static pod(s)");
  });

  it("after a crash between writing the result and the annotation, the job is finished without planning again", async () => {
    const ns = owner.namespace;
    await client.create({
      ...MC,
      metadata: { name: "crashy", namespace: ns },
      spec: { mode: "remote", region: REGION },
    });
    // The result of job "replan-crash" is already in status (a remote cluster would fail if it were planned again).
    const written: LastPlan = {
      jobId: "replan-crash",
      phase: "Succeeded",
      completedAt: "2026-11-23T18:00:00Z",
      reason: "Planned",
      hourlyCostUsd: 1.2345,
      monthlyCostUsd: 901.19,
    };
    await client.patch(
      { ...MC, namespace: ns, name: "crashy" },
      { status: { lastPlan: written } },
      { type: "merge", subresource: "status" },
    );
    await client.patch(
      { ...MC, namespace: ns, name: "crashy" },
      { metadata: { annotations: { "spotoptimizer.io/replan-requested": "replan-crash" } } },
      { type: "merge" },
    );
    const mc = await completed("crashy", "replan-crash");
    expect(mc.status?.lastPlan).toEqual(written);
    const chain = await createAuditChainStore({ client }).readChain(ns);
    expect(
      chain.entries.filter((e) => e.actor === AUDIT_ACTOR && (e.after as { jobId?: string }).jobId === "replan-crash"),
    ).toHaveLength(1);
  });

  it("a cluster its schedule has asleep is not planned (Hibernating), and is again once the schedule is awake", async () => {
    const ns = owner.namespace;
    const HS = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule" };
    await client.create({
      ...MC,
      metadata: { name: "napping", namespace: ns },
      spec: { mode: "remote", region: REGION },
    });
    await client.create({
      ...HS,
      metadata: { name: "napping", namespace: ns },
      spec: { clusterRef: { name: "napping" }, timezone: "UTC", weekly: [] },
    });
    const setState = async (state: string): Promise<void> => {
      await client.patch(
        { ...HS, namespace: ns, name: "napping" },
        { status: { state } },
        { type: "merge", subresource: "status" },
      );
      await eventually(
        () =>
          (manager.informer(HS as KindRef).get(ns, "napping") as { status?: { state?: string } } | undefined)?.status
            ?.state === state,
        5000,
        `cache sees ${state}`,
      );
    };
    await setState("asleep");
    const posted = await t.call("POST", "/clusters/napping/optimize", { token: owner.accessToken });
    const asleep = await completed("napping", posted.body.job_id);
    expect(asleep.status?.lastPlan).toMatchObject({ phase: "Failed", reason: "Hibernating" });
    expect(asleep.status?.lastPlan?.message).toMatch(/asleep .*optimize again once it is awake/);
    await setState("awake");
    const again = await t.call("POST", "/clusters/napping/optimize", { token: owner.accessToken });
    const awake = await completed("napping", again.body.job_id);
    // awake, it is planned as any remote cluster: here from a heartbeat it has not sent yet
    expect(awake.status?.lastPlan).toMatchObject({ phase: "Failed", reason: "NotReported" });
  });

  it("leaves out a NodeTemplate found invalid, and fails NoValidTemplate when every one is", async () => {
    const ns = owner.namespace;
    const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" };
    const setValid = async (name: string, status: "True" | "False"): Promise<void> => {
      const current = await client.get<KubeObject>({ ...NT, namespace: ns, name });
      const generation = current.metadata?.generation;
      const condition = { type: "Valid", status, reason: status === "True" ? "Valid" : "InvalidSpec", message: "x" };
      await client.patch(
        { ...NT, namespace: ns, name },
        {
          status: {
            conditions: [
              { ...condition, observedGeneration: generation, lastTransitionTime: new Date().toISOString() },
            ],
          },
        },
        { type: "merge", subresource: "status" },
      );
      await eventually(
        () =>
          (
            manager.informer(NT as KindRef).get(ns, name) as
              { status?: { conditions?: Array<{ status?: string }> } } | undefined
          )?.status?.conditions?.[0]?.status === status,
        5000,
        `cache sees ${name} Valid=${status}`,
      );
    };
    // an invalid template whose family (r5) the workload could use: it must not widen the plan
    await client.create({
      ...NT,
      metadata: { name: "bad", namespace: ns },
      spec: { clusterRef: { name: "prod" }, families: ["r5"], strategy: "SPOT" },
    });
    await setValid("bad", "False");
    const first = await completed(
      "prod",
      (await t.call("POST", "/clusters/prod/optimize", { token: owner.accessToken })).body.job_id,
    );
    expect(first.status?.lastPlan).toMatchObject({ phase: "Succeeded" });
    expect(first.status?.lastPlan?.message).toContain("NodeTemplates: general (left out, not valid: bad)");
    for (const n of first.status?.lastPlan?.nodes ?? []) expect(FAMILIES).toContain(n.instanceType.split(".")[0]);
    await setValid("general", "False");
    const second = await completed(
      "prod",
      (await t.call("POST", "/clusters/prod/optimize", { token: owner.accessToken })).body.job_id,
    );
    expect(second.status?.lastPlan).toMatchObject({ phase: "Failed", reason: "NoValidTemplate" });
    expect(second.status?.lastPlan?.message).toContain("is not valid (bad, general)");
    expect(second.status?.lastPlan?.nodes).toBeUndefined();
    await setValid("general", "True");
    await client.delete({ ...NT, namespace: ns, name: "bad" });
  });

  it("a new job in a region without prices fails with the reason, replacing the previous result", async () => {
    await client.patch(
      { ...MC, namespace: owner.namespace, name: "prod" },
      { spec: { region: "eu-west-1" } },
      { type: "merge" },
    );
    await eventually(
      () =>
        (manager.informer(MC as KindRef).get(owner.namespace, "prod") as { spec?: { region?: string } } | undefined)
          ?.spec?.region === "eu-west-1",
      5000,
      "cache sees the region",
    );
    const posted = await t.call("POST", "/clusters/prod/optimize", { token: owner.accessToken });
    const mc = await completed("prod", posted.body.job_id);
    expect(mc.status?.lastPlan).toMatchObject({ jobId: posted.body.job_id, phase: "Failed", reason: "NoPrices" });
    expect(mc.status?.lastPlan?.message).toContain("eu-west-1");
    expect(mc.status?.lastPlan?.nodes).toBeUndefined();
    expect(mc.status?.conditions?.find((c) => c.type === "Planned")).toMatchObject({
      status: "False",
      reason: "NoPrices",
    });
    // The ManagedCluster controller's own status fields live beside lastPlan (separate field managers).
    expect(mc.status?.conditions?.some((c) => c.type === "AgentConnected")).toBe(true);
  });
});
