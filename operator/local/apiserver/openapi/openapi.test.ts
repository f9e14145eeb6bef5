// Unit tests of the OpenAPI documents and handler built from the resource registry (Karpenter's real NodePool CRD).
import { karpenterCrd } from "../../../../test/support/karpenter-fixtures.js";
import { protoFields, protoMessage } from "../../../../test/support/proto-fields.js";
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
    // Swagger 2.0 keeps a $ref's siblings beside it (v3 wraps it in allOf): kubectl's v2 reader follows only this form.
    expect(v2.definitions["sh.karpenter.v1.NodePool"].properties.metadata).toEqual({
      $ref: "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
      description: expect.stringMatching(/^Standard object's metadata/),
    });
    const patch = v2.paths["/apis/karpenter.sh/v1/nodepools/{name}"].patch;
    expect(patch.parameters.find((p: any) => p.in === "body").schema.$ref).toBe(
      "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
    );
  });
});

/** A CRD of one version whose schema uses what swagger 2.0 cannot say, `root` merged into its openAPIV3Schema. */
function widgetCrd(root: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.io" },
    spec: {
      group: "example.io",
      scope: "Namespaced",
      names: { kind: "Widget", plural: "widgets" },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  required: ["ratio", "size"],
                  properties: {
                    ratio: { type: "number", nullable: true, description: "May be null." },
                    size: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] },
                    free: {
                      type: "object",
                      "x-kubernetes-preserve-unknown-fields": true,
                      properties: { known: { type: "string" } },
                    },
                    tags: { type: "array", items: { type: "string" }, maxItems: 3 },
                  },
                },
              },
              ...root,
            },
          },
        },
      ],
    },
  };
}

describe("OpenAPI v2 schemas, as kube-apiserver publishes them", () => {
  const definitions = (crd: KubeObject): Record<string, any> => {
    const registry = new ResourceRegistry();
    registry.upsert(resourceTypeFromCrd(crd));
    return (openApiV2(registry) as any).definitions;
  };

  it("drops what swagger 2.0 cannot say from a custom resource's schema", () => {
    const spec = definitions(widgetCrd())["io.example.v1.Widget"].properties.spec;
    expect(spec.required).toEqual(["size"]);
    expect(spec.properties.ratio).toEqual({ description: "May be null." });
    expect(spec.properties.size).toEqual({ "x-kubernetes-int-or-string": true });
    expect(spec.properties.free).toEqual({ "x-kubernetes-preserve-unknown-fields": true });
    expect(spec.properties.tags).toEqual({ type: "array", items: { type: "string" }, maxItems: 3 });
  });

  it("publishes a custom resource that keeps unknown fields at its root as a bare object", () => {
    const widget = definitions(widgetCrd({ "x-kubernetes-preserve-unknown-fields": true }))["io.example.v1.Widget"];
    expect(widget).toEqual({
      type: "object",
      "x-kubernetes-group-version-kind": [{ group: "example.io", kind: "Widget", version: "v1" }],
    });
  });

  it("publishes built-in kinds as open objects, their shared definitions in the v2 form", () => {
    const v2 = definitions(widgetCrd());
    expect(v2["io.k8s.api.apps.v1.Deployment"]).toEqual({
      type: "object",
      description: expect.any(String),
      "x-kubernetes-group-version-kind": [{ group: "apps", kind: "Deployment", version: "v1" }],
    });
    const spec = v2["io.k8s.api.core.v1.PodTemplateSpec"].properties.spec;
    expect(spec).toEqual({ $ref: "#/definitions/io.k8s.api.core.v1.PodSpec", description: expect.any(String) });
    const requests =
      v2["io.k8s.api.core.v1.PodSpec"].properties.containers.items.properties.resources.properties.requests;
    expect(requests.additionalProperties).not.toHaveProperty("anyOf");
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

  it("answers /openapi/v2 in protobuf to kubectl's Accept, as the gnostic Document message", async () => {
    const json = await fetch(`${base}/openapi/v2`, { headers: { Accept: "application/json" } });
    const proto = await fetch(`${base}/openapi/v2`, {
      headers: { Accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" },
    });
    expect(proto.status).toBe(200);
    expect(proto.headers.get("content-type")).toBe("application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
    expect(proto.headers.get("etag")).toBe(json.headers.get("etag"));
    const body = new Uint8Array(await proto.arrayBuffer());
    expect(protoMessage(body, 1).toString()).toBe("2.0");
    // definitions (9) hold NamedSchema entries, each named by its field 1.
    const names = protoFields(protoMessage(body, 9)).map((d) => protoMessage(d.value as Buffer, 1).toString());
    expect(names).toEqual(Object.keys(((await json.json()) as any).definitions));
    expect(names).toContain("sh.karpenter.v1.NodePool");
  });

  it("negotiates /openapi/v2 like kube-apiserver: first acceptable type by preference, 406 when none", async () => {
    const contentType = async (accept: string): Promise<string | null> => {
      const res = await fetch(`${base}/openapi/v2`, { headers: { Accept: accept } });
      return res.status === 406 ? "406" : res.headers.get("content-type");
    };
    const proto = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
    expect(await contentType(`application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json`)).toBe(
      proto,
    );
    expect(await contentType(`application/json;q=0.9, ${proto};q=0.5`)).toBe("application/json");
    expect(await contentType("*/*")).toBe("application/json");
    expect(await contentType("text/html")).toBe("406");
    expect(await contentType(`${proto};q=0, text/html`)).toBe("406");
    const v3 = await fetch(`${base}/openapi/v3`, { headers: { Accept: proto } });
    expect(v3.status).toBe(406);
  });
});
