// Hibernation of a remote cluster end to end: the operator and the real facade on one local API server (the management
// cluster), the real agent against a second one (the workload cluster). The same fixture and faults as the local
// controller test: exact sleep/wake of 50 workloads and NodePools under injected 409s on both API servers, and an
// operator stopped and restarted after every single write of a sleep, a wake and a wake-before-delete.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type RunningAgent } from "../../agent/main.js";
import type { AgentConfig } from "../../agent/config.js";
import type { LocalApiServer, WriteNotice } from "../../operator/local/apiserver/index.js";
import { registerHibernationController } from "../../operator/controllers/hibernation/controller.js";
import { SCHEDULE_LABEL } from "../../operator/controllers/hibernation/executor.js";
import { HIBERNATION_FINALIZER } from "../../operator/controllers/hibernation/reconciler.js";
import { parseSnapshot, snapshotConfigMapName } from "../../src-shared/agent/snapshot.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";
import { createAuditChainStore } from "../../src-shared/audit/writer.js";
import { verifyChain } from "../../src-shared/audit/chain.js";
import { API_VERSION } from "../../src-shared/crds/index.js";
import { KubeClient } from "../../src-shared/kube/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { testAgentConfig } from "../support/agent.js";
import { eventually, startTestCluster } from "../support/cluster.js";
import { startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";
import {
  IN_SCOPE_WORKLOADS,
  claimNames,
  essence,
  expectAsleep,
  expectRestored,
  fixtures,
  seedWorkloads,
  sleepingSpec,
  snapshot,
  type Snapshot,
} from "../support/hibernation-fixtures.js";

const CLUSTER = "edge";
const SCHEDULE = "office-hours";
const HS = { apiVersion: API_VERSION, kind: "HibernationSchedule" } as const;

let f: TestFacade;
let owner: SignedUp;
let token: string;
let workload: LocalApiServer;
let wl: KubeClient;
let agent: RunningAgent;
let before: Snapshot;

function agentConfig(): AgentConfig {
  return testAgentConfig({ facadeUrl: f.url, clusterId: CLUSTER, readToken: () => token });
}

interface Instance {
  manager: ControllerManager;
  client: KubeClient;
  stopped: boolean;
  writes: number;
}

const running = new Set<Instance>();
const WRITES = new Set(["create", "replace", "patch", "delete"]);

/**
 * The operator's client, counting its writes; with `stopAfterWrite` the instance is stopped as soon as a write has
 * landed, before the controller sees the answer (so it never writes again).
 */
function operatorClient(instance: Instance, stopAfterWrite: boolean): KubeClient {
  const inner = new KubeClient(f.server.kubeConfig);
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      const fn = value as (...args: unknown[]) => Promise<unknown>;
      if (typeof prop !== "string" || !WRITES.has(prop)) return fn.bind(target);
      return async (...args: unknown[]) => {
        const result = await fn.apply(target, args);
        instance.writes += 1;
        if (stopAfterWrite) instance.stopped = true;
        return result;
      };
    },
  });
}

async function startInstance(stopAfterWrite = false): Promise<Instance> {
  const instance = { stopped: false, writes: 0 } as Instance;
  instance.client = operatorClient(instance, stopAfterWrite);
  instance.manager = new ControllerManager({ client: instance.client });
  running.add(instance);
  await registerHibernationController({
    manager: instance.manager,
    client: instance.client,
    isStopped: () => instance.stopped,
  });
  instance.manager.start();
  return instance;
}

async function stopInstance(instance: Instance): Promise<void> {
  running.delete(instance);
  instance.stopped = true;
  await instance.manager.stop();
  instance.client.close();
}

async function scheduleStatus(): Promise<Record<string, any> | undefined> {
  const s = await f.client.getIfExists({ ...HS, namespace: owner.namespace, name: SCHEDULE });
  return s?.status as Record<string, any> | undefined;
}

async function auditEvents(): Promise<string[]> {
  const items = (await f.client.listAll({ apiVersion: API_VERSION, kind: "AuditEntry", namespace: owner.namespace }))
    .items;
  return items
    .filter((e) => (e.spec as any).event.startsWith("hibernation."))
    .sort((a, b) => (a.spec as any).sequence - (b.spec as any).sequence)
    .map((e) => `${(e.spec as any).actor} ${(e.spec as any).event}`);
}

