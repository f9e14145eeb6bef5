// The rendered chart applied with the real kubectl to the local API server, and the operator, facade and agent
// running with nothing but their ServiceAccounts' RBAC permissions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as yaml from "js-yaml";
import { KubeConfig } from "@kubernetes/client-node";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startOperator, type RunningOperator } from "../../operator/main.js";
import { startFacade } from "../../operator/facade/start.js";
import { migrateAgentObjects } from "../../operator/cli/commands/migrate.js";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { eventually, kubectl, startTestCluster } from "../support/cluster.js";
import { KARPENTER_CRD_FILE } from "../../src-shared/karpenter/crds.js";
import { chartDir, helm, setArgs } from "./helm.js";
import { parseSnapshot } from "../../src-shared/agent/snapshot.js";
import { testHeartbeat } from "../support/agent.js";

const NAMESPACE = "spot-optimizer";
const VALUES = {
  "agent.token": "test-agent-token",
  // The chart's designation of the local cluster: the ManagedCluster org-a/local created below.
  "localCluster.namespace": "org-a",
  "localCluster.name": "local",
  "agent.daemonset.enabled": true,
  "facade.ingress.enabled": true,
};

let server: LocalApiServer;
let admin: KubeClient;
let rendered: string;

/** A KubeConfig for this server that authenticates with `token` instead of the admin token. */
function kubeConfigWithToken(token: string): KubeConfig {
  const doc = yaml.load(server.kubeconfigYaml) as { users: Array<{ user: { token: string } }> };
  for (const u of doc.users) u.user.token = token;
  const kc = new KubeConfig();
  kc.loadFromString(yaml.dump(doc));
  return kc;
}

/** A ServiceAccount token as a pod gets one, minted with the real `kubectl create token`. */
async function tokenOf(serviceAccount: string): Promise<string> {
  const run = await kubectl(server, ["create", "token", serviceAccount, "-n", NAMESPACE]);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  return run.stdout.trim();
}

async function requestAs(token: string, method: string, path: string, body?: unknown): Promise<number> {
  const res = await server.request(method, path, {
    anonymous: true,
    headers: { authorization: `Bearer ${token}` },
    body,
  });
  return res.status;
}

beforeAll(async () => {
  // Karpenter's CRDs (the operator writes NodePools / EC2NodeClasses); ours come from the chart.
  server = await startTestCluster({ crds: [KARPENTER_CRD_FILE] });
  admin = new KubeClient(server.kubeConfig);
  const run = await helm([
    "template",
    "spot-optimizer",
    chartDir,
    "-n",
    NAMESPACE,
    "--include-crds",
    ...setArgs(VALUES),
  ]);
  expect(run.code).toBe(0);
  rendered = run.stdout;
});

afterAll(async () => {
  admin?.close();
  await server?.stop();
});

