// Workload manifests a real API server refuses, refused here too: a selector that is missing, empty (apps) or does not
// select the pod template's labels, and a change of a Job's pod template (except a suspended Job's scheduling).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { kubectl, startTestCluster } from "../support/cluster.js";

type Obj = Record<string, any>;
let server: LocalApiServer;
const NS = "workloads";
const podSpec = { containers: [{ name: "c", image: "registry.example/app:1" }] };

beforeAll(async () => {
  server = await startTestCluster();
  expect((await server.request("POST", "/api/v1/namespaces", { body: { metadata: { name: NS } } })).status).toBe(201);
});

afterAll(async () => {
  await server?.stop();
});

const path = (group: string, plural: string): string => `/apis/${group}/namespaces/${NS}/${plural}`;

async function post(url: string, body: Obj): Promise<{ status: number; json: Obj }> {
  const res = await server.request("POST", url, { body });
  return { status: res.status, json: res.json as Obj };
}

function causes(json: Obj): Array<{ field: string; message: string }> {
  return (json.details?.causes ?? []) as Array<{ field: string; message: string }>;
}

function workload(kind: string, name: string, selector: Obj | undefined, labels: Record<string, string>): Obj {
  return {
    kind,
    metadata: { name },
    spec: {
      ...(selector ? { selector } : {}),
      ...(kind === "StatefulSet" ? { serviceName: name } : {}),
      template: { metadata: { labels }, spec: podSpec },
    },
  };
}

describe("workload selectors", () => {
  it("a Deployment, ReplicaSet, DaemonSet or StatefulSet whose selector misses its template's labels is refused", async () => {
    for (const [kind, plural] of [
      ["Deployment", "deployments"],
      ["ReplicaSet", "replicasets"],
      ["DaemonSet", "daemonsets"],
      ["StatefulSet", "statefulsets"],
    ] as const) {
      const name = `mismatch-${plural}`;
      const res = await post(
        path("apps/v1", plural),
        workload(kind, name, { matchLabels: { app: "a" } }, { app: "b" }),
      );
      expect(res.status, kind).toBe(422);
      expect(causes(res.json), kind).toEqual([
        {
          reason: "FieldValueInvalid",
          field: "spec.template.metadata.labels",
          message: 'Invalid value: map[string]string{"app":"b"}: `selector` does not match template `labels`',
        },
      ]);
      const ok = await post(
        path("apps/v1", plural),
        workload(
          kind,
          `ok-${plural}`,
          { matchLabels: { app: "a" } },
          {
            app: "a",
            tier: "web",
          },
        ),
      );
      expect(ok.status, kind).toBe(201);
    }
  });

  it("an apps workload needs a selector, and not an empty one", async () => {
    const missing = await post(path("apps/v1", "deployments"), workload("Deployment", "none", undefined, { app: "a" }));
    expect(missing.status).toBe(422);
    expect(causes(missing.json)).toContainEqual(
      expect.objectContaining({ field: "spec.selector", message: "Required value" }),
    );
    const empty = await post(path("apps/v1", "daemonsets"), workload("DaemonSet", "empty", {}, { app: "a" }));
    expect(empty.status).toBe(422);
    expect(causes(empty.json)[0]?.message).toMatch(/empty selector is invalid for daemonset/);
  });

  it("kubectl apply shows the refusal, and a later edit cannot leave the selector behind", async () => {
    const manifest = JSON.stringify({
      apiVersion: "apps/v1",
      ...workload("Deployment", "web", { matchLabels: { app: "web" } }, { app: "site" }),
    });
    const refused = await kubectl(server, ["apply", "-n", NS, "-f", "-"], manifest);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/`selector` does not match template `labels`/);
    const created = await post(
      path("apps/v1", "deployments"),
      workload("Deployment", "web", { matchLabels: { app: "web" } }, { app: "web" }),
    );
    expect(created.status).toBe(201);
    const patched = await server.request("PATCH", `${path("apps/v1", "deployments")}/web`, {
      body: { spec: { template: { metadata: { labels: { app: "moved" } } } } },
      headers: { "content-type": "application/merge-patch+json" },
    });
    expect(patched.status).toBe(422);
  });

  it("a Job with its own selector (manualSelector) must select its template's labels", async () => {
    const job = (name: string, labels: Record<string, string>): Obj => ({
      kind: "Job",
      metadata: { name },
      spec: {
        manualSelector: true,
        selector: { matchLabels: { run: "x" } },
        template: { metadata: { labels }, spec: { ...podSpec, restartPolicy: "Never" } },
      },
    });
    expect((await post(path("batch/v1", "jobs"), job("manual-bad", { run: "y" }))).status).toBe(422);
    expect((await post(path("batch/v1", "jobs"), job("manual-ok", { run: "x" }))).status).toBe(201);
  });
});

describe("a Job's pod template", () => {
  const jobUrl = (name: string): string => `${path("batch/v1", "jobs")}/${name}`;
  const merge = (name: string, body: Obj): ReturnType<LocalApiServer["request"]> =>
    server.request("PATCH", jobUrl(name), { body, headers: { "content-type": "application/merge-patch+json" } });

  it("cannot change once created", async () => {
    const created = await post(path("batch/v1", "jobs"), {
      kind: "Job",
      metadata: { name: "fixed" },
      spec: { template: { spec: { ...podSpec, restartPolicy: "Never" } } },
    });
    expect(created.status).toBe(201);
    const res = await merge("fixed", {
      spec: { template: { spec: { containers: [{ name: "c", image: "other:2" }] } } },
    });
    expect(res.status).toBe(422);
    expect(causes(res.json as Obj)[0]).toMatchObject({ field: "spec.template" });
    // other fields still change
    expect((await merge("fixed", { metadata: { labels: { team: "a" } } })).status).toBe(200);
  });

  it("of a suspended Job that never started takes new scheduling directives, not a new image", async () => {
    const created = await post(path("batch/v1", "jobs"), {
      kind: "Job",
      metadata: { name: "waiting" },
      spec: { suspend: true, template: { spec: { ...podSpec, restartPolicy: "Never" } } },
    });
    expect(created.status).toBe(201);
    const scheduling = await merge("waiting", {
      spec: { template: { metadata: { annotations: { a: "b" } }, spec: { nodeSelector: { pool: "spot" } } } },
    });
    expect(scheduling.status).toBe(200);
    expect((scheduling.json as Obj).spec.template.spec.nodeSelector).toEqual({ pool: "spot" });
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "In", values: ["spot"] }] }],
        },
      },
    };
    expect((await merge("waiting", { spec: { template: { spec: { affinity } } } })).status).toBe(200);
    expect((await merge("waiting", { spec: { template: { spec: { affinity: null } } } })).status).toBe(200);
    const image = await merge("waiting", {
      spec: { template: { spec: { containers: [{ name: "c", image: "x:2" }] } } },
    });
    expect(image.status).toBe(422);
  });
});
