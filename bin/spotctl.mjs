#!/usr/bin/env node
// spotctl launcher: runs the TypeScript CLI through tsx so that no build step is needed after `npm ci`.
import { setFlagsFromString } from "node:v8";
import { register } from "tsx/esm/api";

// A one-shot run is over before V8's optimising tier pays for itself on the HiGHS solver's wasm (3.5 MB): compiling
// its hot functions again costs more CPU than they save, and exit waits for those compile jobs. Baseline code only;
// set before the module is compiled. Plans do not change: the solver's budgets count work, not time.
setFlagsFromString("--no-wasm-dynamic-tiering");
setFlagsFromString("--no-wasm-tier-up");
register();
await import("../operator/cli/spotctl.ts");
