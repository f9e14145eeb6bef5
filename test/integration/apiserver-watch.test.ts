// Watch semantics of the local API server through client-node's Watch and informers: events, resume, 410, drops.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CoreV1Api, makeInformer, Watch, type V1ConfigMap } from "@kubernetes/client-node";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { eventually, startTestCluster } from "../support/cluster.js";

let server: LocalApiServer;
let core: CoreV1Api;

interface Seen {
  type: string;
  name?: string;
  rv?: string;
  code?: number;
}

/** Starts a watch and collects its events until stopped. */
async function collect(
  path: string,
  query: Record<string, string | boolean | number>,
): Promise<{ events: Seen[]; done: Promise<unknown>; abort: () => void }> {
  const events: Seen[] = [];
  let resolveDone!: (err: unknown) => void;
  const done = new Promise<unknown>((r) => (resolveDone = r));
  const controller = await new Watch(server.kubeConfig).watch(
    path,
    query,
    (type, obj: any) =>
      events.push({ type, name: obj?.metadata?.name, rv: obj?.metadata?.resourceVersion, code: obj?.code }),
    (err) => resolveDone(err ?? null),
  );
  return { events, done, abort: () => controller.abort() };
}

beforeAll(async () => {
  server = await startTestCluster();
  core = server.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: "w" } } });
});

afterAll(async () => {
  await server.stop();
});

// Fault injection never outlives the test that set it, even when that test fails.
afterEach(() => server?.faults.reset());

