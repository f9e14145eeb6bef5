// Integration: the controller manager — events map to keys (own kind and owned objects), one leader reconciles, hand-over.
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { startTestCluster } from "../support/cluster.js";
import { NodeTemplateKind } from "../../src-shared/crds/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { applyObject, ControllerManager, splitKey } from "../../src-shared/runtime/index.js";
import { waitFor } from "./runtime-support.js";

let server: LocalApiServer;
let client: KubeClient;
const ns = "manager-test";
const templateKind = { apiVersion: NodeTemplateKind.apiVersion, kind: NodeTemplateKind.kind };
const configMapKind = { apiVersion: "v1", kind: "ConfigMap" };

beforeAll(async () => {
  server = await startTestCluster({ crds: "project" });
  client = new KubeClient(server.kubeConfig);
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
});

afterAll(async () => {
  client.close();
  await server.stop();
});

/** A toy controller: every NodeTemplate gets a ConfigMap "<name>-families" it owns, holding its families. */
function makeManager(identity: string, reconciled: string[]): ControllerManager {
  const manager = new ControllerManager({
    client,
    leaderElection: {
      namespace: ns,
      name: "toy-operator",
      identity,
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 100,
    },
  });
  const templates = manager.informer(templateKind);
  manager.addController({
    name: "toy",
    forKind: templateKind,
    owns: [configMapKind],
    reconcile: async (key) => {
      reconciled.push(key);
      const template = templates.getByKey(key);
      if (template === undefined) return {};
      const { namespace, name } = splitKey(key);
      const spec = template.spec as { families: string[] };
      await applyObject(client, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: `${name}-families`,
          namespace,
          ownerReferences: [
            {
              apiVersion: templateKind.apiVersion,
              kind: templateKind.kind,
              name,
              uid: template.metadata?.uid ?? "",
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        data: { families: spec.families.join(",") },
      });
      return {};
    },
  });
  return manager;
}

function template(name: string, families: string[]): KubeObject {
  return { ...templateKind, metadata: { name, namespace: ns }, spec: { clusterRef: { name: "prod" }, families } };
}

async function familiesOf(name: string): Promise<string | undefined> {
  const cm = await client.getIfExists({ ...configMapKind, namespace: ns, name: `${name}-families` });
  return (cm?.data as { families?: string } | undefined)?.families;
}

describe("ControllerManager", () => {
  it("keeps an informer per selector: one by field selects only the object it names, one without selects all", async () => {
    for (const name of ["picked", "other"])
      await client.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns } });
    const manager = new ControllerManager({ client });
    const byName = manager.informer({ ...configMapKind, namespace: ns, fieldSelector: "metadata.name=picked" });
    const all = manager.informer({ ...configMapKind, namespace: ns });
    expect(byName).not.toBe(all);
    manager.start();
    try {
      await manager.waitForCacheSync();
      expect(byName.keys()).toEqual([`${ns}/picked`]);
      expect(all.keys()).toEqual(expect.arrayContaining([`${ns}/picked`, `${ns}/other`]));
    } finally {
      await manager.stop();
      for (const name of ["picked", "other"])
        await client.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name });
    }
  });

  it("reconciles existing and new objects, follows spec changes, and repairs an owned object that was deleted", async () => {
    await client.create(template("pre", ["m5"]));
    const reconciled: string[] = [];
    const manager = makeManager("solo", reconciled);
    manager.start();
    await manager.waitForCacheSync();
    await waitFor(async () => (await familiesOf("pre")) === "m5", { message: "existing object reconciled" });

    await client.create(template("fresh", ["c5", "r5"]));
    await waitFor(async () => (await familiesOf("fresh")) === "c5,r5", { message: "new object reconciled" });

    await client.patch(
      { ...templateKind, namespace: ns, name: "fresh" },
      { spec: { families: ["c6g"] } },
      { type: "merge" },
    );
    await waitFor(async () => (await familiesOf("fresh")) === "c6g", { message: "spec change reconciled" });

    // Deleting the owned ConfigMap enqueues its owner (via ownerReferences), which recreates it.
    await client.delete({ ...configMapKind, namespace: ns, name: "fresh-families" });
    await waitFor(async () => (await familiesOf("fresh")) === "c6g", { message: "owned object repaired" });
    expect(reconciled.filter((k) => k === `${ns}/fresh`).length).toBeGreaterThanOrEqual(3);
    await manager.stop();
  });

  it("with two instances only the leader reconciles; after it stops, the other takes over and catches up", async () => {
    const reconciledA: string[] = [];
    const reconciledB: string[] = [];
    const a = makeManager("a", reconciledA);
    a.start();
    await waitFor(() => a.isActive(), { message: "a leads" });
    const b = makeManager("b", reconciledB);
    b.start();
    await b.waitForCacheSync();

    await client.create(template("led", ["m6i"]));
    await waitFor(async () => (await familiesOf("led")) === "m6i", { message: "leader reconciles" });
    await a.idle();
    expect(b.isActive()).toBe(false);
    expect(reconciledB).toEqual([]);

    await a.stop();
    // Changed while nobody leads: the new leader must pick it up from its cache on taking over.
    await client.patch(
      { ...templateKind, namespace: ns, name: "led" },
      { spec: { families: ["m7i"] } },
      { type: "merge" },
    );
    await waitFor(() => b.isActive(), { timeoutMs: 3_000, message: "b takes over within the lease duration" });
    await waitFor(async () => (await familiesOf("led")) === "m7i", { message: "new leader reconciles" });
    expect(reconciledB).toContain(`${ns}/led`);
    await b.stop();
  });

  it("converges despite injected 409s on writes: failed reconciles back off and retry", async () => {
    const reconciled: string[] = [];
    const failures: string[] = [];
    const logger = {
      info: () => undefined,
      error: () => undefined,
      debug: (obj: object) => void failures.push(String((obj as { key?: string }).key)),
    };
    const manager = new ControllerManager({ client, logger });
    const templates = manager.informer(templateKind);
    manager.addController({
      name: "toy-no-election",
      forKind: templateKind,
      owns: [configMapKind],
      baseBackoffMs: 10,
      maxBackoffMs: 200,
      concurrency: 4,
      reconcile: async (key) => {
        reconciled.push(key);
        const template = templates.getByKey(key);
        if (template === undefined) return {};
        const { namespace, name } = splitKey(key);
        await applyObject(client, {
          ...configMapKind,
          metadata: { name: `${name}-families`, namespace },
          data: { families: (template.spec as { families: string[] }).families.join(",") },
        });
        return {};
      },
    });
    const names = Array.from({ length: 10 }, (_, i) => `flaky-${i}`);
    for (const name of names) await client.create(template(name, ["m5", `c${names.indexOf(name)}`]));
    // Every write fails first, so every key is retried at least once; then 30 % keep failing.
    server.faults.setConflictRate(1);
    try {
      manager.start();
      await waitFor(() => names.every((n) => failures.includes(`${ns}/${n}`)), { message: "every key failed once" });
      server.faults.setConflictRate(0.3);
      for (const name of names) {
        await waitFor(async () => (await familiesOf(name).catch(() => undefined)) === `m5,c${names.indexOf(name)}`, {
          message: name,
        });
      }
    } finally {
      server.faults.setConflictRate(0);
    }
    expect(reconciled.length).toBeGreaterThanOrEqual(names.length);
    await manager.stop();
  });

  it("requeues a reconcile whose status write lost to a newer resourceVersion, and logs that at debug, not error", async () => {
    const lines: Array<{ level: number; msg: string; controller?: string; key?: string }> = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const manager = new ControllerManager({ client, logger });
    const templates = manager.informer(templateKind);
    let raced = false;
    manager.addController({
      name: "status-writer",
      forKind: templateKind,
      baseBackoffMs: 10,
      reconcile: async (key) => {
        const { name } = splitKey(key);
        const cached = templates.getByKey(key);
        if (!name.startsWith("stale") || cached === undefined) return {};
        if (!raced) {
          // Someone else writes between our read of the cache and our status write.
          raced = true;
          await client.patch(
            { ...templateKind, namespace: ns, name },
            { metadata: { labels: { by: "other" } } },
            { type: "merge" },
          );
        }
        await client.replace({ ...cached, status: { observedGeneration: cached.metadata?.generation } }, "status");
        return {};
      },
    });
    manager.addController({
      name: "always-fails",
      forKind: configMapKind,
      reconcile: async (key) => {
        if (key === `${ns}/broken`) throw new Error("the reconcile could not go on");
        return {};
      },
    });
    await client.create(template("stale", ["m5"]));
    await client.create({ ...configMapKind, metadata: { name: "broken", namespace: ns }, data: {} });
    manager.start();
    await waitFor(async () => {
      const stored = await client.get({ ...templateKind, namespace: ns, name: "stale" });
      return (stored.status as { observedGeneration?: number } | undefined)?.observedGeneration === 1;
    });
    await waitFor(() => lines.some((l) => l.controller === "always-fails" && l.level === 50));
    await manager.stop();
    const statusWriter = lines.filter((l) => l.controller === "status-writer");
    // pino's levels: 20 debug, 50 error.
    expect(statusWriter.some((l) => l.level === 20 && l.key === `${ns}/stale`)).toBe(true);
    expect(statusWriter.filter((l) => l.level >= 50)).toEqual([]);
    expect(lines.find((l) => l.controller === "always-fails")).toMatchObject({ level: 50, msg: "Reconcile failed" });
  });

  it("retries a key that keeps losing write races within a second, however many it lost in a row", async () => {
    const manager = new ControllerManager({ client });
    const templates = manager.informer(templateKind);
    const races = 12;
    let lost = 0;
    manager.addController({
      name: "racer",
      forKind: templateKind,
      baseBackoffMs: 10,
      reconcile: async (key) => {
        const cached = templates.getByKey(key);
        if (!splitKey(key).name.startsWith("racer") || cached === undefined) return {};
        // A write over a resourceVersion someone else has moved on from: the API server's own 409 Conflict.
        const stale = lost < races ? "1" : cached.metadata?.resourceVersion;
        if (lost < races) lost++;
        const status = { observedGeneration: cached.metadata?.generation };
        await client.replace({ ...cached, metadata: { ...cached.metadata, resourceVersion: stale }, status }, "status");
        return {};
      },
    });
    await client.create(template("racer", ["m5"]));
    manager.start();
    try {
      // Doubling from 10 ms without a bound, the twelfth retry alone would come 20 s after the eleventh (41 s in all).
      await waitFor(
        async () =>
          (
            await client.get<KubeObject & { status?: { observedGeneration?: number } }>({
              ...templateKind,
              namespace: ns,
              name: "racer",
            })
          ).status?.observedGeneration === 1,
        {
          message: "the status write that finally wins",
          timeoutMs: 20_000,
        },
      );
    } finally {
      await manager.stop();
    }
    expect(lost).toBe(races);
  });

  it("releases what a controller holds (close) when it stops, after the reconcile in flight has finished", async () => {
    const events: string[] = [];
    let release: () => void = () => undefined;
    const manager = new ControllerManager({ client });
    manager.addController({
      name: "holds-a-worker",
      forKind: templateKind,
      reconcile: async (key) => {
        if (key !== `${ns}/held`) return {};
        events.push("reconcile started");
        await new Promise<void>((resolve) => (release = resolve));
        events.push("reconcile ended");
        return {};
      },
      close: async () => void events.push("closed"),
    });
    await client.create(template("held", ["m5"]));
    manager.start();
    await waitFor(() => events.includes("reconcile started"), { message: "a reconcile is in flight" });
    const stopped = manager.stop();
    setTimeout(() => release(), 50);
    await stopped;
    expect(events.slice(events.indexOf("reconcile ended"))).toEqual(["reconcile ended", "closed"]);
  });
});
