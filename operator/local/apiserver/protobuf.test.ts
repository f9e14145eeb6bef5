// Unit tests of the protobuf request decoder with bodies captured from kubectl 1.33 and hand-encoded ones.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeKubeProtobuf, encodeKubeProtobuf } from "./protobuf.js";
import { builtinResourceTypes } from "./registry.js";
import { ApiError } from "./status.js";

// Bodies kubectl 1.33 sent for `create namespace acme`, `create configmap cfg -n acme --from-literal=a=1
// --from-literal=b=two` and `create secret generic sec -n acme --from-literal=pw=s3cret --type=Opaque`.
const namespaceBody =
  "6b3873000a0f0a02763112094e616d657370616365121c0a140a0461636d6512001a0022002a0032003800420012001a020a001a002200";
const configMapBody =
  "6b3873000a0f0a0276311209436f6e6669674d6170122b0a170a0363666712001a0461636d6522002a0032003800420012060a016112013112080a0162120374776f1a002200";
const secretBody =
  "6b3873000a0c0a0276311206536563726574122f0a170a0373656312001a0461636d6522002a00320038004200120c0a02707712067333637265741a064f70617175651a002200";

// `kubectl create deployment web --image=nginx`.
const deploymentBody =
  "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412ab010a1f0a0377656212001a0022002a003200380042005a0a0a036170701203776562127a0801120c0a0a0a0361707012037765621a600a1c0a0012001a0022002a003200380042005a0a0a036170701203776562124012220a056e67696e7812056e67696e782a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200";

// `kubectl create pdb web -n acme --selector=app=web --min-available=2` and
// `kubectl create pdb api -n acme --selector='tier in (api,db)' --max-unavailable=50%`.
const pdbMinBody =
  "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e427564676574123d0a170a0377656212001a0461636d6522002a0032003800420012160a06080010021a00120c0a0a0a0361707012037765621a0a080018002000280030001a002200";
const pdbMaxBody =
  "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e42756467657412490a170a0361706912001a0461636d6522002a003200380042001222121512130a04746965721202496e1a036170691a0264621a09080110001a033530251a0a080018002000280030001a002200";

const decode = (hex: string): Record<string, unknown> => decodeKubeProtobuf(Buffer.from(hex, "hex"));

/** Minimal protobuf writer for hand-made bodies. */
const ld = (field: number, bytes: Buffer): Buffer =>
  Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
const str = (field: number, s: string): Buffer => ld(field, Buffer.from(s));
const envelope = (apiVersion: string, kind: string, raw: Buffer): Buffer =>
  Buffer.concat([
    Buffer.from([0x6b, 0x38, 0x73, 0x00]),
    ld(1, Buffer.concat([str(1, apiVersion), str(2, kind)])),
    ld(2, raw),
  ]);

function failure(body: Buffer): ApiError {
  try {
    decodeKubeProtobuf(body);
  } catch (err) {
    return err as ApiError;
  }
  throw new Error("expected a failure");
}

describe("decodeKubeProtobuf", () => {
  it("decodes kubectl's Namespace, ConfigMap and Secret bodies, omitting Go's empty scalars", () => {
    expect(decode(namespaceBody)).toEqual({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "acme" },
      spec: {},
      status: {},
    });
    expect(decode(configMapBody)).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cfg", namespace: "acme" },
      data: { a: "1", b: "two" },
    });
    expect(decode(secretBody)).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "sec", namespace: "acme" },
      data: { pw: Buffer.from("s3cret").toString("base64") },
      type: "Opaque",
    });
  });

  it("decodes kubectl's Deployment body, dropping Go's zero-valued non-pointer fields", () => {
    expect(decode(deploymentBody)).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", labels: { app: "web" } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "nginx", image: "nginx", resources: {} }] },
        },
        strategy: {},
      },
      status: {},
    });
  });

  it("decodes kubectl's PodDisruptionBudget bodies: int-or-string as a number or a string, set-based selectors", () => {
    expect(decode(pdbMinBody)).toEqual({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "web", namespace: "acme" },
      spec: { minAvailable: 2, selector: { matchLabels: { app: "web" } } },
      // These status counts are not omitempty upstream: Go's JSON form carries the zeros.
      status: { currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 0 },
    });
    expect(decode(pdbMaxBody)).toEqual({
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "api", namespace: "acme" },
      spec: {
        maxUnavailable: "50%",
        selector: { matchExpressions: [{ key: "tier", operator: "In", values: ["api", "db"] }] },
      },
      status: { currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 0 },
    });
  });

  it("decodes a policy/v1 Eviction with delete options, labels and a grace period of 0", () => {
    const label = ld(11, Buffer.concat([str(1, "app"), str(2, "web")]));
    const meta = Buffer.concat([str(1, "p1"), str(3, "acme"), label]);
    const options = Buffer.from([0x08, 0x00]); // gracePeriodSeconds: 0 (a pointer upstream: kept)
    expect(decodeKubeProtobuf(envelope("policy/v1", "Eviction", Buffer.concat([ld(1, meta), ld(2, options)])))).toEqual(
      {
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name: "p1", namespace: "acme", labels: { app: "web" } },
        deleteOptions: { gracePeriodSeconds: 0 },
      },
    );
  });

  it("refuses kinds without a protobuf encoding with 415, skips unknown field numbers as Go does, a bad envelope is 400", () => {
    const storageClass = failure(envelope("storage.k8s.io/v1", "StorageClass", Buffer.alloc(0)));
    expect(storageClass.code).toBe(415);
    expect(storageClass.status.message).toContain("storage.k8s.io/v1/StorageClass");
    expect(failure(envelope("example.com/v1", "Widget", Buffer.alloc(0))).code).toBe(415);
    // A field number this release does not know (a newer client's field) is skipped, the rest is kept.
    const meta = ld(1, str(1, "cfg"));
    expect(decodeKubeProtobuf(envelope("v1", "ConfigMap", Buffer.concat([meta, str(9, "x")])))).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cfg" },
    });
    expect(failure(Buffer.from("{}")).code).toBe(400);
    expect(failure(Buffer.from(namespaceBody.slice(0, 40), "hex")).code).toBe(400);
  });
});

