// Unit tests of JSON merge patch, JSON patch and strategic merge patch.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../status.js";
import {
  applyJsonPatch,
  builtinTypeInfo,
  defaultFieldManager,
  jsonMergePatch,
  serverSideApply,
  strategicMergePatch,
} from "./index.js";

describe("jsonMergePatch (RFC 7386)", () => {
  it("merges objects, deletes on null and replaces arrays", () => {
    const target = { a: "b", c: { d: "e", f: "g" }, list: [1, 2] };
    expect(jsonMergePatch(target, { a: "z", c: { f: null }, list: [3] })).toEqual({ a: "z", c: { d: "e" }, list: [3] });
    expect(target.c.f).toBe("g");
  });
});

describe("applyJsonPatch (RFC 6902)", () => {
  const doc = { metadata: { labels: { a: "1" } }, spec: { list: ["x", "y"] } };

  it("applies add, replace, remove, move, copy and test", () => {
    const out = applyJsonPatch(doc, [
      { op: "test", path: "/metadata/labels/a", value: "1" },
      { op: "add", path: "/metadata/labels/b~1c", value: "2" },
      { op: "replace", path: "/spec/list/0", value: "X" },
      { op: "add", path: "/spec/list/-", value: "z" },
      { op: "remove", path: "/spec/list/1" },
      { op: "copy", from: "/metadata/labels/a", path: "/spec/copied" },
      { op: "move", from: "/spec/copied", path: "/spec/moved" },
    ]);
    expect(out).toEqual({ metadata: { labels: { a: "1", "b/c": "2" } }, spec: { list: ["X", "z"], moved: "1" } });
  });

  it("answers 422 when a test fails or a path is missing, and 400 for a non-array body", () => {
    const fail = (body: unknown): ApiError => {
      try {
        applyJsonPatch(doc, body);
      } catch (err) {
        return err as ApiError;
      }
      throw new Error("no error");
    };
    const failed = fail([{ op: "test", path: "/metadata/labels/a", value: "2" }]);
    expect(failed.code).toBe(422);
    expect(failed.status.details?.causes?.[0]?.message).toBe("testing value /metadata/labels/a failed: test failed");
    expect(fail([{ op: "replace", path: "/spec/nope", value: 1 }]).code).toBe(422);
    expect(fail([{ op: "remove", path: "/a/b/c" }]).code).toBe(422);
    expect(fail({ op: "add" }).code).toBe(400);
  });
});

describe("strategicMergePatch", () => {
  const pod = {
    metadata: { finalizers: ["a"], ownerReferences: [{ uid: "u1", name: "rs" }] },
    spec: {
      containers: [
        { name: "app", image: "app:1", env: [{ name: "A", value: "1" }], ports: [{ containerPort: 80 }] },
        { name: "side", image: "side:1" },
      ],
      tolerations: [{ key: "t1", operator: "Exists" }],
      nodeSelector: { zone: "a", disk: "ssd" },
    },
    status: { conditions: [{ type: "Ready", status: "False" }] },
  };
  const types = builtinTypeInfo("Pod");

  it("merges containers and env by name, conditions by type, finalizers as a set; replaces tolerations", () => {
    const out = strategicMergePatch(
      pod,
      {
        metadata: { finalizers: ["b"] },
        spec: {
          containers: [{ name: "app", image: "app:2", env: [{ name: "B", value: "2" }] }],
          tolerations: [{ key: "t2", operator: "Exists" }],
          nodeSelector: { zone: "b" },
        },
        status: { conditions: [{ type: "Ready", status: "True" }] },
      },
      types,
    ) as any;
    expect(out.metadata.finalizers).toEqual(["a", "b"]);
    expect(out.spec.containers).toEqual([
      {
        name: "app",
        image: "app:2",
        env: [
          { name: "A", value: "1" },
          { name: "B", value: "2" },
        ],
        ports: [{ containerPort: 80 }],
      },
      { name: "side", image: "side:1" },
    ]);
    expect(out.spec.tolerations).toEqual([{ key: "t2", operator: "Exists" }]);
    expect(out.spec.nodeSelector).toEqual({ zone: "b" });
    expect(out.status.conditions).toEqual([{ type: "Ready", status: "True" }]);
  });

  it("honours $patch delete/replace, $deleteFromPrimitiveList and $retainKeys", () => {
    const out = strategicMergePatch(
      pod,
      {
        metadata: { "$deleteFromPrimitiveList/finalizers": ["a"], ownerReferences: [{ uid: "u1", $patch: "delete" }] },
        spec: { containers: [{ name: "side", $patch: "delete" }], $retainKeys: ["containers"] },
        status: { $patch: "replace", phase: "Running" },
      },
      types,
    ) as any;
    expect(out.metadata.finalizers).toEqual([]);
    expect(out.metadata.ownerReferences).toEqual([]);
    expect(out.spec).toEqual({ containers: [pod.spec.containers[0]] });
    expect(out.status).toEqual({ phase: "Running" });
    const replaced = strategicMergePatch(
      pod,
      { spec: { containers: [{ $patch: "replace" }, { name: "only", image: "o" }] } },
      types,
    ) as any;
    expect(replaced.spec.containers).toEqual([{ name: "only", image: "o" }]);
  });

  it("merges Deployment pod template containers by name", () => {
    const dep = {
      spec: {
        template: {
          spec: {
            containers: [
              { name: "a", image: "1" },
              { name: "b", image: "1" },
            ],
          },
        },
      },
    };
    const out = strategicMergePatch(
      dep,
      { spec: { template: { spec: { containers: [{ name: "b", image: "2" }] } } } },
      builtinTypeInfo("Deployment"),
    ) as any;
    expect(out.spec.template.spec.containers).toEqual([
      { name: "a", image: "1" },
      { name: "b", image: "2" },
    ]);
  });
});

