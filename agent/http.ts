// One HTTP(S) request with node:http, for the facade and the instance metadata: global fetch would load undici
// (≈ 12 MB of resident memory) into a process that sends a few small JSON requests a minute.
import http from "node:http";
import https from "node:https";

export interface HttpRequest {
  url: string;
  method: "GET" | "POST" | "PUT";
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  text: string;
}

/**
 * The largest answer read (16 MiB): a poll's actions are a few KiB each (an apply's manifest the largest), so no answer
 * of the facade's comes near it, and one that does would exhaust the agent's heap before it could be refused.
 */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Sends the request on a fresh connection (no idle sockets to race a server's keep-alive timeout) and reads the body. */
export function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  const url = new URL(req.url);
  const transport = url.protocol === "https:" ? https : http;
  const headers: Record<string, string> = { ...req.headers };
  if (req.body !== undefined) headers["content-length"] = String(Buffer.byteLength(req.body));
  return new Promise((resolve, reject) => {
    const request = transport.request(url, { method: req.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        // an answer this big is no answer of the facade's or the metadata service's, and would exhaust a small heap
        if (bytes > MAX_RESPONSE_BYTES) request.destroy(new Error(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    // A deadline for the whole exchange, like fetch's AbortSignal.timeout (a socket timeout would only bound silence).
    const timer = setTimeout(() => request.destroy(new Error(`timed out after ${req.timeoutMs} ms`)), req.timeoutMs);
    request.on("close", () => clearTimeout(timer));
    request.on("error", reject);
    request.end(req.body);
  });
}
