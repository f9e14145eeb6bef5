// The last heartbeat before an agent goes quiet is what its cluster shows: a report the status interval kept back is
// stored once the interval has passed (real clock, a three-second interval), never over a later one, and at shutdown.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSnapshot, snapshotConfigMapName } from "../../src-shared/agent/snapshot.js";
import { DEFAULT_SYSTEM_NAMESPACE } from "../../src-shared/tenancy/cluster-target.js";
import { testHeartbeat as beat } from "../support/agent.js";
import { eventually } from "../support/cluster.js";
import { startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

let f: TestFacade;
let owner: SignedUp;

beforeAll(async () => {
  f = await startTestFacade({ config: { agentStatusIntervalSeconds: 3, agentLeaseRenewSeconds: 1 } });
  owner = await f.signup("Trailing Beats Corp");
});
afterAll(async () => {
  await f?.stop();
});

async function storedNodes(cluster: string): Promise<string[] | undefined> {
  const cm = await f.client.getIfExists({
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: DEFAULT_SYSTEM_NAMESPACE,
    name: snapshotConfigMapName(owner.namespace, cluster),
  });
  return parseSnapshot(cm as never)?.nodes.map((n) => n.name);
}

async function connect(cluster: string): Promise<string> {
  const res = await f.call("POST", "/clusters/connect", { token: owner.accessToken, body: { cluster_id: cluster } });
  expect(res.status).toBe(200);
  return res.body.api_token as string;
}

describe("a heartbeat kept back by the status interval", () => {
  it("is stored once the interval has passed, though no beat follows", async () => {
    const token = await connect("quiet");
    const send = (nodes: string[]) => f.call("POST", "/clusters/quiet/heartbeat", { token, body: beat(nodes) });
    expect((await send(["a"])).status).toBe(200);
    expect(await storedNodes("quiet")).toEqual(["a"]);
    // within the interval: answered, stored only once it has passed; the agent goes quiet meanwhile
    expect((await send(["a", "b"])).status).toBe(200);
    await eventually(async () => (await storedNodes("quiet"))?.length === 2, 10_000, "the last report stored");
    expect(await storedNodes("quiet")).toEqual(["a", "b"]);
  });

  it("is stored when the facade stops before the interval has passed", async () => {
    const token = await connect("stopping");
    const send = (nodes: string[]) => f.call("POST", "/clusters/stopping/heartbeat", { token, body: beat(nodes) });
    expect((await send(["x"])).status).toBe(200);
    expect((await send(["x", "y"])).status).toBe(200);
    await f.facades[0]!.services.agent.ingest.close();
    expect(await storedNodes("stopping")).toEqual(["x", "y"]);
  });
});
