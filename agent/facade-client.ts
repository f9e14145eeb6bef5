// HTTP client for the facade's agent endpoints, with the per-cluster bearer token.
import * as z from "zod/mini";
import type {
  ActionResult,
  ActionResultResponse,
  HeartbeatInput,
  HeartbeatResponse,
  PendingAction,
} from "../src-shared/agent/protocol.js";
import { httpRequest } from "./http.js";
import { ACTION_TIMEOUT_SECONDS_MAX, PENDING_ACTIONS_LIMIT_MAX } from "../src-shared/agent/action-limits.js";
import { gzipSync } from "node:zlib";

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

/** An action the facade handed out that this agent cannot take as it stands: failed with `reason` where it can be. */
export interface MalformedAction {
  id?: string;
  attempt?: number;
  reason: string;
}

export interface FacadeClient {
  heartbeat(body: HeartbeatInput): Promise<HeartbeatResponse>;
  /** At most `limit` actions (the agent's free slots): the facade leases no more than it can run. */
  pending(limit: number): Promise<{ actions: PendingAction[]; malformed: MalformedAction[] }>;
  result(actionId: string, result: ActionResult): Promise<ActionResultResponse>;
}

// The facade's answers (src-shared/agent/protocol.ts) checked again with zod/mini: the classic-zod schemas there
// would load all of zod into the agent. Fields a newer facade adds pass through.
const HeartbeatAnswer = z.looseObject({
  received_at: z.string(),
  next_heartbeat_seconds: z.number(),
  pending_actions: z.number(),
  // an older facade sends none: every notice of the beat then counts as taken
  deferred_interruptions: z.optional(z.array(z.object({ node: z.string(), at: z.string(), kind: z.string() }))),
});
/** One action as handed out; checked one by one, so that a malformed one holds up no other. */
const PendingEntry = z.looseObject({
  id: z.string(),
  type: z.string(),
  target: z.object({
    api_version: z.nullable(z.string()),
    kind: z.string(),
    namespace: z.nullable(z.string()),
    name: z.string(),
  }),
  params: z.record(z.string(), z.unknown()),
  attempt: z.int().check(z.minimum(1)),
  lease_expires_at: z.string(),
  deadline: z.string(),
  // the AgentAction CRD's own limit on timeoutSeconds; the lease adds a margin to it
  timeout_seconds: z.number().check(z.positive(), z.maximum(ACTION_TIMEOUT_SECONDS_MAX)),
  lease_seconds: z.number().check(z.positive(), z.maximum(2 * ACTION_TIMEOUT_SECONDS_MAX)),
});
const PendingAnswer = z.object({ actions: z.array(z.unknown()) });
const ResultAnswer = z.looseObject({
  id: z.string(),
  phase: z.enum(["Pending", "Running", "Succeeded", "Failed"]),
  attempt: z.number(),
  changed: z.boolean(),
});

const REQUEST_TIMEOUT_MS = 10_000;

function parsed<T>(schema: z.ZodMiniType, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new FacadeError(0, `unexpected answer to ${what}: ${issue.path.join(".")}: ${issue.message}`);
  }
  return result.data as T;
}

function errorDetail(text: string): string {
  try {
    return String((JSON.parse(text) as { detail?: unknown }).detail ?? text.slice(0, 300));
  } catch {
    return text.slice(0, 300);
  }
}

/** A body from this size on is sent gzip-compressed: a big cluster's heartbeat shrinks about tenfold. */
const GZIP_FROM_BYTES = 64 * 1024;

/** The JSON body as sent, with its headers. */
function jsonBody(body: unknown): { headers: Record<string, string>; body: string | Buffer } {
  const text = JSON.stringify(body);
  if (Buffer.byteLength(text) < GZIP_FROM_BYTES) return { headers: { "content-type": "application/json" }, body: text };
  return { headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: gzipSync(text) };
}

export function createFacadeClient(opts: {
  baseUrl: string;
  clusterId: string;
  readToken: () => string;
}): FacadeClient {
  const base = `${opts.baseUrl}/clusters/${encodeURIComponent(opts.clusterId)}`;
  let token = opts.readToken();

  async function send(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    let res: { status: number; text: string };
    const sent = body === undefined ? undefined : jsonBody(body);
    try {
      res = await httpRequest({
        url: base + path,
        method,
        headers: { authorization: `Bearer ${token}`, ...sent?.headers },
        ...(sent ? { body: sent.body } : {}),
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
    } catch (err) {
      throw new FacadeError(0, `facade unreachable: ${(err as Error).message}`);
    }
    if (res.status === 401) token = opts.readToken();
    if (res.status < 200 || res.status >= 300)
      throw new FacadeError(res.status, `${method} ${path} answered ${res.status}: ${errorDetail(res.text)}`);
    try {
      return JSON.parse(res.text) as unknown;
    } catch {
      throw new FacadeError(0, `${method} ${path} answered ${res.status} with a body that is not JSON`);
    }
  }

  return {
    heartbeat: async (body) => parsed(HeartbeatAnswer, await send("POST", "/heartbeat", body), "heartbeat"),
    pending: async (limit) => {
      const query = `?limit=${Math.max(1, Math.min(PENDING_ACTIONS_LIMIT_MAX, Math.floor(limit)))}`;
      const { actions } = parsed<{ actions: unknown[] }>(
        PendingAnswer,
        await send("GET", `/actions/pending${query}`),
        "pending actions",
      );
      return sortPending(actions);
    },
    result: async (id, result) =>
      parsed(ResultAnswer, await send("POST", `/actions/${encodeURIComponent(id)}/result`, result), "result"),
  };
}

function sortPending(entries: unknown[]): { actions: PendingAction[]; malformed: MalformedAction[] } {
  const actions: PendingAction[] = [];
  const malformed: MalformedAction[] = [];
  for (const entry of entries) {
    const result = PendingEntry.safeParse(entry);
    if (result.success) {
      actions.push(result.data as PendingAction);
      continue;
    }
    const issue = result.error.issues[0]!;
    const { id, attempt } = (entry ?? {}) as { id?: unknown; attempt?: unknown };
    malformed.push({
      ...(typeof id === "string" ? { id } : {}),
      ...(Number.isInteger(attempt) && (attempt as number) >= 1 ? { attempt: attempt as number } : {}),
      reason: `malformed action: ${issue.path.join(".") || "(root)"}: ${issue.message}`,
    });
  }
  return { actions, malformed };
}
