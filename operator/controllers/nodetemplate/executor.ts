// Where a NodeTemplate's NodePool and EC2NodeClass are written: the cluster the operator runs in (server-side apply
// at once) or a remote cluster (AgentActions its agent carries out: `apply` with the rendered manifest, `delete` on
// finalization). The reconciler is written once against this interface, as hibernation's is.
import { createHash } from "node:crypto";
import type { AgentAction } from "../../../src-shared/crds/index.js";
import { API_VERSION } from "../../../src-shared/crds/common.js";
import { KarpenterValidationError, validateKarpenterObject } from "../../../src-shared/karpenter/validate.js";
import {
  TEMPLATE_ACTION_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  TEMPLATE_ANNOTATION,
} from "../../../src-shared/karpenter/labels.js";
import { KubeApiError, type KubeClient, type KubeObject } from "../../../src-shared/kube/index.js";
import {
  REFUSED_RETRY_MS,
  WRITE_REFUSED,
  applyObject,
  isApplied,
  isWriteRefused,
  refusalMessage,
} from "../../../src-shared/runtime/index.js";
import { observed, reportAfter, type RemoteView } from "../../../src-shared/agent/remote-view.js";
import { ownerMarks } from "../../../src-shared/agent/action-owner.js";

/** Where the objects stand after one pass. */
export interface ExecutionState {
  /** Everything is in place (applied, or removed). */
  done: boolean;
  /** Why not yet: the agent has not finished, or it failed (then `failed` is true). */
  message?: string;
  failed?: boolean;
  /** When to look again without a watch event (a failed action's retry is due). */
  recheckInMs?: number;
  /** The condition reason when it is not the executor's usual one (NameConflict: a name is someone else's). */
  reason?: string;
}

export interface KarpenterRef {
  apiVersion: string;
  kind: string;
  name: string;
}

export interface KarpenterExecutor {
  readonly mode: "local" | "remote";
  apply(objects: readonly KubeObject[]): Promise<ExecutionState>;
  remove(refs: readonly KarpenterRef[]): Promise<ExecutionState>;
  /** Names of objects this executor applied for the template before (to remove them all on deletion). */
  appliedNames(): string[];
}

export const NODETEMPLATE_FIELD_MANAGER = "spot-optimizer-nodetemplate";
export { TEMPLATE_ACTION_LABEL };
const ACTION_TIMEOUT_S = 60;
/** A failed action is tried again after 15 s, 30 s, 60 s, 120 s; then Applied=False names the failure. */
export const MAX_TRIES = 5;
const RETRY_BASE_MS = 15_000;

/** A NodePool / EC2NodeClass we wrote for the template `key` (namespace/name). */
export function ofTemplate(o: KubeObject, key: string): boolean {
  return (
    o.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY && o.metadata?.annotations?.[TEMPLATE_ANNOTATION] === key
  );
}

/** Why an object already under the name blocks the apply, or undefined when it is absent or ours. */
function foreignObject(live: KubeObject | undefined, key: string): string | undefined {
  if (!live || ofTemplate(live, key)) return undefined;
  return (
    `${live.kind ?? ""} ${live.metadata?.name ?? ""} exists but was not created by spot-optimizer for NodeTemplate ` +
    `${key} (it lacks the label ${MANAGED_BY_LABEL}=${MANAGED_BY} and the annotation ${TEMPLATE_ANNOTATION}=${key}); ` +
    `it is left untouched: delete or rename it to let this template apply`
  );
}

/**
 * The objects as they stand: the informer's view, and a live read where it shows none (an object made a moment ago
 * by someone else must not be taken over because the cache has not seen it yet).
 */
async function liveObjects(
  client: KubeClient,
  objects: readonly KubeObject[],
  current: (kind: string, name: string) => KubeObject | undefined,
): Promise<Array<KubeObject | undefined>> {
  const out: Array<KubeObject | undefined> = [];
  for (const object of objects) {
    const name = object.metadata?.name ?? "";
    const cached = current(object.kind ?? "", name);
    out.push(
      cached ?? (await client.getIfExists({ apiVersion: object.apiVersion ?? "", kind: object.kind ?? "", name })),
    );
  }
  return out;
}

