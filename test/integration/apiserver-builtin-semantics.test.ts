// Built-in object semantics as kube-apiserver's typed decoder has them: stringData, canonical quantities, unknown fields, decode errors, zero values, no-op updates.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { startTestCluster } from "../support/cluster.js";

let server: LocalApiServer;

beforeAll(async () => {
  server = await startTestCluster();
  await server.request("POST", "/api/v1/namespaces", { body: { metadata: { name: "sem" } } });
});

afterAll(async () => {
  await server?.stop();
});

const b64 = (s: string): string => Buffer.from(s).toString("base64");
const secrets = "/api/v1/namespaces/sem/secrets";
const MERGE = { "Content-Type": "application/merge-patch+json" };

describe("Secret stringData is write-only and merged into data", () => {
  it.each([
    {
      write: "create",
      run: () => server.request("POST", secrets, { body: { metadata: { name: "s1" }, stringData: { pw: "a" } } }),
      name: "s1",
      data: { pw: b64("a") },
    },
    {
      write: "update",
      run: async () => {
        await server.request("POST", secrets, {
          body: { metadata: { name: "s2" }, data: { pw: b64("a"), u: b64("x") } },
        });
        return server.request("PUT", `${secrets}/s2`, {
          body: { metadata: { name: "s2" }, data: { pw: b64("a"), u: b64("x") }, stringData: { pw: "b" } },
        });
      },
      name: "s2",
      data: { pw: b64("b"), u: b64("x") },
    },
    {
      write: "merge patch",
      run: async () => {
        await server.request("POST", secrets, { body: { metadata: { name: "s3" }, data: { u: b64("x") } } });
        return server.request("PATCH", `${secrets}/s3`, { body: { stringData: { pw: "c" } }, headers: MERGE });
      },
      name: "s3",
      data: { pw: b64("c"), u: b64("x") },
    },
  ])("$write", async ({ run, name, data }) => {
    const res = await run();
    expect(res.status).toBeLessThan(300);
    expect(res.json.stringData).toBeUndefined();
    const stored = await server.request("GET", `${secrets}/${name}`);
    expect(stored.json.data).toEqual(data);
    expect(stored.json.stringData).toBeUndefined();
  });
});

describe("quantities are stored in canonical form", () => {
  it.each([
    ["1000m", "1"],
    ["0.5", "500m"],
    [0.25, "250m"],
    ["1024Mi", "1Gi"],
    ["1.5Gi", "1536Mi"],
    ["2000", "2k"],
    ["1e3", "1e3"],
    ["128974848", "128974848"],
  ])("%s is stored as %s", async (input, canonical) => {
    const name = `q-${String(input)
      .replace(/[^a-z0-9]/gi, "")
      .toLowerCase()}`;
    const res = await server.request("POST", "/api/v1/namespaces/sem/pods", {
      body: {
        metadata: { name },
        spec: { containers: [{ name: "c", image: "x:1", resources: { requests: { cpu: input, memory: input } } }] },
      },
    });
    expect(res.status).toBe(201);
    expect(res.json.spec.containers[0].resources.requests).toEqual({ cpu: canonical, memory: canonical });
  });
});

