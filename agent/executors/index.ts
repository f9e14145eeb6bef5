// The executor registry: action type -> executor; an unknown type or a thrown error becomes a failed result.
import { KubeApiError } from "../../src-shared/kube/client.js";
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

/** The action types that could stop or replace the agent itself, were they aimed at its own namespace. */
const GUARDED_TYPES = new Set(["scale", "patch", "apply", "delete"]);

/** Runs the action's executor until its deadline; never throws. */
export async function execute(ctx: ExecContext): Promise<ExecOutcome> {
  const executor = EXECUTORS[ctx.action.type];
  if (
    ctx.ownNamespace !== undefined &&
    GUARDED_TYPES.has(ctx.action.type) &&
    ctx.action.target.namespace === ctx.ownNamespace
  )
    return {
      status: "failed",
      message: `refused: a ${ctx.action.type} action in ${ctx.ownNamespace}, the agent's own namespace (the agent never changes its own workloads)`,
    };
  if (!executor)
    return {
      status: "failed",
      message: `unknown action type "${ctx.action.type}": this agent knows ${Object.keys(EXECUTORS).sort().join(", ")}`,
    };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ExecOutcome>((resolve) => {
    // Drain watches the deadline itself; the timer catches anything else that hangs (plus a second for drain's last round).
    timer = setTimeout(
      () => resolve({ status: "failed", message: `deadline ${new Date(ctx.deadlineMs).toISOString()} reached` }),
      Math.max(0, ctx.deadlineMs - Date.now()) + 5000,
    );
  });
  try {
    return await Promise.race([executor(ctx).catch(failure), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
