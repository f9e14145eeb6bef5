// A remote cluster's hibernation while its AgentActions are pending (no agent carries them out here): the schedule's
// status speaks for its current generation, and a run that finds nothing new writes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster } from "../support/cluster.js";
import type { LocalApiServer, WriteNotice } from "../../operator/local/apiserver/index.js";
import { KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { agentObjectMarks } from "../../src-shared/agent/placement.js";
import {
  SNAPSHOT_LABEL,
  snapshotBinaryData,
  snapshotConfigMapName,
  type ClusterSnapshot,
} from "../../src-shared/agent/snapshot.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";
import { SCHEDULE_LABEL } from "../../operator/controllers/hibernation/executor.js";
import { createHibernationReconciler } from "../../operator/controllers/hibernation/reconciler.js";
import { hibernationWriter, liveReader } from "../../operator/controllers/hibernation/kube.js";
import { sleepingSpec } from "../support/hibernation-fixtures.js";

const NS = "acme";
const CLUSTER = "edge";
const HS = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule", namespace: NS, name: "nightly" };
const ALWAYS_AWAKE = [{ days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], start: "00:00", end: "24:00" }];

let server: LocalApiServer;
let client: KubeClient;
const notices: WriteNotice[] = [];
let reconcile: ReturnType<typeof createHibernationReconciler>;

/** The agent's last report of the remote cluster: two Deployments, as the facade stores it. */
function snapshotConfigMap(uid: string): KubeObject {
  const snapshot: ClusterSnapshot = {
    receivedAt: new Date().toISOString(),
    agentVersion: "0.1.0",
    k8sVersion: "v1.33.0",
    heartbeatIntervalSeconds: 15,
    nodes: [],
    pods: [],
    objects: [
      { kind: "Deployment", namespace: "shop", name: "web", resource_version: "7", replicas: 3 },
      { kind: "Deployment", namespace: "shop", name: "api", resource_version: "8", replicas: 2 },
    ],
  };
  const marks = agentObjectMarks({ namespace: NS, cluster: CLUSTER, uid });
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: snapshotConfigMapName(NS, CLUSTER),
      namespace: DEFAULT_SYSTEM_NAMESPACE,
      labels: { [SNAPSHOT_LABEL]: "true", ...marks.labels },
      annotations: marks.annotations,
    },
    binaryData: snapshotBinaryData(snapshot).binaryData,
  } as KubeObject;
}

async function schedule(): Promise<Record<string, any>> {
  return (await client.get(HS)) as Record<string, any>;
}

const ready = (s: Record<string, any>): Record<string, unknown> =>
  s.status.conditions.find((c: { type: string }) => c.type === "Ready");

async function pendingActions(): Promise<string[]> {
  const items = (await client.listAll({ apiVersion: "spotoptimizer.io/v1alpha1", kind: "AgentAction", namespace: NS }))
    .items;
  return items
    .filter((a) => a.metadata?.labels?.[SCHEDULE_LABEL] === HS.name && (a.status as any)?.phase !== "Succeeded")
    .map((a) => a.metadata!.name!)
    .sort();
}

beforeAll(async () => {
  server = await startTestCluster({ crds: "all" });
  client = new KubeClient(server.kubeConfig);
  for (const name of [NS, DEFAULT_SYSTEM_NAMESPACE])
    await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  const cluster: KubeObject = await client.create({
    apiVersion: "spotoptimizer.io/v1alpha1",
    kind: "ManagedCluster",
    metadata: { name: CLUSTER, namespace: NS },
    spec: { mode: "remote", region: "us-east-1" },
  } as KubeObject);
  await client.create(snapshotConfigMap(cluster.metadata!.uid!));
  reconcile = createHibernationReconciler({ reader: liveReader(client), writer: hibernationWriter(client) });
  server.faults.onWrite((w) => notices.push(w));
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("a remote cluster's schedule while its AgentActions are pending", () => {
  it("reports the pending actions for each new generation, and a run with nothing new writes nothing", async () => {
    await client.create({
      ...HS,
      metadata: { name: HS.name, namespace: NS },
      spec: { clusterRef: { name: CLUSTER }, timezone: "UTC", weekly: ALWAYS_AWAKE },
    } as KubeObject);
    await reconcile(`${NS}/${HS.name}`);
    const awake = await schedule();
    expect(awake.status).toMatchObject({ state: "awake", observedGeneration: 1 });
    expect(ready(awake)).toMatchObject({ status: "True", reason: "Awake", observedGeneration: 1 });

    // Generation 2 puts the cluster to sleep: the agent has to patch both Deployments, and no agent runs here.
    await client.patch(HS, { spec: sleepingSpec(CLUSTER) }, { type: "merge" });
    await reconcile(`${NS}/${HS.name}`);
    const actions = await pendingActions();
    expect(actions).toHaveLength(2);
    const sleeping = await schedule();
    expect(sleeping.metadata.generation).toBe(2);
    expect(sleeping.status).toMatchObject({ state: "awake", observedGeneration: 2 });
    expect(ready(sleeping)).toMatchObject({ status: "False", reason: "AgentActionPending", observedGeneration: 2 });
    expect(ready(sleeping).message).toMatch(/^Going to sleep: /);

    // Generation 3 changes the spec again while the same actions are still pending.
    await client.patch(HS, { spec: { gracePeriodMinutes: 30 } }, { type: "merge" });
    await reconcile(`${NS}/${HS.name}`);
    const changed = await schedule();
    expect(changed.metadata.generation).toBe(3);
    expect(changed.status.observedGeneration).toBe(3);
    expect(ready(changed)).toMatchObject({ status: "False", reason: "AgentActionPending", observedGeneration: 3 });
    expect(await pendingActions()).toEqual(actions);

    const before = notices.length;
    await reconcile(`${NS}/${HS.name}`);
    expect(notices.slice(before)).toEqual([]);
    expect((await schedule()).metadata.resourceVersion).toBe(changed.metadata.resourceVersion);
  });
});