describe("decodeKubeProtobuf robustness", () => {
  it("answers arbitrary or corrupted bodies with 400/415, never a crash", () => {
    const captured = Buffer.from(secretBody, "hex");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(captured.length - 1), fc.nat(255), (random, at, byte) => {
        const corrupted = Buffer.from(captured);
        corrupted[at] = byte;
        for (const body of [Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00]), random]), corrupted]) {
          try {
            decodeKubeProtobuf(body);
          } catch (err) {
            expect(err).toBeInstanceOf(ApiError);
            expect([400, 415]).toContain((err as ApiError).code);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("encodeKubeProtobuf", () => {
  const served = builtinResourceTypes().filter((rt) => rt.kind !== "CustomResourceDefinition");
  const apiVersionOf = (rt: { group: string; versions: { name: string }[] }): string =>
    rt.group ? `${rt.group}/${rt.versions[0]!.name}` : rt.versions[0]!.name;

  it.each(served.map((rt) => [apiVersionOf(rt), rt.kind, rt.verbs.includes("list") ? rt.listKind : undefined]))(
    "%s %s and its list round-trip through protobuf",
    (apiVersion, kind, listKind) => {
      const object = {
        apiVersion,
        kind,
        metadata: {
          name: "x",
          namespace: "ns",
          uid: "5b0f1c9e-0000-4000-8000-000000000001",
          resourceVersion: "42",
          generation: 3,
          creationTimestamp: "2026-01-02T03:04:05Z",
          labels: { app: "web" },
          ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: "p", uid: "u", controller: true }],
          managedFields: [
            {
              manager: "kubectl",
              operation: "Update",
              apiVersion,
              time: "2026-01-02T03:04:05Z",
              fieldsType: "FieldsV1",
              fieldsV1: { "f:metadata": { "f:labels": { "f:app": {} } } },
            },
          ],
        },
      };
      expect(decodeKubeProtobuf(encodeKubeProtobuf(object)!)).toEqual(object);
      if (!listKind) return;
      const list = { apiVersion, kind: listKind, metadata: { resourceVersion: "42" }, items: [object] };
      const { apiVersion: _a, kind: _k, ...item } = object;
      expect(decodeKubeProtobuf(encodeKubeProtobuf(list)!)).toEqual({ ...list, items: [item] });
    },
  );

  it("round-trips the value types with their own JSON form", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", deletionTimestamp: "2026-01-02T03:04:05Z", deletionGracePeriodSeconds: 0 },
      spec: {
        containers: [
          {
            name: "c",
            image: "x:1",
            resources: { requests: { cpu: "250m", memory: "64Mi" }, limits: { "nvidia.com/gpu": "1" } },
            ports: [{ containerPort: 0, protocol: "TCP" }],
            readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 5 },
            livenessProbe: { tcpSocket: { port: 8080 } },
          },
        ],
        priority: 0,
        enableServiceLinks: false,
        tolerations: [{ key: "k", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 300 }],
      },
      status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
    };
    expect(decodeKubeProtobuf(encodeKubeProtobuf(pod)!)).toEqual(pod);
    const event = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "e", namespace: "ns" },
      eventTime: "2026-01-02T03:04:05.123456Z",
      reportingController: "c",
      reportingInstance: "i",
      action: "Bound",
      reason: "Scheduled",
      type: "Normal",
    };
    expect(decodeKubeProtobuf(encodeKubeProtobuf(event)!)).toEqual(event);
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { k: "AAEC/w==" }, type: "x" };
    expect(decodeKubeProtobuf(encodeKubeProtobuf(secret)!)).toEqual(secret);
  });

  it("has no encoding for custom resources (they are answered as JSON)", () => {
    expect(encodeKubeProtobuf({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" })).toBeUndefined();
  });
});