describe("watch", () => {
  it("delivers ADDED, MODIFIED and DELETED in order, with the object's resourceVersion", async () => {
    const list = await core.listNamespacedConfigMap({ namespace: "w" });
    const w = await collect("/api/v1/namespaces/w/configmaps", { resourceVersion: list.metadata!.resourceVersion! });
    const created = await core.createNamespacedConfigMap({ namespace: "w", body: { metadata: { name: "a" } } });
    const updated = await core.replaceNamespacedConfigMap({
      name: "a",
      namespace: "w",
      body: { ...created, data: { k: "v" } },
    });
    await core.deleteNamespacedConfigMap({ name: "a", namespace: "w" });
    await eventually(() => w.events.length >= 3);
    w.abort();
    expect(w.events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    expect(w.events[0]!.rv).toBe(created.metadata!.resourceVersion);
    expect(w.events[1]!.rv).toBe(updated.metadata!.resourceVersion);
    expect(Number(w.events[2]!.rv)).toBeGreaterThan(Number(updated.metadata!.resourceVersion));
  });

  it("serves the legacy /watch/ path for one object", async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: "w", body: { metadata: { name: "legacy" } } });
    await core.createNamespacedConfigMap({ namespace: "w", body: { metadata: { name: "legacy-other" } } });
    const w = await collect("/api/v1/watch/namespaces/w/configmaps/legacy", {
      resourceVersion: cm.metadata!.resourceVersion!,
    });
    await core.replaceNamespacedConfigMap({
      name: "legacy-other",
      namespace: "w",
      body: { metadata: { name: "legacy-other" }, data: { a: "1" } },
    });
    await core.replaceNamespacedConfigMap({ name: "legacy", namespace: "w", body: { ...cm, data: { a: "1" } } });
    await eventually(() => w.events.length >= 1);
    w.abort();
    expect(w.events.map((e) => `${e.type}:${e.name}`)).toEqual(["MODIFIED:legacy"]);
  });

  it("starts with synthetic ADDED events for the current state when resourceVersion is unset", async () => {
    await core.createNamespacedConfigMap({
      namespace: "w",
      body: { metadata: { name: "existing", labels: { keep: "yes" } } },
    });
    await core.createNamespacedConfigMap({ namespace: "w", body: { metadata: { name: "other" } } });
    const w = await collect("/api/v1/namespaces/w/configmaps", { labelSelector: "keep=yes" });
    await eventually(() => w.events.length >= 1);
    w.abort();
    expect(w.events).toEqual([expect.objectContaining({ type: "ADDED", name: "existing" })]);
  });

  it("resumes from a resourceVersion and reports objects leaving a label selection as DELETED", async () => {
    const cm = await core.createNamespacedConfigMap({
      namespace: "w",
      body: { metadata: { name: "sel", labels: { tier: "a" } } },
    });
    const from = cm.metadata!.resourceVersion!;
    const relabelled = await core.replaceNamespacedConfigMap({
      name: "sel",
      namespace: "w",
      body: { ...cm, metadata: { ...cm.metadata, labels: { tier: "b" } } },
    });
    await core.replaceNamespacedConfigMap({ name: "sel", namespace: "w", body: { ...relabelled, data: { x: "1" } } });
    const w = await collect("/api/v1/namespaces/w/configmaps", { resourceVersion: from, labelSelector: "tier=a" });
    await eventually(() => w.events.length >= 1);
    await new Promise((r) => setTimeout(r, 50));
    w.abort();
    expect(w.events.map((e) => `${e.type}:${e.name}`)).toEqual(["DELETED:sel"]);
  });

  it("answers an expired resourceVersion with an ERROR event carrying a 410 Expired Status", async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: "w", body: { metadata: { name: "old" } } });
    for (let i = 0; i < 5; i++)
      await core.createNamespacedConfigMap({ namespace: "w", body: { metadata: { name: `filler-${i}` } } });
    server.faults.setWatchWindow(2);
    try {
      const w = await collect("/api/v1/namespaces/w/configmaps", { resourceVersion: cm.metadata!.resourceVersion! });
      await w.done;
      expect(w.events).toEqual([expect.objectContaining({ type: "ERROR", code: 410 })]);
    } finally {
      server.faults.reset();
    }
  });

  it("answers a watch-list request (sendInitialEvents) with the current state, then a bookmark marking its end", async () => {
    await core.createNamespacedConfigMap({
      namespace: "w",
      body: { metadata: { name: "listed", labels: { wl: "1" } } },
    });
    // Even from a resourceVersion after the object was made: the initial events are the state, not the changes since.
    const after = (await core.listNamespacedConfigMap({ namespace: "w" })).metadata?.resourceVersion ?? "";
    const ends: Array<Record<string, string> | undefined> = [];
    const w = await collect("/api/v1/namespaces/w/configmaps", {
      labelSelector: "wl=1",
      sendInitialEvents: true,
      resourceVersionMatch: "NotOlderThan",
      resourceVersion: after,
      allowWatchBookmarks: true,
    });
    const marker = await new Watch(server.kubeConfig).watch(
      "/api/v1/namespaces/w/configmaps",
      {
        labelSelector: "wl=1",
        sendInitialEvents: true,
        resourceVersionMatch: "NotOlderThan",
        allowWatchBookmarks: true,
      },
      (type, obj: any) => {
        if (type === "BOOKMARK") ends.push(obj?.metadata?.annotations);
      },
      () => undefined,
    );
    await eventually(() => w.events.length >= 2 && ends.length >= 1);
    w.abort();
    marker.abort();
    expect(w.events.slice(0, 2)).toEqual([
      expect.objectContaining({ type: "ADDED", name: "listed" }),
      expect.objectContaining({ type: "BOOKMARK" }),
    ]);
    expect(ends[0]).toEqual({ "k8s.io/initial-events-end": "true" });
  });

  it("sends BOOKMARK events only when allowed", async () => {
    const quick = await startTestCluster({ bookmarkIntervalMs: 50 });
    try {
      const events: string[] = [];
      const plain: string[] = [];
      const watch = new Watch(quick.kubeConfig);
      const a = await watch.watch(
        "/api/v1/namespaces/default/configmaps",
        { allowWatchBookmarks: true },
        (type) => events.push(type),
        () => undefined,
      );
      const b = await watch.watch(
        "/api/v1/namespaces/default/configmaps",
        {},
        (type) => plain.push(type),
        () => undefined,
      );
      await eventually(() => events.includes("BOOKMARK"));
      a.abort();
      b.abort();
      expect(plain).not.toContain("BOOKMARK");
    } finally {
      await quick.stop();
    }
  });

  it("ends the stream after timeoutSeconds", async () => {
    const list = await core.listNamespacedConfigMap({ namespace: "w" });
    const t = await collect("/api/v1/namespaces/w/configmaps", {
      timeoutSeconds: 1,
      resourceVersion: list.metadata!.resourceVersion!,
    });
    const started = Date.now();
    await t.done;
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("keeps an informer's cache in step, and it resyncs after dropped watches and 410", async () => {
    const listFn = (): Promise<any> => core.listNamespacedConfigMap({ namespace: "w" });
    const informer = makeInformer<V1ConfigMap>(server.kubeConfig, "/api/v1/namespaces/w/configmaps", listFn);
    const added: string[] = [];
    informer.on("add", (o) => added.push(o.metadata!.name!));
    informer.on("error", () => setTimeout(() => void informer.start(), 50));
    await informer.start();
    const names = (): string[] =>
      informer
        .list("w")
        .map((o) => o.metadata!.name!)
        .sort();
    await core.createNamespacedConfigMap({ namespace: "w", body: { metadata: { name: "inf-1" } } });
    await eventually(() => names().includes("inf-1"));

    server.faults.dropWatches();
    await core.createNamespacedConfigMap({ namespace: "w", body: { metadata: { name: "inf-2" } } });
    await eventually(() => names().includes("inf-2"), 5000, "informer to see inf-2 after a dropped watch");

    server.faults.setWatchWindow(0);
    server.faults.dropWatches();
    await core.createNamespacedConfigMap({ namespace: "w", body: { metadata: { name: "inf-3" } } });
    await core.deleteNamespacedConfigMap({ name: "inf-1", namespace: "w" });
    await eventually(
      () => names().includes("inf-3") && !names().includes("inf-1"),
      5000,
      "informer to relist after 410",
    );
    server.faults.reset();
    await informer.stop();
    const truth = (await core.listNamespacedConfigMap({ namespace: "w" })).items.map((o) => o.metadata!.name!).sort();
    expect(names()).toEqual(truth);
  });
});
