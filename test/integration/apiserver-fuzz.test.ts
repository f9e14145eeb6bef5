// Robustness: arbitrary paths, methods, media types and bodies get a Status (4xx), never a 500 or a dead server.
import { appendFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { startTestCluster } from "../support/cluster.js";

let server: LocalApiServer;

beforeAll(async () => {
  server = await startTestCluster();
});

afterAll(async () => {
  await server.stop();
});

const randomSegment = fc.constantFrom(
  "api",
  "apis",
  "v1",
  "apps",
  "namespaces",
  "default",
  "pods",
  "deployments",
  "status",
  "scale",
  "eviction",
  "watch",
  "nodes",
  "x",
  "..",
  "%2F",
  "customresourcedefinitions",
  "apiextensions.k8s.io",
  "leases",
  "coordination.k8s.io",
);
const name = fc.constantFrom("a", "b", "Bad_Name", "x.y");
const resourcePath = fc
  .tuple(
    fc.constantFrom(
      "/api/v1/namespaces/default/pods",
      "/api/v1/namespaces/default/configmaps",
      "/api/v1/nodes",
      "/api/v1/namespaces",
      "/apis/apps/v1/namespaces/default/deployments",
      "/apis/coordination.k8s.io/v1/namespaces/default/leases",
      "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    ),
    fc.option(name),
    fc.constantFrom("", "/status", "/scale", "/eviction"),
  )
  .map(([base, n, sub]) =>
    n === null ? base.split("/").filter(Boolean) : `${base}/${n}${sub}`.split("/").filter(Boolean),
  );
const body = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 40 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        metadata: fc.record(
          { name: fc.string({ maxLength: 12 }), resourceVersion: fc.string({ maxLength: 4 }) },
          { requiredKeys: [] },
        ),
        spec: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        apiVersion: fc.constantFrom("v1", "apps/v1", "policy/v1", "x/y"),
        kind: fc.constantFrom("Pod", "ConfigMap", "Deployment", "Eviction", "Scale", "Lease"),
        metadata: fc.record(
          {
            name: name,
            labels: fc.dictionary(
              fc.constantFrom("app", "a/b", "x"),
              fc.oneof(fc.string({ maxLength: 5 }), fc.integer()),
            ),
          },
          { requiredKeys: [] },
        ),
        spec: fc.oneof(
          fc.jsonValue({ maxDepth: 2 }),
          fc.record(
            {
              replicas: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.string()),
              containers: fc.array(
                fc.record({ name: fc.string({ maxLength: 3 }), image: fc.string({ maxLength: 3 }) }),
              ),
            },
            { requiredKeys: [] },
          ),
        ),
        status: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc
    .array(
      fc.record({
        op: fc.constantFrom("add", "remove", "replace", "test", "bogus"),
        path: fc.constantFrom("/spec", "/metadata/labels/a", "/x/y", "", "/spec/replicas"),
        value: fc.jsonValue({ maxDepth: 1 }),
      }),
      { maxLength: 3 },
    )
    .map((v) => JSON.stringify(v)),
);
const segments = fc.oneof(fc.array(randomSegment, { minLength: 1, maxLength: 7 }), resourcePath);
const contentType = fc.constantFrom(
  "application/json",
  "application/merge-patch+json",
  "application/json-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
  "text/plain",
  "application/vnd.kubernetes.protobuf",
);
const query = fc.constantFrom(
  "",
  "?watch=true&timeoutSeconds=1",
  "?labelSelector=a%20in%20(",
  "?fieldSelector=spec.x=1",
  "?limit=2&continue=bogus",
  "?fieldManager=f&force=true",
  "?resourceVersion=abc&watch=1&timeoutSeconds=1",
  "?dryRun=All",
);

describe("HTTP robustness", () => {
  it("answers every request with a Status or an object, never 500", async () => {
    await fc.assert(
      fc.asyncProperty(
        segments,
        fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE"),
        body,
        contentType,
        query,
        async (segs, method, b, ct, q) => {
          if (process.env.FUZZ_LOG)
            appendFileSync(process.env.FUZZ_LOG, `${method} /${segs.join("/")}${q} ${ct} ${JSON.stringify(b)}\n`);
          const res = await server.request(method, `/${segs.join("/")}${q}`, {
            body: b,
            headers: { "Content-Type": ct },
          });
          expect(res.status, `${method} /${segs.join("/")}${q} -> ${res.text.slice(0, 200)}`).toBeLessThan(500);
          if (res.status >= 400) expect(res.json?.kind).toBe("Status");
        },
      ),
      { numRuns: 400 },
    );
    const health = await server.request("GET", "/api/v1/namespaces/default");
    expect(health.status).toBe(200);
  });
});
