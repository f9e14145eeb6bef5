// The AgentAction queue as the agent sees it: hand out Pending (or lease-expired) actions with a lease, record results
// idempotently. Every status write is guarded by resourceVersion, so two replicas never lease one action twice.
import type { AgentAction } from "../../../src-shared/crds/index.js";
import { API_VERSION } from "../../../src-shared/crds/index.js";
import { canonicalJson } from "../../../src-shared/audit/chain.js";
import { isConflict, isNotFound, type KubeClient } from "../../../src-shared/kube/index.js";
import type { ActionResult, ActionResultResponse, PendingAction } from "../../../src-shared/agent/protocol.js";
import { ConflictError, NotFoundError } from "../errors.js";
import { FIELD_MANAGER } from "./k8s-writes.js";

/** Default working time of one attempt by type (spec.timeoutSeconds overrides it). */
const DEFAULT_TIMEOUT_S: Record<string, number> = { drain: 300 };
const FALLBACK_TIMEOUT_S = 60;
/** The lease outlasts the attempt's working time by this much, so a slow result post still lands first. */
export const LEASE_MARGIN_S = 30;
/** At most this many actions per poll. */
export const MAX_ACTIONS_PER_POLL = 20;
/**
 * Leases an action gets before it fails: one whose attempts all end without a result (an agent that crashes on it, or
 * never gets to post) would otherwise be handed out forever, and whatever waits on it would never hear.
 */
export const MAX_ATTEMPTS = 5;

type Phase = NonNullable<NonNullable<AgentAction["status"]>["phase"]>;

export function timeoutSecondsOf(action: AgentAction): number {
  return action.spec.timeoutSeconds ?? DEFAULT_TIMEOUT_S[action.spec.type] ?? FALLBACK_TIMEOUT_S;
}

export function phaseOf(action: AgentAction): Phase {
  return action.status?.phase ?? "Pending";
}

/** Pending, or Running with its lease over (the agent that had it crashed or lost its connection). */
export function isLeasable(action: AgentAction, nowMs: number): boolean {
  const phase = phaseOf(action);
  if (phase === "Pending") return true;
  if (phase !== "Running") return false;
  const ends = Date.parse(action.status?.leaseExpiresAt ?? "");
  return !Number.isFinite(ends) || ends <= nowMs;
}

