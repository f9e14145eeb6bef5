// NodeTemplates of a remote cluster end to end: the operator and the real facade on one local API server (the
// management cluster), the real agent against a second one (the workload cluster). A template applied in the
// management cluster becomes a NodePool + EC2NodeClass in the workload cluster through `apply` AgentActions; edits
// follow, an unchanged template makes no new action, a failed apply shows in Applied, deletion removes the objects
// (after an apply of them still in flight), policies reshape them, and 20 % injected 409s on both API servers still
// converge. From the agent's heartbeat reports: objects edited or deleted by hand in the remote cluster are put back,
// a template deleted while the operator was down has its objects swept, the timed return to Spot follows the remote
// pool's On-Demand NodeClaims, a policy's exclusions.namespaces protect that cluster's pods through `annotate`
// actions, and a pool a HibernationSchedule puts to sleep is held at zero limits by its template's own applies.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type RunningAgent } from "../../agent/main.js";
import type { AgentConfig } from "../../agent/config.js";
import { execute } from "../../agent/executors/index.js";
import type { LocalApiServer, WriteNotice } from "../../operator/local/apiserver/index.js";
import { registerNodeTemplateController } from "../../operator/controllers/nodetemplate/controller.js";
import { karpenterName } from "../../src-shared/karpenter/labels.js";
import { TEMPLATE_ACTION_LABEL } from "../../operator/controllers/nodetemplate/executor.js";
import { NODETEMPLATE_FINALIZER } from "../../operator/controllers/nodetemplate/reconciler.js";
import { registerOptimizationPolicyController } from "../../operator/controllers/optimizationpolicy/controller.js";
import { registerHibernationController } from "../../operator/controllers/hibernation/controller.js";
import { registerRemoteCleanupController } from "../../operator/controllers/managedcluster/remote-cleanup/controller.js";
import { SAVED_ANNOTATION } from "../../operator/controllers/hibernation/desired.js";
import { sleepingSpec } from "../support/hibernation-fixtures.js";
import { API_VERSION } from "../../src-shared/crds/index.js";
import { parseSnapshot, snapshotConfigMapName } from "../../src-shared/agent/snapshot.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";
import { PendingActionsResponse, type PendingAction } from "../../src-shared/agent/protocol.js";
import { KubeClient } from "../../src-shared/kube/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { testAgentConfig } from "../support/agent.js";
import { eventually, startTestCluster } from "../support/cluster.js";
import { startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

const CLUSTER = "edge";
const NT = { apiVersion: API_VERSION, kind: "NodeTemplate" } as const;
const OP = { apiVersion: API_VERSION, kind: "OptimizationPolicy" } as const;
const AA = { apiVersion: API_VERSION, kind: "AgentAction" } as const;
const NP = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
const NC = { apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass" } as const;
const NODE_CLAIM = { apiVersion: "karpenter.sh/v1", kind: "NodeClaim" } as const;
/** The return to Spot's settle time, shortened to seconds. */
const SETTLE_MS = 2_000;

let f: TestFacade;
let owner: SignedUp;
let token: string;
let workload: LocalApiServer;
let wl: KubeClient;
let agent: RunningAgent;
let operator: { manager: ControllerManager; client: KubeClient } | undefined;

function agentConfig(): AgentConfig {
  return testAgentConfig({ facadeUrl: f.url, clusterId: CLUSTER, readToken: () => token }, { heartbeatMs: 500 });
}

async function startOperator(): Promise<ControllerManager> {
  const client = new KubeClient(f.server.kubeConfig);
  const manager = new ControllerManager({ client });
  await registerNodeTemplateController({ manager, client, spotReturn: { settleMs: SETTLE_MS, recheckMs: 500 } });
  await registerOptimizationPolicyController({ manager, client });
  await registerHibernationController({ manager, client });
  registerRemoteCleanupController({ manager, client });
  manager.start();
  await manager.waitForCacheSync();
  operator = { manager, client };
  return manager;
}

async function stopOperator(): Promise<void> {
  await operator?.manager.stop();
  operator?.client.close();
  operator = undefined;
}

function template(name: string, spec: Record<string, unknown>): Record<string, any> {
  return {
    ...NT,
    metadata: { name, namespace: owner.namespace },
    spec: { clusterRef: { name: CLUSTER }, families: ["m5"], ...spec },
  };
}

async function getTemplate(name: string): Promise<any> {
  return f.client.getIfExists({ ...NT, namespace: owner.namespace, name });
}

function condition(t: any, type: string): any {
  return (t?.status?.conditions ?? []).find((c: any) => c.type === type);
}

/** Applied=True for the template's current generation. */
async function applied(name: string, timeoutMs = 30_000): Promise<any> {
  return eventually(
    async () => {
      const t = await getTemplate(name);
      const c = condition(t, "Applied");
      return c?.status === "True" && c.observedGeneration === t.metadata.generation ? t : undefined;
    },
    timeoutMs,
    `${name} Applied=True`,
  );
}

async function remote(ref: { apiVersion: string; kind: string }, name: string): Promise<any> {
  return wl.getIfExists({ ...ref, name });
}

function requirement(pool: any, key: string): any {
  return pool.spec.template.spec.requirements.find((r: any) => r.key === key);
}

async function templateActions(name: string): Promise<Array<Record<string, any>>> {
  const items = (await f.client.listAll({ ...AA, namespace: owner.namespace })).items;
  return items.filter((a) => a.metadata?.labels?.[TEMPLATE_ACTION_LABEL] === name) as Array<Record<string, any>>;
}

/** Waits until the facade holds a heartbeat report received after `afterMs` (so it shows what is in place now). */
async function reportAfter(afterMs: number): Promise<void> {
  await eventually(
    async () => {
      const cm = await f.client.getIfExists({
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: DEFAULT_SYSTEM_NAMESPACE,
        name: snapshotConfigMapName(owner.namespace, CLUSTER),
      });
      const received = Date.parse(parseSnapshot(cm as never)?.receivedAt ?? "");
      return received > afterMs;
    },
    30_000,
    "a newer heartbeat report",
  );
}

async function actionVersions(name: string): Promise<string[]> {
  return (await templateActions(name)).map((a) => `${a.metadata.name}@${a.metadata.resourceVersion}`).sort();
}

/** A stand-in for the agent: runs a leased action against the remote cluster and posts its result. */
async function standIn(action: PendingAction): Promise<string> {
  const outcome = await execute({ client: wl, action, deadlineMs: Date.now() + 10_000 });
  await f.call("POST", `/clusters/${CLUSTER}/actions/${action.id}/result`, {
    token,
    body: { attempt: action.attempt, ...outcome },
  });
  return outcome.status;
}

/** Retried like any client would when the injector answers 409. */
async function retry<T>(write: () => Promise<T>): Promise<T> {
  return eventually(() => write(), 10_000, "write accepted");
}

beforeAll(async () => {
  f = await startTestFacade({ config: { agentStatusIntervalSeconds: 1, agentLeaseRenewSeconds: 1 } }, { crds: "all" });
  owner = await f.signup("Remote Templates Corp");
  const res = await f.call("POST", "/clusters/connect", {
    token: owner.accessToken,
    body: { cluster_id: CLUSTER, region: "us-east-1" },
  });
  token = res.body.api_token;
  workload = await startTestCluster({ crds: "all" });
  wl = new KubeClient(workload.kubeConfig);
  agent = await startAgent(agentConfig(), { kubeConfig: workload.kubeConfig, env: { LOG_LEVEL: "silent" } });
  await startOperator();
}, 60_000);

afterEach(() => {
  f.server.faults.reset();
  workload.faults.reset();
});

afterAll(async () => {
  await stopOperator();
  await agent?.stop();
  wl?.close();
  await workload?.stop();
  await f?.stop();
});

describe("NodeTemplates of a remote cluster through its agent", () => {
  it("applies a template's NodePool and EC2NodeClass in the remote cluster, never in the operator's", async () => {
    await f.client.create(template("general", { families: ["m5", "c5"], strategy: "SPOT", diskSize: 40 }));
    const t = await applied("general");
    const name = karpenterName(owner.namespace, "general");
    const pool = await remote(NP, name);
    const nodeClass = await remote(NC, name);
    expect(requirement(pool, "karpenter.k8s.aws/instance-family").values).toEqual(["c5", "m5"]);
    expect(requirement(pool, "karpenter.sh/capacity-type").values).toEqual(["spot"]);
    expect(nodeClass.spec.blockDeviceMappings[0].ebs).toMatchObject({ volumeSize: "40Gi", volumeType: "gp3" });
    // Written by the agent under its own field manager, with server-side apply.
    expect(pool.metadata.managedFields.map((m: any) => `${m.manager}/${m.operation}`)).toContain(
      "spot-optimizer-agent/Apply",
    );
    expect(await f.client.getIfExists({ ...NP, name })).toBeUndefined();
    expect(await f.client.getIfExists({ ...NC, name })).toBeUndefined();
    expect(t.metadata.finalizers).toContain(NODETEMPLATE_FINALIZER);
    expect(condition(t, "Applied").message).toMatch(/in cluster edge by its agent/);
    expect(t.status.instanceTypes.count).toBe(requirement(pool, "node.kubernetes.io/instance-type").values.length);
    const actions = await templateActions("general");
    expect(actions.map((a) => `${a.spec.type} ${a.spec.target.kind} ${a.status?.phase}`).sort()).toEqual([
      `apply EC2NodeClass Succeeded`,
      `apply NodePool Succeeded`,
    ]);
    // each action is the template's own: its controller, removed with it
    for (const a of actions)
      expect(a.metadata.ownerReferences).toEqual([
        expect.objectContaining({
          kind: "NodeTemplate",
          uid: t.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        }),
      ]);
  });

  it("an unchanged template makes no new action and no write in the remote cluster, also after a restart", async () => {
    const before = (await templateActions("general")).map((a) => `${a.metadata.name}@${a.metadata.resourceVersion}`);
    const notices: WriteNotice[] = [];
    workload.faults.onWrite((w) => notices.push(w));
    await stopOperator();
    // A fresh operator reconciles every template once from its initial list.
    const manager = await startOperator();
    await manager.idle();
    const after = (await templateActions("general")).map((a) => `${a.metadata.name}@${a.metadata.resourceVersion}`);
    expect(after.sort()).toEqual(before.sort());
    expect(notices.filter((n) => n.resource === "nodepools" || n.resource === "ec2nodeclasses")).toEqual([]);
    expect(condition(await getTemplate("general"), "Applied").status).toBe("True");
  });

  it("follows an edit of the template, and an OptimizationPolicy reshapes the remote NodePool", async () => {
    await f.client.patch(
      { ...NT, namespace: owner.namespace, name: "general" },
      { spec: { families: ["m5", "r5"], diskSize: 60 } },
      { type: "merge" },
    );
    await applied("general");
    const name = karpenterName(owner.namespace, "general");
    expect(requirement(await remote(NP, name), "karpenter.k8s.aws/instance-family").values).toEqual(["m5", "r5"]);
    expect((await remote(NC, name)).spec.blockDeviceMappings[0].ebs.volumeSize).toBe("60Gi");
    // Superseded actions are removed once the newer version is applied: one per object remains.
    expect((await templateActions("general")).length).toBe(2);

    await f.client.create({
      ...OP,
      metadata: { name: "policy", namespace: owner.namespace },
      spec: { clusterRef: { name: CLUSTER }, binpack: { aggressiveness: 90 } },
    });
    await eventually(
      async () => (await remote(NP, name))?.spec.disruption?.consolidationPolicy === "WhenEmptyOrUnderutilized",
      30_000,
      "remote NodePool consolidates when underutilized",
    );
    await applied("general");
    const policy = await eventually(
      async () => {
        const p = await f.client.getIfExists({ ...OP, namespace: owner.namespace, name: "policy" });
        return condition(p, "Ready")?.status === "True" && (p as any).status.applied?.nodePools?.length === 1
          ? (p as any)
          : undefined;
      },
      30_000,
      "policy in force for the remote cluster",
    );
    expect(policy.status.applied.nodePools).toEqual([name]);
    await f.client.delete({ ...OP, namespace: owner.namespace, name: "policy" });
  });

  it("puts back a NodePool edited by hand and an EC2NodeClass deleted by hand, then stays quiet", async () => {
    await f.client.create(template("drift", { families: ["c5"] }));
    await applied("drift");
    const name = karpenterName(owner.namespace, "drift");
    const weight = (await remote(NP, name)).spec.weight;
    await wl.patch({ ...NP, name }, { spec: { weight: 1 } }, { type: "merge" });
    await eventually(async () => (await remote(NP, name))?.spec.weight === weight, 30_000, "NodePool weight put back");
    await wl.delete({ ...NC, name });
    const nodeClass = await eventually(async () => remote(NC, name), 30_000, "EC2NodeClass put back");
    expect(nodeClass.metadata.labels["app.kubernetes.io/managed-by"]).toBe("spot-optimizer");
    await applied("drift");
    const t = await getTemplate("drift");
    expect(condition(t, "Applied").status).toBe("True");

    // Once in place again, later reports agree with what was applied: no new action, no write in the remote cluster.
    await reportAfter(Date.now() + 1500);
    await operator!.manager.idle();
    const before = await actionVersions("drift");
    expect(before.length).toBe(2);
    const notices: WriteNotice[] = [];
    workload.faults.onWrite((w) => notices.push(w));
    await reportAfter(Date.now() + 1500);
    await operator!.manager.idle();
    expect(await actionVersions("drift")).toEqual(before);
    expect(notices.filter((n) => n.resource === "nodepools" || n.resource === "ec2nodeclasses")).toEqual([]);
  }, 90_000);

  it("returns a remote SPOT pool to Spot once its On-Demand NodeClaim has settled, and widens it when none is left", async () => {
    await f.client.create({
      ...OP,
      metadata: { name: "fallback", namespace: owner.namespace },
      spec: { clusterRef: { name: CLUSTER }, spotFallback: { enabled: true } },
    });
    await f.client.create(template("spot", { families: ["m5", "c5"], strategy: "SPOT" }));
    const pool = karpenterName(owner.namespace, "spot");
    const capacityTypes = async (): Promise<string | undefined> =>
      requirement(
        (await remote(NP, pool)) ?? { spec: { template: { spec: { requirements: [] } } } },
        "karpenter.sh/capacity-type",
      )?.values.join();
    await eventually(async () => (await capacityTypes()) === "spot,on-demand", 30_000, "remote pool widened");
    // Spot was short in the remote cluster: Karpenter launched an On-Demand NodeClaim there.
    await wl.create({
      ...NODE_CLAIM,
      metadata: { name: "od-1", labels: { "karpenter.sh/nodepool": pool, "karpenter.sh/capacity-type": "on-demand" } },
      spec: {
        nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: pool },
        requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["spot", "on-demand"] }],
      },
    });
    const createdMs = Date.parse((await wl.get<any>({ ...NODE_CLAIM, name: "od-1" })).metadata.creationTimestamp);
    const narrowedMs = await eventually(
      async () => ((await capacityTypes()) === "spot" ? Date.now() : undefined),
      30_000,
      "remote pool narrowed back to Spot",
    );
    expect(narrowedMs).toBeGreaterThanOrEqual(createdMs + SETTLE_MS);
    const fallback = await eventually(
      async () => {
        const c = condition(await getTemplate("spot"), "SpotFallback");
        return c?.reason === "ReturningToSpot" ? c : undefined;
      },
      30_000,
      "SpotFallback=False ReturningToSpot",
    );
    expect(fallback.status).toBe("False");
    await wl.delete({ ...NODE_CLAIM, name: "od-1" });
    await eventually(async () => (await capacityTypes()) === "spot,on-demand", 30_000, "remote pool widened again");
    await f.client.delete({ ...OP, namespace: owner.namespace, name: "fallback" });
  }, 90_000);

  it("sweeps the remote objects of a template deleted while the operator was down", async () => {
    await f.client.create(template("orphan", { families: ["r5"] }));
    await applied("orphan");
    const name = karpenterName(owner.namespace, "orphan");
    await stopOperator();
    // Gone without the operator: its finalizer removed by hand.
    await f.client.patch(
      { ...NT, namespace: owner.namespace, name: "orphan" },
      { metadata: { finalizers: null } },
      { type: "merge" },
    );
    await f.client.delete({ ...NT, namespace: owner.namespace, name: "orphan" });
    expect(await getTemplate("orphan")).toBeUndefined();
    expect(await remote(NP, name)).toBeDefined();
    await startOperator();
    await eventually(async () => (await remote(NP, name)) === undefined, 30_000, "orphaned NodePool removed");
    await eventually(async () => (await remote(NC, name)) === undefined, 30_000, "orphaned EC2NodeClass removed");
    // The sweep's actions (and the gone template's) are removed once a later report shows the objects gone.
    await eventually(async () => (await templateActions("orphan")).length === 0, 30_000, "sweep actions removed");
    // Other templates' objects stay.
    expect(await remote(NP, karpenterName(owner.namespace, "general"))).toBeDefined();
  }, 90_000);

  it("exclusions.namespaces protect the pods of a remote cluster through its agent, and release only its own", async () => {
    const pod = (namespace: string, name: string, annotations?: Record<string, string>): Record<string, any> => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
      spec: { containers: [{ name: "app", image: "app:1", resources: { requests: { cpu: "100m" } } }] },
    });
    const annotationsOf = async (namespace: string, name: string): Promise<Record<string, string>> =>
      ((await wl.get<any>({ apiVersion: "v1", kind: "Pod", namespace, name })).metadata.annotations ?? {}) as Record<
        string,
        string
      >;
    const marker = `${owner.namespace}/guard`;
    const isProtected = async (namespace: string, name: string): Promise<boolean> => {
      const a = await annotationsOf(namespace, name);
      return a["karpenter.sh/do-not-disrupt"] === "true" && a["spotoptimizer.io/do-not-disrupt-by"] === marker;
    };
    const isBare = async (namespace: string, name: string): Promise<boolean> => {
      const a = await annotationsOf(namespace, name);
      return a["karpenter.sh/do-not-disrupt"] === undefined && a["spotoptimizer.io/do-not-disrupt-by"] === undefined;
    };
    for (const ns of ["payments", "batch"])
      await wl.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    await wl.create(pod("payments", "p1"));
    // Someone else's choice: never touched, neither protected nor released by the policy.
    await wl.create(pod("payments", "p2", { "karpenter.sh/do-not-disrupt": "false" }));
    await wl.create(pod("batch", "b1"));

    await f.client.create({
      ...OP,
      metadata: { name: "guard", namespace: owner.namespace },
      spec: { clusterRef: { name: CLUSTER }, exclusions: { namespaces: ["payments"] } },
    });
    await eventually(() => isProtected("payments", "p1"), 30_000, "payments/p1 protected");
    // A pod created later in an excluded namespace is protected from a later report.
    await wl.create(pod("payments", "p3"));
    await eventually(() => isProtected("payments", "p3"), 30_000, "payments/p3 protected");
    expect(await annotationsOf("payments", "p2")).toEqual({ "karpenter.sh/do-not-disrupt": "false" });
    expect(await isBare("batch", "b1")).toBe(true);

    // The list moves to batch, under 20 % injected 409s on both API servers.
    f.server.faults.setConflictRate(0.2);
    workload.faults.setConflictRate(0.2);
    await retry(() =>
      f.client.patch(
        { ...OP, namespace: owner.namespace, name: "guard" },
        { spec: { exclusions: { namespaces: ["batch"] } } },
        { type: "merge" },
      ),
    );
    await eventually(() => isProtected("batch", "b1"), 60_000, "batch/b1 protected");
    await eventually(
      async () => (await isBare("payments", "p1")) && (await isBare("payments", "p3")),
      60_000,
      "payments released",
    );
    expect(await annotationsOf("payments", "p2")).toEqual({ "karpenter.sh/do-not-disrupt": "false" });
    f.server.faults.reset();
    workload.faults.reset();

    // The policy goes: what it protected is released, and its actions are removed once a report agrees.
    await f.client.delete({ ...OP, namespace: owner.namespace, name: "guard" });
    await eventually(() => isBare("batch", "b1"), 30_000, "batch released");
    await eventually(
      async () =>
        (await f.client.listAll({ ...AA, namespace: owner.namespace })).items.filter(
          (a) => a.metadata?.labels?.["optimizationpolicy.spotoptimizer.io/policy"] === "guard",
        ).length === 0,
      30_000,
      "exclusion actions removed",
    );
  }, 150_000);

  it("Applied follows a failed apply, and the retry after the failure brings it to True", async () => {
    workload.faults.failWrites((w) => w.resource === "nodepools");
    await f.client.patch(
      { ...NT, namespace: owner.namespace, name: "general" },
      { spec: { families: ["m5"] } },
      { type: "merge" },
    );
    const failed = await eventually(
      async () => {
        const t = await getTemplate("general");
        const c = condition(t, "Applied");
        return c?.reason === "AgentActionFailed" && c.observedGeneration === t.metadata.generation ? c : undefined;
      },
      30_000,
      "Applied=False AgentActionFailed",
    );
    expect(failed.status).toBe("False");
    expect(failed.message).toMatch(/failed: Kubernetes API/);
    workload.faults.failWrites(undefined);
    await applied("general", 60_000);
    const name = karpenterName(owner.namespace, "general");
    expect(requirement(await remote(NP, name), "karpenter.k8s.aws/instance-family").values).toEqual(["m5"]);
  }, 90_000);

  it("converges under 20 % injected 409s on both API servers: create, edit, delete", async () => {
    f.server.faults.setConflictRate(0.2);
    workload.faults.setConflictRate(0.2);
    await retry(() => f.client.create(template("busy", { families: ["c5"], strategy: "HYBRID" })));
    await applied("busy", 60_000);
    const name = karpenterName(owner.namespace, "busy");
    expect(requirement(await remote(NP, name), "karpenter.sh/capacity-type").values.sort()).toEqual([
      "on-demand",
      "spot",
    ]);
    await retry(() =>
      f.client.patch(
        { ...NT, namespace: owner.namespace, name: "busy" },
        { spec: { families: ["c5", "m5"] } },
        { type: "merge" },
      ),
    );
    await applied("busy", 60_000);
    expect(requirement(await remote(NP, name), "karpenter.k8s.aws/instance-family").values).toEqual(["c5", "m5"]);
    // A policy created and then edited reshapes the remote NodePool.
    await retry(() =>
      f.client.create({
        ...OP,
        metadata: { name: "busy-policy", namespace: owner.namespace },
        spec: { clusterRef: { name: CLUSTER }, binpack: { aggressiveness: 0 } },
      }),
    );
    await eventually(
      async () => (await remote(NP, name))?.spec.disruption?.consolidateAfter === "Never",
      60_000,
      "remote NodePool never consolidates",
    );
    await retry(() =>
      f.client.patch(
        { ...OP, namespace: owner.namespace, name: "busy-policy" },
        { spec: { binpack: { aggressiveness: 100 } } },
        { type: "merge" },
      ),
    );
    await eventually(
      async () => (await remote(NP, name))?.spec.disruption?.consolidateAfter === "0s",
      60_000,
      "remote NodePool consolidates at once",
    );
    await retry(() => f.client.delete({ ...OP, namespace: owner.namespace, name: "busy-policy" }));
    await retry(() => f.client.delete({ ...NT, namespace: owner.namespace, name: "busy" }));
    await eventually(async () => (await getTemplate("busy")) === undefined, 60_000, "template busy gone");
    expect(await remote(NP, name)).toBeUndefined();
    expect(await remote(NC, name)).toBeUndefined();
  }, 150_000);

  it("deleting the template removes its objects from the remote cluster before the finalizer is released", async () => {
    const name = karpenterName(owner.namespace, "general");
    expect(await remote(NP, name)).toBeDefined();
    await f.client.delete({ ...NT, namespace: owner.namespace, name: "general" });
    await eventually(async () => (await getTemplate("general")) === undefined, 30_000, "template gone");
    expect(await remote(NP, name)).toBeUndefined();
    expect(await remote(NC, name)).toBeUndefined();
  });

  it("deleting a template whose NodePool apply is still in flight deletes the NodePool only after that apply", async () => {
    await f.client.create(template("inflight", { families: ["m5"] }));
    await applied("inflight");
    const name = karpenterName(owner.namespace, "inflight");
    // An edit while the agent is away: its apply of the NodePool is taken by a stand-in agent that holds it (Running).
    await agent.stop();
    await f.client.patch(
      { ...NT, namespace: owner.namespace, name: "inflight" },
      { spec: { families: ["m5", "c5"] } },
      { type: "merge" },
    );
    const edit = await eventually(
      async () =>
        (await templateActions("inflight")).find(
          (a) => a.spec.type === "apply" && a.spec.target.kind === "NodePool" && a.status?.phase !== "Succeeded",
        ),
      30_000,
      "the edit's apply of the NodePool",
    );
    // Whatever else it is handed (other templates' actions) it carries out at once, as the agent would.
    const held = await eventually(
      async () => {
        const r = await f.call("GET", `/clusters/${CLUSTER}/actions/pending`, { token });
        const leased = PendingActionsResponse.parse(r.body).actions;
        for (const other of leased.filter((a) => a.id !== edit.metadata.name)) await standIn(other);
        return leased.find((a) => a.id === edit.metadata.name);
      },
      10_000,
      "the edit's apply leased",
    );
    await f.client.delete({ ...NT, namespace: owner.namespace, name: "inflight" });
    agent = await startAgent(agentConfig(), { kubeConfig: workload.kubeConfig, env: { LOG_LEVEL: "silent" } });
    // The EC2NodeClass goes meanwhile; a delete of the NodePool, if one was handed over with it, has finished too.
    await eventually(
      async () =>
        (await remote(NC, name)) === undefined &&
        (await templateActions("inflight")).every((a) => a.spec.type !== "delete" || a.status?.phase === "Succeeded"),
      30_000,
      "the EC2NodeClass deleted",
    );
    // The held apply lands only now, as from an agent slow to run it.
    expect(await standIn(held)).toBe("succeeded");
    await eventually(async () => (await getTemplate("inflight")) === undefined, 30_000, "template gone");
    expect(await remote(NP, name)).toBeUndefined();
    expect(await remote(NC, name)).toBeUndefined();
  }, 90_000);

  it("a hibernated remote template pool is held at zero by its template's applies, and woken to the template's limits", async () => {
    await f.client.create(template("sleepy", {}));
    await applied("sleepy");
    const name = karpenterName(owner.namespace, "sleepy");
    const awakeLimits = (await remote(NP, name))?.spec.limits;
    const HS = { apiVersion: API_VERSION, kind: "HibernationSchedule", namespace: owner.namespace } as const;
    await f.client.create({
      ...HS,
      metadata: { name: "night", namespace: owner.namespace },
      spec: sleepingSpec(CLUSTER),
    });
    await eventually(
      async () => {
        const pool = await remote(NP, name);
        return pool?.metadata.annotations?.[SAVED_ANNOTATION] !== undefined && pool.spec.limits?.cpu === "0";
      },
      30_000,
      "the remote pool marked asleep and held at zero limits by its template",
    );
    expect(JSON.parse((await remote(NP, name)).metadata.annotations[SAVED_ANNOTATION])).toMatchObject({
      heldByTemplate: true,
    });
    await f.client.patch({ ...HS, name: "night" }, { spec: { override: null } }, { type: "merge" });
    await eventually(
      async () => {
        const pool = await remote(NP, name);
        return (
          pool?.metadata.annotations?.[SAVED_ANNOTATION] === undefined &&
          JSON.stringify(pool?.spec.limits) === JSON.stringify(awakeLimits)
        );
      },
      30_000,
      "the remote pool woken to its template's limits",
    );
    await f.client.delete({ ...HS, name: "night" });
  }, 90_000);

  it("deleting a cluster from the dashboard has its agent remove what its templates applied there first", async () => {
    await f.client.create(template("last", {}));
    await applied("last");
    const names = ["last", "sleepy"].map((t) => karpenterName(owner.namespace, t));
    expect(await remote(NP, names[0]!)).toBeDefined();
    const gone = await f.call("DELETE", "/settings/accounts", {
      token: owner.accessToken,
      body: { account_id: CLUSTER },
    });
    expect(gone.status).toBe(200);
    const MC = { apiVersion: API_VERSION, kind: "ManagedCluster", namespace: owner.namespace, name: CLUSTER } as const;
    await eventually(async () => !(await f.client.getIfExists(MC)), 60_000, "the ManagedCluster gone");
    for (const name of names) {
      expect(await remote(NP, name)).toBeUndefined();
      expect(await remote(NC, name)).toBeUndefined();
    }
    expect((await wl.listAll(NP)).items.filter((p) => p.metadata?.labels?.["app.kubernetes.io/managed-by"])).toEqual(
      [],
    );
  }, 90_000);
});
