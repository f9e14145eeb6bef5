// Test support: the hibernation fixture (50 workloads of every kind and value, NodePools, NodeClaims, excluded
// namespaces) and the checks that a sleep or wake was exact, shared by the local and the remote controller tests.
import { expect } from "vitest";
import type { KubeClient, KubeObject } from "../../src-shared/kube/index.js";
import { SAVED_ANNOTATION } from "../../operator/controllers/hibernation/desired.js";

export const TEAM_NAMESPACES = ["team-0", "team-1", "team-2", "team-3", "team-4", "team-5"];
export const EXCLUDED_BY_SPEC = "monitoring";
export const ALWAYS_EXCLUDED = ["kube-system", "karpenter", "spot-optimizer-system"];
const WORKLOAD_API: Record<string, string> = { Deployment: "apps/v1", StatefulSet: "apps/v1", CronJob: "batch/v1" };

export interface Fixture {
  kind: "Deployment" | "StatefulSet" | "CronJob";
  namespace: string;
  name: string;
  /** undefined = field absent */
  value: number | boolean | undefined;
}

/** 50 workloads: every kind, replicas 0–4 or absent, suspend true/false/absent, 15 of them in excluded namespaces. */
export function fixtures(): Fixture[] {
  const out: Fixture[] = [];
  for (let i = 0; i < 50; i++) {
    const kind = (["Deployment", "StatefulSet", "CronJob"] as const)[i % 3]!;
    const namespace =
      i % 10 === 7 ? EXCLUDED_BY_SPEC : i % 10 === 8 ? ALWAYS_EXCLUDED[i % 3]! : TEAM_NAMESPACES[i % 6]!;
    const value = kind === "CronJob" ? [undefined, true, false, false][i % 4] : i % 7 === 0 ? undefined : i % 5;
    out.push({ kind, namespace, name: `${kind.toLowerCase()}-${i}`, value });
  }
  return out;
}

export function manifest(f: Fixture): KubeObject {
  const labels = { app: f.name };
  const podSpec = {
    containers: [{ name: "main", image: "registry.example/app:1" }],
    restartPolicy: f.kind === "CronJob" ? "OnFailure" : "Always",
  };
  if (f.kind === "CronJob") {
    const spec: Record<string, unknown> = {
      schedule: "*/5 * * * *",
      jobTemplate: { spec: { template: { metadata: { labels }, spec: podSpec } } },
    };
    if (f.value !== undefined) spec.suspend = f.value;
    return {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: f.name, namespace: f.namespace, annotations: { "team.example/owner": "alice" } },
      spec,
    };
  }
  const spec: Record<string, unknown> = {
    selector: { matchLabels: labels },
    template: { metadata: { labels }, spec: podSpec },
  };
  if (f.kind === "StatefulSet") spec.serviceName = f.name;
  if (f.value !== undefined) spec.replicas = f.value;
  return {
    apiVersion: "apps/v1",
    kind: f.kind,
    metadata: { name: f.name, namespace: f.namespace, annotations: { "team.example/owner": "alice" } },
    spec,
  };
}

/** A Deployment of `replicas` (a one-container pod template), with annotations when given. */
export function deployment(
  namespace: string,
  name: string,
  replicas: number,
  annotations?: Record<string, string>,
): KubeObject {
  const labels = { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: "c", image: "x" }] } },
    },
  };
}

/** A NodePool of 100 CPUs and no requirements, as a cluster without our templates has. */
export function generalPool(name = "general"): KubeObject {
  return {
    apiVersion: "karpenter.sh/v1",
    kind: "NodePool",
    metadata: { name },
    spec: {
      limits: { cpu: "100" },
      template: {
        spec: { nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" }, requirements: [] },
      },
    },
  };
}

/**
 * Reconciles until a run makes no write (what the work queue would do), at most 20 runs; `writes` counts the writes the
 * API server saw so far. Returns the runs that wrote.
 */
export async function settleWrites(reconcile: () => Promise<unknown>, writes: () => number): Promise<number> {
  for (let run = 0; run < 20; run++) {
    const before = writes();
    await reconcile();
    if (writes() === before) return run;
  }
  throw new Error("reconcile kept writing");
}

function nodePool(
  name: string,
  limits?: Record<string, string | number>,
  annotations?: Record<string, string>,
): KubeObject {
  const spec: Record<string, unknown> = {
    template: {
      spec: {
        nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" },
        requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] }],
      },
    },
  };
  if (limits) spec.limits = limits;
  return {
    apiVersion: "karpenter.sh/v1",
    kind: "NodePool",
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec,
  };
}

function nodeClaim(name: string, pool: string): KubeObject {
  return {
    apiVersion: "karpenter.sh/v1",
    kind: "NodeClaim",
    metadata: { name, labels: { "karpenter.sh/nodepool": pool } },
    spec: {
      nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" },
      requirements: [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] }],
    },
  };
}

export const POOLS = [
  nodePool("general", { cpu: "1000", memory: "1000Gi" }),
  nodePool("burst"),
  nodePool("system", { cpu: 16 }, { "hibernation.spotoptimizer.io/exclude": "true" }),
];
export const CLAIMS = [
  nodeClaim("general-a", "general"),
  nodeClaim("general-b", "general"),
  nodeClaim("burst-a", "burst"),
  nodeClaim("system-a", "system"),
];

