// Unit tests of the replan controller's pure parts: effective pod requests, shapes, templates/policy -> optimizer input, lastPlan.
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { loadCatalogPriceBook } from "../../../../src-shared/pricing/catalog/index.js";
import type { Plan } from "../../../../src-shared/optimizer/types.js";
import { podRequest } from "../../../../src-shared/fleet/pod-request.js";
import {
  failedPlan,
  nodeCounts,
  invalidTemplate,
  optimizerInput,
  podExclusion,
  podShapes,
  podShapesFromReport,
  succeededPlan,
  type TemplateView,
} from "./desired.js";

type C = { cpu?: string; memory?: string; gpu?: string; limitsOnly?: boolean; sidecar?: boolean };

function container(name: string, c: C): Record<string, unknown> {
  const r: Record<string, string> = {};
  if (c.cpu) r.cpu = c.cpu;
  if (c.memory) r.memory = c.memory;
  if (c.gpu) r["nvidia.com/gpu"] = c.gpu;
  return {
    name,
    image: "x",
    resources: c.limitsOnly ? { limits: r } : { requests: r },
    ...(c.sidecar ? { restartPolicy: "Always" } : {}),
  };
}

function pod(opts: {
  containers: C[];
  init?: C[];
  phase?: string;
  owner?: string;
  nodeSelector?: Record<string, string>;
  overhead?: Record<string, string>;
  deleting?: boolean;
}): V1Pod {
  return {
    metadata: {
      name: "p",
      namespace: "apps",
      ...(opts.owner ? { ownerReferences: [{ apiVersion: "apps/v1", kind: opts.owner, name: "o", uid: "u" }] } : {}),
      ...(opts.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    spec: {
      containers: opts.containers.map((c, i) => container(`c${i}`, c)),
      ...(opts.init ? { initContainers: opts.init.map((c, i) => container(`i${i}`, c)) } : {}),
      ...(opts.nodeSelector ? { nodeSelector: opts.nodeSelector } : {}),
      ...(opts.overhead ? { overhead: opts.overhead } : {}),
    },
    status: { phase: opts.phase ?? "Running" },
  } as unknown as V1Pod;
}

describe("podRequest (the scheduler's effective request)", () => {
  it("sums app containers", () => {
    expect(
      podRequest(
        pod({
          containers: [
            { cpu: "250m", memory: "256Mi" },
            { cpu: "1", memory: "1Gi" },
          ],
        }),
      ),
    ).toEqual({ cpuMillicores: 1250, memoryMiB: 1280, gpus: 0 });
  });

  it("takes the larger of the app containers' sum and the largest init container, per resource", () => {
    const p = pod({
      containers: [{ cpu: "500m", memory: "2Gi" }],
      init: [
        { cpu: "2", memory: "128Mi" },
        { cpu: "100m", memory: "1Gi" },
      ],
    });
    expect(podRequest(p)).toEqual({ cpuMillicores: 2000, memoryMiB: 2048, gpus: 0 });
  });

  it("counts sidecars (init containers with restartPolicy Always) beside the app containers and under later inits", () => {
    const p = pod({
      containers: [{ cpu: "500m", memory: "512Mi" }],
      init: [
        { cpu: "200m", memory: "100Mi", sidecar: true },
        { cpu: "1", memory: "64Mi" },
      ],
    });
    // running: 500 + 200; init peak: 1000 + 200 (the sidecar started before it)
    expect(podRequest(p)).toEqual({ cpuMillicores: 1200, memoryMiB: 612, gpus: 0 });
  });

  it("reads limits when no request is given, adds pod overhead and counts GPUs", () => {
    const p = pod({
      containers: [{ cpu: "2", memory: "4Gi", gpu: "1", limitsOnly: true }],
      overhead: { cpu: "250m", memory: "120Mi" },
    });
    expect(podRequest(p)).toEqual({ cpuMillicores: 2250, memoryMiB: 4216, gpus: 1 });
  });
});

describe("podShapes", () => {
  it("groups identical pods, leaves out finished, terminating, DaemonSet and static pods, and keeps arch/zone pins", () => {
    const web = pod({ containers: [{ cpu: "500m", memory: "1Gi" }] });
    const inventory = podShapes([
      web,
      web,
      pod({ containers: [{ cpu: "0.5", memory: "1024Mi" }] }),
      pod({ containers: [{ cpu: "500m", memory: "1Gi" }], nodeSelector: { "kubernetes.io/arch": "arm64" } }),
      pod({
        containers: [{ cpu: "500m", memory: "1Gi" }],
        nodeSelector: { "topology.kubernetes.io/zone": "use1-az2" },
      }),
      pod({ containers: [{ cpu: "4", memory: "8Gi" }], phase: "Succeeded" }),
      pod({ containers: [{ cpu: "4", memory: "8Gi" }], phase: "Failed" }),
      pod({ containers: [{ cpu: "4", memory: "8Gi" }], deleting: true }),
      pod({ containers: [{ cpu: "4", memory: "8Gi" }], owner: "DaemonSet" }),
      pod({ containers: [{ cpu: "4", memory: "8Gi" }], owner: "Node" }),
      pod({ containers: [{ cpu: "100m", memory: "1e9" }], phase: "Pending" }),
    ]);
    expect(inventory.skipped).toEqual({ finished: 2, terminating: 1, perNode: 2 });
    expect(inventory.podsPlanned).toBe(6);
    const byShape = inventory.groups.map((g) => [
      g.cpuMillicores,
      g.memoryMiB,
      g.count,
      g.arch ?? null,
      g.zone ?? null,
    ]);
    expect(byShape).toEqual(
      expect.arrayContaining([
        [500, 1024, 3, null, null],
        [500, 1024, 1, "arm64", null],
        [500, 1024, 1, null, "use1-az2"],
        // 1e9 bytes = 953.67 MiB, rounded up so the shape never asks for less than the pod
        [100, 954, 1, null, null],
      ]),
    );
    expect(inventory.groups).toHaveLength(4);
  });

  it("says why a pod is excluded", () => {
    expect(podExclusion(pod({ containers: [{}], owner: "ReplicaSet" }))).toBeUndefined();
    expect(podExclusion(pod({ containers: [{}], owner: "DaemonSet" }))).toBe("per-node");
    expect(podExclusion(pod({ containers: [{}], phase: "Succeeded" }))).toBe("finished");
  });
});

describe("optimizerInput (NodeTemplates + OptimizationPolicy)", () => {
  const book = loadCatalogPriceBook("us-east-1");
  const tpl = (name: string, spec: TemplateView["spec"]): TemplateView => ({ metadata: { name }, spec });
  const allowed = (input: ReturnType<typeof optimizerInput>): string[] =>
    [...book.instanceTypes.values()].filter((s) => input.policy.allowType!(s)).map((s) => s.name);

  it("maps strategy to capacity: all SPOT -> spot, all ON_DEMAND -> on-demand, a mix or HYBRID -> mixed", () => {
    expect(
      optimizerInput({ templates: [tpl("a", { families: ["m5"], strategy: "SPOT" })], book }).policy.capacity,
    ).toBe("spot");
    expect(
      optimizerInput({ templates: [tpl("a", { families: ["m5"], strategy: "ON_DEMAND" })], book }).policy.capacity,
    ).toBe("on-demand");
    expect(optimizerInput({ templates: [tpl("a", { families: ["m5"] })], book }).policy.capacity).toBe("mixed");
    expect(
      optimizerInput({
        templates: [
          tpl("a", { families: ["m5"], strategy: "SPOT" }),
          tpl("b", { families: ["c5"], strategy: "ON_DEMAND" }),
        ],
        book,
      }).policy.capacity,
    ).toBe("mixed");
  });

  it("allows the union of the templates' families and architectures, Spot only where a Spot-capable template allows it", () => {
    const input = optimizerInput({
      templates: [
        tpl("spot", { families: ["m5"], strategy: "SPOT" }),
        tpl("od", { families: ["c5"], strategy: "ON_DEMAND" }),
      ],
      book,
    });
    const types = allowed(input);
    expect(types.length).toBeGreaterThan(0);
    expect(types.every((t) => t.startsWith("m5.") || t.startsWith("c5."))).toBe(true);
    expect([...input.book.spot.keys()].every((t) => t.startsWith("m5."))).toBe(true);
    expect(input.book.spot.size).toBeGreaterThan(0);
    // On-Demand prices stay for every type: the baseline needs them.
    expect(input.book.onDemand.size).toBe(book.onDemand.size);
  });

  it("honours architecture (x86_64 -> amd64, arm64) and treats a family as family or category", () => {
    const arm = allowed(optimizerInput({ templates: [tpl("g", { families: ["m"], architecture: "arm64" })], book }));
    expect(arm.length).toBeGreaterThan(0);
    expect(
      arm.every((t) => book.instanceTypes.get(t)!.arch === "arm64" && book.instanceTypes.get(t)!.category === "m"),
    ).toBe(true);
  });

  it("leaves out templates found invalid for their current generation, and names them", () => {
    const valid = (status: string, observedGeneration?: number): TemplateView["status"] => ({
      conditions: [{ type: "Valid", status, ...(observedGeneration !== undefined ? { observedGeneration } : {}) }],
    });
    const bad: TemplateView = { ...tpl("bad", { families: ["r5"] }), metadata: { name: "bad", generation: 2 } };
    expect(invalidTemplate({ ...bad, status: valid("False", 2) })).toBe(true);
    expect(invalidTemplate({ ...bad, status: valid("False") })).toBe(true);
    // found invalid at an earlier generation, since edited: not yet checked, so taken
    expect(invalidTemplate({ ...bad, status: valid("False", 1) })).toBe(false);
    expect(invalidTemplate({ ...bad, status: valid("True", 2) })).toBe(false);
    expect(invalidTemplate(bad)).toBe(false);
    // a spec that does not parse gets no Valid condition, only Applied=False for InvalidSpec
    const unparsed = {
      conditions: [{ type: "Applied", status: "False", reason: "InvalidSpec", observedGeneration: 2 }],
    };
    expect(invalidTemplate({ ...bad, status: unparsed })).toBe(true);
    const refused = {
      conditions: [{ type: "Applied", status: "False", reason: "WriteRefused", observedGeneration: 2 }],
    };
    expect(invalidTemplate({ ...bad, status: refused })).toBe(false);
    const input = optimizerInput({
      templates: [tpl("good", { families: ["m5"] }), { ...bad, status: valid("False", 2) }],
      book,
    });
    expect(allowed(input).every((name) => name.startsWith("m5."))).toBe(true);
    expect(input.basis).toContain("NodeTemplates: good (left out, not valid: bad)");
  });

  it("takes strategy and spotFallback from the OptimizationPolicy, else the CRD's defaults", () => {
    const withPolicy = optimizerInput({
      templates: [tpl("a", { families: ["m5"], strategy: "SPOT" })],
      policy: { metadata: { name: "p" }, spec: { strategy: "capacity-optimized", spotFallback: { enabled: true } } },
      book,
    });
    expect(withPolicy.policy).toMatchObject({ strategy: "capacity-optimized", spotFallback: true });
    expect(withPolicy.basis).toContain("OptimizationPolicy p");
    const defaults = optimizerInput({ templates: [], book });
    expect(defaults.policy).toMatchObject({
      strategy: "price-capacity-optimized",
      spotFallback: false,
      capacity: "mixed",
    });
    expect(defaults.basis).toContain("defaults");
    // Without templates: every x86_64 type of the book.
    expect(allowed(defaults).length).toBe([...book.instanceTypes.values()].filter((s) => s.arch === "amd64").length);
  });
});

describe("lastPlan", () => {
  const book = loadCatalogPriceBook("us-east-1");
  const node = (
    instanceType: string,
    capacityType: "spot" | "on-demand",
    hourlyUsd: number,
    onDemandHourlyUsd: number,
  ): Plan["nodes"][number] => ({
    instanceType,
    capacityType,
    zone: "use1-az1",
    hourlyUsd,
    onDemandHourlyUsd,
    priceSource: "snapshot",
    priceAsOf: capacityType === "spot" ? "2025-06-28" : "2026-07-20",
    allocatable: { cpuMillicores: 1930, memoryMiB: 7000, pods: 29, gpus: 0 },
    pods: [],
  });

  it("counts nodes by type and capacity type, monthly = hourly × 730, and dates the figures by the oldest price", () => {
    const plan: Plan = {
      nodes: [
        node("m5.large", "spot", 0.04, 0.096),
        node("m5.large", "spot", 0.04, 0.096),
        node("c5.large", "on-demand", 0.085, 0.085),
      ],
      hourlyCostUsd: 0.165,
      baselineHourlyCostUsd: 0.277,
      savingsPct: (100 * (0.277 - 0.165)) / 0.277,
      unplaced: [],
      warnings: [],
    };
    const inventory = { groups: [], podsPlanned: 7, skipped: { finished: 0, terminating: 0, perNode: 2 } };
    const planInput = optimizerInput({ templates: [], book });
    const last = succeededPlan({ jobId: "j1", now: new Date("2026-11-23T18:00:00.123Z"), plan, inventory, planInput });
    expect(nodeCounts(plan)).toEqual([
      { instanceType: "c5.large", capacityType: "on-demand", count: 1 },
      { instanceType: "m5.large", capacityType: "spot", count: 2 },
    ]);
    expect(last).toMatchObject({
      jobId: "j1",
      phase: "Succeeded",
      completedAt: "2026-11-23T18:00:00Z",
      hourlyCostUsd: 0.165,
      monthlyCostUsd: 120.45,
      baselineHourlyCostUsd: 0.277,
      savingsPct: 40.43,
      podsPlanned: 7,
      unplacedPods: 0,
    });
    expect(last.prices).toEqual({ source: "snapshot", asOf: "2025-06-28" });
    expect(last.message).toContain("2 DaemonSet/static pod(s)");
    // one node on an undated price (the snapshot's observed Spot): the plan's figures are undated
    const undated = { ...plan, nodes: [{ ...plan.nodes[0]!, priceAsOf: "unknown" }, ...plan.nodes.slice(1)] };
    expect(succeededPlan({ jobId: "j2", now: new Date(), plan: undated, inventory, planInput }).prices).toEqual({
      source: "snapshot",
      asOf: "unknown",
    });
  });

  it("states the bound as what the cheapest plan costs, and under a risk-weighing strategy says the gap is its choice", () => {
    const plan = {
      nodes: [node("m5.large", "spot", 0.04, 0.096)],
      hourlyCostUsd: 0.06,
      baselineHourlyCostUsd: 0.096,
      savingsPct: 37.5,
      unplaced: [],
      warnings: [],
      lowerBound: { hourlyUsd: 0.04 },
    };
    const inventory = { groups: [], podsPlanned: 1, skipped: { finished: 0, terminating: 0, perNode: 0 } };
    const message = (strategy?: string): string =>
      succeededPlan({
        jobId: "j3",
        now: new Date("2026-11-23T18:00:00Z"),
        plan,
        inventory,
        planInput: optimizerInput({
          templates: [],
          book,
          ...(strategy ? { policy: { metadata: { name: "p" }, spec: { strategy } } as never } : {}),
        }),
      }).message ?? "";
    expect(message("lowest-price")).toContain(
      "proven lower bound 0.0400 $/h: the plan costs at most 50.00 % more than the cheapest possible plan;",
    );
    expect(message("capacity-optimized")).toContain(
      "at most 50.00 % more than the cheapest possible plan (strategy capacity-optimized weighs interruption risk as well as price)",
    );
  });

  it("a failed job carries its reason and no figures", () => {
    const f = failedPlan({
      jobId: "j2",
      now: new Date("2026-11-23T18:00:00Z"),
      reason: "NoPrices",
      message: "No prices for region eu-west-1",
    });
    expect(f).toEqual({
      jobId: "j2",
      phase: "Failed",
      completedAt: "2026-11-23T18:00:00Z",
      reason: "NoPrices",
      message: "No prices for region eu-west-1",
    });
  });
});

describe("podShapesFromReport (a remote cluster's heartbeat)", () => {
  it("merges namespaces of one shape, keeps GPU, arch and zone pins apart, and leaves out per-node groups", () => {
    const inventory = podShapesFromReport([
      { namespace: "a", cpu_millicores: 500, memory_mib: 1024, count: 3 },
      { namespace: "b", cpu_millicores: 500, memory_mib: 1024, count: 2 },
      { namespace: "b", cpu_millicores: 500, memory_mib: 1024, count: 1, arch: "arm64" },
      { namespace: "b", cpu_millicores: 500, memory_mib: 1024, count: 1, zone: "us-east-1a", gpus: 1 },
      { namespace: "kube-system", cpu_millicores: 100, memory_mib: 128, count: 4, per_node: true },
    ]);
    expect(inventory.groups).toEqual([
      { app: "500m-1024Mi-0gpu-any-any", cpuMillicores: 500, memoryMiB: 1024, count: 5 },
      { app: "500m-1024Mi-0gpu-arm64-any", cpuMillicores: 500, memoryMiB: 1024, count: 1, arch: "arm64" },
      {
        app: "500m-1024Mi-1gpu-any-us-east-1a",
        cpuMillicores: 500,
        memoryMiB: 1024,
        count: 1,
        gpus: 1,
        zone: "us-east-1a",
      },
    ]);
    expect(inventory.podsPlanned).toBe(7);
    expect(inventory.skipped).toEqual({ finished: 0, terminating: 0, perNode: 4 });
  });
});
