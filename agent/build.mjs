#!/usr/bin/env node
// Compiles the agent (agent/main.ts and what it imports) into one ESM file with esbuild, which the image runs without
// tsx: a smaller resident set than loading the TypeScript sources at start. `npm run build:agent [-- OUTFILE]`.
import process from "node:process";
import { fileURLToPath } from "node:url";
import { dirname, join, resolve } from "node:path";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_OUTFILE = join(repo, "dist", "agent.mjs");
/** V8 flags the chart starts the bundle with by default: a small young generation keeps idle RSS low, the heap cap (agent.maxHeapMiB) holds a big cluster's report. */
export const AGENT_NODE_FLAGS = ["--max-semi-space-size=1", "--max-old-space-size=256"];

/** esbuild's options for the bundle (the benchmark and a test add `metafile: true` to see what it holds). */
export function agentBuildOptions(outfile = DEFAULT_OUTFILE) {
  return {
    entryPoints: [join(repo, "agent", "main.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    minify: true,
    legalComments: "none",
    logLevel: "error",
    // CommonJS dependencies bundled into ESM still call require for Node built-ins.
    banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
  };
}

/** Builds the bundle; returns its path. */
export async function buildAgent(outfile = DEFAULT_OUTFILE) {
  const { build } = await import("esbuild");
  await build(agentBuildOptions(outfile));
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildAgent(process.argv[2] ? resolve(process.argv[2]) : DEFAULT_OUTFILE);
  process.stdout.write(`built ${out}\n`);
}
