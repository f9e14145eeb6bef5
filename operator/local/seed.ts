// Local mode: seeds a simulated cluster (nodes, namespaces, Deployments) and a demo organisation's ManagedCluster,
// idempotently, so that `npm start` shows real objects on the first run and keeps user edits on later runs. The API
// server's control loops turn the Deployments into scheduled, Running pods.
import { isConflict, type KubeClient } from "../../src-shared/kube/index.js";
import { SERVER_VERSION } from "./apiserver/http.js";

interface DemoNode {
  name: string;
  instanceType: string;
  capacityType: "spot" | "on-demand";
  zone: string;
  arch: "amd64" | "arm64";
  cpuMillicores: number;
  memoryMiB: number;
}

interface DemoWorkload {
  namespace: string;
  name: string;
  replicas: number;
  cpuMillicores: number;
  memoryMiB: number;
}

// Allocatable figures follow Karpenter's published allocatable for these shapes (rounded); they only feed the demo.
const DEMO_NODES: readonly DemoNode[] = [
  {
    name: "ip-10-0-1-11.ec2.internal",
    instanceType: "m5.xlarge",
    capacityType: "on-demand",
    zone: "us-east-1a",
    arch: "amd64",
    cpuMillicores: 3920,
    memoryMiB: 14162,
  },
  {
    name: "ip-10-0-1-12.ec2.internal",
    instanceType: "m5.xlarge",
    capacityType: "spot",
    zone: "us-east-1b",
    arch: "amd64",
    cpuMillicores: 3920,
    memoryMiB: 14162,
  },
  {
    name: "ip-10-0-2-21.ec2.internal",
    instanceType: "c6g.large",
    capacityType: "spot",
    zone: "us-east-1a",
    arch: "arm64",
    cpuMillicores: 1930,
    memoryMiB: 3246,
  },
  {
    name: "ip-10-0-2-22.ec2.internal",
    instanceType: "r5.large",
    capacityType: "on-demand",
    zone: "us-east-1c",
    arch: "amd64",
    cpuMillicores: 1930,
    memoryMiB: 14162,
  },
];

const DEMO_WORKLOADS: readonly DemoWorkload[] = [
  { namespace: "shop", name: "web", replicas: 3, cpuMillicores: 250, memoryMiB: 256 },
  { namespace: "shop", name: "api", replicas: 2, cpuMillicores: 500, memoryMiB: 1024 },
  { namespace: "shop", name: "worker", replicas: 2, cpuMillicores: 1000, memoryMiB: 2048 },
  { namespace: "analytics", name: "reports", replicas: 1, cpuMillicores: 750, memoryMiB: 4096 },
];

/** Creates the object unless one of that name exists already (an existing object, possibly edited by the user, is kept). */
export async function createIfAbsent(client: KubeClient, object: Record<string, unknown>): Promise<void> {
  try {
    await client.create(object as never);
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

function nodeObject(n: DemoNode): Record<string, unknown> {
  const quantities = { cpu: `${n.cpuMillicores}m`, memory: `${n.memoryMiB}Mi`, pods: "58" };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: n.name,
      labels: {
        "node.kubernetes.io/instance-type": n.instanceType,
        "karpenter.sh/capacity-type": n.capacityType,
        "topology.kubernetes.io/zone": n.zone,
        "topology.kubernetes.io/region": "us-east-1",
        "kubernetes.io/arch": n.arch,
        "kubernetes.io/os": "linux",
        "karpenter.sh/nodepool": "default",
      },
    },
    spec: { providerID: `aws:///${n.zone}/i-demo${n.name.slice(3, 11).replace(/-/g, "")}` },
    status: {
      capacity: quantities,
      allocatable: quantities,
      conditions: [{ type: "Ready", status: "True" }],
      // What kubectl get nodes -o wide shows; the version is the local API server's own.
      nodeInfo: {
        kubeletVersion: SERVER_VERSION,
        kubeProxyVersion: SERVER_VERSION,
        operatingSystem: "linux",
        architecture: n.arch,
        osImage: "simulated node (local mode)",
        containerRuntimeVersion: "simulated://1",
      },
      addresses: [
        { type: "InternalIP", address: n.name.slice(3, n.name.indexOf(".")).replace(/-/g, ".") },
        { type: "Hostname", address: n.name },
      ],
    },
  };
}

function deploymentObject(w: DemoWorkload): Record<string, unknown> {
  const labels = { app: w.name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: w.name, namespace: w.namespace, labels },
    spec: {
      replicas: w.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: w.name,
              image: `registry.example/demo/${w.name}:1.0`,
              resources: { requests: { cpu: `${w.cpuMillicores}m`, memory: `${w.memoryMiB}Mi` } },
            },
          ],
        },
      },
    },
  };
}

/**
 * Earlier versions of this seed wrote each workload's pods by hand (`<name>-<i>`, no owner); the Deployments own their
 * pods now, so such leftovers in a kept state would double the workloads: they are removed.
 */
async function removeHandWrittenPods(client: KubeClient, w: DemoWorkload): Promise<void> {
  for (let i = 0; i < w.replicas; i++) {
    const ref = { apiVersion: "v1", kind: "Pod", namespace: w.namespace, name: `${w.name}-${i}` };
    const pod = await client.getIfExists(ref);
    if (!pod || (pod.metadata?.ownerReferences ?? []).length > 0 || pod.metadata?.labels?.app !== w.name) continue;
    await client.delete(ref);
  }
}

/** Creates the simulated cluster's nodes, namespaces and Deployments (existing ones are kept). */
export async function seedSimulatedCluster(client: KubeClient): Promise<void> {
  for (const node of DEMO_NODES) await createIfAbsent(client, nodeObject(node));
  const namespaces = [...new Set(DEMO_WORKLOADS.map((w) => w.namespace))];
  for (const name of namespaces)
    await createIfAbsent(client, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  for (const workload of DEMO_WORKLOADS) {
    await createIfAbsent(client, deploymentObject(workload));
    await removeHandWrittenPods(client, workload);
  }
}

/** The demo organisation's ManagedCluster for this (local) cluster. */
export async function seedDemoCluster(client: KubeClient, namespace: string): Promise<void> {
  await createIfAbsent(client, {
    apiVersion: "spotoptimizer.io/v1alpha1",
    kind: "ManagedCluster",
    metadata: { name: "local", namespace },
    spec: { mode: "local", displayName: "Local demo cluster", region: "us-east-1", k8sVersion: "1.33" },
  });
}

/** The ConfigMap (system namespace) that says this state was seeded: later starts leave its demo objects to the user. */
export const SEED_MARKER = "spot-optimizer-local-seed";

/** Whether an earlier start seeded this state (then what the user deleted since stays deleted). */
export async function seededBefore(client: KubeClient, namespace: string): Promise<boolean> {
  const marker = await client.getIfExists({ apiVersion: "v1", kind: "ConfigMap", namespace, name: SEED_MARKER });
  return marker !== undefined;
}

/** Records that this state is seeded; written last, so a start interrupted while seeding seeds again (idempotent). */
export async function markSeeded(client: KubeClient, namespace: string): Promise<void> {
  await createIfAbsent(client, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: SEED_MARKER, namespace },
    data: { seededAt: new Date().toISOString() },
  });
}

export const demoCounts = { nodes: DEMO_NODES.length, pods: DEMO_WORKLOADS.reduce((n, w) => n + w.replicas, 0) };