/**
 * What a refused write says — `what` failing Karpenter's schema (checked here) or the API server refusing `written`
 * (400/403/404/422) — or undefined for any other error, which the work queue retries with backoff.
 */
function refusalOf(err: unknown, what: string, written: string): string | undefined {
  if (err instanceof KarpenterValidationError) return `${what} does not pass Karpenter's schema: ${err.message}`;
  if (isWriteRefused(err)) return `the API server refused ${written}: ${refusalMessage(err)}`;
  return undefined;
}

/** A pass that stopped at a refused write: looked at again on a slow period, since only a change of input can help. */
function refusedState(message: string): ExecutionState {
  return { done: false, failed: true, reason: WRITE_REFUSED, message, recheckInMs: REFUSED_RETRY_MS };
}

/**
 * Writes one object; a refusal of it (by Karpenter's schema checked here, or the API server's 400/403/404/422) comes
 * back as the state to report, looked at again on a slow period since only a change of the input can help. Anything
 * else (409, 5xx, timeouts) throws, so the work queue retries with backoff.
 */
async function writeOrRefusal(
  client: KubeClient,
  object: KubeObject,
  current: KubeObject | undefined,
): Promise<ExecutionState | undefined> {
  const what = `${object.kind ?? ""} ${object.metadata?.name ?? ""}`;
  try {
    validateKarpenterObject(object as unknown as Record<string, unknown>);
    await applyObject(client, object, {
      current: current ?? null,
      force: true,
      fieldManager: NODETEMPLATE_FIELD_MANAGER,
    });
    return undefined;
  } catch (err) {
    const message = refusalOf(err, what, what);
    if (message === undefined) throw err;
    return refusedState(message);
  }
}

/** The operator's own cluster: server-side apply against the informer's view, deletes at once. */
export function localExecutor(input: {
  client: KubeClient;
  /** the template's key (namespace/name): what its objects are marked with */
  key: string;
  current: (kind: string, name: string) => KubeObject | undefined;
  names: () => string[];
}): KarpenterExecutor {
  const { client } = input;
  return {
    mode: "local",
    async apply(objects) {
      // Nothing is written while any name is someone else's: a NodePool without its EC2NodeClass is no use either.
      const live = await liveObjects(client, objects, input.current);
      const conflicts = live.flatMap((o) => foreignObject(o, input.key) ?? []);
      if (conflicts.length > 0)
        return { done: false, failed: true, reason: "NameConflict", message: conflicts.join("; ") };
      for (const [i, object] of objects.entries()) {
        const current = live[i];
        // What the cluster already holds passed this check when it was written: only a write is validated.
        if (current && isApplied(object, current, { fieldManager: NODETEMPLATE_FIELD_MANAGER })) continue;
        const refused = await writeOrRefusal(client, object, current);
        // The EC2NodeClass goes first: a NodePool is not written against a class that was refused.
        if (refused) return refused;
      }
      return { done: true };
    },
    async remove(refs) {
      for (const ref of refs) {
        // The name may have been taken over since we wrote it: only an object still marked as this template's goes,
        // and only the one read (a replacement in between answers 409, which throws, so the work queue retries).
        const live = await client.getIfExists(ref);
        if (!live || !ofTemplate(live, input.key)) continue;
        const { uid, resourceVersion } = live.metadata ?? {};
        await client.delete(ref, { preconditions: { uid, resourceVersion } });
      }
      return { done: true };
    },
    appliedNames: input.names,
  };
}

export interface RemoteTarget {
  namespace: string;
  clusterName: string;
  /** The template (an orphan sweep passes its name only: no uid, so its actions have no owner). */
  template: KubeObject;
  /** This template's AgentActions (by its label). */
  actions: readonly AgentAction[];
  /** The cluster's latest heartbeat report, when its agent sent one: finished actions are checked against it. */
  view?: RemoteView;
  nowMs: number;
}

