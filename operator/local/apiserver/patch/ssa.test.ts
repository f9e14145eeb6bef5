// Unit tests of server-side apply: field ownership, removal of dropped fields, conflicts, force, associative lists.
import { describe, expect, it } from "vitest";
import { ApplyConflictError, recordUpdate, serverSideApply } from "./ssa.js";
import { builtinTypeInfo, schemaTypeInfo } from "./typeinfo.js";

const types = builtinTypeInfo("Deployment");
const now = "2026-01-01T00:00:00Z";
const scope = { statusSubresource: true };

function deployment(spec: Record<string, unknown>, labels?: Record<string, string>): Record<string, any> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", ...(labels ? { labels } : {}) },
    spec,
  };
}

const apply = (live: Record<string, any> | undefined, applied: Record<string, any>, manager: string, force = false) =>
  serverSideApply({ live, applied, manager, force, now, types, ...scope }).object;

describe("serverSideApply", () => {
  it("creates the object and records fieldsV1 with associative list keys", () => {
    const obj = apply(
      undefined,
      deployment(
        {
          replicas: 2,
          template: {
            spec: { containers: [{ name: "app", image: "nginx:1", ports: [{ containerPort: 80, protocol: "TCP" }] }] },
          },
        },
        { app: "web" },
      ),
      "ctl",
    );
    expect(obj.metadata.name).toBe("web");
    expect(obj.spec.replicas).toBe(2);
    expect(obj.metadata.managedFields).toEqual([
      {
        manager: "ctl",
        operation: "Apply",
        apiVersion: "apps/v1",
        time: now,
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:metadata": { "f:labels": { "f:app": {} } },
          "f:spec": {
            "f:replicas": {},
            "f:template": {
              "f:spec": {
                "f:containers": {
                  'k:{"name":"app"}': {
                    ".": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {
                      'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {}, "f:protocol": {} },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ]);
  });

  it("removes fields the manager applied before and omits now", () => {
    const first = apply(undefined, deployment({ replicas: 2, paused: true }, { app: "web", tier: "front" }), "ctl");
    const second = apply(first, deployment({ replicas: 2 }, { app: "web" }), "ctl");
    expect(second.spec).toEqual({ replicas: 2 });
    expect(second.metadata.labels).toEqual({ app: "web" });
    expect(second.metadata.managedFields[0].fieldsV1).toEqual({
      "f:metadata": { "f:labels": { "f:app": {} } },
      "f:spec": { "f:replicas": {} },
    });
  });

  it("keeps a map the manager owns itself while the applied configuration still sets fields inside it", () => {
    const first = apply(undefined, deployment({ strategy: { type: "Recreate" }, paused: true }), "ctl");
    // kubectl's client-side-apply migration writes Apply entries that own parents too (`"f:strategy":{".":{}}`).
    first.metadata.managedFields[0].fieldsV1 = {
      "f:spec": { "f:strategy": { ".": {}, "f:type": {} }, "f:paused": {} },
    };
    const second = apply(first, deployment({ strategy: { type: "Recreate" } }), "ctl");
    expect(second.spec).toEqual({ strategy: { type: "Recreate" } });
  });

  it("removes an omitted label even when another manager owns the labels map itself", () => {
    const created = deployment({ replicas: 1 }, { x: "1" });
    created.metadata.managedFields = recordUpdate({
      after: created,
      manager: "kubectl-client-side-apply",
      now,
      types,
      ...scope,
    });
    expect(created.metadata.managedFields[0].fieldsV1["f:metadata"]).toEqual({ "f:labels": { ".": {}, "f:x": {} } });
    const withY = apply(created, deployment({}, { y: "2" }), "ssa");
    expect(withY.metadata.labels).toEqual({ x: "1", y: "2" });
    const withoutY = apply(withY, deployment({}, {}), "ssa");
    expect(withoutY.metadata.labels).toEqual({ x: "1" });
  });

  it("keeps an omitted field that another manager also owns", () => {
    const first = apply(undefined, deployment({ replicas: 2, paused: true }), "a");
    const shared = apply(first, deployment({ paused: true }), "b");
    const after = apply(shared, deployment({ replicas: 2 }), "a");
    expect(after.spec).toEqual({ replicas: 2, paused: true });
  });

  it("removes an associative list item the manager no longer applies, keeping others' items", () => {
    const c = (name: string) => ({ name, image: `${name}:1` });
    const first = apply(undefined, deployment({ template: { spec: { containers: [c("a"), c("b")] } } }), "m1");
    const withOther = apply(first, deployment({ template: { spec: { containers: [c("z")] } } }), "m2");
    expect(withOther.spec.template.spec.containers.map((x: any) => x.name)).toEqual(["a", "b", "z"]);
    const dropped = apply(withOther, deployment({ template: { spec: { containers: [c("a")] } } }), "m1");
    expect(dropped.spec.template.spec.containers.map((x: any) => x.name)).toEqual(["a", "z"]);
  });

  it("conflicts on a field another manager owns with a different value, unless forced", () => {
    const first = apply(undefined, deployment({ replicas: 2 }), "owner");
    expect(() => apply(first, deployment({ replicas: 2 }), "same-value")).not.toThrow();
    let error: unknown;
    try {
      apply(first, deployment({ replicas: 5 }), "other");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ApplyConflictError);
    const status = (error as ApplyConflictError).status;
    expect(status.code).toBe(409);
    expect(status.reason).toBe("Conflict");
    expect(status.message).toBe('Apply failed with 1 conflict: conflict with "owner": .spec.replicas');
    expect(status.details?.causes).toEqual([
      { reason: "FieldManagerConflict", message: 'conflict with "owner"', field: ".spec.replicas" },
    ]);

    const forced = apply(first, deployment({ replicas: 5 }), "other", true);
    expect(forced.spec.replicas).toBe(5);
    expect(forced.metadata.managedFields.map((m: any) => m.manager)).toEqual(["other"]);
    // After force the old owner no longer owns replicas, so its next apply without replicas leaves it alone.
    const later = apply(forced, deployment({}), "owner");
    expect(later.spec.replicas).toBe(5);
  });

  it("lists every conflict grouped by manager, with Update managers shown with apiVersion and time", () => {
    const created = deployment({ replicas: 1, paused: false });
    created.metadata.managedFields = recordUpdate({ after: created, manager: "kubectl-edit", now, types, ...scope });
    expect(() => apply(created, deployment({ replicas: 3, paused: true }), "ctl")).toThrow(
      'Apply failed with 2 conflicts: conflicts with "kubectl-edit" using apps/v1 at 2026-01-01T00:00:00Z:\n- .spec.paused\n- .spec.replicas',
    );
  });

  it("gives an object without managedFields to before-first-apply on its first apply", () => {
    const live = deployment({ replicas: 1 });
    expect(() => apply(live, deployment({ replicas: 4 }), "ctl")).toThrow(
      /conflict with "before-first-apply" using apps\/v1/,
    );
  });

  it("ignores status on the main resource and tracks only status on /status", () => {
    const obj = apply(undefined, { ...deployment({ replicas: 1 }), status: { replicas: 9 } }, "ctl");
    expect(obj.status).toBeUndefined();
    const withStatus = serverSideApply({
      live: obj,
      applied: { ...deployment({}), status: { replicas: 1 } },
      manager: "ctl",
      force: false,
      now,
      types,
      statusSubresource: true,
      subresource: "status",
    });
    expect(withStatus.object.status).toEqual({ replicas: 1 });
    expect(withStatus.object.spec).toEqual({ replicas: 1 });
    expect(withStatus.managedFields.find((m) => m.subresource === "status")?.fieldsV1).toEqual({
      "f:status": { "f:replicas": {} },
    });
  });

  it("uses x-kubernetes-list-map-keys from a CRD schema and treats other lists as atomic", () => {
    const crdTypes = schemaTypeInfo({
      type: "object",
      properties: {
        spec: {
          type: "object",
          properties: {
            requirements: {
              type: "array",
              "x-kubernetes-list-type": "map",
              "x-kubernetes-list-map-keys": ["key"],
              items: { type: "object" },
            },
            families: { type: "array", items: { type: "string" } },
          },
        },
      },
    });
    const cr = (spec: unknown) => ({ apiVersion: "x.io/v1", kind: "T", metadata: { name: "t" }, spec });
    const out = serverSideApply({
      applied: cr({ requirements: [{ key: "a", values: ["1"] }], families: ["m5"] }),
      manager: "m",
      force: false,
      now,
      types: crdTypes,
      statusSubresource: true,
    });
    expect(out.managedFields[0]!.fieldsV1).toEqual({
      "f:spec": { "f:families": {}, "f:requirements": { 'k:{"key":"a"}': { ".": {}, "f:key": {}, "f:values": {} } } },
    });
  });
});

describe("list order", () => {
  const c = (name: string) => ({ name, image: `${name}:1` });
  const names = (obj: any): string[] => obj.spec.template.spec.containers.map((x: any) => x.name);
  const withContainers = (list: object[]) => deployment({ template: { spec: { containers: list } } });

  it("keeps the applied order for applied items and live-only items in place (structured-merge-diff)", () => {
    const live = apply(undefined, withContainers([c("a"), c("b"), c("c")]), "other");
    expect(names(apply(live, withContainers([c("c"), c("a")]), "mine"))).toEqual(["b", "c", "a"]);
    expect(names(apply(live, withContainers([c("x"), c("b")]), "mine"))).toEqual(["a", "x", "b", "c"]);
    expect(names(apply(live, withContainers([c("c"), c("z")]), "mine"))).toEqual(["a", "b", "c", "z"]);
  });
});

describe("no-op writes", () => {
  it("a repeated identical apply returns the live object with unchanged managedFields times", () => {
    const first = apply(undefined, deployment({ replicas: 2 }), "ctl");
    const again = serverSideApply({
      live: first,
      applied: deployment({ replicas: 2 }),
      manager: "ctl",
      force: true,
      now: "2030-01-01T00:00:00Z",
      types,
      ...scope,
    });
    expect(again.object).toEqual(first);
    expect(again.managedFields[0]!.time).toBe(now);
  });

  it("an update that changes nothing keeps the entries and their times", () => {
    const obj = deployment({ replicas: 2 });
    obj.metadata.managedFields = recordUpdate({ after: obj, manager: "ed", now, types, ...scope });
    const same = recordUpdate({
      before: obj,
      after: structuredClone(obj),
      manager: "other",
      now: "2030-01-01T00:00:00Z",
      types,
      ...scope,
    });
    expect(same).toEqual(obj.metadata.managedFields);
  });
});

describe("recordUpdate", () => {
  it("gives changed fields to the updater and takes them from the previous owner", () => {
    const applied = apply(undefined, deployment({ replicas: 2, paused: true }), "ctl");
    const edited = structuredClone(applied);
    edited.spec.replicas = 3;
    edited.metadata.labels = { x: "y" };
    const managedFields = recordUpdate({
      before: applied,
      after: edited,
      manager: "kubectl-edit",
      now,
      types,
      ...scope,
    });
    expect(managedFields).toEqual([
      {
        manager: "ctl",
        operation: "Apply",
        apiVersion: "apps/v1",
        time: now,
        fieldsType: "FieldsV1",
        fieldsV1: { "f:spec": { "f:paused": {} } },
      },
      {
        manager: "kubectl-edit",
        operation: "Update",
        apiVersion: "apps/v1",
        time: now,
        fieldsType: "FieldsV1",
        fieldsV1: { "f:metadata": { "f:labels": { ".": {}, "f:x": {} } }, "f:spec": { "f:replicas": {} } },
      },
    ]);
    // The updater now owns replicas: a later apply by ctl with another value conflicts with it.
    edited.metadata.managedFields = managedFields;
    expect(() => apply(edited, deployment({ replicas: 2, paused: true }), "ctl")).toThrow(ApplyConflictError);
  });

  it("records the status subresource separately", () => {
    const before = deployment({ replicas: 1 });
    const after = { ...structuredClone(before), status: { readyReplicas: 1 } };
    expect(
      recordUpdate({ before, after, manager: "kcm", now, types, statusSubresource: true, subresource: "status" }),
    ).toEqual([
      {
        manager: "kcm",
        operation: "Update",
        apiVersion: "apps/v1",
        time: now,
        fieldsType: "FieldsV1",
        fieldsV1: { "f:status": { ".": {}, "f:readyReplicas": {} } },
        subresource: "status",
      },
    ]);
  });
});
