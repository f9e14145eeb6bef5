// The pure hibernation planner: exact round trips, idempotence, exclusions, grace, enforce and NodeClaim deletion.
import { describe, expect, it } from "vitest";
import {
  SAVED_ANNOTATION,
  planHibernation,
  type ObservedObject,
  type ObservedWorkload,
  type PlanInput,
} from "./desired.js";
import { jsonMergePatch } from "../../../src-shared/kube/merge-patch.js";

/** What the API server holds after a planned merge patch. */
function applyPatch<T>(target: T, patch: unknown): T {
  return jsonMergePatch(target, patch) as T;
}

const KEY = "acme/office-hours";
const NOW = Date.parse("2025-01-06T20:00:00Z");
const HOUR = 3_600_000;

function workload(
  kind: ObservedWorkload["kind"],
  ref: string,
  spec: Record<string, unknown>,
  created = "2024-12-01T00:00:00Z",
): ObservedWorkload {
  const [namespace, name] = ref.split("/") as [string, string];
  return { kind, metadata: { name, namespace, resourceVersion: "1", creationTimestamp: created }, spec };
}

function nodePool(
  name: string,
  limits?: Record<string, string | number>,
  annotations?: Record<string, string>,
): ObservedObject {
  const spec: Record<string, unknown> = { template: { spec: { nodeClassRef: { name: "default" } } } };
  if (limits) spec.limits = limits;
  return { metadata: { name, resourceVersion: "1", ...(annotations ? { annotations } : {}) }, spec };
}

function claim(name: string, pool: string, deleting = false): ObservedObject {
  return {
    metadata: {
      name,
      labels: { "karpenter.sh/nodepool": pool },
      ...(deleting ? { deletionTimestamp: "2025-01-06T19:00:00Z" } : {}),
    },
  };
}

function input(over: Partial<PlanInput>): PlanInput {
  return {
    desired: "asleep",
    scheduleKey: KEY,
    nowMs: NOW,
    asleepSinceMs: NOW,
    gracePeriodMs: 15 * 60_000,
    enforce: false,
    excludedNamespaces: [],
    workloads: [],
    nodePools: [],
    nodeClaims: [],
    ...over,
  };
}

/** Applies a plan's patches to the observed objects, as the API server would (resourceVersion bumped per write). */
function apply<T extends ObservedObject>(
  objects: readonly T[],
  plan: ReturnType<typeof planHibernation>,
  kindOf: (o: T) => string,
): T[] {
  return objects.map((o) => {
    const p = plan.patches.find(
      (x) => x.kind === kindOf(o) && x.name === o.metadata.name && (x.namespace ?? "") === (o.metadata.namespace ?? ""),
    );
    if (!p) return o;
    const next = applyPatch(o, p.patch);
    next.metadata.resourceVersion = String(Number(o.metadata.resourceVersion) + 1);
    if (next.metadata.annotations && Object.keys(next.metadata.annotations).length === 0)
      delete next.metadata.annotations;
    return next;
  });
}

const workloads = [
  workload("Deployment", "shop/web", { replicas: 3, template: {} }),
  workload("Deployment", "shop/zero", { replicas: 0 }),
  workload("Deployment", "shop/unset", { template: {} }),
  workload("StatefulSet", "shop/db", { replicas: 2 }),
  workload("CronJob", "shop/report", { suspend: false, schedule: "0 * * * *" }),
  workload("CronJob", "shop/report-unset", { schedule: "0 * * * *" }),
  workload("CronJob", "shop/paused", { suspend: true, schedule: "0 * * * *" }),
  workload("Deployment", "monitoring/prometheus", { replicas: 1 }),
  workload("Deployment", "kube-system/coredns", { replicas: 2 }),
  workload("Deployment", "karpenter/karpenter", { replicas: 2 }),
  workload("Deployment", "spot-optimizer-system/operator", { replicas: 1 }),
];
const pools = [
  nodePool("general", { cpu: "1000", memory: "1000Gi", "nvidia.com/gpu": 4 }),
  nodePool("unlimited"),
  nodePool("system", { cpu: 64 }, { "hibernation.spotoptimizer.io/exclude": "true" }),
];
const kindOf = (o: ObservedWorkload): string => o.kind;