describe("defaultFieldManager", () => {
  it("takes the User-Agent up to the first slash, as the apiserver does", () => {
    expect(defaultFieldManager("kubectl-client-side-apply/v1.33.1 (linux/amd64) kubernetes/8adc0f0")).toBe(
      "kubectl-client-side-apply",
    );
    expect(defaultFieldManager(undefined)).toBe("");
  });
});

describe("patch properties", () => {
  const key = fc.constantFrom("a", "b", "c");
  const scalar = fc.oneof(fc.string({ maxLength: 2 }), fc.integer({ min: 0, max: 3 }));
  const doc = fc.dictionary(key, fc.oneof(scalar, fc.dictionary(key, scalar, { maxKeys: 2 })), { maxKeys: 3 });
  const patch = fc.dictionary(
    key,
    fc.oneof(scalar, fc.constant(null), fc.dictionary(key, fc.oneof(scalar, fc.constant(null)), { maxKeys: 2 })),
    { maxKeys: 3 },
  );

  it("merge patches are idempotent, and strategic merge equals merge patch on list-free documents", () => {
    fc.assert(
      fc.property(doc, patch, (target, p) => {
        const once = jsonMergePatch(target, p);
        expect(jsonMergePatch(once, p)).toEqual(once);
        expect(strategicMergePatch(target, p, builtinTypeInfo("ConfigMap"))).toEqual(once);
      }),
      { numRuns: 300 },
    );
  });
});

describe("robustness", () => {
  const onlyApiErrors = (f: () => unknown): void => {
    try {
      f();
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
    }
  };
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: { containers: [{ name: "a", image: "x" }] },
  };

  it("arbitrary JSON patches, strategic patches and apply bodies fail with API errors, never crash", () => {
    const op = fc.record({
      op: fc.constantFrom("add", "remove", "replace", "move", "copy", "test", "nope"),
      path: fc.constantFrom(
        "",
        "/",
        "/spec",
        "/spec/containers/0",
        "/spec/containers/-",
        "/a/b",
        "/metadata/name",
        "x",
      ),
      from: fc.constantFrom("/spec", "/nope", "/spec/containers/9"),
      value: fc.jsonValue({ maxDepth: 2 }),
    });
    fc.assert(
      fc.property(
        fc.oneof(fc.array(op, { maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })),
        fc.jsonValue({ maxDepth: 4 }),
        (jsonPatch, anything) => {
          onlyApiErrors(() => applyJsonPatch(pod, jsonPatch));
          onlyApiErrors(() => strategicMergePatch(pod, anything, builtinTypeInfo("Pod")));
          const applied = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: anything } as Record<
            string,
            unknown
          >;
          onlyApiErrors(() =>
            serverSideApply({
              live: structuredClone(pod),
              applied,
              manager: "m",
              force: false,
              now: "t",
              types: builtinTypeInfo("Pod"),
              statusSubresource: true,
            }),
          );
        },
      ),
      { numRuns: 400 },
    );
  });
});
