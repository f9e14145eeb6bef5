// Limits of the action queue that both the facade's schemas and the agent check: here without zod, so the agent's
// bundle can read them without loading the schemas that state them.

/** The longest an AgentAction may ask its agent to work on one attempt (its CRD's maximum `timeoutSeconds`). */
export const ACTION_TIMEOUT_SECONDS_MAX = 86_400;

/** The longest result message the facade records. */
export const ACTION_RESULT_MESSAGE_MAX = 4096;

/** The most actions one poll of `GET /clusters/{id}/actions/pending` hands out (its `limit`'s maximum). */
export const PENDING_ACTIONS_LIMIT_MAX = 100;
