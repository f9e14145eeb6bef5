// Public surface of the hibernation schedule engine: validate/compile a spec, evaluate it, find its next transition.
export * from "./spec.js";
export * from "./evaluate.js";
