// Pure decision of the remote-cleanup controller: whether a remote ManagedCluster holds its finalizer, and when a
// cluster being deleted lets it go (its agent removed what the NodeTemplates applied there, or can no longer).
import { templateKeysNamed, type RemoteView } from "../../../../src-shared/agent/remote-view.js";

/** Held on a remote ManagedCluster while NodeTemplates may have applied objects there, so deleting it removes them. */
export const REMOTE_CLEANUP_FINALIZER = "nodetemplate.spotoptimizer.io/remove-remote-objects";

export interface CleanupInput {
  namespace: string;
  deletionMs?: number;
  hasFinalizer: boolean;
  /** Templates of the organisation naming this cluster. */
  templates: number;
  /** The cluster's agent's latest report, if it sent one. */
  view?: RemoteView;
  /** Template AgentActions of this cluster not yet Succeeded or Failed. */
  openActions: number;
  nowMs: number;
  /** No report for this long while deleting, or a deletion this old: what the agent still holds is left, and named. */
  giveUpMs: number;
}

export type CleanupDecision =
  { action: "none"; recheckMs?: number } | { action: "add" } | { action: "remove"; left?: string[] };

/** Template keys whose objects the report still shows in the cluster (only this organisation's). */
function reported(input: CleanupInput): string[] {
  return input.view ? templateKeysNamed(input.view, input.namespace).sort() : [];
}

/** A cluster in use: held while it has templates or still reports objects of ours; released otherwise. */
function whileInUse(input: CleanupInput): CleanupDecision {
  const wanted = input.templates > 0 || reported(input).length > 0;
  if (wanted === input.hasFinalizer) return { action: "none" };
  return wanted ? { action: "add" } : { action: "remove" };
}

export function decideCleanup(input: CleanupInput): CleanupDecision {
  if (input.deletionMs === undefined) return whileInUse(input);
  if (!input.hasFinalizer) return { action: "none" };
  const view = input.view;
  // Never reported: nothing was ever applied there (actions only run once an agent fetches them).
  if (!view) return { action: "remove" };
  const left = reported(input);
  // A report read after the deletion began and after the agent's last action shows what is really left.
  const settled = view.receivedAtMs > input.deletionMs + view.settleMs && input.openActions === 0;
  if (settled && left.length === 0) return { action: "remove" };
  // A silent agent, or removals that do not finish (failing deletes), end the wait too: with what may be left named.
  if (input.nowMs - view.receivedAtMs > input.giveUpMs || input.nowMs - input.deletionMs > input.giveUpMs)
    return { action: "remove", left };
  return { action: "none", recheckMs: 15_000 };
}
