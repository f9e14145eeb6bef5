// The dashboard's WebSockets on the facade's listener: WS /clusters/heartbeat (each cluster's agent connection as the
// status controller records it) and WS /notify (the organisation's audit entries as they are written), both from this
// replica's read cache, and WS /admin/logs (this replica's log lines, super_admin). Browsers cannot set headers on a
// WebSocket, so the access token may also come as the subprotocols ["bearer", <token>]; the token is checked again
// every recheck interval, so a logout or expiry ends it.
import { ServerResponse, type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type express from "express";
import { WebSocketServer, type WebSocket } from "ws";
import type { AuditEntry, ManagedCluster } from "../../src-shared/crds/index.js";
import type { KubeObject } from "../../src-shared/kube/client.js";
import type { Condition } from "../../src-shared/runtime/conditions.js";
import type { InformerEvent } from "../../src-shared/runtime/informer.js";
import type { FacadeCache } from "./cache.js";
import { HttpError } from "./errors.js";
import type { AuthContext } from "./http.js";
import type { LogTap } from "./log-tap.js";
import { agentConnection } from "./services/fleet-view.js";
import { unbuiltStream } from "./routes/unbuilt.js";

export interface StreamDeps {
  cache: Pick<FacadeCache, "clusters" | "auditEntries" | "subscribe" | "hasSynced">;
  /** This replica's log lines (WS /admin/logs); without one that stream answers 503. */
  logTap?: LogTap;
  authenticateUser(req: express.Request): Promise<AuthContext>;
  /** How often a stream's token is checked again (default 30 s); also the ping interval. */
  recheckMs?: number;
  /** Open streams per user on this replica (default 10): each holds a socket and a cache listener. */
  maxPerUser?: number;
}

export interface HeartbeatMessage {
  cluster_id: string;
  /** The agent's last heartbeat (status.agent.lastSeen), else when the connection state last changed; null unknown. */
  timestamp: string | null;
  /** healthy: heartbeats arrive (or the operator is a local cluster's agent); disconnected: they stopped; waiting:
   *  none yet; unknown: the status controller has not judged it; removed: the cluster was deleted. */
  status: "healthy" | "disconnected" | "waiting" | "unknown" | "removed";
}

export interface NotifyMessage {
  type: "success" | "error" | "warning";
  message: string;
  timestamp: string | null;
  actor: string;
  resource: string;
}

function connectionOf(condition: Condition | undefined): HeartbeatMessage["status"] {
  if (condition === undefined) return "unknown";
  if (condition.status === "True") return "healthy";
  return condition.reason === "NoHeartbeat" ? "waiting" : "disconnected";
}

/** A cluster's heartbeat state from its status (AgentConnected and status.agent.lastSeen). */
export function heartbeatOf(cluster: ManagedCluster): HeartbeatMessage {
  const condition = agentConnection(cluster);
  return {
    cluster_id: cluster.metadata.name ?? "",
    timestamp: cluster.status?.agent?.lastSeen ?? condition?.lastTransitionTime ?? null,
    status: connectionOf(condition),
  };
}

/** A toast for an audit entry: its outcome as the type, what happened as the message. */
export function notificationOf(entry: AuditEntry): NotifyMessage {
  const type = entry.spec.outcome === "success" ? "success" : entry.spec.outcome === "denied" ? "warning" : "error";
  return {
    type,
    message: entry.spec.event,
    timestamp: entry.spec.timestamp ?? entry.metadata.creationTimestamp ?? null,
    actor: entry.spec.actor,
    resource: entry.spec.resource,
  };
}

type Stream = (ws: WebSocket, namespace: string, deps: StreamDeps) => () => void;

/** Every cluster's state on connect, then each change of a cluster's state (or its removal). */
const heartbeatStream: Stream = (ws, namespace, deps) => {
  const last = new Map<string, string>();
  const send = (msg: HeartbeatMessage): void => {
    const text = JSON.stringify(msg);
    if (last.get(msg.cluster_id) === text) return;
    if (msg.status === "removed") last.delete(msg.cluster_id);
    else last.set(msg.cluster_id, text);
    ws.send(text);
  };
  for (const cluster of deps.cache.clusters(namespace)) send(heartbeatOf(cluster));
  return deps.cache.subscribe("ManagedCluster", (event: InformerEvent<KubeObject>) => {
    if (event.object.metadata?.namespace !== namespace) return;
    const cluster = event.object as unknown as ManagedCluster;
    if (event.type !== "delete") return send(heartbeatOf(cluster));
    send({ cluster_id: cluster.metadata.name ?? "", timestamp: new Date().toISOString(), status: "removed" });
  });
};

/** The audit entries written after the stream opened: the cache announces an entry new to it once ("add"). */
const notifyStream: Stream = (ws, namespace, deps) =>
  deps.cache.subscribe("AuditEntry", (event: InformerEvent<KubeObject>) => {
    if (event.type !== "add" || event.object.metadata?.namespace !== namespace) return;
    ws.send(JSON.stringify(notificationOf(event.object as unknown as AuditEntry)));
  });

/** The last log lines of this replica, then each new one (super_admin). */
const logsStream: Stream = (ws, _namespace, deps) => {
  for (const record of deps.logTap!.recentRecords()) ws.send(JSON.stringify(record));
  return deps.logTap!.subscribe((record) => ws.send(JSON.stringify(record)));
};

/** Who may open a stream: a member of an organisation (its own data), or a super_admin as such (the platform's). */
const STREAMS: Record<string, { open: Stream; for: "organisation" | "platform" }> = {
  "/clusters/heartbeat": { open: heartbeatStream, for: "organisation" },
  "/notify": { open: notifyStream, for: "organisation" },
  "/admin/logs": { open: logsStream, for: "platform" },
};

/** Why `auth` may not open the stream, or undefined when it may. */
function refusal(auth: AuthContext, stream: (typeof STREAMS)[string], deps: StreamDeps): [number, string] | undefined {
  if (stream.for === "organisation")
    return auth.namespace ? undefined : [403, "a stream belongs to an organisation; this token has none"];
  if (auth.role !== "super_admin" || auth.impersonating) return [403, "the platform's logs are for a super_admin"];
  return deps.logTap ? undefined : [503, "this facade does not keep its log lines for streaming"];
}

/** The access token: the Authorization header, else the second of the subprotocols ["bearer", <token>]. */
function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith("Bearer ")) return header.slice(7).trim();
  const protocols = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  return protocols[0] === "bearer" && protocols[1] ? protocols[1] : undefined;
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  429: "Too Many Requests",
  501: "Not Implemented",
  503: "Service Unavailable",
};