describe("planHibernation", () => {
  it("sleeps every in-scope workload and NodePool in one patch each, and a wake restores every value exactly", () => {
    const sleep = planHibernation(
      input({
        workloads,
        nodePools: pools,
        excludedNamespaces: ["monitoring"],
        nodeClaims: [claim("general-a", "general"), claim("system-a", "system"), claim("general-b", "general", true)],
      }),
    );
    expect(sleep.patches.map((p) => `${p.action} ${p.kind} ${p.namespace ?? ""}/${p.name}`)).toEqual([
      "sleep CronJob shop/paused",
      "sleep CronJob shop/report",
      "sleep CronJob shop/report-unset",
      "sleep Deployment shop/unset",
      "sleep Deployment shop/web",
      "sleep Deployment shop/zero",
      "sleep NodePool /general",
      "sleep NodePool /unlimited",
      "sleep StatefulSet shop/db",
    ]);
    // Only the claim of a slept NodePool that is not already going away.
    expect(sleep.nodeClaimDeletes).toEqual(["general-a"]);
    expect(sleep.managed).toEqual({ deployments: 3, statefulSets: 1, cronJobs: 3, nodePools: 2 });

    const asleepWorkloads = apply(workloads, sleep, kindOf);
    const asleepPools = apply(pools, sleep, () => "NodePool");
    const web = asleepWorkloads.find((w) => w.metadata.name === "web")!;
    expect(web.spec?.replicas).toBe(0);
    expect(JSON.parse(web.metadata.annotations![SAVED_ANNOTATION]!)).toEqual({ by: KEY, replicas: 3 });
    expect(asleepWorkloads.find((w) => w.metadata.name === "unset")!.metadata.annotations![SAVED_ANNOTATION]).toBe(
      JSON.stringify({ by: KEY, replicas: null }),
    );
    expect(asleepWorkloads.find((w) => w.metadata.name === "report")!.spec?.suspend).toBe(true);
    expect(asleepPools[0]!.spec?.limits).toEqual({ cpu: "0", memory: "0" });
    expect(asleepPools[1]!.spec?.limits).toEqual({ cpu: "0", memory: "0" });
    expect(asleepPools[2]).toEqual(pools[2]);

    // Nothing changed: a second plan writes nothing (idempotent), and deletes only what is still there.
    const again = planHibernation(
      input({ workloads: asleepWorkloads, nodePools: asleepPools, excludedNamespaces: ["monitoring"] }),
    );
    expect(again.patches).toEqual([]);

    const wake = planHibernation(
      input({
        desired: "awake",
        workloads: asleepWorkloads,
        nodePools: asleepPools,
        excludedNamespaces: ["monitoring"],
        nodeClaims: [claim("general-c", "general")],
      }),
    );
    expect(wake.nodeClaimDeletes).toEqual([]);
    expect(wake.patches.every((p) => p.action === "wake")).toBe(true);
    const awakeWorkloads = apply(asleepWorkloads, wake, kindOf);
    const awakePools = apply(asleepPools, wake, () => "NodePool");
    // Exactly as before, including absent fields, apart from the resourceVersion the writes bumped.
    const strip = (o: ObservedObject): unknown => ({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
    expect(awakeWorkloads.map(strip)).toEqual(workloads.map(strip));
    expect(awakePools.map(strip)).toEqual(pools.map(strip));
    expect(
      planHibernation(input({ desired: "awake", workloads: awakeWorkloads, nodePools: awakePools })).patches,
    ).toEqual([]);
  });

  it("never sleeps the installation's own namespace (protectedNamespaces), whatever it is called", () => {
    const own = [
      workload("Deployment", "spot-optimizer/spot-optimizer-operator", { replicas: 2 }),
      workload("Deployment", "spot-optimizer/spot-optimizer-agent", { replicas: 1 }),
      workload("Deployment", "shop/web", { replicas: 3 }),
    ];
    const unprotected = planHibernation(input({ workloads: own }));
    expect(unprotected.patches.map((p) => `${p.namespace}/${p.name}`)).toContain("spot-optimizer/spot-optimizer-agent");
    const plan = planHibernation(input({ workloads: own, protectedNamespaces: ["spot-optimizer"] }));
    expect(plan.patches.map((p) => `${p.namespace}/${p.name}`)).toEqual(["shop/web"]);
    expect(plan.managed.deployments).toBe(1);
  });

  it("never sleeps a workload the chart labels part of spot-optimizer, in any namespace", () => {
    const ours = workload("Deployment", "tools/spot-optimizer-facade", { replicas: 2 });
    ours.metadata.labels = { "app.kubernetes.io/part-of": "spot-optimizer" };
    const plan = planHibernation(input({ workloads: [ours, workload("Deployment", "tools/web", { replicas: 1 })] }));
    expect(plan.patches.map((p) => `${p.namespace}/${p.name}`)).toEqual(["tools/web"]);
  });

  it("guards every patch with the resourceVersion it was computed from", () => {
    const plan = planHibernation(
      input({ workloads: [{ ...workloads[0]!, metadata: { ...workloads[0]!.metadata, resourceVersion: "42" } }] }),
    );
    expect(plan.patches[0]!.patch).toMatchObject({ metadata: { resourceVersion: "42" } });
  });

  it("gives workloads created while asleep a grace period, then sleeps them", () => {
    const asleepSinceMs = NOW - 2 * HOUR;
    const fresh = workload("Deployment", "shop/fresh", { replicas: 2 }, new Date(NOW - 5 * 60_000).toISOString());
    const old = workload("Deployment", "shop/old", { replicas: 2 }, new Date(NOW - 20 * 60_000).toISOString());
    const before = workload("Deployment", "shop/before", { replicas: 2 }, new Date(asleepSinceMs - 1).toISOString());
    const plan = planHibernation(input({ asleepSinceMs, workloads: [fresh, old, before] }));
    expect(plan.patches.map((p) => p.name)).toEqual(["before", "old"]);
    expect(plan.inGrace).toBe(1);
    expect(plan.graceEndsAtMs).toBe(NOW - 5 * 60_000 + 15 * 60_000);
    expect(
      planHibernation(input({ asleepSinceMs, nowMs: NOW + 10 * 60_000, workloads: [fresh] })).patches.map(
        (p) => p.name,
      ),
    ).toEqual(["fresh"]);
  });

  it("leaves a replica count the user changed while asleep alone, and keeps it on wake; enforce reverses both", () => {
    const slept = applyPatch(workloads[0]!, planHibernation(input({ workloads: [workloads[0]!] })).patches[0]!.patch);
    const userScaled: ObservedWorkload = { ...slept, spec: { ...slept.spec, replicas: 5 } };
    expect(planHibernation(input({ workloads: [userScaled] })).patches).toEqual([]);
    const release = planHibernation(input({ desired: "awake", workloads: [userScaled] })).patches;
    expect(release.map((p) => p.action)).toEqual(["release"]);
    expect(applyPatch(userScaled, release[0]!.patch).spec?.replicas).toBe(5);
    expect(applyPatch(userScaled, release[0]!.patch).metadata.annotations).toEqual({});

    const enforced = planHibernation(input({ enforce: true, workloads: [userScaled] })).patches;
    expect(enforced.map((p) => p.action)).toEqual(["enforce"]);
    const reslept = applyPatch(userScaled, enforced[0]!.patch);
    expect(reslept.spec?.replicas).toBe(0);
    expect(JSON.parse(reslept.metadata.annotations![SAVED_ANNOTATION]!)).toEqual({ by: KEY, replicas: 3 });
    const enforcedWake = planHibernation(input({ desired: "awake", enforce: true, workloads: [userScaled] })).patches;
    expect(applyPatch(userScaled, enforcedWake[0]!.patch).spec?.replicas).toBe(3);
  });

  it("wakes an object whose namespace became excluded while asleep, and never touches another schedule's objects", () => {
    const slept = applyPatch(workloads[0]!, planHibernation(input({ workloads: [workloads[0]!] })).patches[0]!.patch);
    const plan = planHibernation(input({ excludedNamespaces: ["shop"], workloads: [slept] }));
    expect(plan.patches.map((p) => p.action)).toEqual(["wake"]);
    const foreign: ObservedWorkload = {
      ...slept,
      metadata: {
        ...slept.metadata,
        annotations: { [SAVED_ANNOTATION]: JSON.stringify({ by: "other/schedule", replicas: 9 }) },
      },
    };
    expect(planHibernation(input({ desired: "awake", workloads: [foreign] })).patches).toEqual([]);
    expect(planHibernation(input({ desired: "asleep", workloads: [foreign] })).patches).toEqual([]);
  });

  it("restores NodePool limits that were absent by removing spec.limits", () => {
    const sleep = planHibernation(input({ nodePools: [pools[1]!] }));
    const asleep = applyPatch(pools[1]!, sleep.patches[0]!.patch);
    expect(JSON.parse(asleep.metadata.annotations![SAVED_ANNOTATION]!)).toEqual({ by: KEY, limits: null });
    const wake = planHibernation(input({ desired: "awake", nodePools: [asleep] }));
    const awake = applyPatch(asleep, wake.patches[0]!.patch);
    expect(awake.spec).toEqual(pools[1]!.spec);
  });

  it("puts a NodeTemplate's pool to sleep by its annotation alone and deletes its claims once its controller holds it at zero", () => {
    const template = nodePool("acme-web", undefined, { "spotoptimizer.io/nodetemplate": "acme/web" });
    const sleep = planHibernation(input({ nodePools: [template], nodeClaims: [claim("c1", "acme-web")] }));
    expect(sleep.patches.map((p) => [p.action, p.patch.spec])).toEqual([["hold", undefined]]);
    expect(sleep.nodeClaimDeletes).toEqual([]);
    expect(sleep.awaitingTemplate).toEqual(["acme-web"]);
    const marked = applyPatch(template, sleep.patches[0]!.patch);
    // Marked but not yet held at zero: nothing to write, and not asleep yet.
    const waiting = planHibernation(input({ nodePools: [marked], nodeClaims: [claim("c1", "acme-web")] }));
    expect([waiting.patches, waiting.nodeClaimDeletes, waiting.awaitingTemplate]).toEqual([[], [], ["acme-web"]]);
    expect(JSON.parse(marked.metadata.annotations![SAVED_ANNOTATION]!)).toEqual({ by: KEY, heldByTemplate: true });
    // The NodeTemplate controller applied the zero limits: nothing left to write, the claims go.
    const held = { ...marked, spec: { ...marked.spec, limits: { cpu: "0", memory: "0" } } };
    const asleep = planHibernation(input({ enforce: true, nodePools: [held], nodeClaims: [claim("c1", "acme-web")] }));
    expect(asleep.patches).toEqual([]);
    expect(asleep.nodeClaimDeletes).toEqual(["c1"]);
    expect(asleep.awaitingTemplate).toEqual([]);
    // The wake takes only the annotation away: the limits are the template controller's to change.
    const wake = planHibernation(input({ desired: "awake", nodePools: [held] }));
    expect(applyPatch(held, wake.patches[0]!.patch)).toEqual({ ...held, metadata: template.metadata });
  });

  it("wakes a template's pool slept with written limits by removing them, whatever was saved", () => {
    const saved = JSON.stringify({ by: KEY, limits: { cpu: "0", memory: "0" } });
    const asleep = nodePool(
      "acme-web",
      { cpu: "0", memory: "0" },
      { "spotoptimizer.io/nodetemplate": "acme/web", [SAVED_ANNOTATION]: saved },
    );
    const wake = planHibernation(input({ desired: "awake", nodePools: [asleep] }));
    expect(applyPatch(asleep, wake.patches[0]!.patch).spec?.limits).toBeUndefined();
  });

  it("leaves an object whose annotation it cannot read as it is, and names it", () => {
    const broken = (name: string, value: string): ObservedWorkload => ({
      ...workload("Deployment", `shop/${name}`, { replicas: 0 }),
      metadata: { ...workload("Deployment", `shop/${name}`, {}).metadata, annotations: { [SAVED_ANNOTATION]: value } },
    });
    const objects = [
      broken("not-json", "{replicas: 3"),
      broken("negative", JSON.stringify({ by: KEY, replicas: -5 })),
      broken("fraction", JSON.stringify({ by: KEY, replicas: 1.5 })),
    ];
    for (const desired of ["awake", "asleep"] as const) {
      const plan = planHibernation(input({ desired, enforce: true, workloads: objects }));
      expect(plan.patches).toEqual([]);
      expect(plan.unreadable).toEqual([
        "Deployment shop/fraction",
        "Deployment shop/negative",
        "Deployment shop/not-json",
      ]);
    }
    const excluded = planHibernation(input({ desired: "awake", excludedNamespaces: ["shop"], workloads: objects }));
    expect(excluded.unreadable).toEqual([]);
  });
});
