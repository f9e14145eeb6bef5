// Spot interruption notices: Node taints and conditions that Karpenter or the AWS Node Termination Handler set, and
// (DaemonSet mode) the instance-metadata endpoint's spot/instance-action for the agent's own node.
import type { V1Node } from "@kubernetes/client-node";
import type { HeartbeatInterruption } from "../src-shared/agent/protocol.js";
import { MAX_NOTICES_PER_HEARTBEAT, SPOT_INTERRUPTION_KIND } from "../src-shared/agent/notice-kinds.js";
import { httpRequest } from "./http.js";

/** The taint this agent's DaemonSet puts on its node on an instance-metadata Spot interruption notice. */
export const NOTICE_TAINT = "spotoptimizer.io/spot-interruption";
/** When that notice says the instance goes (RFC 3339), on the node: a taint value cannot hold it. */
export const NOTICE_AT_ANNOTATION = "spotoptimizer.io/spot-interruption-at";

/** Taint key -> the kind reported in the heartbeat; only SPOT_INTERRUPTION_KIND counts as an interruption. */
export const INTERRUPTION_TAINTS: Readonly<Record<string, string>> = {
  [NOTICE_TAINT]: SPOT_INTERRUPTION_KIND,
  "aws-node-termination-handler/spot-itn": SPOT_INTERRUPTION_KIND,
  "aws-node-termination-handler/rebalance-recommendation": "rebalance",
  "aws-node-termination-handler/asg-lifecycle-termination": "asg-termination",
  "aws-node-termination-handler/scheduled-maintenance": "scheduled-maintenance",
  "karpenter.sh/disrupted": "karpenter-disruption",
  "karpenter.sh/disruption": "karpenter-disruption",
};

/** Node condition types (status True) that announce the node's end. */
export const INTERRUPTION_CONDITIONS: Readonly<Record<string, string>> = {
  SpotInterruption: SPOT_INTERRUPTION_KIND,
  TerminationNotice: SPOT_INTERRUPTION_KIND,
  RebalanceRecommendation: "rebalance",
};

export interface Notice {
  node: string;
  kind: string;
  at: string;
}

/** When a condition became true, else now (a condition without a valid transition time). */
function conditionSince(lastTransitionTime: unknown, nowIso: string): string {
  const since = lastTransitionTime ? new Date(lastTransitionTime as string) : undefined;
  return since && Number.isFinite(since.getTime()) ? since.toISOString() : nowIso;
}

/** Each notice kind once, with the first time seen (taints before conditions). */
function addOnce(kinds: Map<string, string>, kind: string | undefined, at: () => string): void {
  if (kind !== undefined && !kinds.has(kind)) kinds.set(kind, at());
}

/** Our DaemonSet's taint is dated by its notice, noted on the node; a taint of another tool when first seen. */
function taintedAt(node: V1Node, key: string, nowIso: string): string {
  if (key !== NOTICE_TAINT) return nowIso;
  const noted = Date.parse(node.metadata?.annotations?.[NOTICE_AT_ANNOTATION] ?? "");
  return Number.isFinite(noted) ? new Date(noted).toISOString() : nowIso;
}

/** The interruption notices a Node carries now (at most one per kind). */
export function noticesOnNode(node: V1Node, nowIso: string): Notice[] {
  const kinds = new Map<string, string>();
  for (const taint of node.spec?.taints ?? [])
    addOnce(kinds, INTERRUPTION_TAINTS[taint.key], () => taintedAt(node, taint.key, nowIso));
  for (const c of node.status?.conditions ?? []) {
    const kind = c.status === "True" ? INTERRUPTION_CONDITIONS[c.type] : undefined;
    addOnce(kinds, kind, () => conditionSince(c.lastTransitionTime, nowIso));
  }
  const name = node.metadata?.name ?? "";
  return [...kinds].map(([kind, at]) => ({ node: name, kind, at }));
}

const IMDS_TIMEOUT_MS = 2000;

/** An IMDSv2 session token, or undefined when the PUT fails (then IMDSv1 is asked without one). */
async function imdsToken(baseUrl: string): Promise<string | undefined> {
  try {
    const res = await httpRequest({
      url: `${baseUrl}/latest/api/token`,
      method: "PUT",
      headers: { "x-aws-ec2-metadata-token-ttl-seconds": "60" },
      timeoutMs: IMDS_TIMEOUT_MS,
    });
    return res.status >= 200 && res.status < 300 ? res.text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * GET {base}/latest/meta-data/spot/instance-action with an IMDSv2 session token (falls back to IMDSv1 when the
 * token PUT fails). 404 = no notice. Returns the notice's time, or undefined.
 */
export async function imdsInstanceAction(baseUrl: string): Promise<{ action: string; at: string } | undefined> {
  const token = await imdsToken(baseUrl);
  const res = await httpRequest({
    url: `${baseUrl}/latest/meta-data/spot/instance-action`,
    method: "GET",
    headers: token ? { "x-aws-ec2-metadata-token": token } : {},
    timeoutMs: IMDS_TIMEOUT_MS,
  });
  if (res.status === 404) return undefined;
  if (res.status < 200 || res.status >= 300) throw new Error(`instance metadata answered ${res.status}`);
  const body = JSON.parse(res.text) as { action?: unknown; time?: unknown };
  const at = typeof body.time === "string" && Number.isFinite(Date.parse(body.time)) ? new Date(body.time) : new Date();
  return { action: typeof body.action === "string" ? body.action : "terminate", at: at.toISOString() };
}

/** Notices not handled yet; each (node, kind) is handled once while the node exists. */
export class InterruptionTracker {
  private readonly handled = new Set<string>();
  private readonly unreported: HeartbeatInterruption[] = [];

  /** Returns the notices that are new; remembers them for the next heartbeat. */
  admit(notices: readonly Notice[]): Notice[] {
    const fresh = notices.filter((n) => !this.handled.has(`${n.node}|${n.kind}`));
    for (const n of fresh) {
      this.handled.add(`${n.node}|${n.kind}`);
      this.unreported.push({ node: n.node, at: n.at, kind: n.kind });
    }
    return fresh;
  }

  /** Forgets a node's notices (withdrawn): a later notice of it is handled again. */
  forget(node: string): void {
    for (const key of this.handled) if (key.slice(0, key.indexOf("|")) === node) this.handled.delete(key);
  }

  /** Forgets nodes that are gone, so a new node with a reused name is watched again. */
  retain(existingNodes: ReadonlySet<string>): void {
    for (const key of this.handled) if (!existingNodes.has(key.slice(0, key.indexOf("|")))) this.handled.delete(key);
  }

  /** What the next heartbeat carries: the oldest notices, as many as the facade takes a beat (the rest go next). */
  pending(): HeartbeatInterruption[] {
    return this.unreported.slice(0, MAX_NOTICES_PER_HEARTBEAT);
  }

  /** After a heartbeat carrying `sent` succeeded. */
  reported(sent: readonly HeartbeatInterruption[]): void {
    const done = new Set(sent.map((i) => `${i.node}|${i.at}|${i.kind}`));
    for (let i = this.unreported.length - 1; i >= 0; i--) {
      const u = this.unreported[i]!;
      if (done.has(`${u.node}|${u.at}|${u.kind}`)) this.unreported.splice(i, 1);
    }
  }
}
