// Hibernation controller against the local API server: exact sleep/wake of 50 workloads and NodePools, restarts between writes, 409s.
import { afterEach, describe, expect, it } from "vitest";
import { eventually, startTestCluster } from "../support/cluster.js";
import type { LocalApiServer, WriteNotice } from "../../operator/local/apiserver/index.js";
import { KubeClient } from "../../src-shared/kube/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { designateLocalCluster } from "../support/local-cluster.js";
import { registerHibernationController } from "../../operator/controllers/hibernation/controller.js";
import {
  ALWAYS_EXCLUDED,
  EXCLUDED_BY_SPEC,
  IN_SCOPE_WORKLOADS,
  claimNames,
  essence,
  expectAsleep as expectAsleepBy,
  expectRestored,
  fixtures,
  inScope,
  manifest,
  seedWorkloads,
  sleepingSpec,
  snapshot,
  valueOf,
  type Snapshot,
} from "../support/hibernation-fixtures.js";
import { HIBERNATION_FINALIZER } from "../../operator/controllers/hibernation/reconciler.js";
import { createAuditChainStore } from "../../src-shared/audit/writer.js";
import { verifyChain } from "../../src-shared/audit/chain.js";
import {
  CLUSTER_LABEL,
  ORGANISATION_LABEL,
  SNAPSHOT_KEY,
  SNAPSHOT_LABEL,
  snapshotConfigMapName,
} from "../../src-shared/agent/snapshot.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";

const TENANT = "acme";
const SCHEDULE = "office-hours";

async function seed(client: KubeClient): Promise<void> {
  if (!(await client.getIfExists({ apiVersion: "v1", kind: "Namespace", name: TENANT })))
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: TENANT } });
  await designateLocalCluster(client, { namespace: TENANT });
  await seedWorkloads(client);
}

const expectAsleep = (before: Snapshot, now: Snapshot): void => expectAsleepBy(before, now, `${TENANT}/${SCHEDULE}`);

async function scheduleStatus(client: KubeClient): Promise<Record<string, any> | undefined> {
  const s = await client.getIfExists({
    apiVersion: "spotoptimizer.io/v1alpha1",
    kind: "HibernationSchedule",
    namespace: TENANT,
    name: SCHEDULE,
  });
  return s?.status as Record<string, any> | undefined;
}

async function auditEvents(client: KubeClient): Promise<string[]> {
  const items = (
    await client.listAll({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "AuditEntry", namespace: TENANT })
  ).items;
  // Chain order (sequence), so "sleep then wake" is asserted, not just the set.
  return items
    .sort((a, b) => (a.spec as any).sequence - (b.spec as any).sequence)
    .map((e) => `${(e.spec as any).actor} ${(e.spec as any).event}`);
}

interface Instance {
  manager: ControllerManager;
  client: KubeClient;
  stopped: boolean;
}

/** Instances not yet stopped, so a failing test still shuts them down before its server. */
const running = new Set<Instance>();

async function startInstance(server: LocalApiServer): Promise<Instance> {
  const client = new KubeClient(server.kubeConfig);
  const manager = new ControllerManager({ client });
  const instance: Instance = { manager, client, stopped: false };
  running.add(instance);
  await registerHibernationController({ manager, client, isStopped: () => instance.stopped });
  manager.start();
  return instance;
}

async function stopInstance(instance: Instance): Promise<void> {
  running.delete(instance);
  instance.stopped = true;
  await instance.manager.stop();
  instance.client.close();
}

