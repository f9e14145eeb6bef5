#!/usr/bin/env node
// spotctl launcher: runs the TypeScript CLI through tsx so that no build step is needed after `npm ci`.
import { register } from "tsx/esm/api";

register();
await import("../operator/cli/spotctl.ts");
