// Pod annotations an OptimizationPolicy's exclusions set, shared by the operator and the agent (no zod here: the agent
// bundle imports this module's values).

/** Karpenter never disrupts a node voluntarily while a pod on it carries this annotation set to "true". */
export const DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt";
/** `namespace/name` of the OptimizationPolicy that set DO_NOT_DISRUPT; a pod without it had it from someone else. */
export const PROTECTED_BY = "spotoptimizer.io/do-not-disrupt-by";
