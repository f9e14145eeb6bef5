// Which node notices an agent reports are Spot interruptions (counted in the figures) and which only announce other ends.

/**
 * The kind an agent reports for a Spot interruption warning: the instance-metadata `spot/instance-action`, the Node
 * Termination Handler's `spot-itn` taint, or the `SpotInterruption` / `TerminationNotice` node conditions.
 */
export const SPOT_INTERRUPTION_KIND = "spot-itn";

/** The audit event of a reported Spot interruption: what interruption counts read. */
export const SPOT_INTERRUPTION_EVENT = "spot.interruption";

/** The audit event of any other notice (rebalance, maintenance, Karpenter disruption): recorded, never counted. */
export const NODE_NOTICE_EVENT = "node.notice";

/** Whether a reported notice is a Spot interruption (rebalance recommendations, maintenance and disruptions are not). */
export function isSpotInterruption(kind: string): boolean {
  return kind === SPOT_INTERRUPTION_KIND;
}

/** Notices count over this window (interruptions7d); an older notice neither counts nor is recorded. */
export const NOTICE_WINDOW_MS = 7 * 86_400_000;

/**
 * How far ahead of the facade's clock a notice's time may lie: a Spot instance-action notice names the termination two
 * minutes out, plus a few minutes of clock skew between the cluster and the facade. Anything later is not believed.
 */
export const NOTICE_MAX_AHEAD_MS = 5 * 60_000;

/**
 * When a recorded notice happened: its own `at` (the AuditEntry's `after.at`), else the entry's time for entries that
 * carry none. NaN when neither is a date.
 */
export function noticeTimeMs(entry: { spec: { timestamp?: string; after?: unknown } }): number {
  const at = (entry.spec.after as { at?: unknown } | undefined)?.at;
  return Date.parse(typeof at === "string" ? at : (entry.spec.timestamp ?? ""));
}

/**
 * Notices one heartbeat may carry. Each becomes an audit entry written in the heartbeat's request, so a beat with
 * hundreds would hold it for tens of seconds; an agent with more (a mass interruption, an outage) sends the rest with
 * the next beats, a few seconds apart.
 */
export const MAX_NOTICES_PER_HEARTBEAT = 100;

/**
 * What a heartbeat may carry at all: agents before the limit above sent every pending notice (up to this many). Refusing
 * them would stop such an agent's heartbeats for good, so they are taken and only the first MAX_NOTICES_PER_HEARTBEAT
 * are looked at.
 */
export const NOTICES_ACCEPTED_PER_HEARTBEAT = 1000;