describe("the rendered chart applied with kubectl", () => {
  it("is accepted and its CRDs become served", async () => {
    expect((await kubectl(server, ["create", "namespace", NAMESPACE])).code).toBe(0);
    const applied = await kubectl(server, ["apply", "--server-side", "-f", "-"], rendered);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    const established = await kubectl(server, [
      "wait",
      "--for=condition=Established",
      "--timeout=30s",
      "crd/nodetemplates.spotoptimizer.io",
      "crd/managedclusters.spotoptimizer.io",
      "crd/hibernationschedules.spotoptimizer.io",
    ]);
    expect(established.code).toBe(0);
    const got = await kubectl(server, ["get", "deploy,sa,clusterrole,pdb,ingress,ds", "-n", NAMESPACE, "-o", "name"]);
    for (const name of [
      "deployment.apps/spot-optimizer-operator",
      "deployment.apps/spot-optimizer-facade",
      "deployment.apps/spot-optimizer-agent",
      "serviceaccount/spot-optimizer-operator",
      "poddisruptionbudget.policy/spot-optimizer-operator",
      "ingress.networking.k8s.io/spot-optimizer-facade",
      "daemonset.apps/spot-optimizer-agent-spot-notices",
    ])
      expect(got.stdout).toContain(name);
    expect((await kubectl(server, ["get", "nodetemplates,managedclusters", "-A"])).code).toBe(0);
  });

  it("authenticates ServiceAccount tokens and authorises them by the chart's RBAC", async () => {
    const operator = await tokenOf("spot-optimizer-operator");
    const agent = await tokenOf("spot-optimizer-agent");
    expect(await requestAs(operator, "GET", "/apis/spotoptimizer.io/v1alpha1/managedclusters")).toBe(200);
    expect(await requestAs(operator, "GET", "/api/v1/secrets")).toBe(403);
    expect(await requestAs(operator, "GET", `/api/v1/namespaces/${NAMESPACE}/secrets/spot-optimizer-agent-token`)).toBe(
      403,
    );
    expect(await requestAs(agent, "GET", "/api/v1/nodes")).toBe(200);
    expect(await requestAs(agent, "POST", "/api/v1/namespaces/default/pods", {})).toBe(403);
    expect(await requestAs(agent, "GET", "/apis/spotoptimizer.io/v1alpha1/managedclusters")).toBe(403);
    expect(await requestAs("not-a-token", "GET", "/api/v1/nodes")).toBe(401);
    // kubectl with the operator's token sees the denial in kube-apiserver's words.
    const denied = await kubectl(server, ["--token", operator, "get", "secrets", "-A"]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('User "system:serviceaccount:spot-optimizer:spot-optimizer-operator" cannot list');
  });

  it("runs an operator with only the operator ServiceAccount's permissions, and it reconciles", async () => {
    const token = await tokenOf("spot-optimizer-operator");
    await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "org-a" } });
    await admin.create({
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: "node-1",
        labels: {
          "node.kubernetes.io/instance-type": "m5.large",
          "karpenter.sh/capacity-type": "spot",
          "topology.kubernetes.io/region": "us-east-1",
        },
      },
      status: {
        capacity: { cpu: "2", memory: "8Gi", pods: "29" },
        allocatable: { cpu: "2", memory: "8Gi", pods: "29" },
        conditions: [{ type: "Ready", status: "True" }],
      },
    });
    await admin.create({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "ManagedCluster",
      metadata: { name: "local", namespace: "org-a" },
      spec: { mode: "local", region: "us-east-1" },
    });
    await admin.create({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "org-a" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: "registry.example/web:1" }] },
        },
      },
    });
    // Asleep by an override from a minute ago: the hibernation controller scales, records status and audits.
    await admin.create({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "HibernationSchedule",
      metadata: { name: "nightly", namespace: "org-a" },
      spec: {
        clusterRef: { name: "local" },
        timezone: "UTC",
        weekly: [{ days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], start: "00:00", end: "24:00" }],
        override: {
          action: "sleep",
          from: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
          durationHours: 48,
        },
      },
    });
    await admin.create({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "NodeTemplate",
      metadata: { name: "general", namespace: "org-a" },
      spec: { clusterRef: { name: "local" }, families: ["m5", "c5"], strategy: "SPOT" },
    });
    let running: RunningOperator | undefined;
    try {
      // The chart sets SPOTOPT_SYSTEM_NAMESPACE to the release namespace: Lease and local-cluster ConfigMap live there.
      running = await startOperator({ kubeConfig: kubeConfigWithToken(token), systemNamespace: NAMESPACE });
      // The NodeTemplate becomes a NodePool and an EC2NodeClass (server-side apply), its status says Applied.
      const template = await eventually(
        async () => {
          const nt = await admin.get<
            KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }
          >({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate", namespace: "org-a", name: "general" });
          return nt.status?.conditions?.some((c) => c.type === "Applied" && c.status === "True") ? nt : undefined;
        },
        30_000,
        "the NodeTemplate Applied",
      );
      expect(template.metadata?.finalizers?.length).toBeGreaterThan(0);
      const pools = await admin.list({ apiVersion: "karpenter.sh/v1", kind: "NodePool" });
      expect(pools.items.map((p) => p.metadata?.labels?.["spotoptimizer.io/template"])).toContain("general");
      const classes = await admin.list({ apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass" });
      expect(classes.items.length).toBe(1);
      const cluster = await eventually(
        async () => {
          const mc = await admin.get<KubeObject & { status?: { nodeCount?: number } }>({
            apiVersion: "spotoptimizer.io/v1alpha1",
            kind: "ManagedCluster",
            namespace: "org-a",
            name: "local",
          });
          return mc.status?.nodeCount === 1 ? mc : undefined;
        },
        30_000,
        "the ManagedCluster status written by the operator",
      );
      expect(cluster.status?.nodeCount).toBe(1);
      const schedule = await eventually(
        async () => {
          const hs = await admin.get<KubeObject & { status?: { state?: string } }>({
            apiVersion: "spotoptimizer.io/v1alpha1",
            kind: "HibernationSchedule",
            namespace: "org-a",
            name: "nightly",
          });
          return hs.status?.state === "asleep" ? hs : undefined;
        },
        30_000,
        "the schedule asleep",
      );
      expect(schedule.metadata?.finalizers).toContain("hibernation.spotoptimizer.io/wake-before-delete");
      const web = await admin.get<KubeObject & { spec: { replicas: number } }>({
        apiVersion: "apps/v1",
        kind: "Deployment",
        namespace: "org-a",
        name: "web",
      });
      expect(web.spec.replicas).toBe(0);
      // The hibernation entries are complete links of the chain: each carries its hash (written with the entry).
      const audit = await eventually(
        async () => {
          const list = await admin.list<KubeObject>({
            apiVersion: "spotoptimizer.io/v1alpha1",
            kind: "AuditEntry",
            namespace: "org-a",
          });
          const hashed = list.items.every((e) => e.metadata?.annotations?.["spotoptimizer.io/hash"]);
          return list.items.length > 0 && hashed ? list.items : undefined;
        },
        30_000,
        "hashed audit entries",
      );
      expect(audit.length).toBeGreaterThan(0);
      const lease = await admin.get<KubeObject & { spec?: { holderIdentity?: string } }>({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        namespace: NAMESPACE,
        name: "spot-optimizer-operator",
      });
      expect(lease.spec?.holderIdentity).toBeTruthy();
    } finally {
      await running?.stop();
    }
  });

  it("denies the facade every Secret outside the release namespace and writes to other components' ConfigMaps and Leases", async () => {
    const facade = await tokenOf("spot-optimizer-facade");
    const merge = { "content-type": "application/merge-patch+json", authorization: `Bearer ${facade}` };
    const patchAs = async (path: string): Promise<number> =>
      (await server.request("PATCH", path, { anonymous: true, headers: merge, body: { metadata: {} } })).status;
    expect(await requestAs(facade, "GET", "/api/v1/secrets")).toBe(403);
    expect(await requestAs(facade, "GET", "/api/v1/namespaces/kube-system/secrets")).toBe(403);
    expect(await requestAs(facade, "GET", "/api/v1/namespaces/org-a/secrets")).toBe(403);
    expect(await requestAs(facade, "GET", "/api/v1/namespaces/kube-system/secrets/anything")).toBe(403);
    // kube-system/aws-auth maps IAM roles to cluster-admin on EKS; another component's leader Lease.
    expect(await patchAs("/api/v1/namespaces/kube-system/configmaps/aws-auth")).toBe(403);
    expect(await patchAs("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler")).toBe(403);
    expect(await requestAs(facade, "GET", "/apis/coordination.k8s.io/v1/namespaces/org-a/leases")).toBe(403);
    // Nor another application's configuration: no ConfigMap list outside its namespace, cluster-wide or in one.
    expect(await requestAs(facade, "GET", "/api/v1/configmaps")).toBe(403);
    expect(await requestAs(facade, "GET", "/api/v1/namespaces/kube-system/configmaps")).toBe(403);
    expect(await requestAs(facade, "GET", "/api/v1/namespaces/kube-system/configmaps/aws-auth")).toBe(403);
    // Its own namespace it may use (users, sessions, agent tokens).
    expect(await requestAs(facade, "GET", `/api/v1/namespaces/${NAMESPACE}/secrets`)).toBe(200);
  });

  it("runs a facade with only the facade ServiceAccount's permissions: connect, heartbeat and the agent's token work", async () => {
    const token = await tokenOf("spot-optimizer-facade");
    const dir = mkdtempSync(join(tmpdir(), "spotopt-facade-rbac-"));
    const outbox = join(dir, "outbox.jsonl");
    const facade = await startFacade({
      kubeConfig: kubeConfigWithToken(token),
      port: 0,
      env: {},
      logger: pino({ level: "silent" }),
      config: { systemNamespace: NAMESPACE, mailOutbox: outbox },
    });
    try {
      const post = async (path: string, body: unknown, bearer?: string): Promise<{ status: number; body: any }> => {
        const res = await fetch(`${facade.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: await res.json().catch(() => undefined) };
      };
      const email = "rbac-owner@example.com";
      const password = "Rbac-Pass-123456";
      expect((await post("/api/auth/signup", { org_name: "RBAC Org", email, password })).status).toBe(202);
      const mails = readFileSync(outbox, "utf8").split("\n").filter(Boolean);
      const code = /code: (\S+)/.exec((JSON.parse(mails.at(-1)!) as { text: string }).text)?.[1];
      const verified = await post("/api/auth/verify-email", { token: code, password });
      expect(verified.status).toBe(201);
      const owner = verified.body as { access_token: string; namespace: string };
      const connected = await post("/clusters/connect", { cluster_id: "edge" }, owner.access_token);
      expect(connected.status).toBe(200);
      const agentToken = connected.body.api_token as string;
      const beat = { agent_version: "0.1.0", k8s_version: "v1.31.4", nodes: [], pods: [], interruptions: [] };
      const heartbeat = await eventually(
        async () => {
          const res = await post("/clusters/edge/heartbeat", beat, agentToken);
          return res.status === 200 ? res : undefined;
        },
        10_000,
        "a heartbeat accepted with the agent's token",
      );
      expect(heartbeat.status).toBe(200);
      // What the API server holds: the hash, snapshot and Lease in the release namespace, none in the organisation's.
      const named = (items: KubeObject[]): string[] => items.map((o) => o.metadata?.name ?? "").sort();
      const inRelease = async (apiVersion: string, kind: string, label: string): Promise<string[]> =>
        named((await admin.list({ apiVersion, kind, namespace: NAMESPACE }, { labelSelector: label })).items);
      const prefix = `${owner.namespace}.edge`;
      expect(await inRelease("v1", "Secret", "spotoptimizer.io/agent-token=true")).toEqual([`${prefix}-agent-token`]);
      expect(await inRelease("v1", "ConfigMap", "spotoptimizer.io/agent-snapshot=true")).toEqual([
        `${prefix}-agent-snapshot`,
      ]);
      expect(await inRelease("coordination.k8s.io/v1", "Lease", "spotoptimizer.io/agent-lease=true")).toEqual([
        `${prefix}-agent`,
      ]);
      expect((await admin.list({ apiVersion: "v1", kind: "Secret", namespace: owner.namespace })).items).toEqual([]);
      // The retention sweep reads each chain's head by name: it runs with these permissions, and applies the policy.
      const retention = await fetch(`${facade.url}/audit/retention`, {
        method: "PATCH",
        headers: { "content-type": "application/json", authorization: `Bearer ${owner.access_token}` },
        body: JSON.stringify({ retention_days: 30 }),
      });
      expect(retention.status).toBe(200);
      await expect(facade.audit.sweepRetention([NAMESPACE, owner.namespace])).resolves.toEqual({
        [owner.namespace]: 0,
      });
      // A beat within the status interval is kept back and stored at the interval's end or at shutdown, after reading
      // the stored snapshot by name: with these permissions too.
      const later = { ...beat, nodes: [testHeartbeat(["n-late"]).nodes[0]!] };
      expect((await post("/clusters/edge/heartbeat", later, agentToken)).status).toBe(200);
      await facade.services.agent.ingest.close();
      const snapshot = await admin.get({
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: NAMESPACE,
        name: `${prefix}-agent-snapshot`,
      });
      expect(parseSnapshot(snapshot as never)?.nodes.map((n) => n.name)).toEqual(["n-late"]);
    } finally {
      await facade.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs the upgrade's migration with only the hook ServiceAccount's permissions", async () => {
    const token = await tokenOf("spot-optimizer-migrate");
    const mc = await admin.create<KubeObject>({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "ManagedCluster",
      metadata: { name: "moved", namespace: "org-a" },
      spec: { mode: "remote" },
    } as KubeObject);
    const owner = [
      { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster", name: "moved", uid: mc.metadata?.uid ?? "" },
    ];
    const labels = { "spotoptimizer.io/cluster": "moved" };
    const hash = Buffer.from("0".repeat(64)).toString("base64");
    // As the previous release left them in the organisation namespace.
    await admin.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "moved-agent-token",
        namespace: "org-a",
        labels: { ...labels, "spotoptimizer.io/agent-token": "true" },
        ownerReferences: owner,
      },
      data: { "token-hash": hash },
    } as KubeObject);
    await admin.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "moved-agent-snapshot",
        namespace: "org-a",
        labels: { ...labels, "spotoptimizer.io/agent-snapshot": "true" },
      },
    } as KubeObject);
    await admin.create({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: "moved-agent",
        namespace: "org-a",
        labels: { ...labels, "spotoptimizer.io/agent-lease": "true" },
      },
      spec: {},
    } as KubeObject);
    const client = new KubeClient(kubeConfigWithToken(token));
    try {
      const summary = await migrateAgentObjects(client, NAMESPACE);
      expect(summary).toMatchObject({
        tokens_copied: 1,
        old_tokens_deleted: 1,
        snapshots_deleted: 1,
        leases_deleted: 1,
      });
    } finally {
      client.close();
    }
    const copy = await admin.get<KubeObject & { data: Record<string, string> }>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: NAMESPACE,
      name: "org-a.moved-agent-token",
    });
    expect(copy.data["token-hash"]).toBe(hash);
    expect(copy.metadata?.labels?.["spotoptimizer.io/cluster-uid"]).toBe(mc.metadata?.uid);
    expect(
      await admin.getIfExists({ apiVersion: "v1", kind: "Secret", namespace: "org-a", name: "moved-agent-token" }),
    ).toBeUndefined();
  });

  it("grants the facade's retention sweep and the operator's audit take-back (both 403 without their rules)", async () => {
    const as = async (account: string, method: string, path: string): Promise<number> => {
      const token = await tokenOf(account);
      return (await server.request(method, path, { anonymous: true, headers: { authorization: `Bearer ${token}` } }))
        .status;
    };
    // the sweep lists the organisations' namespaces and reads each chain head by name (allowed, so the API server
    // answers for the object itself); a list of ConfigMaps is not granted
    expect(
      await as(
        "spot-optimizer-facade",
        "GET",
        "/api/v1/namespaces?labelSelector=spotoptimizer.io%2Forganisation%3Dtrue",
      ),
    ).toBe(200);
    expect(
      await as("spot-optimizer-facade", "GET", "/api/v1/namespaces/org-none/configmaps/spot-optimizer-audit-head"),
    ).toBe(404);
    expect(
      await as("spot-optimizer-facade", "GET", "/api/v1/configmaps?labelSelector=spotoptimizer.io%2Faudit-head%3Dtrue"),
    ).toBe(403);
    // allowed, so the API server answers for the object itself: gone
    expect(
      await as(
        "spot-optimizer-operator",
        "DELETE",
        "/apis/spotoptimizer.io/v1alpha1/namespaces/org-a/auditentries/no-such-entry",
      ),
    ).toBe(404);
  });

  it("a rule taken out of the operator's ClusterRole is a denial", async () => {
    const token = await tokenOf("spot-optimizer-operator");
    const statusPath = "/apis/spotoptimizer.io/v1alpha1/namespaces/org-a/managedclusters/local/status";
    const patch = { headers: { "content-type": "application/merge-patch+json" } };
    const status = async (): Promise<number> =>
      (
        await server.request("PATCH", statusPath, {
          anonymous: true,
          headers: { ...patch.headers, authorization: `Bearer ${token}` },
          body: { status: {} },
        })
      ).status;
    expect(await status()).toBe(200);
    const role = await admin.get<KubeObject & { rules: Array<{ resources?: string[] }> }>({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      name: "spot-optimizer-operator",
    });
    await admin.replace({
      ...role,
      rules: role.rules.filter((r) => !(r.resources ?? []).includes("managedclusters/status")),
    });
    expect(await status()).toBe(403);
  });
});