/** Writes of the agent to workloads and NodePools, per object. */
function patchesPerObject(notices: readonly WriteNotice[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of notices) {
    if (n.verb !== "patch" || !["deployments", "statefulsets", "cronjobs", "nodepools"].includes(n.resource)) continue;
    const key = `${n.resource}/${n.namespace ?? ""}/${n.name}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

async function hibernationActions(): Promise<Array<Record<string, any>>> {
  const items = (await f.client.listAll({ apiVersion: API_VERSION, kind: "AgentAction", namespace: owner.namespace }))
    .items;
  return items.filter((a) => a.metadata?.labels?.[SCHEDULE_LABEL] === SCHEDULE) as Array<Record<string, any>>;
}

async function createSchedule(): Promise<void> {
  await f.client.create({
    ...HS,
    metadata: { name: SCHEDULE, namespace: owner.namespace },
    spec: sleepingSpec(CLUSTER),
  });
}

async function removeOverride(): Promise<void> {
  // Retried like any client would when the injector answers 409.
  await eventually(
    () =>
      f.client.patch(
        { ...HS, namespace: owner.namespace, name: SCHEDULE },
        { spec: { override: null } },
        { type: "merge" },
      ),
    10_000,
    "override removed",
  );
}

beforeAll(async () => {
  f = await startTestFacade({ config: { agentStatusIntervalSeconds: 1, agentLeaseRenewSeconds: 1 } });
  owner = await f.signup("Remote Corp");
  const res = await f.call("POST", "/clusters/connect", {
    token: owner.accessToken,
    body: { cluster_id: CLUSTER, region: "us-east-1" },
  });
  token = res.body.api_token;
  workload = await startTestCluster({ crds: "all" });
  wl = new KubeClient(workload.kubeConfig);
  await seedWorkloads(wl);
  before = await snapshot(wl);
  agent = await startAgent(agentConfig(), { kubeConfig: workload.kubeConfig, env: { LOG_LEVEL: "silent" } });
  await eventually(
    async () => {
      const cm = await f.client.getIfExists({
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: DEFAULT_SYSTEM_NAMESPACE,
        name: snapshotConfigMapName(owner.namespace, CLUSTER),
      });
      return (parseSnapshot(cm as never)?.objects?.length ?? 0) >= 50;
    },
    15_000,
    "first report with the workloads",
  );
}, 60_000);

afterEach(async () => {
  f.server.faults.setConflictRate(0);
  workload.faults.setConflictRate(0);
  workload.faults.onWrite(undefined);
  for (const instance of [...running]) await stopInstance(instance);
});

afterAll(async () => {
  await agent?.stop();
  wl?.close();
  await workload?.stop();
  await f?.stop();
});

describe("hibernation of a remote cluster through its agent", () => {
  it("sleeps and wakes 50 workloads and two NodePools exactly, under 20 % injected 409s on both API servers", async () => {
    await createSchedule();
    f.server.faults.setConflictRate(0.2);
    workload.faults.setConflictRate(0.2);
    const notices: WriteNotice[] = [];
    workload.faults.onWrite((w) => notices.push(w));
    const instance = await startInstance();
    const asleep = await eventually(
      async () => {
        const status = await scheduleStatus();
        return status?.state === "asleep" ? status : undefined;
      },
      90_000,
      "state asleep",
    );
    expectAsleep(before, await snapshot(wl), `${owner.namespace}/${SCHEDULE}`);
    // every step is the schedule's own action: its controller, removed with it
    const owners = (await hibernationActions()).map((a) => a.metadata.ownerReferences);
    expect(owners.length).toBeGreaterThan(0);
    for (const refs of owners)
      expect(refs).toEqual([
        expect.objectContaining({ kind: "HibernationSchedule", controller: true, blockOwnerDeletion: true }),
      ]);
    expect(await claimNames(wl)).toEqual(["system-a"]);
    expect(asleep.managed).toMatchObject({ nodePools: 2 });
    expect(asleep.managed.deployments + asleep.managed.statefulSets + asleep.managed.cronJobs).toBe(IN_SCOPE_WORKLOADS);
    // The operator never wrote to the workload cluster: every change there is the agent's, one patch per object.
    const sleepCounts = patchesPerObject(notices);
    expect(sleepCounts.size).toBe(IN_SCOPE_WORKLOADS + 2);
    expect([...sleepCounts.values()].every((n) => n === 1)).toBe(true);
    expect(await auditEvents()).toEqual(["system:hibernation hibernation.sleep"]);

    notices.length = 0;
    await removeOverride();
    await eventually(async () => (await scheduleStatus())?.state === "awake", 90_000, "state awake");
    expectRestored(before, await snapshot(wl));
    const wakeCounts = patchesPerObject(notices);
    expect(wakeCounts.size).toBe(IN_SCOPE_WORKLOADS + 2);
    expect([...wakeCounts.values()].every((n) => n === 1)).toBe(true);
    expect(await auditEvents()).toEqual([
      "system:hibernation hibernation.sleep",
      "system:hibernation hibernation.wake",
    ]);
    f.server.faults.setConflictRate(0);
    const chain = await createAuditChainStore({ client: f.client }).readChain(owner.namespace);
    expect(verifyChain(chain.entries, chain.anchor)).toBeUndefined();
    await stopInstance(instance);
    // Clean slate for the next test: the schedule goes (its finalizer is released by a fresh instance).
    await f.client.delete({ ...HS, namespace: owner.namespace, name: SCHEDULE });
    const cleanup = await startInstance();
    await eventually(
      async () => (await f.client.getIfExists({ ...HS, namespace: owner.namespace, name: SCHEDULE })) === undefined,
      30_000,
      "schedule gone",
    );
    await stopInstance(cleanup);
  }, 240_000);

  it("ends exact when the operator is stopped and restarted after every single write of a sleep, a wake and a delete", async () => {
    await eventually(async () => (await hibernationActions()).length === 0, 30_000, "previous actions collected");
    await createSchedule();
    let restarts = 0;

    /** Fresh instances, each stopped after its first write, until `done` holds and an instance finds nothing to write. */
    async function runUntil(done: () => Promise<boolean>): Promise<void> {
      for (let i = 0; i < 800; i++) {
        const instance = await startInstance(true);
        await instance.manager.waitForCacheSync();
        await eventually(
          async () => {
            await instance.manager.idle();
            return true;
          },
          20_000,
          "instance idle",
        );
        await stopInstance(instance);
        if (instance.writes > 0) {
          restarts += 1;
          continue;
        }
        if (await done()) return;
        // Nothing to write: the agent is still at work, or its next report is not in yet.
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error("did not converge in 800 instances");
    }

    await runUntil(async () => (await scheduleStatus())?.state === "asleep");
    expectAsleep(before, await snapshot(wl), `${owner.namespace}/${SCHEDULE}`);
    expect(await claimNames(wl)).toEqual(["system-a"]);
    // Each planned step is one AgentAction, however many instances planned it: a patch per workload and NodePool,
    // and no delete: the first test removed the NodeClaims of the hibernated pools (system-a is the excluded pool's).
    const sleepActions = await hibernationActions();
    expect(sleepActions).toHaveLength(IN_SCOPE_WORKLOADS + 2);
    expect(sleepActions.every((a) => a.spec.type === "patch")).toBe(true);
    expect(sleepActions.every((a) => a.status?.phase === "Succeeded")).toBe(true);
    expect(restarts).toBeGreaterThanOrEqual(IN_SCOPE_WORKLOADS + 2);

    await removeOverride();
    await runUntil(async () => (await scheduleStatus())?.state === "awake");
    expectRestored(before, await snapshot(wl));
    // Spec and the user's annotations of every workload are as before the first sleep.
    const now = await snapshot(wl);
    for (const fixture of fixtures()) {
      const key = `${fixture.kind}/${fixture.namespace}/${fixture.name}`;
      expect(essence(now.workloads.get(key)!), key).toEqual(essence(before.workloads.get(key)!));
    }

    // Deleting the schedule while asleep wakes the remote cluster first (finalizer), then lets the schedule go.
    await f.client.patch(
      { ...HS, namespace: owner.namespace, name: SCHEDULE },
      { spec: sleepingSpec(CLUSTER) },
      { type: "merge" },
    );
    await runUntil(async () => (await scheduleStatus())?.state === "asleep");
    expectAsleep(before, await snapshot(wl), `${owner.namespace}/${SCHEDULE}`);
    const schedule = await f.client.get({ ...HS, namespace: owner.namespace, name: SCHEDULE });
    expect(schedule.metadata?.finalizers).toContain(HIBERNATION_FINALIZER);
    await f.client.delete({ ...HS, namespace: owner.namespace, name: SCHEDULE });
    await runUntil(
      async () => (await f.client.getIfExists({ ...HS, namespace: owner.namespace, name: SCHEDULE })) === undefined,
    );
    expectRestored(before, await snapshot(wl));
    expect(await auditEvents()).toEqual([
      "system:hibernation hibernation.sleep",
      "system:hibernation hibernation.wake",
      "system:hibernation hibernation.sleep",
      "system:hibernation hibernation.wake",
      "system:hibernation hibernation.sleep",
      "system:hibernation hibernation.wake",
    ]);
  }, 420_000);
});