/** Writes to workloads and NodePools, per object: how often each was patched. */
function patchesPerObject(notices: readonly WriteNotice[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of notices) {
    if (n.verb !== "patch" || !["deployments", "statefulsets", "cronjobs", "nodepools"].includes(n.resource)) continue;
    const key = `${n.resource}/${n.namespace ?? ""}/${n.name}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/**
 * Writes that each end an instance. An audit append is one create of the entry followed by the chain
 * store's own bookkeeping (the head ConfigMap, or taking back an entry behind a moved anchor), part of that append.
 */
function instanceWrites(notices: readonly WriteNotice[]): number {
  return notices.filter((n) => n.resource !== "configmaps" && !(n.resource === "auditentries" && n.verb !== "create"))
    .length;
}

let server: LocalApiServer | undefined;
afterEach(async () => {
  for (const instance of [...running]) await stopInstance(instance);
  await server?.stop();
  server = undefined;
});

describe("hibernation controller", () => {
  it("plans a remote cluster's schedule as soon as its agent's first report lands (the report enqueues it)", async () => {
    server = await startTestCluster({ crds: "all" });
    const client = new KubeClient(server.kubeConfig);
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: TENANT } });
    for (const name of ["far", "near"])
      await client.create({
        apiVersion: "spotoptimizer.io/v1alpha1",
        kind: "ManagedCluster",
        metadata: { name, namespace: TENANT },
        spec: { mode: "remote" },
      });
    for (const name of ["far", "near"])
      await client.create({
        apiVersion: "spotoptimizer.io/v1alpha1",
        kind: "HibernationSchedule",
        metadata: { name, namespace: TENANT },
        spec: { clusterRef: { name }, timezone: "UTC", weekly: [] },
      });
    const instance = await startInstance(server);
    const reason = async (name: string): Promise<string | undefined> => {
      const s = await client.get({
        apiVersion: "spotoptimizer.io/v1alpha1",
        kind: "HibernationSchedule",
        namespace: TENANT,
        name,
      });
      return (s.status as { conditions?: Array<{ reason: string }> } | undefined)?.conditions?.[0]?.reason;
    };
    await eventually(async () => (await reason("far")) === "AgentNotReported", 10_000, "far waits for its agent");
    await eventually(async () => (await reason("near")) === "AgentNotReported", 10_000, "near waits for its agent");
    const report = {
      receivedAt: new Date().toISOString(),
      agentVersion: "1",
      k8sVersion: "1.33",
      heartbeatIntervalSeconds: 15,
      nodes: [],
      pods: [],
      objects: [],
    };
    // The facade keeps every cluster's snapshot in the release namespace.
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: DEFAULT_SYSTEM_NAMESPACE } });
    await client.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: snapshotConfigMapName(TENANT, "far"),
        namespace: DEFAULT_SYSTEM_NAMESPACE,
        labels: { [SNAPSHOT_LABEL]: "true", [ORGANISATION_LABEL]: TENANT, [CLUSTER_LABEL]: "far" },
      },
      data: { [SNAPSHOT_KEY]: JSON.stringify(report) },
    });
    // well before any resync: the report's own event
    await eventually(async () => (await reason("far")) !== "AgentNotReported", 5_000, "far planned from its report");
    expect(await reason("near")).toBe("AgentNotReported");
    await stopInstance(instance);
    client.close();
  });

  it("a Duplicate schedule takes over as soon as the one in force is gone, with nothing else changing", async () => {
    server = await startTestCluster({ crds: "all" });
    const client = new KubeClient(server.kubeConfig);
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: TENANT } });
    await designateLocalCluster(client, { namespace: TENANT });
    const ref = (name: string) =>
      ({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule", namespace: TENANT, name }) as const;
    const reason = async (name: string): Promise<string | undefined> =>
      ((await client.get(ref(name))).status as { conditions?: Array<{ reason: string }> } | undefined)?.conditions?.[0]
        ?.reason;
    await startInstance(server);
    const spec = { clusterRef: { name: "local" }, timezone: "UTC", weekly: [] };
    await client.create({ ...ref("first"), metadata: { name: "first", namespace: TENANT }, spec });
    await eventually(async () => (await reason("first")) === "Asleep", 10_000, "first in force");
    await client.create({ ...ref("second"), metadata: { name: "second", namespace: TENANT }, spec });
    await eventually(async () => (await reason("second")) === "Duplicate", 10_000, "second a duplicate");
    await client.delete(ref("first"));
    await eventually(async () => (await reason("second")) === "Asleep", 10_000, "second in force");
  });

  it("a status edited by hand to say another state makes no sleep or wake in the audit chain", async () => {
    server = await startTestCluster({ crds: "all" });
    const client = new KubeClient(server.kubeConfig);
    await seed(client);
    const ref = {
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "HibernationSchedule",
      namespace: TENANT,
      name: SCHEDULE,
    } as const;
    await client.create({ ...ref, metadata: { name: SCHEDULE, namespace: TENANT }, spec: sleepingSpec() });
    await startInstance(server);
    await eventually(async () => (await scheduleStatus(client))?.state === "asleep", 15_000, "asleep");
    const recorded = await auditEvents(client);
    expect(recorded).toEqual(["system:hibernation hibernation.sleep"]);
    for (const forged of ["awake", "asleep", "awake"]) {
      await client.patch(ref, { status: { state: forged } }, { type: "merge", subresource: "status" });
      await eventually(async () => (await scheduleStatus(client))?.state === "asleep", 15_000, "asleep again");
    }
    expect(await auditEvents(client)).toEqual(recorded);
  });

  it("sleeps and wakes 50 workloads and two NodePools exactly, under 20 % injected 409s", async () => {
    server = await startTestCluster({ crds: "all" });
    const client = new KubeClient(server.kubeConfig);
    await seed(client);
    const before = await snapshot(client);
    expect(before.workloads.size).toBe(50);
    const spec = sleepingSpec() as { override: { from: string } };
    await client.create({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "HibernationSchedule",
      metadata: { name: SCHEDULE, namespace: TENANT },
      spec,
    });

    // The injector really answers 409 to writes (checked once at rate 1), then a fifth of them from here on.
    server.faults.setConflictRate(1);
    await expect(
      client.patch(
        { apiVersion: "v1", kind: "Namespace", name: TENANT },
        { metadata: { labels: { probe: "1" } } },
        { type: "merge" },
      ),
    ).rejects.toMatchObject({ statusCode: 409 });
    server.faults.setConflictRate(0.2);
    const notices: WriteNotice[] = [];
    server.faults.onWrite((w) => notices.push(w));
    let instance = await startInstance(server);
    const asleep = await eventually(
      async () => {
        const status = await scheduleStatus(client);
        return status?.state === "asleep" ? status : undefined;
      },
      60_000,
      "state asleep",
    );
    await instance.manager.idle();
    expectAsleep(before, await snapshot(client));
    expect(await claimNames(client)).toEqual(["system-a"]);
    const scoped = fixtures().filter((f) => ![EXCLUDED_BY_SPEC, ...ALWAYS_EXCLUDED].includes(f.namespace));
    const count = (kind: string): number => scoped.filter((f) => f.kind === kind).length;
    expect(asleep.managed).toEqual({
      deployments: count("Deployment"),
      statefulSets: count("StatefulSet"),
      cronJobs: count("CronJob"),
      nodePools: 2,
    });
    expect(asleep.reason).toBe("override");
    // The week is always awake, so the next change is the override's end: from + 48 h.
    expect(asleep.nextTransition).toBe(
      new Date(Date.parse(spec.override.from) + 48 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    );
    // No Node objects in this cluster: nothing goes away, so nothing is saved (and that is what it says).
    expect(asleep.projectedMonthlySavingsUsd).toBe(0);
    expect(asleep.savingsBaseline).toMatch(/^0 Karpenter node\(s\) of the hibernated NodePools/);
    expect(await auditEvents(client)).toEqual(["system:hibernation hibernation.sleep"]);
    // Each in-scope workload and NodePool was patched exactly once (409s answered by the injector are not writes).
    const sleepCounts = patchesPerObject(notices);
    expect(sleepCounts.size).toBe(IN_SCOPE_WORKLOADS + 2);
    expect([...sleepCounts.values()].every((n) => n === 1)).toBe(true);

    // Wake: the override is removed, the week says awake.
    notices.length = 0;
    await stopInstance(instance);
    instance = await startInstance(server);
    // The test's own write meets the injected 409s too: retried like any client would.
    await eventually(
      () =>
        client.patch(
          { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule", namespace: TENANT, name: SCHEDULE },
          { spec: { override: null } },
          { type: "merge" },
        ),
      10_000,
      "override removed",
    );
    await eventually(async () => (await scheduleStatus(client))?.state === "awake", 60_000, "state awake");
    await instance.manager.idle();
    expectRestored(before, await snapshot(client));
    const wakeCounts = patchesPerObject(notices);
    expect(wakeCounts.size).toBe(IN_SCOPE_WORKLOADS + 2);
    expect([...wakeCounts.values()].every((n) => n === 1)).toBe(true);
    expect(await auditEvents(client)).toEqual([
      "system:hibernation hibernation.sleep",
      "system:hibernation hibernation.wake",
    ]);
    // The entries are links of the organisation's hash chain, which verifies.
    const chain = await createAuditChainStore({ client }).readChain(TENANT);
    expect(verifyChain(chain.entries, chain.anchor)).toBeUndefined();
    await stopInstance(instance);
    client.close();
  });

  it("wakes by itself at the next transition (requeued for it), with no event in between", async () => {
    server = await startTestCluster({ crds: "all" });
    const client = new KubeClient(server.kubeConfig);
    for (const ns of [TENANT, "team-0"])
      await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    await designateLocalCluster(client, { namespace: TENANT });
    await client.create(manifest({ kind: "Deployment", namespace: "team-0", name: "web", value: 3 }));
    // Asleep by an override that ends 4 s from now (whole seconds, as status shows them).
    const fromMs = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const endMs = Math.floor(Date.now() / 1000) * 1000 + 4_000;
    const spec = {
      ...sleepingSpec(),
      override: { action: "sleep", from: new Date(fromMs).toISOString(), durationHours: (endMs - fromMs) / 3_600_000 },
    };
    await client.create({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "HibernationSchedule",
      metadata: { name: SCHEDULE, namespace: TENANT },
      spec,
    });
    const instance = await startInstance(server);
    const asleep = await eventually(
      async () => {
        const status = await scheduleStatus(client);
        return status?.state === "asleep" ? status : undefined;
      },
      20_000,
      "asleep",
    );
    expect(asleep.nextTransition).toBe(new Date(endMs).toISOString().replace(/\.\d{3}Z$/, "Z"));
    const web = { apiVersion: "apps/v1", kind: "Deployment", namespace: "team-0", name: "web" };
    expect(((await client.get(web)).spec as Record<string, unknown>).replicas).toBe(0);
    await eventually(
      async () => (await scheduleStatus(client))?.state === "awake",
      20_000,
      "awake after the override ended",
    );
    expect(Date.now()).toBeGreaterThanOrEqual(endMs);
    expect(((await client.get(web)).spec as Record<string, unknown>).replicas).toBe(3);
    await stopInstance(instance);
    client.close();
  });

  it("ends exact when the operator is stopped and restarted after every single write of a sleep and of a wake", async () => {
    server = await startTestCluster({ crds: "all" });
    const client = new KubeClient(server.kubeConfig);
    await seed(client);
    const before = await snapshot(client);
    await client.create({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "HibernationSchedule",
      metadata: { name: SCHEDULE, namespace: TENANT },
      spec: sleepingSpec(),
    });

    const notices: WriteNotice[] = [];
    let current: Instance | undefined;
    server.faults.onWrite((w) => {
      notices.push(w);
      // Synchronously, before the response reaches the controller: that instance never writes again.
      if (current) current.stopped = true;
    });

    /** Runs fresh instances, each stopped right after its first write, until one finds nothing to write. */
    async function runUntilQuiet(): Promise<number> {
      for (let restarts = 0; restarts < 400; restarts++) {
        const writesBefore = notices.length;
        current = await startInstance(server!);
        await current.manager.waitForCacheSync();
        await eventually(
          async () => {
            await current!.manager.idle();
            return true;
          },
          20_000,
          "instance idle",
        );
        const wrote = notices.length > writesBefore;
        await stopInstance(current);
        current = undefined;
        if (!wrote) return restarts;
      }
      throw new Error("did not converge in 400 restarts");
    }

    const sleepRestarts = await runUntilQuiet();
    const afterSleep = await snapshot(client);
    expectAsleep(before, afterSleep);
    expect((await scheduleStatus(client))?.state).toBe("asleep");
    expect(await claimNames(client)).toEqual(["system-a"]);
    // One restart per write: finalizer, each workload and NodePool once, 3 NodeClaim deletes, the audit entry and the status.
    const sleepCounts = patchesPerObject(notices);
    expect([...sleepCounts.values()].every((n) => n === 1)).toBe(true);
    expect(sleepCounts.size).toBe(IN_SCOPE_WORKLOADS + 2);
    expect(sleepRestarts).toBe(instanceWrites(notices));
    expect(sleepRestarts).toBeGreaterThanOrEqual(1 + IN_SCOPE_WORKLOADS + 2 + 3 + 2);

    notices.length = 0;
    await client.patch(
      { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule", namespace: TENANT, name: SCHEDULE },
      { spec: { override: null } },
      { type: "merge" },
    );
    notices.length = 0;
    const wakeRestarts = await runUntilQuiet();
    expectRestored(before, await snapshot(client));
    expect((await scheduleStatus(client))?.state).toBe("awake");
    const wakeCounts = patchesPerObject(notices);
    expect([...wakeCounts.values()].every((n) => n === 1)).toBe(true);
    expect(wakeCounts.size).toBe(IN_SCOPE_WORKLOADS + 2);
    expect(wakeRestarts).toBe(instanceWrites(notices));
    // generation counts spec changes: exactly two (sleep, wake) for every in-scope workload whose value was not already the asleep one.
    const finalState = await snapshot(client);
    for (const [key, o] of before.workloads) {
      const asleepValue = o.kind === "CronJob" ? true : 0;
      const changes = inScope(o) && valueOf(o) !== asleepValue ? 2 : 0;
      expect(finalState.workloads.get(key)!.metadata?.generation, key).toBe((o.metadata?.generation ?? 1) + changes);
    }
    expect(await auditEvents(client)).toEqual([
      "system:hibernation hibernation.sleep",
      "system:hibernation hibernation.wake",
    ]);

    // Deleting the schedule while asleep wakes everything first (finalizer), then lets it go.
    await client.patch(
      { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule", namespace: TENANT, name: SCHEDULE },
      { spec: sleepingSpec() },
      { type: "merge" },
    );
    await runUntilQuiet();
    expectAsleep(before, await snapshot(client));
    const schedule = await client.get({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "HibernationSchedule",
      namespace: TENANT,
      name: SCHEDULE,
    });
    expect(schedule.metadata?.finalizers).toContain(HIBERNATION_FINALIZER);
    await client.delete({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "HibernationSchedule",
      namespace: TENANT,
      name: SCHEDULE,
    });
    await runUntilQuiet();
    expect(
      await client.getIfExists({
        apiVersion: "spotoptimizer.io/v1alpha1",
        kind: "HibernationSchedule",
        namespace: TENANT,
        name: SCHEDULE,
      }),
    ).toBeUndefined();
    const woken = await snapshot(client);
    for (const [key, o] of before.workloads) expect(essence(woken.workloads.get(key)!), key).toEqual(essence(o));
    client.close();
    // About 130 operator starts (one per write, including the cluster's wake-before-delete finalizer): on a loaded
    // 2-core machine that takes longer than the default minute; the assertions, not the clock, decide.
  }, 180_000);
});
