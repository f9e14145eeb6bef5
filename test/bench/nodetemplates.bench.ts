// NodeTemplate controller benchmark: 1 000 NodeTemplates in 50 namespaces converge to Applied=True (time, API writes),
// then a restarted operator's full pass (writes, target 0); baseline: creating the same 1 000 templates through the API.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import type { LocalApiServer, WriteNotice } from "../../operator/local/apiserver/index.js";
import { registerNodeTemplateController } from "../../operator/controllers/nodetemplate/controller.js";
import { localClusterDesignation } from "../../src-shared/karpenter/labels.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { ControllerManager } from "../../src-shared/runtime/index.js";
import { localClusterFromConfigMap } from "../../src-shared/tenancy/cluster-target.js";
import { projectCrdDir, repoRoot, startTestCluster } from "../support/cluster.js";
import { designateLocalCluster } from "../support/local-cluster.js";

export const title =
  "NodeTemplates: 1 000 templates in 50 namespaces to Applied=True (targets ≤ 10 s, 0 writes on a second full pass)";

const NAMESPACES = 50;
const PER_NAMESPACE = 20;
const NT = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "NodeTemplate" };
const FAMILIES = [["m5", "c5"], ["m6i", "c6i", "r6i"], ["m5"], ["c5", "r5"]];

function template(namespace: string, i: number): KubeObject {
  return {
    ...NT,
    metadata: { name: `t-${i}`, namespace },
    spec: {
      clusterRef: { name: "local" },
      families: FAMILIES[i % FAMILIES.length],
      strategy: i % 3 === 0 ? "SPOT" : "HYBRID",
      isDefault: i === 0,
    },
  };
}

async function startOperator(client: KubeClient): Promise<ControllerManager> {
  const manager = new ControllerManager({ client });
  const configMaps = manager.informer<KubeObject>(localClusterDesignation());
  const designation = localClusterFromConfigMap(async (ref) => configMaps.get(ref.namespace, ref.name));
  await registerNodeTemplateController({
    manager,
    client,
    // Only one organisation's cluster is the local one in a real install; here each namespace's `local` counts as
    // one, after the same designation read (from the ConfigMap informer's cache) the controller does.
    localCluster: async (namespace) => ((await designation()) ? { namespace, name: "local" } : undefined),
  });
  manager.start();
  await manager.waitForCacheSync();
  return manager;
}

function isApplied(t: any): boolean {
  return t.status?.conditions?.some(
    (c: any) => c.type === "Applied" && c.status === "True" && c.observedGeneration === t.metadata?.generation,
  );
}

/**
 * Counts the API writes and follows every written template's Applied condition from the committed objects, so
 * watching for convergence costs the server nothing (listing 1 000 templates every 100 ms, as this benchmark first
 * did, took a tenth of the process's CPU from the server and controller it measures).
 */
function counter(server: LocalApiServer): { writes: WriteNotice[]; applied: Set<string>; stop: () => void } {
  const writes: WriteNotice[] = [];
  const applied = new Set<string>();
  server.faults.onWrite((w) => {
    writes.push(w);
    if (w.resource !== "nodetemplates") return;
    const key = `${w.namespace ?? ""}/${w.name}`;
    if (w.verb !== "delete" && isApplied(w.object)) applied.add(key);
    else applied.delete(key);
  });
  return { writes, applied, stop: () => server.faults.onWrite(undefined) };
}

function byResource(writes: WriteNotice[]): string {
  const counts = new Map<string, number>();
  for (const w of writes) counts.set(`${w.resource}`, (counts.get(w.resource) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${k} ${v}`).join(", ");
}

/** CPU seconds this process (API server, controller and benchmark alike) spent since `from`. */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
}

/**
 * With NODETEMPLATES_CPU_PROFILE=FILE, a V8 CPU profile of the convergence phase only (open it in Chrome DevTools or
 * speedscope): where the time goes between the controller, the client and the local API server.
 */
async function profiler(): Promise<{ stop: () => Promise<void> }> {
  const file = process.env.NODETEMPLATES_CPU_PROFILE;
  if (!file) return { stop: async () => {} };
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return {
    stop: async () => {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      console.log(`CPU profile of the convergence phase: ${file}`);
    },
  };
}

export async function run(): Promise<void> {
  const server = await startTestCluster({
    crds: [projectCrdDir, join(repoRoot, "src-shared/karpenter/crds.generated.yaml")],
  });
  const client = new KubeClient(server.kubeConfig);
  const total = NAMESPACES * PER_NAMESPACE;
  try {
    const namespaces = Array.from({ length: NAMESPACES }, (_, n) => `bench-${n}`);
    for (const ns of namespaces) await designateLocalCluster(client, { namespace: ns, spec: { region: "us-east-1" } });
    const createCpu = process.cpuUsage();
    const createStart = performance.now();
    await Promise.all(
      namespaces.map(async (ns) => {
        for (let i = 0; i < PER_NAMESPACE; i++) await client.create(template(ns, i));
      }),
    );
    const createMs = performance.now() - createStart;
    const createCpuS = cpuSeconds(createCpu);

    const first = counter(server);
    const profile = await profiler();
    const convergeCpu = process.cpuUsage();
    const start = performance.now();
    let manager = await startOperator(client);
    while (first.applied.size < total) await new Promise((r) => setTimeout(r, 10));
    const convergeMs = performance.now() - start;
    const convergeCpuS = cpuSeconds(convergeCpu);
    await profile.stop();
    await manager.idle();
    first.stop();
    await manager.stop();

    const second = counter(server);
    const passStart = performance.now();
    manager = await startOperator(client);
    await manager.idle();
    const passMs = performance.now() - passStart;
    second.stop();
    await manager.stop();

    console.log(
      `baseline: create ${total} NodeTemplates through the API: ${(createMs / 1000).toFixed(2)} s ` +
        `(${createCpuS.toFixed(2)} CPU s)`,
    );
    console.log(
      `converge: ${total} templates in ${NAMESPACES} namespaces Applied=True in ${(convergeMs / 1000).toFixed(2)} s ` +
        `(${(convergeMs / createMs).toFixed(2)}× the baseline; target ≤ 10 s); ${convergeCpuS.toFixed(2)} CPU s ` +
        `(${(convergeCpuS / createCpuS).toFixed(2)}× the baseline's; the ratio of CPU time holds under machine load)`,
    );
    console.log(`  API writes: ${first.writes.length} (${byResource(first.writes)})`);
    console.log(
      `second full pass (restarted operator): ${second.writes.length} writes in ${(passMs / 1000).toFixed(2)} s (target 0)`,
    );
  } finally {
    client.close();
    await server.stop();
  }
}
