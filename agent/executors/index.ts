// The executor registry: action type -> executor; an unknown type or a thrown error becomes a failed result.
import { KubeApiError } from "../../src-shared/kube/client.js";
import { ACTION_RESULT_MESSAGE_MAX } from "../../src-shared/agent/action-limits.js";
import { apply } from "./apply.js";
import { drain } from "./drain.js";
import { annotate, deleteObject, label, patch } from "./metadata.js";
import { cordon, deleteNode, uncordon } from "./node.js";
import { restore, scale } from "./scale.js";
import { ActionError, type ExecContext, type ExecOutcome, type Executor } from "./types.js";

export const EXECUTORS: Readonly<Record<string, Executor>> = {
  cordon,
  uncordon,
  drain,
  scale,
  restore,
  annotate,
  label,
  patch,
  apply,
  "delete-node": deleteNode,
  delete: deleteObject,
};

function failure(err: unknown): ExecOutcome {
  if (err instanceof ActionError) return { status: "failed", message: err.message };
  if (err instanceof KubeApiError) return { status: "failed", message: `Kubernetes API: ${err.message}` };
  return { status: "failed", message: `executor error: ${err instanceof Error ? err.message : String(err)}` };
}

/** The outcome with its message cut to what the facade records: a refused result would leave the action to run again. */
function recordable(outcome: ExecOutcome): ExecOutcome {
  if (outcome.message.length <= ACTION_RESULT_MESSAGE_MAX) return outcome;
  const marker = " … (cut)";
  return { ...outcome, message: outcome.message.slice(0, ACTION_RESULT_MESSAGE_MAX - marker.length) + marker };
}

/** A refusal before anything runs: an action aimed at the agent's own namespace, or a type this agent does not know. */
function refusal(ctx: ExecContext): ExecOutcome | undefined {
  const { type, target } = ctx.action;
  // every type: annotate + restore (or label) could scale the agent to zero as surely as scale itself; the namespace
  // object too (annotate with `pods` reaches every pod in it)
  const own = ctx.ownNamespace;
  if (own !== undefined && (target.namespace === own || (target.kind === "Namespace" && target.name === own)))
    return {
      status: "failed",
      message: `refused: a ${type} action in ${own}, the agent's own namespace (the agent never changes its own workloads)`,
    };
  if (!Object.hasOwn(EXECUTORS, type))
    return {
      status: "failed",
      message: `unknown action type "${type}": this agent knows ${Object.keys(EXECUTORS).sort().join(", ")}`,
    };
  return undefined;
}

/** setTimeout's longest delay (about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs the action's executor until its deadline; never throws. */
export async function execute(ctx: ExecContext): Promise<ExecOutcome> {
  const refused = refusal(ctx);
  if (refused) return refused;
  const executor = EXECUTORS[ctx.action.type]!;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ExecOutcome>((resolve) => {
    // Drain watches the deadline itself; the timer catches anything else that hangs (plus a second for drain's last round).
    timer = setTimeout(
      () => resolve({ status: "failed", message: `deadline reached (${ctx.action.timeout_seconds} s)` }),
      Math.min(MAX_TIMER_MS, Math.max(0, ctx.deadlineMs - Date.now()) + 5000),
    );
  });
  try {
    return recordable(await Promise.race([executor(ctx).catch(failure), timeout]));
  } finally {
    clearTimeout(timer);
  }
}
