// Unit tests of the OpenAPI documents and handler built from the resource registry (Karpenter's real NodePool CRD).
import { karpenterCrd } from "../../../../test/support/karpenter-fixtures.js";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resourceTypeFromCrd } from "../crds.js";
import { ResourceRegistry } from "../registry.js";
import type { KubeObject } from "../selectors.js";
import { createOpenApiHandler, openApiV2, openApiV3GroupVersion } from "./index.js";

const nodePoolCrd = karpenterCrd("NodePool") as KubeObject;

function registryWithNodePool(): ResourceRegistry {
  const registry = new ResourceRegistry();
  registry.upsert(resourceTypeFromCrd(nodePoolCrd));
  return registry;
}

describe("OpenAPI v3 group-version documents", () => {
  const registry = registryWithNodePool();
  const doc = openApiV3GroupVersion(registry, "karpenter.sh", "v1") as any;

  it("carries the CRD schema with its descriptions, ObjectMeta reference and GVK", () => {
    const schema = doc.components.schemas["sh.karpenter.v1.NodePool"];
    expect(schema["x-kubernetes-group-version-kind"]).toEqual([
      { group: "karpenter.sh", kind: "NodePool", version: "v1" },
    ]);
    expect(schema.properties.metadata.allOf[0].$ref).toBe(
      "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    );
    expect(doc.components.schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"].properties.labels.type).toBe(
      "object",
    );
    expect(schema.properties.spec.properties.disruption.properties.consolidateAfter.pattern).toBe(
      "^(([0-9]+(s|m|h))+|Never)$",
    );
    expect(schema.properties.spec.description).toMatch(/NodePool/);
  });

  it("declares fieldValidation on every PATCH operation of the kind (kubectl's server-side validation check)", () => {
    const patches = Object.values(doc.paths as Record<string, any>)
      .filter((p) => p.patch)
      .map((p) => p.patch);
    expect(patches.length).toBe(2);
    for (const op of patches) {
      expect(op["x-kubernetes-group-version-kind"]).toEqual({ group: "karpenter.sh", kind: "NodePool", version: "v1" });
      expect(op.parameters.map((p: any) => `${p.in}:${p.name}`)).toContain("query:fieldValidation");
      expect(Object.keys(op.requestBody.content)).not.toContain("application/strategic-merge-patch+json");
    }
    expect(doc.paths["/apis/karpenter.sh/v1/nodepools/{name}"].get["x-kubernetes-action"]).toBe("get");
  });

  it("describes built-ins with merge keys, and namespaced paths", () => {
    const apps = openApiV3GroupVersion(registry, "apps", "v1") as any;
    const podSpec = apps.components.schemas["io.k8s.api.core.v1.PodSpec"];
    expect(podSpec.properties.containers["x-kubernetes-patch-merge-key"]).toBe("name");
    expect(apps.components.schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"]).toEqual([
      { group: "apps", kind: "Deployment", version: "v1" },
    ]);
    // Not advertised, so kubectl computes strategic patches from its compiled-in types, not our compact schemas.
    expect(
      apps.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch.requestBody.content,
    ).not.toHaveProperty(["application/strategic-merge-patch+json"]);
    expect(openApiV3GroupVersion(registry, "nope.io", "v1")).toBeUndefined();
  });

  it("v2 uses definitions and body parameters", () => {
    const v2 = openApiV2(registry) as any;
    expect(v2.swagger).toBe("2.0");
    expect(v2.definitions["sh.karpenter.v1.NodePool"].properties.metadata.allOf[0].$ref).toBe(
      "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    );
    const patch = v2.paths["/apis/karpenter.sh/v1/nodepools/{name}"].patch;
    expect(patch.parameters.find((p: any) => p.in === "body").schema.$ref).toBe(
      "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
    );
  });
});

describe("createOpenApiHandler", () => {
  const registry = new ResourceRegistry();
  const handler = createOpenApiHandler(registry);
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (!handler(req, res, new URL(req.url ?? "/", "http://x"))) {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("lists group-versions with hashed serverRelativeURLs, and follows registry changes", async () => {
    const before = (await (await fetch(`${base}/openapi/v3`)).json()) as any;
    expect(before.paths["api/v1"].serverRelativeURL).toMatch(/^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{128}$/);
    expect(before.paths["apis/karpenter.sh/v1"]).toBeUndefined();
    registry.upsert(resourceTypeFromCrd(nodePoolCrd));
    const after = (await (await fetch(`${base}/openapi/v3`)).json()) as any;
    const url = after.paths["apis/karpenter.sh/v1"].serverRelativeURL as string;
    const res = await fetch(`${base}${url}`, { headers: { Accept: "application/json" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, immutable");
    expect(((await res.json()) as any).components.schemas["sh.karpenter.v1.NodePool"]).toBeDefined();
    expect((await fetch(`${base}/openapi/v3/apis/nope.io/v1`)).status).toBe(404);
    expect((await fetch(`${base}/other`)).status).toBe(404);
  });

  it("answers a protobuf-only /openapi/v2 request with 406 and a JSON one with swagger", async () => {
    const proto = await fetch(`${base}/openapi/v2`, {
      headers: { Accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" },
    });
    expect(proto.status).toBe(406);
    expect(((await proto.json()) as any).reason).toBe("NotAcceptable");
    const json = await fetch(`${base}/openapi/v2`, {
      headers: { Accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json" },
    });
    expect(json.status).toBe(200);
    expect(((await json.json()) as any).swagger).toBe("2.0");
  });
});