type Phase = "Pending" | "Running" | "Succeeded" | "Failed";

interface Step {
  type: "apply" | "delete";
  ref: KarpenterRef;
  params: Record<string, unknown>;
}

const phaseOf = (a: AgentAction): Phase => a.status?.phase ?? "Pending";
const finished = (a: AgentAction): boolean => phaseOf(a) === "Succeeded" || phaseOf(a) === "Failed";
export const completedMs = (a: AgentAction): number => Date.parse(a.status?.completedAt ?? "") || 0;
const sameTarget = (a: AgentAction, ref: KarpenterRef): boolean =>
  a.spec.target.kind === ref.kind && a.spec.target.name === ref.name;

/** Stable per (template, step): the same manifest is one action however often it is planned. */
function stepBase(owner: string, step: Step): string {
  const digest = createHash("sha256")
    .update(`${owner}\u0000${step.type}\u0000${step.ref.kind}\u0000${step.ref.name}\u0000`)
    .update(JSON.stringify(step.params))
    .digest("hex")
    .slice(0, 24);
  return `nodetemplate-${digest}`;
}

function tryIndex(name: string, base: string): number | undefined {
  if (!name.startsWith(`${base}-`)) return undefined;
  const n = Number(name.slice(base.length + 1));
  return Number.isInteger(n) ? n : undefined;
}

/** What a step needs next: nothing (done), waiting, a new try (its name, and why), or a failure to report. */
type Next =
  { done: true } | { wait: string } | { create: string; why?: string } | { failed: string; recheckInMs?: number };

interface Try {
  a: AgentAction;
  n: number;
}

/** Failed tries since the last success (the newest first): what the backoff and MAX_TRIES count. */
function failuresInARow(tries: readonly Try[]): number {
  const i = tries.findIndex((t) => phaseOf(t.a) !== "Failed");
  return i === -1 ? tries.length : i;
}

/** After a failed try: the next one once its backoff passed, up to MAX_TRIES; the failure is reported meanwhile. */
function afterFailure(tries: readonly Try[], base: string, nowMs: number): Next {
  const latest = tries[0]!;
  const failures = failuresInARow(tries);
  const message = `AgentAction ${latest.a.metadata.name ?? ""} failed: ${latest.a.status?.result?.message ?? "no message"}`;
  if (failures >= MAX_TRIES) return { failed: `${message} (tried ${MAX_TRIES} times)` };
  const dueMs = completedMs(latest.a) + RETRY_BASE_MS * 2 ** (failures - 1) - nowMs;
  return dueMs <= 0
    ? { create: `${base}-${latest.n + 1}` }
    : { failed: `${message} (tried again in ${Math.ceil(dueMs / 1000)} s)`, recheckInMs: dueMs };
}

/**
 * A succeeded step the cluster no longer shows (a report read after the action completed says so): an applied object
 * edited or deleted by hand, or a deleted one that is back. The reason, or undefined when the report agrees.
 */
function drift(step: Step, latest: AgentAction, view: RemoteView | undefined): string | undefined {
  if (!view || !reportAfter(view, completedMs(latest))) return undefined;
  const what = `${step.ref.kind} ${step.ref.name}`;
  const seen = observed(view, step.ref.kind, step.ref.name);
  if (step.type === "delete") return seen ? `${what} is in the cluster again` : undefined;
  return seen ? changedSince(what, seen.generation, latest) : `${what} was deleted in the cluster`;
}

/** An applied object whose generation moved past the one the agent's apply left (an agent that reports both). */
function changedSince(what: string, generation: number | undefined, latest: AgentAction): string | undefined {
  const applied = latest.status?.result?.data?.generation;
  if (typeof applied !== "number" || generation === undefined || generation === applied) return undefined;
  return `${what} was changed in the cluster (generation ${generation}, ${applied} as applied)`;
}

/**
 * The step's next move. Other actions of the same object (another manifest, or an apply before a delete) run first, so
 * an older one never lands after a newer one (an apply still in flight would put a deleted object back); a success
 * counts only if no other action of the object completed after it; a failure is retried with backoff up to MAX_TRIES.
 */
