// Hibernation against the local API server when writes are refused for single objects (an admission webhook, a
// hand-edited annotation): the rest of a wake still happens, the refused object is named, and nothing is overwritten.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster } from "../support/cluster.js";
import type { LocalApiServer, WriteNotice } from "../../operator/local/apiserver/index.js";
import { KubeApiError, KubeClient, type KubeObject } from "../../src-shared/kube/index.js";
import { designateLocalCluster } from "../support/local-cluster.js";
import {
  deployment as teamDeployment,
  generalPool,
  settleWrites,
  sleepingSpec,
} from "../support/hibernation-fixtures.js";
import { createHibernationReconciler } from "../../operator/controllers/hibernation/reconciler.js";
import { hibernationWriter, liveReader, type HibernationWriter } from "../../operator/controllers/hibernation/kube.js";
import { SAVED_ANNOTATION } from "../../operator/controllers/hibernation/desired.js";

const NS = "acme";
const TEAM = "team-a";
const HS = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "HibernationSchedule", namespace: NS, name: "nightly" };
const KEY = `${NS}/${HS.name}`;
const ODD_ANNOTATION = JSON.stringify({ by: KEY, replicas: -5 });

let server: LocalApiServer;
let client: KubeClient;
const notices: WriteNotice[] = [];
/** Deployments whose writes the "webhook" denies. */
const denied = new Set<string>();
let reconcile: ReturnType<typeof createHibernationReconciler>;

const deployment = (name: string, replicas: number, annotations?: Record<string, string>): KubeObject =>
  teamDeployment(TEAM, name, replicas, annotations);

/** The real writer, except that a denied Deployment's patch gets the answer an admission webhook's denial gives. */
function refusingWriter(): HibernationWriter {
  const real = hibernationWriter(client);
  return {
    ...real,
    applyPatch: async (patch) => {
      if (patch.kind === "Deployment" && denied.has(patch.name))
        throw new KubeApiError(
          403,
          {
            kind: "Status",
            reason: "Forbidden",
            message: 'admission webhook "replicas.example.com" denied the request',
          },
          `PATCH deployments/${patch.name}`,
        );
      return real.applyPatch(patch);
    },
  };
}

const settle = (): Promise<number> =>
  settleWrites(
    () => reconcile(KEY),
    () => notices.length,
  );

async function deploymentState(name: string): Promise<{ replicas: unknown; saved: string | undefined }> {
  const d = await client.get({ apiVersion: "apps/v1", kind: "Deployment", namespace: TEAM, name });
  return { replicas: (d.spec as any).replicas, saved: d.metadata?.annotations?.[SAVED_ANNOTATION] };
}

async function ready(): Promise<{ status: string; reason: string; message: string }> {
  const s = (await client.get(HS)).status as any;
  return s.conditions.find((c: { type: string }) => c.type === "Ready");
}

beforeAll(async () => {
  server = await startTestCluster({ crds: "all" });
  client = new KubeClient(server.kubeConfig);
  for (const name of [NS, TEAM]) await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  await designateLocalCluster(client, { namespace: NS });
  await client.create(deployment("web", 3));
  await client.create(deployment("api", 2));
  await client.create(deployment("odd", 0, { [SAVED_ANNOTATION]: ODD_ANNOTATION }));
  await client.create(generalPool());
  await client.create({ ...HS, metadata: { name: HS.name, namespace: NS }, spec: sleepingSpec("local") } as KubeObject);
  server.faults.onWrite((w) => notices.push(w));
  reconcile = createHibernationReconciler({ reader: liveReader(client), writer: refusingWriter() });
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

describe("hibernation with refused writes", () => {
  it("leaves an object with an annotation it cannot read as it is, and names it on the schedule", async () => {
    await settle();
    expect(((await client.get(HS)).status as any).state).toBe("asleep");
    expect(await deploymentState("web")).toMatchObject({ replicas: 0 });
    expect(await deploymentState("odd")).toEqual({ replicas: 0, saved: ODD_ANNOTATION });
    expect((await ready()).message).toContain("Deployment team-a/odd");
  });

  it("wakes everything else when one object's write is refused, names it, and keeps the schedule until it is woken", async () => {
    denied.add("web");
    await client.patch(HS, { spec: { override: null } }, { type: "merge" });
    await settle();
    expect(await deploymentState("api")).toEqual({ replicas: 2, saved: undefined });
    const pool = await client.get({ apiVersion: "karpenter.sh/v1", kind: "NodePool", name: "general" });
    expect((pool.spec as any).limits).toEqual({ cpu: "100" });
    expect((await deploymentState("web")).replicas).toBe(0);
    expect(await ready()).toMatchObject({ status: "False", reason: "WriteRefused" });
    expect((await ready()).message).toContain("Deployment team-a/web");
    // The wake is not recorded as done while an object is still asleep.
    expect(((await client.get(HS)).status as any).state).toBe("asleep");

    await client.delete(HS);
    await settle();
    expect(await client.getIfExists(HS)).toBeDefined();

    denied.clear();
    await settle();
    expect(await deploymentState("web")).toEqual({ replicas: 3, saved: undefined });
    expect(await client.getIfExists(HS)).toBeUndefined();
    expect(await deploymentState("odd")).toEqual({ replicas: 0, saved: ODD_ANNOTATION });
  });
});
