// The controller runtime shared by the operator and the agent (see docs/runtime.md).
export * from "./apply.js";
export * from "./conditions.js";
export * from "./events.js";
export * from "./informer.js";
export * from "./keys.js";
export * from "./leader.js";
export * from "./manager.js";
export * from "./selector.js";
export * from "./status-memory.js";
export * from "./workqueue.js";
export * from "./health.js";
export * from "./refused.js";
