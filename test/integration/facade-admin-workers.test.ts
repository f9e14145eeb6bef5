// GET /admin/health/workers over HTTP: the agents are the action queue's workers. Queued AgentActions of every
// organisation, those whose cluster's agent is not connected, and the traffic light, all from what the API server holds;
// only a super_admin may look.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { ADMIN } from "../support/facade.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";

const API = "spotoptimizer.io/v1alpha1";
const MC = { apiVersion: API, kind: "ManagedCluster" };

let f: ResourceFacade;
let admin: string;
beforeAll(async () => {
  f = await startResourceFacade();
  admin = (await f.call("POST", "/api/auth/token", { body: ADMIN })).body.access_token as string;
});
afterAll(async () => {
  await f?.stop();
});

async function workers(): Promise<Record<string, unknown>> {
  const res = await f.call("GET", "/admin/health/workers", { token: admin });
  expect(res.status).toBe(200);
  return res.body as Record<string, unknown>;
}

async function cluster(namespace: string, name: string, connected: boolean): Promise<void> {
  await f.client.create({ ...MC, metadata: { name, namespace }, spec: { mode: "remote" } });
  const condition = connected
    ? { type: "AgentConnected", status: "True", reason: "HeartbeatReceived" }
    : { type: "AgentConnected", status: "False", reason: "HeartbeatMissed" };
  await f.client.patch(
    { ...MC, namespace, name },
    { status: { conditions: [{ ...condition, message: "test", lastTransitionTime: new Date().toISOString() }] } },
    { type: "merge", subresource: "status" },
  );
}

async function action(namespace: string, name: string, clusterName: string, phase?: string): Promise<void> {
  await f.client.create({
    apiVersion: API,
    kind: "AgentAction",
    metadata: { name, namespace },
    spec: { clusterRef: { name: clusterName }, type: "cordon", target: { kind: "Node", name: "n1" } },
  });
  if (phase)
    await f.client.patch(
      { apiVersion: API, kind: "AgentAction", namespace, name },
      { status: { phase } },
      { type: "merge", subresource: "status" },
    );
}

describe("GET /admin/health/workers", () => {
  it("is green with no clusters, and only for a super_admin", async () => {
    expect(await workers()).toMatchObject({ queue_depth: 0, workers_total: 0, workers_active: 0, status: "green" });
    for (const role of ["owner", "viewer"] as const)
      expect((await f.call("GET", "/admin/health/workers", { token: f.token(f.orgA, role) })).status).toBe(403);
    expect((await f.call("GET", "/admin/health/workers")).status).toBe(401);
  });

  it("counts queued actions of every organisation, not finished ones, and turns yellow then red", async () => {
    await cluster(f.orgA, "east", true);
    await cluster(f.orgB, "far", false);
    await eventually(() => f.cache.allClusters().filter((c) => c.status?.conditions?.length).length === 2);
    expect(await workers()).toMatchObject({
      workers_total: 2,
      workers_active: 1,
      queue_depth: 0,
      stuck_actions: 0,
      status: "yellow",
    });

    await action(f.orgA, "a-queued", "east");
    await action(f.orgA, "a-running", "east", "Running");
    await action(f.orgA, "a-done", "east", "Succeeded");
    await action(f.orgB, "b-failed", "far", "Failed");
    await eventually(() => f.cache.allAgentActions().filter((a) => a.status?.phase !== undefined).length === 3);
    expect(await workers()).toMatchObject({ queue_depth: 2, stuck_actions: 0, status: "yellow" });

    // An action waiting for the disconnected agent, and one for a cluster that does not exist, cannot progress.
    await action(f.orgB, "b-waiting", "far");
    await action(f.orgB, "b-orphan", "gone");
    await eventually(() => f.cache.allAgentActions().length === 6);
    const red = await workers();
    expect(red).toMatchObject({ queue_depth: 4, stuck_actions: 2, status: "red" });
    expect(red.status_reason).toMatch(/2 queued action/);

    // Clusters are told apart by organisation, not by name: B's disconnected "east" does not borrow A's connection.
    await cluster(f.orgB, "east", false);
    await action(f.orgB, "b-east", "east");
    await eventually(() => f.cache.allAgentActions().length === 7);
    await eventually(() => f.cache.clusters(f.orgB).filter((c) => c.status?.conditions?.length).length === 2);
    expect(await workers()).toMatchObject({ workers_total: 3, workers_active: 1, queue_depth: 5, stuck_actions: 3 });
    await f.client.delete({ apiVersion: API, kind: "AgentAction", namespace: f.orgB, name: "b-east" });
    await f.client.delete({ ...MC, namespace: f.orgB, name: "east" });
    await eventually(() => f.cache.clusters(f.orgB).length === 1 && f.cache.allAgentActions().length === 6);
  });

  it("is green once every agent is connected and nothing waits on a missing one", async () => {
    await f.client.delete({ apiVersion: API, kind: "AgentAction", namespace: f.orgB, name: "b-waiting" });
    await f.client.delete({ apiVersion: API, kind: "AgentAction", namespace: f.orgB, name: "b-orphan" });
    await f.client.patch(
      { ...MC, namespace: f.orgB, name: "far" },
      {
        status: {
          conditions: [
            {
              type: "AgentConnected",
              status: "True",
              reason: "HeartbeatReceived",
              message: "test",
              lastTransitionTime: new Date().toISOString(),
            },
          ],
        },
      },
      { type: "merge", subresource: "status" },
    );
    await eventually(async () => (await workers()).status === "green");
    expect(await workers()).toMatchObject({ workers_active: 2, workers_total: 2, queue_depth: 2, stuck_actions: 0 });
  });
});
