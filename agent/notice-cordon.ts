// The cordon a notice brings, undone when the notice goes: Karpenter takes its disruption taint back when it cancels a
// disruption (and a rebalance recommendation may pass), and the node then stays. Only a cordon this agent made for a
// notice is undone: it marks the node when it cordons it, and leaves a node someone else cordoned as it is.
import type { V1Node } from "@kubernetes/client-node";
import type { KubeClient, KubeObject } from "../src-shared/kube/client.js";
import { AGENT_FIELD_MANAGER } from "./executors/fields.js";
import { nodeRef } from "./executors/node.js";

/** On a node this agent cordoned for a notice: the notice's kind. */
export const NOTICE_CORDON_ANNOTATION = "agent.spotoptimizer.io/cordoned-for";

/** Cordons the node for a notice and marks it so, guarded by its resourceVersion; a node cordoned already stays unmarked. */
export async function cordonForNotice(client: KubeClient, name: string, kind: string): Promise<void> {
  const node = await client.getIfExists<KubeObject & V1Node>(nodeRef(name));
  if (!node || node.spec?.unschedulable === true) return;
  await client.patch(
    nodeRef(name),
    {
      metadata: { resourceVersion: node.metadata?.resourceVersion, annotations: { [NOTICE_CORDON_ANNOTATION]: kind } },
      spec: { unschedulable: true },
    },
    { type: "merge", fieldManager: AGENT_FIELD_MANAGER },
  );
}

/** Whether the node carries this agent's notice cordon that nothing holds any more (no notice, no drain running). */
function withdrawn(node: V1Node, noticed: ReadonlySet<string>, busy: ReadonlySet<string>): boolean {
  const name = node.metadata?.name ?? "";
  return node.metadata?.annotations?.[NOTICE_CORDON_ANNOTATION] !== undefined && !noticed.has(name) && !busy.has(name);
}

/** Removes the cordon and its mark, guarded by the resourceVersion the node was read with. */
async function uncordon(client: KubeClient, node: V1Node): Promise<void> {
  await client.patch(
    nodeRef(node.metadata?.name ?? ""),
    {
      metadata: { resourceVersion: node.metadata?.resourceVersion, annotations: { [NOTICE_CORDON_ANNOTATION]: null } },
      spec: { unschedulable: null },
    },
    { type: "merge", fieldManager: AGENT_FIELD_MANAGER },
  );
}

/**
 * Uncordons the nodes this agent cordoned for a notice they no longer carry (not while `busy` drains them), removing
 * the mark; returns their names. Each write is guarded by the node's resourceVersion: a node changed meanwhile waits
 * for the next round, and the others still go (an error is thrown only when none could).
 */
export async function releaseWithdrawn(
  client: KubeClient,
  { nodes, noticed, busy }: { nodes: readonly V1Node[]; noticed: ReadonlySet<string>; busy: ReadonlySet<string> },
): Promise<string[]> {
  const released: string[] = [];
  let failed: unknown;
  for (const node of nodes.filter((n) => withdrawn(n, noticed, busy))) {
    try {
      await uncordon(client, node);
      released.push(node.metadata?.name ?? "");
    } catch (err) {
      failed ??= err;
    }
  }
  if (failed !== undefined && released.length === 0) throw failed;
  return released;
}