/** Leasable actions of one cluster, oldest first (creation time, then name). */
export function leasableActions(actions: readonly AgentAction[], clusterName: string, nowMs: number): AgentAction[] {
  return actions
    .filter((a) => a.spec.clusterRef.name === clusterName && !a.metadata.deletionTimestamp && isLeasable(a, nowMs))
    .sort(
      (a, b) =>
        (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
        (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
    );
}

function ref(namespace: string, name: string): { apiVersion: string; kind: string; namespace: string; name: string } {
  return { apiVersion: API_VERSION, kind: "AgentAction", namespace, name };
}

function toPending(
  action: AgentAction,
  attempt: number,
  lease: { expires: Date; deadline: Date; timeoutS: number },
): PendingAction {
  const t = action.spec.target;
  return {
    id: action.metadata.name ?? "",
    type: action.spec.type,
    target: {
      api_version: t.apiVersion ?? null,
      kind: t.kind,
      namespace: t.namespace ?? null,
      name: t.name,
    },
    params: action.spec.params ?? {},
    attempt,
    lease_expires_at: lease.expires.toISOString(),
    deadline: lease.deadline.toISOString(),
    timeout_seconds: lease.timeoutS,
    lease_seconds: lease.timeoutS + LEASE_MARGIN_S,
  };
}

export interface AgentActionQueue {
  /** Leases up to `limit` actions of the cluster and returns them (an action another replica just took is skipped). */
  lease(input: {
    namespace: string;
    cluster: string;
    actions: readonly AgentAction[];
    limit?: number;
  }): Promise<PendingAction[]>;
  /** Records an attempt's result; see docs/agent.md for the rules on repeats and late results. */
  complete(input: {
    namespace: string;
    cluster: string;
    id: string;
    result: ActionResult;
  }): Promise<ActionResultResponse>;
}

function sameResult(action: AgentAction, result: ActionResult): boolean {
  const phase: Phase = result.status === "succeeded" ? "Succeeded" : "Failed";
  if (action.status?.phase !== phase) return false;
  const recorded = action.status.result ?? {};
  return (
    (recorded.message ?? "") === (result.message ?? "") &&
    // key order aside: a real API server keeps a custom resource's keys sorted, not in the order they were sent
    canonicalJson(recorded.data ?? {}) === canonicalJson(result.data ?? {})
  );
}

function completedStatus(result: ActionResult, at: Date): Record<string, unknown> {
  return {
    phase: result.status === "succeeded" ? "Succeeded" : "Failed",
    completedAt: at.toISOString(),
    leaseExpiresAt: null,
    result: { message: result.message ?? "", ...(result.data ? { data: result.data } : {}) },
  };
}

/** For a completed action: the answer to a repeat of the post that completed it; any other result is a conflict. */
function repeatedResult(action: AgentAction, result: ActionResult): ActionResultResponse | undefined {
  const phase = phaseOf(action);
  if (phase !== "Succeeded" && phase !== "Failed") return undefined;
  const id = action.metadata.name ?? "";
  const attempts = action.status?.attempts ?? 0;
  if (result.attempt === attempts && sameResult(action, result))
    return { id, phase, attempt: attempts, changed: false };
  throw new ConflictError(`action ${id} already completed (${phase}, attempt ${attempts})`);
}

/** Why a result naming another attempt than the current one is not recorded: an older one, or one never handed out. */
function attemptMismatch(id: string, posted: number, current: number): string {
  if (posted > current)
    return `attempt ${posted} of action ${id} was never handed out; the action is at attempt ${current}, whose result is the one recorded`;
  return `stale result: action ${id} was handed out again as attempt ${current}; the result of attempt ${posted} is not recorded`;
}

/** What the queue's functions reach Kubernetes and the clock through. */
interface QueueContext {
  client: KubeClient;
  now: () => Date;
}

async function writeStatus(
  q: QueueContext,
  action: AgentAction,
  status: Record<string, unknown>,
): Promise<AgentAction | undefined> {
  try {
    return await q.client.patch<AgentAction & { metadata: Record<string, unknown> }>(
      ref(action.metadata.namespace ?? "", action.metadata.name ?? ""),
      { metadata: { resourceVersion: action.metadata.resourceVersion }, status },
      { type: "merge", subresource: "status", fieldManager: FIELD_MANAGER },
    );
  } catch (err) {
    if (isConflict(err) || isNotFound(err)) return undefined;
    throw err;
  }
}

/** A start deadline that passed fails the action instead of handing it out. */
async function expire(q: QueueContext, action: AgentAction, at: Date): Promise<void> {
  await writeStatus(q, action, {
    phase: "Failed",
    completedAt: at.toISOString(),
    leaseExpiresAt: null,
    result: { message: `Deadline ${action.spec.deadline} passed before the agent started the action` },
  });
}

/** The last lease ended without a result and there is no attempt left: the action fails, saying so. */
async function exhaust(q: QueueContext, action: AgentAction, at: Date): Promise<void> {
  await writeStatus(q, action, {
    phase: "Failed",
    completedAt: at.toISOString(),
    leaseExpiresAt: null,
    result: {
      message: `No result from the agent after ${MAX_ATTEMPTS} attempts: each lease (${timeoutSecondsOf(action) + LEASE_MARGIN_S} s) ended without one`,
    },
  });
}

/** Fails an action that may not be handed out again (start deadline passed, attempts spent); true when it did. */
async function failedInstead(q: QueueContext, action: AgentAction, at: Date): Promise<boolean> {
  if (action.spec.deadline !== undefined && Date.parse(action.spec.deadline) <= at.getTime()) {
    await expire(q, action, at);
    return true;
  }
  if ((action.status?.attempts ?? 0) >= MAX_ATTEMPTS) {
    await exhaust(q, action, at);
    return true;
  }
  return false;
}

async function leaseOne(q: QueueContext, action: AgentAction, at: Date): Promise<PendingAction | undefined> {
  if (await failedInstead(q, action, at)) return undefined;
  const attempt = (action.status?.attempts ?? 0) + 1;
  const timeoutS = timeoutSecondsOf(action);
  const deadline = new Date(at.getTime() + timeoutS * 1000);
  const expires = new Date(deadline.getTime() + LEASE_MARGIN_S * 1000);
  const written = await writeStatus(q, action, {
    observedGeneration: action.metadata.generation,
    phase: "Running",
    attempts: attempt,
    startedAt: action.status?.startedAt ?? at.toISOString(),
    leaseExpiresAt: expires.toISOString(),
  });
  return written ? toPending(action, attempt, { expires, deadline, timeoutS }) : undefined;
}

async function lease(q: QueueContext, input: Parameters<AgentActionQueue["lease"]>[0]): Promise<PendingAction[]> {
  const { cluster, actions, limit = MAX_ACTIONS_PER_POLL } = input;
  const at = q.now();
  const out: PendingAction[] = [];
  for (const action of leasableActions(actions, cluster, at.getTime())) {
    if (out.length >= limit) break;
    const leased = await leaseOne(q, action, at);
    if (leased) out.push(leased);
  }
  return out;
}

async function complete(
  q: QueueContext,
  input: Parameters<AgentActionQueue["complete"]>[0],
): Promise<ActionResultResponse> {
  const { namespace, cluster, id, result } = input;
  const action = await q.client.getIfExists<AgentAction & { metadata: Record<string, unknown> }>(ref(namespace, id));
  // Another cluster's action is as unknown to this agent as a missing one.
  if (!action || action.spec.clusterRef.name !== cluster) throw new NotFoundError(`action ${id} not found`);
  const attempts = action.status?.attempts ?? 0;
  const repeated = repeatedResult(action, result);
  if (repeated) return repeated;
  if (result.attempt !== attempts) throw new ConflictError(attemptMismatch(id, result.attempt, attempts));
  const written = await writeStatus(q, action, completedStatus(result, q.now()));
  // Changed meanwhile (a repeat of this post, or a re-lease): answer from the object as it is now.
  if (!written) return complete(q, input);
  return { id, phase: phaseOf(written), attempt: attempts, changed: true };
}

export function createAgentActionQueue(opts: { client: KubeClient; now: () => Date }): AgentActionQueue {
  const q: QueueContext = { client: opts.client, now: opts.now };
  return { lease: (input) => lease(q, input), complete: (input) => complete(q, input) };
}