export function sleepingSpec(clusterName = "local"): Record<string, unknown> {
  // Always awake by the week, put to sleep by an override from a minute ago: the real clock decides, no fake time needed.
  return {
    clusterRef: { name: clusterName },
    timezone: "Europe/Berlin",
    weekly: [{ days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], start: "00:00", end: "24:00" }],
    override: {
      action: "sleep",
      from: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
      durationHours: 48,
    },
    excludedNamespaces: [EXCLUDED_BY_SPEC],
  };
}

/** The workload cluster's objects: the namespaces, the 50 workloads, three NodePools and four NodeClaims. */
export async function seedWorkloads(client: KubeClient): Promise<void> {
  for (const ns of [EXCLUDED_BY_SPEC, ...TEAM_NAMESPACES, ...ALWAYS_EXCLUDED]) {
    if (!(await client.getIfExists({ apiVersion: "v1", kind: "Namespace", name: ns })))
      await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  }
  for (const f of fixtures()) await client.create(manifest(f));
  for (const p of POOLS) await client.create(p);
  for (const c of CLAIMS) await client.create(c);
}

export interface Snapshot {
  workloads: Map<string, KubeObject>;
  pools: Map<string, KubeObject>;
}

export async function snapshot(client: KubeClient): Promise<Snapshot> {
  const workloads = new Map<string, KubeObject>();
  for (const kind of ["Deployment", "StatefulSet", "CronJob"]) {
    for (const o of (await client.listAll({ apiVersion: WORKLOAD_API[kind]!, kind })).items)
      workloads.set(`${kind}/${o.metadata?.namespace}/${o.metadata?.name}`, { ...o, kind });
  }
  const pools = new Map<string, KubeObject>();
  for (const o of (await client.listAll({ apiVersion: "karpenter.sh/v1", kind: "NodePool" })).items)
    pools.set(o.metadata!.name!, o);
  return { workloads, pools };
}

export const valueOf = (o: KubeObject): unknown =>
  o.kind === "CronJob" ? (o.spec as Record<string, unknown>).suspend : (o.spec as Record<string, unknown>).replicas;
export const ours = (o: KubeObject): string | undefined => o.metadata?.annotations?.[SAVED_ANNOTATION];
export const inScope = (o: KubeObject): boolean =>
  ![EXCLUDED_BY_SPEC, ...ALWAYS_EXCLUDED].includes(o.metadata!.namespace!);
/** What must survive a sleep/wake round trip unchanged: spec and the user's annotations. */
export const essence = (o: KubeObject): unknown => ({
  spec: o.spec,
  annotations: Object.fromEntries(
    Object.entries(o.metadata?.annotations ?? {}).filter(([k]) => k !== SAVED_ANNOTATION),
  ),
});

export function expectAsleep(before: Snapshot, now: Snapshot, scheduleKey: string): void {
  for (const [key, o] of before.workloads) {
    const after = now.workloads.get(key)!;
    if (!inScope(o)) {
      expect(after.metadata?.resourceVersion, `${key} untouched`).toBe(o.metadata?.resourceVersion);
      continue;
    }
    expect(valueOf(after), key).toBe(o.kind === "CronJob" ? true : 0);
    const saved = JSON.parse(ours(after)!) as Record<string, unknown>;
    expect(saved, key).toEqual({
      by: scheduleKey,
      [o.kind === "CronJob" ? "suspend" : "replicas"]: valueOf(o) ?? null,
    });
  }
  expect((now.pools.get("general")!.spec as Record<string, unknown>).limits).toEqual({ cpu: "0", memory: "0" });
  expect((now.pools.get("burst")!.spec as Record<string, unknown>).limits).toEqual({ cpu: "0", memory: "0" });
  expect(JSON.parse(ours(now.pools.get("general")!)!)).toEqual({
    by: scheduleKey,
    limits: { cpu: "1000", memory: "1000Gi" },
  });
  expect(JSON.parse(ours(now.pools.get("burst")!)!)).toEqual({ by: scheduleKey, limits: null });
  expect(now.pools.get("system")!.metadata?.resourceVersion).toBe(
    before.pools.get("system")!.metadata?.resourceVersion,
  );
}

export function expectRestored(before: Snapshot, now: Snapshot): void {
  for (const [key, o] of before.workloads) {
    const after = now.workloads.get(key)!;
    expect(ours(after), key).toBeUndefined();
    expect(essence(after), key).toEqual(essence(o));
  }
  for (const [name, p] of before.pools) {
    expect(ours(now.pools.get(name)!), name).toBeUndefined();
    expect(now.pools.get(name)!.spec, name).toEqual(p.spec);
  }
}

export async function claimNames(client: KubeClient): Promise<string[]> {
  const items = (await client.listAll({ apiVersion: "karpenter.sh/v1", kind: "NodeClaim" })).items;
  return items
    .filter((c) => !c.metadata?.deletionTimestamp)
    .map((c) => c.metadata!.name!)
    .sort();
}

export const IN_SCOPE_WORKLOADS = fixtures().filter(
  (f) => ![EXCLUDED_BY_SPEC, ...ALWAYS_EXCLUDED].includes(f.namespace),
).length;
