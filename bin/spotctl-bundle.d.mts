// Types of bin/spotctl-bundle.mjs for the TypeScript code (tests) that imports it.

/**
 * The path of a bundle of `entry` (relative to `root`, default the repository) built from the sources as they are now,
 * or undefined when it cannot be built.
 */
export declare function spotctlBundle(options?: {
  entry?: string;
  root?: string;
  cacheDir?: string;
}): Promise<string | undefined>;