function nextMove(step: Step, base: string, target: RemoteTarget): Next {
  const ofObject = target.actions.filter((a) => sameTarget(a, step.ref));
  const tries = ofObject
    .map((a) => ({ a, n: tryIndex(a.metadata.name ?? "", base) }))
    .filter((t): t is Try => t.n !== undefined)
    .sort((x, y) => y.n - x.n);
  const others = ofObject.filter((a) => tryIndex(a.metadata.name ?? "", base) === undefined);
  const busy = others.find((a) => !finished(a));
  if (busy)
    return { wait: `AgentAction ${busy.metadata.name ?? ""} (an earlier ${busy.spec.type}) is ${phaseOf(busy)}` };
  const latest = tries[0];
  if (!latest) return { create: `${base}-0` };
  if (!finished(latest.a)) return { wait: `AgentAction ${latest.a.metadata.name ?? ""} is ${phaseOf(latest.a)}` };
  if (phaseOf(latest.a) === "Failed") return afterFailure(tries, base, target.nowMs);
  const laterOther = others.some((a) => completedMs(a) > completedMs(latest.a));
  if (laterOther) return { create: `${base}-${latest.n + 1}` };
  const why = drift(step, latest.a, target.view);
  return why ? { create: `${base}-${latest.n + 1}`, why } : { done: true };
}

/** What the remote executor's steps share: the client, the target, and whom its actions belong to. */
interface Remote {
  client: KubeClient;
  target: RemoteTarget;
  templateName: string;
  templateUid: string;
  /** The template's uid, or for an orphan its key: the same sweep finds its actions again. */
  owner: string;
}

interface Progress {
  waiting: string[];
  failed: string[];
  recheckMs: number[];
  /** Hand-overs refused (the manifest fails Karpenter's schema, or the API server refused the AgentAction). */
  refused: string[];
}

