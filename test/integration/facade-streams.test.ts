// The dashboard's WebSockets through a real ws client: WS /clusters/heartbeat sends each of the caller's clusters'
// agent connection state and its changes, WS /notify the organisation's audit entries as they are written; neither
// ever carries another organisation's; a stream needs a valid token (header or subprotocol) and ends at logout.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { request as httpRequest } from "node:http";
import { connect as tcpConnect } from "node:net";
import { eventually } from "../support/cluster.js";
import { pino } from "pino";
import { LogTap } from "../../operator/facade/log-tap.js";
import { ADMIN } from "../support/facade.js";
import { startResourceFacade, type ResourceFacade } from "../support/facade-resources.js";

const MC = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "ManagedCluster" };

let f: ResourceFacade;
const open: WebSocket[] = [];
const logTap = new LogTap(5);
beforeAll(async () => {
  f = await startResourceFacade({
    config: { streamRecheckSeconds: 2 },
    logTap,
    logger: pino({ level: "info", base: { component: "facade" } }, logTap),
  });
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
    // Not a stream: the HTTP routes answer it as a plain request.
    expect((await refusedWith("/nowhere", ["bearer", f.token(f.orgA)])).status).toBe(404);
  });

  it("ends a stream whose session logs out, and counts streams per user", async () => {
    const user = await f.facade.signup("Gamma Corp");
    const s = await connect("/notify", user.accessToken);
    expect((await f.call("POST", "/api/auth/logout", { token: user.accessToken })).status).toBe(200);
    // Checked again within the recheck interval (2 s here): closed with 4401.
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

describe("a stream belongs to one organisation", () => {
  it("refuses a super_admin's own token, and an impersonation token hears only its organisation", async () => {
    const admin = (await f.call("POST", "/api/auth/token", { body: ADMIN })).body.access_token as string;
    const refused = await refusedWith("/notify", ["bearer", admin]);
    expect(refused.status).toBe(403);
    const orgB = (await f.call("GET", "/api/auth/me", { token: f.token(f.orgB) })).body.org_id as string;
    const temp = (await f.call("POST", "/admin/impersonate", { token: admin, body: { client_id: orgB } })).body
      .temp_token as string;
    const b = await connect("/notify", temp);
    const a = await connect("/notify", f.token(f.orgA));
    expect((await f.call("POST", "/clusters/connect", { token: temp, body: { cluster_id: "support" } })).status).toBe(
      200,
    );
    await eventually(() => b.messages.some((m) => m.resource === "cluster/support"));
    expect(a.messages.some((m) => m.resource === "cluster/support")).toBe(false);
    a.ws.close();
    b.ws.close();
  });
});

describe("misbehaving clients", () => {
  it("end their own stream, never the facade: an oversized message, a reset during the refusal", async () => {
    const s = await connect("/notify", f.token(f.orgA));
    s.ws.send("x".repeat(8192));
    expect(await s.closed).toBe(1009);
    // A raw upgrade without a token, reset by the client as the refusal is written.
    const raw = tcpConnect(Number(new URL(f.url).port), "127.0.0.1");
    raw.on("error", () => undefined);
    await new Promise<void>((resolve) => raw.once("connect", () => resolve()));
    raw.write(
      "GET /notify HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    raw.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 200));
    expect((await f.call("GET", "/health")).status).toBe(200);
  });

  it("survive request targets that are not URLs, and refuse an upgrade with a body rather than drop the body", async () => {
    for (const target of ["//x:99999", "http://["]) {
      const raw = tcpConnect(Number(new URL(f.url).port), "127.0.0.1");
      raw.on("error", () => undefined);
      const answered = new Promise<string>((resolve) => {
        let text = "";
        raw.on("data", (chunk: Buffer) => (text += String(chunk)));
        raw.on("close", () => resolve(text));
      });
      raw.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n`);
      expect(await answered).toMatch(/^HTTP\/1.1 4\d\d/);
    }
    const withBody = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${f.url}/billing/card`, {
        method: "POST",
        headers: {
          connection: "Upgrade",
          upgrade: "foo",
          authorization: `Bearer ${f.token(f.orgA)}`,
          "content-type": "application/json",
        },
      });
      req.on("response", (r) => {
        let body = "";
        r.on("data", (chunk: Buffer) => (body += String(chunk)));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end(JSON.stringify({ stripe_token: "x" }));
    });
    expect(withBody.status).toBe(400);
    expect(JSON.parse(withBody.body).detail).toMatch(/body/);
    expect((await f.call("GET", "/health")).status).toBe(200);
  });

  it("leave other upgrades to the HTTP routes (curl's h2c on a REST route)", async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${f.url}/health`, {
        headers: { connection: "Upgrade, HTTP2-Settings", upgrade: "h2c" },
      });
      req.on("response", (r) => {
        let body = "";
        r.on("data", (chunk: Buffer) => (body += String(chunk)));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as { status: string }).status).toBe("healthy");
  });
});

describe("WS /admin/logs", () => {
  it("streams this replica's last and new log lines to a super_admin, and to no one else", async () => {
    const admin = (await f.call("POST", "/api/auth/token", { body: ADMIN })).body.access_token as string;
    const s = await connect("/admin/logs", admin);
    // the backlog: at most the last five lines, in order
    await eventually(() => s.messages.length > 0);
    expect(s.messages.length).toBeLessThanOrEqual(5);
    const before = s.messages.length;
    // a request the facade logs (an access-log line) arrives as it is written
    expect((await f.call("GET", "/api/auth/me", { token: f.token(f.orgA) })).status).toBe(200);
    await eventually(() => s.messages.length > before);
    const line = s.messages.at(-1)!;
    expect(line).toMatchObject({ level: "INFO", component: "facade" });
    expect(Date.parse(String(line.timestamp))).not.toBeNaN();
    expect(typeof line.message).toBe("string");
    // no request headers, so no token, ever reaches a line
    expect(JSON.stringify(s.messages)).not.toContain(f.token(f.orgA));
    s.ws.close();
    for (const token of [f.token(f.orgA), f.token(f.orgA, "viewer")])
      expect((await refusedWith("/admin/logs", ["bearer", token])).status).toBe(403);
  });
});