/** Answers a refused upgrade as the HTTP routes would ({"detail"}, the same headers) and closes the socket. */
function refuse(socket: Duplex, status: number, detail: string): void {
  const body = JSON.stringify({ detail });
  const extra =
    status === 401 ? "WWW-Authenticate: Bearer\r\n" : status === 429 || status === 503 ? "Retry-After: 30\r\n" : "";
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\nContent-Type: application/json\r\n${extra}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

/**
 * An upgrade that is not a WebSocket to a stream (e.g. curl's h2c on a REST route) is answered by the HTTP app as a
 * plain request: with an upgrade listener present, Node would otherwise hand every such request to it.
 */
function answerAsHttp(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  // Node's parser stops at an upgrade request's headers, so a body would not reach the route: refused, not dropped.
  if (req.headers["content-length"] !== undefined && req.headers["content-length"] !== "0")
    return refuse(socket, 400, "a request with a body cannot ask for an Upgrade here");
  if (req.headers["transfer-encoding"] !== undefined)
    return refuse(socket, 400, "a request with a body cannot ask for an Upgrade here");
  if (head.length > 0) socket.unshift(head);
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.on("finish", () => {
    res.detachSocket(socket as Socket);
    socket.end(() => socket.destroy());
  });
  server.emit("request", req, res);
}

/** The token checked as the HTTP routes check a Bearer token (at the upgrade and again every recheck). */
function verify(deps: StreamDeps, token: string): Promise<AuthContext> {
  return deps.authenticateUser({ headers: { authorization: `Bearer ${token}` } } as express.Request);
}

/** One open stream: its messages, a ping and a token check every recheck interval, and its count per user. */
function serve(
  ws: WebSocket,
  {
    auth,
    stream,
    token,
    deps,
    perUser,
  }: { auth: AuthContext; stream: Stream; token: string; deps: StreamDeps; perUser: Map<string, number> },
): void {
  perUser.set(auth.userId, (perUser.get(auth.userId) ?? 0) + 1);
  let unsubscribe = (): void => undefined;
  let alive = true;
  const timer = setInterval(() => {
    if (!alive) return ws.terminate();
    alive = false;
    ws.ping();
    // Only a refused token ends the stream; anything else (a check that could not run) is tried again next time.
    verify(deps, token).catch((err: unknown) => {
      if (err instanceof HttpError && (err.status === 401 || err.status === 403))
        ws.close(4401, "token expired or revoked");
    });
  }, deps.recheckMs ?? 30_000);
  ws.on("close", () => {
    clearInterval(timer);
    unsubscribe();
    const n = (perUser.get(auth.userId) ?? 1) - 1;
    if (n > 0) perUser.set(auth.userId, n);
    else perUser.delete(auth.userId);
  });
  // A client's protocol error (an oversized or malformed frame) ends its stream, not the process.
  ws.on("error", () => ws.terminate());
  ws.on("pong", () => {
    alive = true;
  });
  // Streams only send: what a client sends is ignored.
  ws.on("message", () => undefined);
  try {
    unsubscribe = stream(ws, auth.namespace, deps);
  } catch {
    ws.close(1011, "stream failed to start");
  }
}

/**
 * The upgrade's token, checked as the HTTP routes check one, handed to `then`; a missing or refused token, or a check
 * that could not run, answers the refusal instead.
 */
function authenticated(
  deps: StreamDeps,
  { req, socket }: { req: IncomingMessage; socket: Duplex },
  then: (auth: AuthContext, token: string) => void,
): void {
  const token = tokenOf(req);
  if (!token) return refuse(socket, 401, "missing bearer token (Authorization header or subprotocols bearer, <token>)");
  verify(deps, token).then(
    (auth) => then(auth, token),
    // only the typed errors' details are meant for clients; anything else (e.g. the API server failing) is not theirs
    (err: unknown) =>
      err instanceof HttpError
        ? refuse(socket, err.status, err.detail)
        : refuse(socket, 503, "authentication unavailable, try again"),
  );
}

/**
 * A WebSocket to a dashboard stream that is not built answers 501 with its detail once the token checks out, as its
 * HTTP route does (a browser passes the token only as subprotocols, which the HTTP routes do not read). Returns
 * undefined, having done nothing, for any other request.
 */
function refuseUnbuilt(
  deps: StreamDeps,
  { req, socket, path }: { req: IncomingMessage; socket: Duplex; path: string },
): true | undefined {
  const detail = req.headers.upgrade?.toLowerCase() === "websocket" ? unbuiltStream(path) : undefined;
  if (!detail) return undefined;
  authenticated(deps, { req, socket }, () => refuse(socket, 501, detail));
  return true;
}

/** Serves the streams on `server`'s upgrade requests; `close()` ends every open stream. */
export function attachStreams(server: Server, deps: StreamDeps): { close(): void } {
  const maxPerUser = deps.maxPerUser ?? 10;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4096,
    handleProtocols: (protocols) => (protocols.has("bearer") ? "bearer" : false),
  });
  const perUser = new Map<string, number>();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node drops its own error listener from an upgraded socket: a peer's reset would otherwise end the process.
    socket.on("error", () => socket.destroy());
    // the path as sent, without parsing it as a URL: a request target Node accepts may still not be one
    const path = (req.url ?? "/").split("?")[0]!;
    const stream = Object.hasOwn(STREAMS, path) ? STREAMS[path] : undefined;
    if (!stream || req.headers.upgrade?.toLowerCase() !== "websocket") {
      if (!refuseUnbuilt(deps, { req, socket, path })) answerAsHttp(server, req, socket, head);
      return;
    }
    if (!deps.cache.hasSynced()) return refuse(socket, 503, "caches not synced yet");
    authenticated(deps, { req, socket }, (auth, token) => {
      const refused = refusal(auth, stream, deps);
      if (refused) return refuse(socket, ...refused);
      if ((perUser.get(auth.userId) ?? 0) >= maxPerUser)
        return refuse(socket, 429, `at most ${maxPerUser} open streams per user`);
      wss.handleUpgrade(req, socket, head, (ws) => serve(ws, { auth, stream: stream.open, token, deps, perUser }));
    });
  };
  server.on("upgrade", onUpgrade);
  return {
    close: () => {
      server.off("upgrade", onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