function actionObject(r: Remote, name: string, step: Step): KubeObject {
  const { templateName, templateUid } = r;
  const owned = templateUid
    ? {
        ownerReferences: [
          {
            apiVersion: API_VERSION,
            kind: "NodeTemplate",
            name: templateName,
            uid: templateUid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      }
    : {};
  const marks = ownerMarks(TEMPLATE_ACTION_LABEL, templateName);
  return {
    apiVersion: API_VERSION,
    kind: "AgentAction",
    metadata: {
      name,
      namespace: r.target.namespace,
      labels: { ...marks.labels, "app.kubernetes.io/managed-by": "spot-optimizer" },
      annotations: marks.annotations,
      ...owned,
    },
    spec: {
      clusterRef: { name: r.target.clusterName },
      type: step.type,
      target: step.ref,
      params: step.params,
      timeoutSeconds: ACTION_TIMEOUT_S,
    },
  };
}

async function createIfAbsent(client: KubeClient, object: KubeObject): Promise<void> {
  try {
    await client.create(object, { fieldManager: NODETEMPLATE_FIELD_MANAGER });
  } catch (err) {
    // Only AlreadyExists means an earlier attempt landed; any other 409 is retried by the work queue.
    if (!(err instanceof KubeApiError && err.statusCode === 409 && err.reason === "AlreadyExists")) throw err;
  }
}

/**
 * Finished actions of the step's object are history once a newer one is decided: those with another manifest, and
 * once the step is done the earlier tries of this one (while it is not, they count the failures in a row).
 */
async function dropSuperseded(r: Remote, step: Step, input: { base: string; done: boolean }): Promise<void> {
  const { actions, namespace } = r.target;
  const tries = actions.map((a) => tryIndex(a.metadata.name ?? "", input.base) ?? -1);
  const newest = input.done ? Math.max(...tries) : 0;
  for (const a of actions) {
    const name = a.metadata.name ?? "";
    if (!sameTarget(a, step.ref) || (tryIndex(name, input.base) ?? -1) >= newest || !finished(a)) continue;
    await r.client.delete({ apiVersion: API_VERSION, kind: "AgentAction", namespace, name });
  }
}

async function handOver(r: Remote, step: Step, next: { create: string; why?: string }): Promise<string> {
  // Checked against Karpenter's schema only when handed over, as the local executor does before a write.
  if (step.type === "apply") validateKarpenterObject(step.params.manifest as Record<string, unknown>);
  await createIfAbsent(r.client, actionObject(r, next.create, step));
  if (!next.why) return `AgentAction ${next.create} was handed to the agent`;
  return `${next.why}: AgentAction ${next.create} ${step.type === "delete" ? "removes" : "applies"} it again`;
}

/** Hands the step over; a refusal of it goes into `refused` (retrying at once would be refused the same way). */
async function handOverOrRefusal(
  r: Remote,
  step: Step,
  input: { next: { create: string; why?: string }; into: Progress },
): Promise<boolean> {
  const what = `${step.ref.kind} ${step.ref.name}`;
  try {
    input.into.waiting.push(await handOver(r, step, input.next));
    return true;
  } catch (err) {
    const message = refusalOf(err, what, `the AgentAction for ${what}`);
    if (message === undefined) throw err;
    input.into.refused.push(message);
    return false;
  }
}

/** Carries out one step's next move; what it leaves to wait for (or a failure) goes into `into`. */
async function advance(r: Remote, step: Step, into: Progress): Promise<void> {
  const base = stepBase(r.owner, step);
  const next = nextMove(step, base, r.target);
  if ("wait" in next) return void into.waiting.push(next.wait);
  if ("failed" in next) {
    into.failed.push(next.failed);
    if (next.recheckInMs !== undefined) into.recheckMs.push(next.recheckInMs);
    return;
  }
  if ("create" in next && !(await handOverOrRefusal(r, step, { next, into }))) return;
  await dropSuperseded(r, step, { base, done: "done" in next });
}

async function run(r: Remote, steps: readonly Step[]): Promise<ExecutionState> {
  const into: Progress = { waiting: [], failed: [], recheckMs: [], refused: [] };
  for (const step of steps) {
    await advance(r, step, into);
    // As the local executor: no NodePool is handed over while its EC2NodeClass is refused.
    if (into.refused.length > 0) break;
  }
  if (into.refused.length > 0) return refusedState(into.refused.join("; "));
  const recheck = into.recheckMs.length > 0 ? { recheckInMs: Math.min(...into.recheckMs) } : {};
  if (into.failed.length > 0) return { done: false, failed: true, message: into.failed.join("; "), ...recheck };
  if (into.waiting.length > 0) return { done: false, message: into.waiting.join("; ") };
  return { done: true };
}

/**
 * A remote cluster: each object is handed to the cluster's agent as one AgentAction (server-side apply under the
 * agent's field manager, or a delete of an object carrying our managed-by label). The template's Applied condition
 * follows the actions' results; an unchanged template finds its actions done and creates none. A report of the
 * cluster read after an action completed that no longer shows its outcome (an object edited or deleted by hand)
 * hands the step over again.
 */
export function remoteExecutor(client: KubeClient, target: RemoteTarget): KarpenterExecutor {
  const templateName = target.template.metadata?.name ?? "";
  const templateUid = target.template.metadata?.uid ?? "";
  const owner = templateUid || `orphan:${target.namespace}/${templateName}`;
  const r: Remote = { client, target, templateName, templateUid, owner };
  return {
    mode: "remote",
    apply(objects) {
      return run(
        r,
        objects.map((object) => ({
          type: "apply",
          ref: { apiVersion: object.apiVersion ?? "", kind: object.kind ?? "", name: object.metadata?.name ?? "" },
          params: { manifest: object },
        })),
      );
    },
    remove(refs) {
      return run(
        r,
        refs.map((ref) => ({ type: "delete", ref, params: {} })),
      );
    },
    appliedNames: () => [
      ...new Set(target.actions.filter((a) => a.spec.type === "apply").map((a) => a.spec.target.name)),
    ],
  };
}
