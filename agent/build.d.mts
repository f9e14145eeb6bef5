// Types of agent/build.mjs (a plain ESM script, so the image's build stage runs it with node alone).
export declare const DEFAULT_OUTFILE: string;
export declare const AGENT_NODE_FLAGS: string[];
export declare function agentBuildOptions(outfile?: string): import("esbuild").BuildOptions;
export declare function buildAgent(outfile?: string): Promise<string>;
