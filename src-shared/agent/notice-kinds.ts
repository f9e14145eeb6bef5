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
