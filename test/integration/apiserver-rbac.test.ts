// RBAC of ServiceAccount requests through the local API server: a list/watch naming one object with a
// `metadata.name` field selector is authorised by `resourceNames`, as kube-apiserver's RequestInfo does it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { startTestCluster } from "../support/cluster.js";

let server: LocalApiServer;
let token: string;

const as = (path: string): Promise<{ status: number; json: any; text: string }> =>
  server.request("GET", path, { anonymous: true, headers: { Authorization: `Bearer ${token}` } });

beforeAll(async () => {
  server = await startTestCluster();
  const post = async (path: string, body: object): Promise<void> => {
    const r = await server.request("POST", path, { body });
    expect(r.status, r.text).toBe(201);
  };
  await post("/api/v1/namespaces", { metadata: { name: "spot" } });
  await post("/api/v1/namespaces/spot/serviceaccounts", { metadata: { name: "facade" } });
  for (const name of ["head", "other"])
    await post("/api/v1/namespaces/spot/configmaps", { metadata: { name }, data: { k: name } });
  await post("/apis/rbac.authorization.k8s.io/v1/namespaces/spot/roles", {
    metadata: { name: "one-configmap" },
    rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["head"], verbs: ["get", "list", "watch"] }],
  });
  await post("/apis/rbac.authorization.k8s.io/v1/namespaces/spot/rolebindings", {
    metadata: { name: "facade" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "one-configmap" },
    subjects: [{ kind: "ServiceAccount", name: "facade", namespace: "spot" }],
  });
  token = server.serviceAccountToken("spot", "facade");
});

afterAll(async () => {
  await server?.stop();
});

describe("resourceNames rules and list/watch by metadata.name", () => {
  it.each([
    ["list by name", "/api/v1/namespaces/spot/configmaps?fieldSelector=metadata.name%3Dhead", 200],
    ["list by name (==)", "/api/v1/namespaces/spot/configmaps?fieldSelector=metadata.name%3D%3Dhead", 200],
    ["list of another name", "/api/v1/namespaces/spot/configmaps?fieldSelector=metadata.name%3Dother", 403],
    ["list of all", "/api/v1/namespaces/spot/configmaps", 403],
    ["list in another namespace", "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dhead", 403],
    ["get by name", "/api/v1/namespaces/spot/configmaps/head", 200],
    ["get of another name", "/api/v1/namespaces/spot/configmaps/other", 403],
  ])("%s (%s) -> %s", async (_what, path, status) => {
    const r = await as(path);
    expect(r.status, r.text).toBe(status);
  });

  it("lists only the named object", async () => {
    const r = await as("/api/v1/namespaces/spot/configmaps?fieldSelector=metadata.name%3Dhead");
    expect(r.json.items.map((i: any) => i.metadata.name)).toEqual(["head"]);
  });

  it("watches the named object", async () => {
    const r = await as(
      "/api/v1/namespaces/spot/configmaps?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dhead",
    );
    expect(r.status).toBe(200);
    const events = r.text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([["ADDED", "head"]]);
  });

  it("words the denial of another name as kube-apiserver does", async () => {
    const r = await as("/api/v1/namespaces/spot/configmaps?fieldSelector=metadata.name%3Dother");
    expect(r.json.message).toBe(
      'configmaps "other" is forbidden: User "system:serviceaccount:spot:facade" cannot list resource "configmaps" in API group "" in the namespace "spot"',
    );
  });
});
