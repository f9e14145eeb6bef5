// HTTP client for the facade's agent endpoints, with the per-cluster bearer token.
import {
  ActionResultResponse,
  HeartbeatResponse,
  PendingActionsResponse,
  type ActionResult,
  type HeartbeatInput,
  type PendingAction,
} from "../src-shared/agent/protocol.js";
import type { z } from "zod";

/** A non-2xx answer (status kept: 401 re-reads the token, 409 drops a stale result) or a network failure (status 0). */
export class FacadeError extends Error {
  override name = "FacadeError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface FacadeClient {
  heartbeat(body: HeartbeatInput): Promise<HeartbeatResponse>;
  pending(): Promise<PendingAction[]>;
  result(actionId: string, result: ActionResult): Promise<z.infer<typeof ActionResultResponse>>;
}

const REQUEST_TIMEOUT_MS = 10_000;

export function createFacadeClient(opts: {
  baseUrl: string;
  clusterId: string;
  readToken: () => string;
}): FacadeClient {
  const base = `${opts.baseUrl}/clusters/${encodeURIComponent(opts.clusterId)}`;
  let token = opts.readToken();

  async function send(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(base + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new FacadeError(0, `facade unreachable: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (res.status === 401) token = opts.readToken();
    if (!res.ok) {
      let detail = text.slice(0, 300);
      try {
        detail = String((JSON.parse(text) as { detail?: unknown }).detail ?? detail);
      } catch {
        // not JSON: keep the text
      }
      throw new FacadeError(res.status, `${method} ${path} answered ${res.status}: ${detail}`);
    }
    return JSON.parse(text) as unknown;
  }

  return {
    heartbeat: async (body) => HeartbeatResponse.parse(await send("POST", "/heartbeat", body)),
    pending: async () => PendingActionsResponse.parse(await send("GET", "/actions/pending")).actions,
    result: async (id, result) =>
      ActionResultResponse.parse(await send("POST", `/actions/${encodeURIComponent(id)}/result`, result)),
  };
}
