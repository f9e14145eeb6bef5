// What an executor gets and returns: the leased action, a kube client for the agent's cluster, and a deadline.
import type { PendingAction } from "../../src-shared/agent/protocol.js";
import type { KubeClient } from "../../src-shared/kube/client.js";

export interface ExecContext {
  client: KubeClient;
  action: PendingAction;
  /** Epoch ms after which the executor stops (drain: then forces or reports what is left). */
  deadlineMs: number;
  now?: () => number;
  /** The agent's own namespace, where no action may change anything. */
  ownNamespace?: string;
}

export interface ExecOutcome {
  status: "succeeded" | "failed";
  message: string;
  data?: Record<string, unknown>;
}

/** Idempotent: running it twice leaves the cluster as running it once does. */
export type Executor = (ctx: ExecContext) => Promise<ExecOutcome>;

/** A failure the executor reports as the action's result (bad params, target missing), never retried by itself. */
export class ActionError extends Error {
  override name = "ActionError";
}

export const ok = (message: string, data?: Record<string, unknown>): ExecOutcome => ({
  status: "succeeded",
  message,
  ...(data ? { data } : {}),
});

export function targetRef(action: PendingAction): {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
} {
  const t = action.target;
  const apiVersion = t.api_version ?? DEFAULT_API_VERSIONS[t.kind];
  if (apiVersion === undefined) throw new ActionError(`target kind ${t.kind} needs target.apiVersion`);
  return { apiVersion, kind: t.kind, name: t.name, ...(t.namespace ? { namespace: t.namespace } : {}) };
}

const DEFAULT_API_VERSIONS: Record<string, string> = {
  Node: "v1",
  Pod: "v1",
  Deployment: "apps/v1",
  StatefulSet: "apps/v1",
  CronJob: "batch/v1",
  NodePool: "karpenter.sh/v1",
  NodeClaim: "karpenter.sh/v1",
  EC2NodeClass: "karpenter.k8s.aws/v1",
};

export function requireKind(action: PendingAction, kinds: readonly string[]): void {
  if (!kinds.includes(action.target.kind))
    throw new ActionError(`${action.type} acts on ${kinds.join(" or ")}, not ${action.target.kind}`);
}
