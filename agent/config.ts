// The agent's configuration from environment variables (documented in agent/README.md), validated with zod/mini:
// the same checks as classic zod without loading all of it (≈ 5 MB of resident memory the agent does not need).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod/mini";
import { en } from "zod/locales";

// zod/mini carries no messages of its own; English ones name what was wrong with a variable.
z.config(en());

const seconds = (fallback: number): z.ZodMiniDefault<z.ZodMiniNumber> =>
  z._default(z.coerce.number().check(z.positive(), z.maximum(86_400)), fallback);

const integer = (
  min: number,
  max: number,
  fallback: number,
): z.ZodMiniDefault<z.ZodMiniPipe<z.ZodMiniNumber, z.ZodMiniNumberFormat>> =>
  z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(min), z.maximum(max))), fallback);

const text = (): z.ZodMiniString => z.string().check(z.minLength(1));

const EnvSchema = z.object({
  SPOTOPT_FACADE_URL: z.url({ protocol: /^https?$/ }),
  SPOTOPT_CLUSTER_ID: z.string().check(z.minLength(1), z.maxLength(253), z.regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)),
  SPOTOPT_AGENT_TOKEN_FILE: z._default(text(), "/var/run/secrets/spot-optimizer/agent-token"),
  SPOTOPT_AGENT_TOKEN: z.optional(text()),
  SPOTOPT_HEARTBEAT_SECONDS: seconds(15),
  SPOTOPT_POLL_SECONDS: seconds(5),
  SPOTOPT_HEALTH_STALE_SECONDS: seconds(120),
  SPOTOPT_BACKOFF_MAX_SECONDS: seconds(60),
  SPOTOPT_AGENT_PORT: integer(0, 65_535, 8081),
  SPOTOPT_AGENT_HOST: z._default(text(), "0.0.0.0"),
  SPOTOPT_KUBECONFIG: z.optional(text()),
  SPOTOPT_AGENT_MODE: z._default(z.enum(["deployment", "daemonset"]), "deployment"),
  SPOTOPT_NODE_NAME: z.optional(text()),
  SPOTOPT_IMDS_URL: z._default(z.url({ protocol: /^https?$/ }), "http://169.254.169.254"),
  SPOTOPT_INTERRUPTION_DRAIN_SECONDS: seconds(90),
  SPOTOPT_MAX_CONCURRENT_ACTIONS: integer(1, 64, 4),
  SPOTOPT_AGENT_NAMESPACE: z.optional(
    z.string().check(z.minLength(1), z.maxLength(63), z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)),
  ),
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
  /** The namespace the agent runs in: never reported for hibernation, never the target of an action. */
  ownNamespace?: string;
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
    ...ownNamespace(env.SPOTOPT_AGENT_NAMESPACE),
  };
}

/** Where a pod's service account is mounted: its token and CA (kube-access.ts) and its namespace. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** The agent's own namespace when no variable names it. */
const SERVICE_ACCOUNT_NAMESPACE_FILE = join(SERVICE_ACCOUNT_DIR, "namespace");

function ownNamespace(configured: string | undefined): { ownNamespace?: string } {
  if (configured !== undefined) return { ownNamespace: configured };
  try {
    const mounted = readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, "utf8").trim();
    return mounted ? { ownNamespace: mounted } : {};
  } catch {
    // outside a pod (a kubeconfig): no namespace of its own
    return {};
  }
}
