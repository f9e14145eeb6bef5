// Every namespace holds the `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap, created and restored as
// kube-controller-manager's serviceaccounts controller and root CA publisher do.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { eventually, startTestCluster } from "../support/cluster.js";

const DESCRIPTION =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

let server: LocalApiServer;

const get = async (path: string): Promise<any> => {
  const r = await server.request("GET", path);
  return r.status === 200 ? r.json : undefined;
};
const sa = (ns: string): Promise<any> => get(`/api/v1/namespaces/${ns}/serviceaccounts/default`);
const ca = (ns: string): Promise<any> => get(`/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`);

beforeAll(async () => {
  server = await startTestCluster();
});

afterAll(async () => {
  await server?.stop();
});

describe("namespace defaults", () => {
  it.each(["default", "kube-system", "kube-public", "kube-node-lease"])(
    "system namespace %s has both from the start",
    async (ns) => {
      await server.settled();
      expect((await sa(ns))?.metadata).toMatchObject({ name: "default", namespace: ns });
      const cm = await ca(ns);
      expect(cm?.data).toEqual({ "ca.crt": server.caPem });
      expect(cm?.metadata.annotations).toEqual({ "kubernetes.io/description": DESCRIPTION });
    },
  );

  it("a new namespace gets both, and the CA verifies the server", async () => {
    await server.request("POST", "/api/v1/namespaces", { body: { metadata: { name: "fresh" } } });
    const cm = await eventually(() => ca("fresh"));
    expect(await eventually(() => sa("fresh"))).toMatchObject({ metadata: { name: "default" } });
    expect(cm.data["ca.crt"]).toBe(server.caPem);
    expect(cm.data["ca.crt"]).toContain("-----BEGIN CERTIFICATE-----");
  });

  it.each([
    ["deleting the ServiceAccount", "serviceaccounts/default", sa],
    ["deleting the ConfigMap", "configmaps/kube-root-ca.crt", ca],
  ])("%s recreates it", async (_what, path, read) => {
    await server.request("POST", "/api/v1/namespaces", { body: { metadata: { name: `re-${path.length}` } } });
    const ns = `re-${path.length}`;
    const before = await eventually(() => read(ns));
    const del = await server.request("DELETE", `/api/v1/namespaces/${ns}/${path}`);
    expect(del.status).toBe(200);
    const after = await eventually(async () => {
      const o = await read(ns);
      return o && o.metadata.uid !== before.metadata.uid ? o : undefined;
    });
    expect(after.metadata.name).toBe(before.metadata.name);
  });

  it("restores the CA data and description when a client changes them, keeping its other metadata", async () => {
    await server.settled();
    const cur = await ca("default");
    const put = await server.request("PUT", "/api/v1/namespaces/default/configmaps/kube-root-ca.crt", {
      body: {
        ...cur,
        metadata: { ...cur.metadata, annotations: { team: "a" }, labels: { keep: "yes" } },
        data: { x: "y" },
      },
    });
    expect(put.status).toBe(200);
    const restored = await eventually(async () => {
      const o = await ca("default");
      return o?.data["ca.crt"] === server.caPem ? o : undefined;
    });
    expect(restored.data).toEqual({ "ca.crt": server.caPem });
    expect(restored.metadata.annotations).toEqual({ team: "a", "kubernetes.io/description": DESCRIPTION });
    expect(restored.metadata.labels).toEqual({ keep: "yes" });
  });

  it("a deleted namespace goes away with them and they are not recreated", async () => {
    await server.request("POST", "/api/v1/namespaces", { body: { metadata: { name: "gone" } } });
    await eventually(() => ca("gone"));
    await eventually(() => sa("gone"));
    await server.request("DELETE", "/api/v1/namespaces/gone");
    await eventually(async () => (await server.request("GET", "/api/v1/namespaces/gone")).status === 404);
    await server.settled();
    expect(await sa("gone")).toBeUndefined();
    expect(await ca("gone")).toBeUndefined();
  });

  it("a creating client gets 409 AlreadyExists for the default ServiceAccount, as on a real cluster", async () => {
    await server.settled();
    const r = await server.request("POST", "/api/v1/namespaces/default/serviceaccounts", {
      body: { metadata: { name: "default" } },
    });
    expect(r.status).toBe(409);
  });
});

describe("namespace defaults across a restart", () => {
  it("keeps one of each, with the same uid", async () => {
    const dataFile = join(mkdtempSync(join(tmpdir(), "nsdefaults-")), "state", "state.json");
    const first = await startTestCluster({ dataFile });
    await first.settled();
    const uid = (await first.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")).json.metadata.uid;
    await first.stop();
    const second = await startTestCluster({ dataFile });
    try {
      await second.settled();
      const list = await second.request("GET", "/api/v1/namespaces/default/serviceaccounts");
      expect(list.json.items.map((i: any) => [i.metadata.name, i.metadata.uid])).toEqual([["default", uid]]);
      const cm = await second.request("GET", "/api/v1/namespaces/default/configmaps/kube-root-ca.crt");
      expect(cm.json.data["ca.crt"]).toBe(second.caPem);
    } finally {
      await second.stop();
    }
  });
});
