// CRDs kube-apiserver refuses with 422: non-structural schemas and x-kubernetes-validations rules that do not compile;
// our own CRDs and Karpenter's still install.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { startTestCluster } from "../support/cluster.js";

let server: LocalApiServer;

beforeAll(async () => {
  server = await startTestCluster({ crds: "all" });
});

afterAll(async () => {
  await server?.stop();
});

function crd(name: string, schema: object | undefined): object {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${name}s.example.com` },
    spec: {
      group: "example.com",
      scope: "Namespaced",
      names: { plural: `${name}s`, singular: name, kind: name[0]!.toUpperCase() + name.slice(1), listKind: "L" },
      versions: [
        { name: "v1", served: true, storage: true, ...(schema ? { schema: { openAPIV3Schema: schema } } : {}) },
      ],
    },
  };
}

const ROOT = "spec.versions[0].schema.openAPIV3Schema";
const obj = (properties: object, extra: object = {}): object => ({ type: "object", properties, ...extra });

describe("CRD schema admission", () => {
  it.each<[string, object | undefined, { field: string; reason: string; message: RegExp }[]]>([
    [
      "no schema",
      undefined,
      [{ field: ROOT, reason: "FieldValueRequired", message: /^Required value: schemas are required$/ }],
    ],
    [
      "no type at the root",
      { properties: { spec: { type: "object" } } },
      [
        {
          field: `${ROOT}.type`,
          reason: "FieldValueRequired",
          message: /^Required value: must not be empty at the root$/,
        },
      ],
    ],
    [
      "a root that is not an object",
      { type: "string" },
      [
        {
          field: `${ROOT}.type`,
          reason: "FieldValueInvalid",
          message: /^Invalid value: "string": must be object at the root$/,
        },
      ],
    ],
    [
      "a field without type",
      obj({ spec: obj({ size: { minimum: 1 } }) }),
      [
        {
          field: `${ROOT}.properties[spec].properties[size].type`,
          reason: "FieldValueRequired",
          message: /^Required value: must not be empty for specified object fields$/,
        },
      ],
    ],
    [
      "array items without type",
      obj({ spec: obj({ tags: { type: "array", items: {} } }) }),
      [
        {
          field: `${ROOT}.properties[spec].properties[tags].items.type`,
          reason: "FieldValueRequired",
          message: /^Required value: must not be empty for specified array items$/,
        },
      ],
    ],
    [
      "an array without items",
      obj({ spec: obj({ tags: { type: "array" } }) }),
      [
        {
          field: `${ROOT}.properties[spec].properties[tags].items`,
          reason: "FieldValueRequired",
          message: /^Required value: must be specified$/,
        },
      ],
    ],
    [
      "a CEL rule that does not parse",
      obj({
        spec: obj({ a: { type: "integer" } }, { "x-kubernetes-validations": [{ rule: "self.a ==", message: "m" }] }),
      }),
      [
        {
          field: `${ROOT}.properties[spec].x-kubernetes-validations[0].rule`,
          reason: "FieldValueInvalid",
          message:
            /^Invalid value: apiextensions\.ValidationRule\{Rule:"self\.a ==", Message:"m", .*\}: compilation failed: /,
        },
      ],
    ],
    [
      "a messageExpression that does not parse",
      obj({ spec: obj({}, { "x-kubernetes-validations": [{ rule: "true", messageExpression: "'a' +" }] }) }),
      [
        {
          field: `${ROOT}.properties[spec].x-kubernetes-validations[0].messageExpression`,
          reason: "FieldValueInvalid",
          message: /messageExpression compilation failed: /,
        },
      ],
    ],
  ])("refuses %s with 422", async (what, schema, causes) => {
    const name = `bad${what.replace(/[^a-z]/g, "").slice(0, 20)}`;
    const r = await server.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
      body: crd(name, schema),
    });
    expect(r.status, r.text).toBe(422);
    expect(r.json).toMatchObject({
      kind: "Status",
      reason: "Invalid",
      details: { kind: "CustomResourceDefinition", group: "apiextensions.k8s.io" },
    });
    expect(r.json.details.causes).toHaveLength(causes.length);
    causes.forEach((c, i) => {
      expect(r.json.details.causes[i]).toMatchObject({ field: c.field, reason: c.reason });
      expect(r.json.details.causes[i].message).toMatch(c.message);
    });
    const stored = await server.request(
      "GET",
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}s.example.com`,
    );
    expect(stored.status).toBe(404);
  });

  it.each<[string, object]>([
    [
      "int-or-string and preserve-unknown-fields fields without type",
      obj({
        spec: obj({
          port: { "x-kubernetes-int-or-string": true },
          raw: { "x-kubernetes-preserve-unknown-fields": true },
        }),
      }),
    ],
    [
      "a rule calling a Kubernetes CEL library cel-js lacks",
      obj({
        spec: obj(
          { q: { type: "string" } },
          { "x-kubernetes-validations": [{ rule: "quantity(self.q).isGreaterThan(quantity('1'))" }] },
        ),
      }),
    ],
  ])("accepts %s", async (what, schema) => {
    const name = `ok${what.replace(/[^a-z]/g, "").slice(0, 20)}`;
    const r = await server.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
      body: crd(name, schema),
    });
    expect(r.status, r.text).toBe(201);
  });

  it("installed our CRDs and Karpenter's (Established)", async () => {
    const list = await server.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
    const names = list.json.items.map((i: any) => i.metadata.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "nodepools.karpenter.sh",
        "ec2nodeclasses.karpenter.k8s.aws",
        "nodetemplates.spotoptimizer.io",
      ]),
    );
  });
});
