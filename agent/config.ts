// The agent's configuration from environment variables (documented in agent/README.md), validated with zod.
import { readFileSync } from "node:fs";
import { z } from "zod";

const seconds = (fallback: number): z.ZodDefault<z.ZodCoercedNumber> =>
  z.coerce.number().positive().max(86_400).default(fallback);

const EnvSchema = z.object({
  SPOTOPT_FACADE_URL: z.url({ protocol: /^https?$/ }).describe("Base URL of the facade"),
  SPOTOPT_CLUSTER_ID: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/),
  SPOTOPT_AGENT_TOKEN_FILE: z.string().min(1).default("/var/run/secrets/spot-optimizer/agent-token"),
  SPOTOPT_AGENT_TOKEN: z.string().min(1).optional(),
  SPOTOPT_HEARTBEAT_SECONDS: seconds(15),
  SPOTOPT_POLL_SECONDS: seconds(5),
  SPOTOPT_HEALTH_STALE_SECONDS: seconds(120),
  SPOTOPT_BACKOFF_MAX_SECONDS: seconds(60),
  SPOTOPT_AGENT_PORT: z.coerce.number().int().min(0).max(65_535).default(8081),
  SPOTOPT_AGENT_HOST: z.string().min(1).default("0.0.0.0"),
  SPOTOPT_KUBECONFIG: z.string().min(1).optional(),
  SPOTOPT_AGENT_MODE: z.enum(["deployment", "daemonset"]).default("deployment"),
  SPOTOPT_NODE_NAME: z.string().min(1).optional(),
  SPOTOPT_IMDS_URL: z.url({ protocol: /^https?$/ }).default("http://169.254.169.254"),
  SPOTOPT_INTERRUPTION_DRAIN_SECONDS: seconds(90),
  SPOTOPT_MAX_CONCURRENT_ACTIONS: z.coerce.number().int().min(1).max(64).default(4),
});

export interface AgentConfig {
  facadeUrl: string;
  clusterId: string;
  /** Read again when the facade answers 401 (the Secret behind the file may have been rotated). */
  readToken: () => string;
  heartbeatMs: number;
  pollMs: number;
  healthStaleMs: number;
  backoffMaxMs: number;
  port: number;
  host: string;
  kubeconfigPath?: string;
  mode: "deployment" | "daemonset";
  nodeName?: string;
  imdsUrl: string;
  interruptionDrainMs: number;
  maxConcurrentActions: number;
}

/** Thrown for a bad environment; main.ts prints the one line and exits 2. */
export class AgentConfigError extends Error {
  override name = "AgentConfigError";
}

function tokenReader(env: z.infer<typeof EnvSchema>): () => string {
  if (env.SPOTOPT_AGENT_TOKEN !== undefined) {
    const token = env.SPOTOPT_AGENT_TOKEN;
    return () => token;
  }
  const path = env.SPOTOPT_AGENT_TOKEN_FILE;
  return () => {
    try {
      return readFileSync(path, "utf8").trim();
    } catch (err) {
      throw new AgentConfigError(`cannot read the agent token file ${path}: ${(err as Error).message}`);
    }
  };
}

/** Parses the environment; throws AgentConfigError naming the variable on a bad or missing value. */
export function loadAgentConfig(raw: NodeJS.ProcessEnv = process.env): AgentConfig {
  const parsed = EnvSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AgentConfigError(`${issue.path.join(".")}: ${issue.message}`);
  }
  const env = parsed.data;
  if (env.SPOTOPT_AGENT_MODE === "daemonset" && env.SPOTOPT_NODE_NAME === undefined)
    throw new AgentConfigError("SPOTOPT_NODE_NAME: required in daemonset mode (the downward API's spec.nodeName)");
  return {
    facadeUrl: env.SPOTOPT_FACADE_URL.replace(/\/$/, ""),
    clusterId: env.SPOTOPT_CLUSTER_ID,
    readToken: tokenReader(env),
    heartbeatMs: env.SPOTOPT_HEARTBEAT_SECONDS * 1000,
    pollMs: env.SPOTOPT_POLL_SECONDS * 1000,
    healthStaleMs: env.SPOTOPT_HEALTH_STALE_SECONDS * 1000,
    backoffMaxMs: env.SPOTOPT_BACKOFF_MAX_SECONDS * 1000,
    port: env.SPOTOPT_AGENT_PORT,
    host: env.SPOTOPT_AGENT_HOST,
    ...(env.SPOTOPT_KUBECONFIG !== undefined ? { kubeconfigPath: env.SPOTOPT_KUBECONFIG } : {}),
    mode: env.SPOTOPT_AGENT_MODE,
    ...(env.SPOTOPT_NODE_NAME !== undefined ? { nodeName: env.SPOTOPT_NODE_NAME } : {}),
    imdsUrl: env.SPOTOPT_IMDS_URL.replace(/\/$/, ""),
    interruptionDrainMs: env.SPOTOPT_INTERRUPTION_DRAIN_SECONDS * 1000,
    maxConcurrentActions: env.SPOTOPT_MAX_CONCURRENT_ACTIONS,
  };
}
