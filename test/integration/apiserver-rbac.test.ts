// RBAC of ServiceAccount requests through the local API server: a list/watch naming one object with a
// `metadata.name` field selector is authorised by `resourceNames`, as kube-apiserver's RequestInfo does it, and a
// server-side apply that creates its object needs `create` of that name besides `patch`, as kube-apiserver checks it.
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

describe("a server-side apply that creates its object is authorised as create as well", () => {
  let applier: string;
  const apply = (name: string, type = "application/apply-patch+yaml"): Promise<{ status: number; json: any }> =>
    // force is an apply's alone (kube-apiserver refuses it on other patches)
    server.request(
      "PATCH",
      `/api/v1/namespaces/spot/configmaps/${name}?fieldManager=test${type.includes("apply") ? "&force=true" : ""}`,
      {
        anonymous: true,
        headers: { Authorization: `Bearer ${applier}`, "content-type": type },
        body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { k: "applied" } },
      },
    );

  beforeAll(async () => {
    const post = async (path: string, body: object): Promise<void> => {
      const r = await server.request("POST", path, { body });
      expect(r.status, r.text).toBe(201);
    };
    await post("/api/v1/namespaces/spot/serviceaccounts", { metadata: { name: "applier" } });
    // patch of any ConfigMap, create of one name only (which only a request naming its object can match)
    await post("/apis/rbac.authorization.k8s.io/v1/namespaces/spot/roles", {
      metadata: { name: "applier" },
      rules: [
        { apiGroups: [""], resources: ["configmaps"], verbs: ["patch"] },
        { apiGroups: [""], resources: ["configmaps"], resourceNames: ["may-create"], verbs: ["create"] },
      ],
    });
    await post("/apis/rbac.authorization.k8s.io/v1/namespaces/spot/rolebindings", {
      metadata: { name: "applier" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "applier" },
      subjects: [{ kind: "ServiceAccount", name: "applier", namespace: "spot" }],
    });
    applier = server.serviceAccountToken("spot", "applier");
  });

  it("applies to an existing object with patch alone", async () => {
    expect((await apply("other")).status).toBe(200);
  });

  it("denies an apply that would create without create, in the create check's words, and creates nothing", async () => {
    const r = await apply("fresh");
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ reason: "Forbidden", details: { name: "fresh", kind: "configmaps" } });
    expect(r.json.message).toBe('configmaps "fresh" is forbidden: ');
    expect((await server.request("GET", "/api/v1/namespaces/spot/configmaps/fresh")).status).toBe(404);
  });

  it("creates by apply where create is granted for that name; a POST of the name is still denied", async () => {
    expect((await apply("may-create")).status).toBe(201);
    const post = await server.request("POST", "/api/v1/namespaces/spot/configmaps", {
      anonymous: true,
      headers: { Authorization: `Bearer ${applier}` },
      body: { metadata: { name: "may-create-2" } },
    });
    expect(post.status).toBe(403);
  });

  it("a merge patch of a missing object is not a create: patch alone lets it through to its 404", async () => {
    expect((await apply("missing", "application/merge-patch+json")).status).toBe(404);
  });
});
