// Names the agent writes under in the workload cluster.
/** Field manager of every agent write, so `managedFields` shows what the agent changed. */
export const AGENT_FIELD_MANAGER = "spot-optimizer-agent";
/** Where `scale` saves the replica count it replaced (and `restore` reads it back). */
export const ORIGINAL_REPLICAS_ANNOTATION = "agent.spotoptimizer.io/original-replicas";