describe("unknown fields and decode errors", () => {
  it("drops unknown fields of built-ins with a Warning header (fieldValidation unset or Warn)", async () => {
    const res = await server.request("POST", "/api/v1/namespaces/sem/configmaps", {
      body: { metadata: { name: "cm-unknown" }, data: { a: "1" }, extra: 1, spec: { x: 1 } },
    });
    expect(res.status).toBe(201);
    expect(res.headers.warning).toBe('299 - "unknown field \\"extra\\"", 299 - "unknown field \\"spec\\""');
    const stored = await server.request("GET", "/api/v1/namespaces/sem/configmaps/cm-unknown");
    expect(stored.json).not.toHaveProperty("extra");
    expect(stored.json).not.toHaveProperty("spec");
    expect(stored.json.data).toEqual({ a: "1" });
  });

  it("knows the fields beside an inlined struct (Volume.name, Probe thresholds, IngressRule.host) under Strict", async () => {
    const res = await server.request("POST", "/apis/apps/v1/namespaces/sem/deployments?fieldValidation=Strict", {
      body: {
        metadata: { name: "inline-fields" },
        spec: {
          selector: { matchLabels: { app: "i" } },
          template: {
            metadata: { labels: { app: "i" } },
            spec: {
              containers: [
                {
                  name: "c",
                  image: "x:1",
                  livenessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 7, failureThreshold: 2 },
                },
              ],
              volumes: [{ name: "tmp", emptyDir: {} }],
            },
          },
        },
      },
    });
    expect(res.status).toBe(201);
    expect(res.json.spec.template.spec.volumes).toEqual([{ name: "tmp", emptyDir: {} }]);
    expect(res.json.spec.template.spec.containers[0].livenessProbe).toMatchObject({
      periodSeconds: 7,
      failureThreshold: 2,
    });
    const ingress = await server.request(
      "POST",
      "/apis/networking.k8s.io/v1/namespaces/sem/ingresses?fieldValidation=Strict",
      {
        body: { metadata: { name: "inline-host" }, spec: { rules: [{ host: "a.example.com" }] } },
      },
    );
    expect(ingress.status).toBe(201);
    expect(ingress.json.spec.rules).toEqual([{ host: "a.example.com" }]);
    // An unknown key next to inlined fields is still one.
    const bad = await server.request("POST", "/api/v1/namespaces/sem/pods?fieldValidation=Strict", {
      body: {
        metadata: { name: "inline-bad" },
        spec: { containers: [{ name: "c", image: "x:1" }], volumes: [{ name: "v", emptyDir: {}, colour: "red" }] },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toBe('strict decoding error: unknown field "spec.volumes[0].colour"');
  });

  it.each([
    {
      what: "an unknown field under fieldValidation=Strict",
      path: "/api/v1/namespaces/sem/configmaps?fieldValidation=Strict",
      body: { metadata: { name: "bad-strict" }, datta: { a: "1" } },
      message: 'strict decoding error: unknown field "datta"',
      get: "/api/v1/namespaces/sem/configmaps/bad-strict",
    },
    {
      what: "bad base64 in Secret data",
      path: secrets,
      body: { metadata: { name: "bad-b64" }, data: { pw: "not base64!" } },
      message: "illegal base64 data at input byte 3",
      get: `${secrets}/bad-b64`,
    },
    {
      what: "a string where an int32 belongs",
      path: "/apis/apps/v1/namespaces/sem/deployments",
      body: {
        metadata: { name: "bad-type" },
        spec: { replicas: "3", selector: { matchLabels: { a: "b" } }, template: {} },
      },
      message: "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32",
      get: "/apis/apps/v1/namespaces/sem/deployments/bad-type",
    },
    {
      what: "an invalid quantity",
      path: "/api/v1/namespaces/sem/pods",
      body: {
        metadata: { name: "bad-q" },
        spec: { containers: [{ name: "c", image: "x", resources: { limits: { cpu: "lots" } } }] },
      },
      message: "quantities must match the regular expression",
      get: "/api/v1/namespaces/sem/pods/bad-q",
    },
    {
      what: "a map where a list belongs",
      path: "/api/v1/namespaces/sem/pods",
      body: { metadata: { name: "bad-list" }, spec: { containers: { name: "c" } } },
      message: "json: cannot unmarshal object into Go struct field PodSpec.spec.containers",
      get: "/api/v1/namespaces/sem/pods/bad-list",
    },
  ])("$what is 400 BadRequest and stores nothing", async ({ path, body, message, get }) => {
    const res = await server.request("POST", path, { body });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ kind: "Status", reason: "BadRequest" });
    expect(res.json.message).toContain(message);
    expect((await server.request("GET", get)).status).toBe(404);
  });
});

describe("status structs carry their non-omitempty zero values", () => {
  it.each([
    {
      path: "/apis/apps/v1/namespaces/sem/replicasets",
      body: {
        metadata: { name: "rs" },
        spec: {
          selector: { matchLabels: { a: "b" } },
          template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "x" }] } },
        },
      },
      status: { replicas: 0 },
    },
    {
      path: "/apis/apps/v1/namespaces/sem/statefulsets",
      body: {
        metadata: { name: "sts" },
        spec: {
          selector: { matchLabels: { a: "s" } },
          template: { metadata: { labels: { a: "s" } }, spec: { containers: [{ name: "c", image: "x" }] } },
        },
      },
      status: { replicas: 0, availableReplicas: 0 },
    },
  ])("$path", async ({ path, body, status }) => {
    const res = await server.request("POST", path, { body });
    expect(res.status).toBe(201);
    expect(res.json.status).toEqual(status);
  });
});

describe("an update that changes nothing keeps the resourceVersion", () => {
  it("equal timestamps and quantities written in another form are no change", async () => {
    const created = await server.request("POST", "/api/v1/namespaces/sem/events", {
      body: {
        metadata: { name: "ev1" },
        involvedObject: { kind: "Pod", name: "p", namespace: "sem" },
        reason: "Tested",
        firstTimestamp: "2026-01-02T03:04:05Z",
        lastTimestamp: "2026-01-02T03:04:05Z",
        count: 1,
      },
    });
    expect(created.status).toBe(201);
    const rv = created.json.metadata.resourceVersion;
    const again = await server.request("PUT", "/api/v1/namespaces/sem/events/ev1", {
      body: { ...created.json, firstTimestamp: "2026-01-02T04:04:05+01:00", lastTimestamp: "2026-01-02T03:04:05.000Z" },
    });
    expect(again.status).toBe(200);
    expect(again.json.metadata.resourceVersion).toBe(rv);
    expect(again.json.firstTimestamp).toBe("2026-01-02T03:04:05Z");

    const pod = await server.request("GET", "/api/v1/namespaces/sem/pods/q-1000m");
    const spec = structuredClone(pod.json.spec);
    spec.containers[0].resources.requests = { cpu: "1000m", memory: "1000m" };
    const same = await server.request("PUT", "/api/v1/namespaces/sem/pods/q-1000m", { body: { ...pod.json, spec } });
    expect(same.status).toBe(200);
    expect(same.json.metadata.resourceVersion).toBe(pod.json.metadata.resourceVersion);
  });
});

