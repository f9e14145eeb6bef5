#!/usr/bin/env node
// spotctl launcher: runs the TypeScript CLI with no build step needed after `npm ci` — from a bundle cached under
// node_modules/.cache and rebuilt whenever a source changed (bin/spotctl-bundle.mjs), else through tsx.
import { setFlagsFromString } from "node:v8";
import { pathToFileURL } from "node:url";
import { spotctlBundle } from "./spotctl-bundle.mjs";

// A one-shot run is over before V8's optimising tier pays for itself on the HiGHS solver's wasm (3.5 MB): compiling
// its hot functions again costs more CPU than they save, and exit waits for those compile jobs. Baseline code only
// (`spotctl plan` turns tiering back on for inputs big enough to solve for seconds); set before the module is compiled.
// Plans do not change: the solver's budgets count work, not time.
setFlagsFromString("--no-wasm-dynamic-tiering");
setFlagsFromString("--no-wasm-tier-up");
// SPOTCTL_NO_BUNDLE=1 runs the sources through tsx (stack traces then name the .ts files).
const bundle = process.env.SPOTCTL_NO_BUNDLE ? undefined : await spotctlBundle();
if (bundle) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../operator/cli/spotctl.ts");
}
