// Unit tests of the no-op detection behind the apply helpers (pure: desired vs current + managedFields).
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../kube/client.js";
import { FIELD_MANAGER, isApplied, isSubset, ownedFieldPaths } from "./apply.js";

const desired = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "a", labels: { app: "web" } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: "c", image: "nginx" }] } } },
};

const fieldsV1 = {
  "f:metadata": { "f:labels": { "f:app": {} } },
  "f:spec": {
    "f:replicas": {},
    "f:template": { "f:spec": { "f:containers": { 'k:{"name":"c"}': { ".": {}, "f:image": {}, "f:name": {} } } } },
  },
};

function current(
  overrides: { fields?: Record<string, unknown>; manager?: string; subresource?: string; replicas?: number } = {},
): KubeObject {
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      resourceVersion: "7",
      managedFields: [
        { manager: "kubectl", operation: "Update" as const, fieldsV1: { "f:spec": { "f:paused": {} } } },
        {
          manager: overrides.manager ?? FIELD_MANAGER,
          operation: "Apply" as const,
          fieldsV1: overrides.fields ?? fieldsV1,
          subresource: overrides.subresource,
        },
      ],
    },
    spec: {
      ...desired.spec,
      replicas: overrides.replicas ?? 2,
      paused: false,
      template: { spec: { containers: [{ name: "c", image: "nginx", imagePullPolicy: "Always" }] } },
    },
  };
}

describe("isApplied", () => {
  it("is true when our manager applied exactly these fields and the values are in place (server defaults allowed)", () => {
    expect(isApplied(desired, current())).toBe(true);
  });

  it("is false when a value differs", () => {
    expect(isApplied(desired, current({ replicas: 3 }))).toBe(false);
  });

  it("is false when we own a field we no longer apply (SSA must remove it)", () => {
    const fields = { ...fieldsV1, "f:metadata": { "f:labels": { "f:app": {}, "f:old": {} } } };
    expect(isApplied(desired, current({ fields }))).toBe(false);
  });

  it("is false when another manager's Apply entry is the only one, or it is for another subresource", () => {
    expect(isApplied(desired, current({ manager: "someone-else" }))).toBe(false);
    expect(isApplied(desired, current({ subresource: "status" }))).toBe(false);
    expect(isApplied(desired, current({ subresource: "status" }), { subresource: "status" })).toBe(true);
  });
});

describe("ownedFieldPaths", () => {
  it("cuts list entries at the list field", () => {
    expect(ownedFieldPaths(fieldsV1)).toEqual([
      "metadata.labels.app",
      "spec.replicas",
      "spec.template.spec.containers",
    ]);
  });
});

describe("isSubset", () => {
  it("compares objects by subset and arrays by length and element", () => {
    expect(isSubset({ a: 1 }, { a: 1, b: 2 })).toBe(true);
    expect(isSubset({ a: [1, 2] }, { a: [1, 2, 3] })).toBe(false);
    expect(isSubset({ a: [{ x: 1 }] }, { a: [{ x: 1, y: 2 }] })).toBe(true);
    expect(isSubset({ a: { b: "1" } }, { a: { b: 1 } })).toBe(false);
    expect(isSubset({ a: 1 }, undefined)).toBe(false);
  });
});