describe("Leases update as upstream's strategy has them", () => {
  const leases = "/apis/coordination.k8s.io/v1/namespaces/sem/leases";
  it("a PUT of one that does not exist creates it (201); one without a resourceVersion is refused, a ConfigMap's not", async () => {
    const made = await server.request("PUT", `${leases}/l1`, {
      body: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "l1" },
        spec: { holderIdentity: "a" },
      },
    });
    expect(made.status).toBe(201);
    expect(made.json.spec.holderIdentity).toBe("a");
    const blind = await server.request("PUT", `${leases}/l1`, {
      body: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "l1" },
        spec: { holderIdentity: "b" },
      },
    });
    expect(blind.status).toBe(422);
    expect(blind.json.message).toContain("must be specified for an update");
    const guarded = await server.request("PUT", `${leases}/l1`, {
      body: { ...made.json, spec: { holderIdentity: "b" } },
    });
    expect(guarded.status).toBe(200);
    expect(guarded.json.spec.holderIdentity).toBe("b");
    const cm = await server.request("POST", "/api/v1/namespaces/sem/configmaps", {
      body: { metadata: { name: "cm-u" } },
    });
    const unconditional = await server.request("PUT", "/api/v1/namespaces/sem/configmaps/cm-u", {
      body: { metadata: { name: "cm-u" }, data: { a: "1" } },
    });
    expect([cm.status, unconditional.status]).toEqual([201, 200]);
    expect(
      (
        await server.request("PUT", "/api/v1/namespaces/sem/configmaps/cm-none", {
          body: { metadata: { name: "cm-none" } },
        })
      ).status,
    ).toBe(404);
  });
});

describe("ConfigMaps and Secrets hold at most 1 MiB of values (core.MaxSecretSize)", () => {
  const MiB = 1024 * 1024;
  const configMaps = "/api/v1/namespaces/sem/configmaps";

  it("takes a ConfigMap of exactly 1 MiB of values (data and binaryData together) and refuses one byte more", async () => {
    const half = "x".repeat(MiB / 2);
    const fits = await server.request("POST", configMaps, {
      body: { metadata: { name: "full" }, data: { a: half }, binaryData: { b: b64(half) } },
    });
    expect(fits.status).toBe(201);
    const over = await server.request("POST", configMaps, {
      body: { metadata: { name: "over" }, data: { a: half, c: "y" }, binaryData: { b: b64(half) } },
    });
    expect(over.status).toBe(422);
    expect(over.json.message).toBe('ConfigMap "over" is invalid: []: Too long: may not be more than 1048576 bytes');
    // a patch that grows one past the limit is refused as well, and changes nothing
    const grow = await server.request("PATCH", `${configMaps}/full`, { headers: MERGE, body: { data: { c: "y" } } });
    expect(grow.status).toBe(422);
    expect((await server.request("GET", `${configMaps}/full`)).json.data).toEqual({ a: half });
  });

  it("refuses a Secret whose data (stringData merged in) passes 1 MiB, naming data", async () => {
    const over = await server.request("POST", secrets, {
      body: { metadata: { name: "big" }, data: { a: b64("x".repeat(MiB)) }, stringData: { b: "y" } },
    });
    expect(over.status).toBe(422);
    expect(over.json.message).toBe('Secret "big" is invalid: data: Too long: may not be more than 1048576 bytes');
  });
});

describe("an object's annotations hold at most 256 KiB, keys and values together (TotalAnnotationSizeLimitB)", () => {
  const configMaps = "/api/v1/namespaces/sem/configmaps";

  it("takes exactly 256 KiB and refuses one byte more, on create and on a patch, changing nothing", async () => {
    const limit = 256 * 1024;
    const fits = await server.request("POST", configMaps, {
      body: { metadata: { name: "noted", annotations: { a: "x".repeat(limit - 1) } } },
    });
    expect(fits.status).toBe(201);
    const over = await server.request("POST", configMaps, {
      body: { metadata: { name: "overnoted", annotations: { a: "x".repeat(limit - 1), b: "" } } },
    });
    expect(over.status).toBe(422);
    expect(over.json.message).toBe(
      'ConfigMap "overnoted" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes',
    );
    const grow = await server.request("PATCH", `${configMaps}/noted`, {
      headers: MERGE,
      body: { metadata: { annotations: { b: "y" } } },
    });
    expect(grow.status).toBe(422);
    expect((await server.request("GET", `${configMaps}/noted`)).json.metadata.annotations).toEqual({
      a: "x".repeat(limit - 1),
    });
  });
});
