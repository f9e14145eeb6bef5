#!/usr/bin/env node
// Container entrypoint: `spot-optimizer operator|facade|agent|spotctl` runs that component's main module (the agent
// from its compiled bundle when the image has one, else every component's sources through tsx).
import { existsSync } from "node:fs";
import { fileURLToPath, URL } from "node:url";

const entrypoints = {
  operator: "../operator/main.ts",
  facade: "../operator/facade/main.ts",
  agent: "../agent/main.ts",
  // One-shot commands run by the chart's hooks (e.g. `spotctl migrate agent-objects` before an upgrade).
  spotctl: "../operator/cli/spotctl.ts",
};

const component = process.argv[2];
const relative = component === undefined ? undefined : entrypoints[component];
if (relative === undefined) {
  console.error(`usage: spot-optimizer ${Object.keys(entrypoints).join("|")}`);
  process.exit(2);
}
// The image compiles the agent into one file (npm run build:agent): it needs no tsx, so none is loaded for it.
const bundle = fileURLToPath(new URL("../dist/agent.mjs", import.meta.url));
const path = component === "agent" && existsSync(bundle) ? bundle : fileURLToPath(new URL(relative, import.meta.url));
if (!existsSync(path)) {
  console.error(`spot-optimizer: ${component} is not part of this build (${path} is missing)`);
  process.exit(2);
}
if (path.endsWith(".ts")) {
  const { register } = await import("tsx/esm/api");
  register();
}
// Each main module runs itself when it is the script node was started with; make it so.
process.argv.splice(1, 2, path);
await import(path);
