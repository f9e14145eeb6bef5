// Types of bin/spotctl-bundle.mjs for the TypeScript code (tests) that imports it.

/**
 * The path of a bundle of `entry` (relative to `root`, default the repository) built from the sources as they are now,
 * with `workers` (worker threads' entries, default spotctl's own in the repository, none elsewhere) built beside it, or
 * undefined when it cannot be built.
 */
export declare function spotctlBundle(options?: {
  entry?: string;
  workers?: string[];
  root?: string;
  cacheDir?: string;
}): Promise<string | undefined>;
