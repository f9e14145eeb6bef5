// Integration: the informer against the local API server — add/update/delete, dropped watches, relist after 410 Gone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalApiServer, type LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { Informer, type InformerEvent } from "../../src-shared/runtime/index.js";
import { waitFor } from "./runtime-support.js";

let server: LocalApiServer;
let client: KubeClient;

beforeAll(async () => {
  server = await startLocalApiServer({ port: 0, bookmarkIntervalMs: 3_600_000 });
  client = new KubeClient(server.kubeConfig);
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "inf" } });
});

afterAll(async () => {
  client.close();
  await server.stop();
});

function configMap(name: string, data: Record<string, string>, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "inf", labels }, data };
}

/** Not the `kube-root-ca.crt` ConfigMap the control plane publishes in every namespace, as on a real cluster. */
const written = (name: string | undefined): boolean => name !== "kube-root-ca.crt";

describe("Informer", () => {
  it("lists existing objects, then sees adds, updates and deletes, and answers cache queries", async () => {
    await client.create(configMap("before", { v: "0" }, { app: "a" }));
    const informer = new Informer({ client, apiVersion: "v1", kind: "ConfigMap", namespace: "inf" });
    const events: Array<InformerEvent<KubeObject>> = [];
    informer.on((e) => events.push(e));
    informer.start();
    await informer.waitForSync();
    expect(informer.hasSynced()).toBe(true);
    expect(informer.get("inf", "before")?.data).toEqual({ v: "0" });
    expect(informer.get("inf", "before")?.kind).toBe("ConfigMap");

    await client.create(configMap("later", { v: "1" }, { app: "b" }));
    await waitFor(() => informer.get("inf", "later") !== undefined);
    await client.patch(
      { apiVersion: "v1", kind: "ConfigMap", namespace: "inf", name: "later" },
      { data: { v: "2" } },
      { type: "merge" },
    );
    await waitFor(() => informer.getByKey("inf/later")?.data?.["v" as never] === "2");
    expect(informer.list({ labelSelector: "app=b" }).map((o) => o.metadata?.name)).toEqual(["later"]);
    expect(informer.list({ namespace: "other" })).toEqual([]);
    expect(
      informer
        .list({ namespace: "inf" })
        .map((o) => o.metadata?.name)
        .filter(written)
        .sort(),
    ).toEqual(["before", "later"]);
    expect(informer.list({ namespace: "inf", labelSelector: { app: "a" } }).map((o) => o.metadata?.name)).toEqual([
      "before",
    ]);

    await client.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: "inf", name: "later" });
    await waitFor(() => informer.get("inf", "later") === undefined);

    const seen = events
      .filter((e) => written(e.object.metadata?.name))
      .map((e) => `${e.type}:${e.object.metadata?.name}`);
    expect(seen).toEqual(["add:before", "add:later", "update:later", "delete:later"]);
    const update = events.find((e) => e.type === "update");
    expect((update?.oldObject as { data?: { v?: string } }).data?.v).toBe("1");
    await informer.stop();
    await client.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: "inf", name: "before" });
  });

  it("resumes a dropped watch from its resourceVersion without relisting", async () => {
    const informer = new Informer({ client, apiVersion: "v1", kind: "ConfigMap", namespace: "inf", baseBackoffMs: 20 });
    informer.start();
    await informer.waitForSync();
    server.faults.dropWatches();
    await client.create(configMap("after-drop", { v: "0" }));
    await waitFor(() => informer.get("inf", "after-drop") !== undefined);
    server.faults.dropWatches();
    await client.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: "inf", name: "after-drop" });
    await waitFor(() => informer.get("inf", "after-drop") === undefined);
    expect(informer.listCount).toBe(1);
    await informer.stop();
  });

  it("relists after 410 Gone on a live watch (window shrunk, watch dropped)", async () => {
    const informer = new Informer({ client, apiVersion: "v1", kind: "ConfigMap", namespace: "inf", baseBackoffMs: 20 });
    informer.start();
    await informer.waitForSync();
    expect(informer.listCount).toBe(1);
    server.faults.setWatchWindow(0);
    try {
      // A write to another kind moves the compaction point past the informer's resourceVersion.
      await client.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "bump", namespace: "inf" } });
      server.faults.dropWatches();
      await waitFor(() => informer.listCount === 2, { message: "relist" });
      await client.create(configMap("after-410", { v: "0" }));
      await waitFor(() => informer.get("inf", "after-410") !== undefined);
    } finally {
      server.faults.reset();
    }
    await client.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: "inf", name: "after-410" });
    await informer.stop();
  });

  it("after missing changes and getting 410, relists and reports the differences so the cache converges", async () => {
    const informer = new Informer({ client, apiVersion: "v1", kind: "ConfigMap", namespace: "inf", baseBackoffMs: 20 });
    const events: string[] = [];
    informer.on((e) => events.push(`${e.type}:${e.object.metadata?.name}`));
    for (const name of ["k1", "k2", "k3"]) await client.create(configMap(name, { v: "0" }));
    informer.start();
    await informer.waitForSync();
    await informer.stop();
    events.length = 0;

    // While the informer is down the server changes and forgets the history.
    server.faults.setWatchWindow(0);
    try {
      await client.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: "inf", name: "k1" });
      await client.patch(
        { apiVersion: "v1", kind: "ConfigMap", namespace: "inf", name: "k2" },
        { data: { v: "9" } },
        { type: "merge" },
      );
      await client.create(configMap("k5", { v: "0" }));

      informer.start();
      await waitFor(() => informer.listCount === 2, { message: "relist" });
      const onServer = await client.list({ apiVersion: "v1", kind: "ConfigMap", namespace: "inf" });
      const summary = (items: KubeObject[]): string[] =>
        items.map((o) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`).sort();
      expect(summary(informer.list())).toEqual(summary(onServer.items));
      expect(informer.get("inf", "k2")?.data).toEqual({ v: "9" });
      expect(events.sort()).toEqual(["add:k5", "delete:k1", "update:k2"]);
    } finally {
      server.faults.reset();
    }
    await informer.stop();
  });

  it("ends a watch that went silent after its idle timeout (no error), so the caller can re-watch", async () => {
    const path = await client.path({ apiVersion: "v1", kind: "ConfigMap", namespace: "quiet" });
    const list = await client.list({ apiVersion: "v1", kind: "ConfigMap", namespace: "quiet" });
    const events: string[] = [];
    const handle = client.watch(
      path,
      { resourceVersion: list.metadata?.resourceVersion },
      (type) => events.push(type),
      { idleTimeoutMs: 150 },
    );
    await expect(handle.done).resolves.toBeUndefined();
    expect(events).toEqual([]);
  });
});
