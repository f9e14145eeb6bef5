// What the heartbeat says about pods: groups by namespace, rounded-up request and pins; per-node pods apart.
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { podGroups } from "./cluster-report.js";

function pod(name: string, opts: { cpu: string; ns?: string; arch?: string; daemon?: boolean; node?: string }): V1Pod {
  return {
    metadata: {
      name,
      namespace: opts.ns ?? "shop",
      ...(opts.daemon ? { ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "d", uid: "u" }] } : {}),
    },
    spec: {
      ...(opts.node ? { nodeName: opts.node } : {}),
      ...(opts.arch ? { nodeSelector: { "kubernetes.io/arch": opts.arch } } : {}),
      containers: [{ name: "c", resources: { requests: { cpu: opts.cpu, memory: "100.5Mi" } } }],
    },
    status: { phase: "Running" },
  } as V1Pod;
}

describe("podGroups", () => {
  it("groups equal shapes, rounds requests up, keeps arch pins and DaemonSet pods in groups of their own", () => {
    const groups = podGroups([
      pod("a", { cpu: "250m", node: "n1" }),
      pod("b", { cpu: "250m" }),
      pod("c", { cpu: "250m", arch: "arm64", node: "n1" }),
      pod("d", { cpu: "250m", daemon: true, node: "n1" }),
      { ...pod("e", { cpu: "1" }), status: { phase: "Succeeded" } },
    ]);
    expect(groups).toEqual([
      { namespace: "shop", cpu_millicores: 250, memory_mib: 101, count: 1, scheduled: 1, arch: "arm64" },
      { namespace: "shop", cpu_millicores: 250, memory_mib: 101, count: 2, scheduled: 1 },
      { namespace: "shop", cpu_millicores: 250, memory_mib: 101, count: 1, scheduled: 1, per_node: true },
    ]);
  });
});
