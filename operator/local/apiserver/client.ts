// A tiny HTTPS client for the local API server itself (CRD installation, tests' raw requests) that trusts its CA.
import { Agent, request as httpsRequest } from "node:https";

/** Where and how to reach the server. */
export interface RawTarget {
  url: string;
  token: string;
  caPem: string;
}

/** A raw response: status, headers, body text and (when JSON) the parsed body. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
  /** The body's bytes (protobuf answers). */
  bytes: Buffer;
}

/** Options of a raw request. */
export interface RawRequestOptions {
  /** A string or Buffer is sent as is, anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Send no Authorization header (to see the 401). */
  anonymous?: boolean;
}

const agents = new Map<string, Agent>();

/** One keep-alive agent per server certificate, so repeated requests skip the TLS handshake. */
function agentFor(caPem: string): Agent {
  let agent = agents.get(caPem);
  if (!agent) {
    agent = new Agent({ keepAlive: true, ca: caPem, maxSockets: 16 });
    agents.set(caPem, agent);
  }
  return agent;
}

/** Sends one request; bodies that are not strings are sent as JSON. */
export function rawRequest(
  target: RawTarget,
  method: string,
  path: string,
  opts: RawRequestOptions = {},
): Promise<RawResponse> {
  const url = new URL(path, target.url);
  const payload =
    opts.body === undefined
      ? undefined
      : typeof opts.body === "string" || Buffer.isBuffer(opts.body)
        ? opts.body
        : JSON.stringify(opts.body);
  const headers: Record<string, string> = {
    Accept: "application/json",
    ...(payload !== undefined ? { "Content-Type": "application/json" } : {}),
    ...opts.headers,
  };
  if (!opts.anonymous) headers.Authorization = `Bearer ${target.token}`;
  // Node frames GET/DELETE bodies only with an explicit length (no chunked encoding for those methods).
  if (payload !== undefined) headers["Content-Length"] = String(Buffer.byteLength(payload));
  return send(url, { method, headers, payload, caPem: target.caPem }, true);
}

/**
 * One attempt; `retry` allows one more when a pooled keep-alive socket turns out closed before any answer (Node's
 * documented race: the peer closed it while it sat idle, or it belonged to a server since stopped on that port), which
 * the server never read.
 */
function send(
  url: URL,
  r: { method: string; headers: Record<string, string>; payload: string | Buffer | undefined; caPem: string },
  retry: boolean,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: r.method, headers: r.headers, agent: agentFor(r.caPem) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const bytes = Buffer.concat(chunks);
        const text = bytes.toString("utf8");
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, bytes });
      });
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (retry && req.reusedSocket && err.code === "ECONNRESET") send(url, r, false).then(resolve, reject);
      else reject(err);
    });
    req.end(r.payload);
  });
}
