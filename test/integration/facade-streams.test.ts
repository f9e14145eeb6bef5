// The dashboard's WebSockets through a real ws client: WS /clusters/heartbeat sends each of the caller's clusters'
// agent connection state and its changes, WS /notify the organisation's audit entries as they are written; neither
// ever carries another organisation's; a stream needs a valid token (header or subprotocol) and ends at logout.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { eventually } from "../support/cluster.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };

let f: ResourceFacade;
const open: WebSocket[] = [];
beforeAll(async () => {
  f = await startResourceFacade({ config: { streamRecheckSeconds: 1 } });
});
afterAll(async () => {
  for (const ws of open) if (ws.readyState === WebSocket.OPEN) ws.terminate();
  await f?.stop();
});

interface Stream {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  closed: Promise<number>;
}

/** Opens a stream with the token as subprotocols (as a browser does); resolves once open. */
function connect(path: string, token: string, how: "protocol" | "header" = "protocol"): Promise<Stream> {
  const url = f.url.replace(/^http/, "ws") + path;
  const ws =
    how === "protocol"
      ? new WebSocket(url, ["bearer", token])
      : new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  open.push(ws);
  const messages: Array<Record<string, unknown>> = [];
  ws.on("message", (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ ws, messages, closed }));
    ws.once("error", reject);
  });
}

/** The HTTP status a refused upgrade answers. */
function refusedWith(path: string, protocols?: string[]): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(f.url.replace(/^http/, "ws") + path, protocols);
  open.push(ws);
  return new Promise((resolve, reject) => {
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += String(chunk)));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once("open", () => reject(new Error(`${path} opened`)));
  });
}

async function setConnection(namespace: string, name: string, status: "True" | "False", reason: string): Promise<void> {
  await f.client.patch(
    { ...MC, namespace, name },
    {
      status: {
        conditions: [
          { type: "AgentConnected", status, reason, message: "test", lastTransitionTime: new Date().toISOString() },
        ],
        ...(status === "True" ? { agent: { lastSeen: new Date().toISOString() } } : {}),
      },
    },
    { type: "merge", subresource: "status" },
  );
}

describe("WS /clusters/heartbeat", () => {
  it("sends the caller's clusters, then their changes and removal, never another organisation's", async () => {
    await f.client.create({ ...MC, metadata: { name: "east", namespace: f.orgA }, spec: { mode: "remote" } });
    await f.client.create({ ...MC, metadata: { name: "far", namespace: f.orgB }, spec: { mode: "remote" } });
    await setConnection(f.orgA, "east", "False", "NoHeartbeat");
    await eventually(() => f.cache.cluster(f.orgA, "east")?.status?.conditions !== undefined);
    await eventually(() => f.cache.cluster(f.orgB, "far") !== undefined);

    const s = await connect("/clusters/heartbeat", f.token(f.orgA, "viewer"));
    await eventually(() => s.messages.length === 1);
    expect(s.messages[0]).toMatchObject({ cluster_id: "east", status: "waiting" });

    await setConnection(f.orgA, "east", "True", "HeartbeatReceived");
    await setConnection(f.orgB, "far", "True", "HeartbeatReceived");
    await eventually(() => s.messages.some((m) => m.status === "healthy"));
    const healthy = s.messages.find((m) => m.status === "healthy")!;
    expect(healthy.cluster_id).toBe("east");
    expect(healthy.timestamp).toBe(f.cache.cluster(f.orgA, "east")?.status?.agent?.lastSeen);

    await setConnection(f.orgA, "east", "False", "HeartbeatMissed");
    await eventually(() => s.messages.some((m) => m.status === "disconnected"));
    await f.client.delete({ ...MC, namespace: f.orgA, name: "east" });
    await eventually(() => s.messages.some((m) => m.status === "removed"));
    expect(s.messages.map((m) => m.cluster_id)).not.toContain("far");
    s.ws.close();
  });
});

describe("WS /notify", () => {
  it("sends each audit entry of the caller's organisation written after it opened, once", async () => {
    const before = f.cache.auditEntries(f.orgA).length;
    const a = await connect("/notify", f.token(f.orgA), "header");
    const b = await connect("/notify", f.token(f.orgB));
    const created = await f.call("POST", "/clusters/connect", {
      token: f.token(f.orgA),
      body: { cluster_id: "streamed" },
    });
    expect(created.status).toBe(200);
    // A viewer's refused write is recorded as denied: a warning.
    const refused = await f.call("POST", "/clusters/connect", {
      token: f.token(f.orgA, "viewer"),
      body: { cluster_id: "nope" },
    });
    expect(refused.status).toBe(403);
    await eventually(() => a.messages.length >= 2);
    expect(a.messages[0]).toMatchObject({ type: "success" });
    expect(String(a.messages[0]!.message)).toMatch(/cluster/i);
    expect(a.messages[0]!.resource).toMatch(/streamed/);
    expect(a.messages.some((m) => m.type === "warning")).toBe(true);
    // One message per entry written since the stream opened (the entries before it are not replayed).
    await eventually(() => f.cache.auditEntries(f.orgA).length === before + 2);
    expect(a.messages.length).toBe(2);
    // Organisation B wrote nothing, so heard nothing.
    expect(b.messages).toEqual([]);
    a.ws.close();
    b.ws.close();
  });
});

describe("who may open a stream", () => {
  it("refuses no token, a bad token and an unknown stream with the HTTP status and a detail", async () => {
    const none = await refusedWith("/notify");
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).detail).toMatch(/bearer/);
    expect((await refusedWith("/notify", ["bearer", "not-a-jwt"])).status).toBe(401);
    expect((await refusedWith("/clusters/elsewhere", ["bearer", f.token(f.orgA)])).status).toBe(404);
  });

  it("ends a stream whose session logs out, and counts streams per user", async () => {
    const user = await f.facade.signup("Gamma Corp");
    const s = await connect("/notify", user.accessToken);
    expect((await f.call("POST", "/api/auth/logout", { token: user.accessToken })).status).toBe(200);
    // Checked again within the recheck interval (1 s here): closed with 4401.
    expect(await s.closed).toBe(4401);
    expect((await refusedWith("/notify", ["bearer", user.accessToken])).status).toBe(401);

    const other = await f.facade.signup("Delta Corp");
    const streams = [];
    for (let i = 0; i < 10; i++) streams.push(await connect("/clusters/heartbeat", other.accessToken));
    expect((await refusedWith("/clusters/heartbeat", ["bearer", other.accessToken])).status).toBe(429);
    streams[0]!.ws.close();
    await streams[0]!.closed;
    await eventually(async () => {
      try {
        (await connect("/clusters/heartbeat", other.accessToken)).ws.close();
        return true;
      } catch {
        return false;
      }
    });
  });
});
