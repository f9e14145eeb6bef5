// Facade configuration from environment variables (documented in docs/facade.md), with defaults.
import { z } from "zod";
import { DEFAULT_PRICE_MAX_AGE_HOURS, priceMaxAgeMs } from "../../src-shared/pricing/freshness.js";

export interface FacadeRateLimits {
  signupPerHour: number;
  tokenPerMinute: number;
  logoutPerMinute: number;
  /** POST /settings/invite per inviting user and per organisation (each invite can probe one address). */
  invitePerHourPerUser: number;
  invitePerHourPerOrganisation: number;
}

export interface FacadeConfig {
  /** Namespace holding the JWT signing key, users and refresh-token families. */
  systemNamespace: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Secret (in systemNamespace) holding the JWT signing key as data key `key`; created on first start if absent. */
  jwtKeySecret: string;
  jwtIssuer: string;
  jwtAudience: string;
  rateLimits: FacadeRateLimits;
  /** Parse handler results with their response schema (on by default outside production). */
  validateResponses: boolean;
  /** Largest accepted JSON body in bytes. */
  bodyLimitBytes: number;
  /** ... of an agent's heartbeat (decompressed), which lists every node and pod group of its cluster. */
  heartbeatBodyLimitBytes: number;
  /** Express `trust proxy` value: only set behind a proxy you control, else X-Forwarded-For is spoofable. */
  trustProxy: boolean | number | string;
  version: string;
  logLevel: string;
  /** How often each replica applies the stored audit retention policies; 0 disables the sweep. */
  retentionSweepSeconds: number;
  /** How often each replica deletes the cluster rate-limit counters of ended windows; 0 disables the sweep. */
  rateLimitSweepSeconds: number;
  /** How often each replica deletes the agent objects (token, snapshot, Lease) of clusters gone; 0 disables. */
  agentObjectSweepSeconds: number;
  /** Longest reuse of a memoised GET response while the cache is unchanged (clock-dependent figures); 0 disables. */
  responseMemoMs: number;
  /**
   * The facade is reached over HTTPS (e.g. TLS ends at an Ingress): only then does it send HSTS and ask browsers to
   * upgrade requests, which would break Swagger UI on a plain-HTTP port-forward.
   */
  servedOverHttps: boolean;
  /** Agent heartbeats: the cluster's snapshot (and so its status figures) is written at most this often. */
  agentStatusIntervalSeconds: number;
  /** Agent heartbeats: the cluster's liveness Lease is renewed at most this often. */
  agentLeaseRenewSeconds: number;
  /**
   * Base URL handed back to users (agent endpoint, helm command, export links): SPOTOPT_PUBLIC_URL, else the
   * listen address (startFacade fills it in once listening). Never the request's Host header, which the caller chooses.
   */
  publicUrl: string;
  /**
   * The chart `helm_command` installs (SPOTOPT_AGENT_CHART): a path, a .tgz URL or an oci:// reference of
   * charts/spot-optimizer. Default: the path inside a checkout of this repository.
   */
  agentChart: string;
  /**
   * The image `helm_command` installs the agent from (SPOTOPT_AGENT_IMAGE, `repository:tag` or `repository@digest`; the
   * chart sets its own image); unset, the command sets none and the chart's default applies.
   */
  agentImage?: AgentImage;
  /** Identical denied requests (and failed logins) of one actor within this window share one audit entry with a count. */
  auditRefusalWindowMs: number;
  /** Figures whose prices are older than this say so (`prices_stale`). */
  priceMaxAgeMs: number;
  /**
   * File the outbox mail transport appends to (SPOTOPT_MAIL_OUTBOX): signup verification codes and invites. "" = no
   * mail transport, so signup and invites answer 501.
   */
  mailOutbox: string;
  /**
   * SPOTOPT_METRICS_PORT: serve /metrics on its own listener (unauthenticated, on metricsHost) and not on the API
   * port. Undefined: /metrics stays on the API port and answers only a super_admin's access token.
   */
  metricsPort: number | undefined;
  /** SPOTOPT_METRICS_HOST: address of the metrics listener (default loopback; the chart binds the pod IP). */
  metricsHost: string;
  /**
   * SPOTOPT_PLAN_NODE_LIMITS (`free=5,pro=50`): nodes each plan includes, reported by GET /billing/status against the
   * nodes the organisation's clusters report. A plan not listed has no limit there (null).
   */
  planNodeLimits: Record<string, number>;
  /** WebSocket streams: how often each open stream's token is checked again (logout, expiry) and the peer pinged. */
  streamRecheckSeconds: number;
}

export const DEFAULT_FACADE_CONFIG: FacadeConfig = {
  systemNamespace: "spot-optimizer-system",
  accessTokenTtlSeconds: 86_400,
  refreshTokenTtlSeconds: 7 * 86_400,
  jwtKeySecret: "spot-optimizer-facade-jwt-key",
  jwtIssuer: "spot-optimizer",
  jwtAudience: "spot-optimizer-facade",
  rateLimits: {
    signupPerHour: 5,
    tokenPerMinute: 10,
    logoutPerMinute: 100,
    invitePerHourPerUser: 20,
    invitePerHourPerOrganisation: 50,
  },
  validateResponses: true,
  bodyLimitBytes: 1024 * 1024,
  heartbeatBodyLimitBytes: 16 * 1024 * 1024,
  trustProxy: false,
  version: "0.1.0",
  logLevel: "info",
  retentionSweepSeconds: 3600,
  rateLimitSweepSeconds: 300,
  agentObjectSweepSeconds: 600,
  responseMemoMs: 1000,
  servedOverHttps: false,
  agentStatusIntervalSeconds: 60,
  agentLeaseRenewSeconds: 5,
  publicUrl: "",
  agentChart: "charts/spot-optimizer",
  auditRefusalWindowMs: 60_000,
  priceMaxAgeMs: DEFAULT_PRICE_MAX_AGE_HOURS * 3_600_000,
  mailOutbox: "",
  metricsPort: undefined,
  metricsHost: "127.0.0.1",
  planNodeLimits: {},
  streamRecheckSeconds: 30,
};

const positiveInt = z.coerce.number().int().positive();

function trustProxyValue(raw: string | undefined): boolean | number | string {
  if (raw === undefined || raw === "" || raw === "false") return false;
  if (raw === "true") return true;
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const parsed = positiveInt.safeParse(raw);
  if (!parsed.success) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return parsed.data;
}

/** A port number (0 = any free port); unset = undefined. */
function portFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) throw new Error(`${name} must be a port number, got ${JSON.stringify(raw)}`);
  return port;
}

/** `plan=N,plan=N`: a plan name (as organisations carry it) and a whole number of nodes, each plan once. */
function planNodeLimitsFromEnv(env: NodeJS.ProcessEnv, name: string): Record<string, number> {
  const raw = env[name]?.trim();
  const limits: Record<string, number> = {};
  if (!raw) return limits;
  for (const item of raw.split(",")) {
    const m = /^\s*([a-z0-9][a-z0-9-]{0,62})\s*=\s*(\d{1,9})\s*$/.exec(item);
    if (!m || Object.hasOwn(limits, m[1]!))
      throw new Error(
        `${name} must list plan=nodes pairs, each plan once (e.g. free=5,pro=50), got ${JSON.stringify(raw)}`,
      );
    limits[m[1]!] = Number(m[2]);
  }
  return limits;
}

/** At most an hour: a revoked token must not keep its stream for long (and timers take at most 2^31 ms). */
function recheckSecondsFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const seconds = intFromEnv(env, name, fallback);
  if (seconds > 3600) throw new Error(`${name} must be at most 3600, got ${JSON.stringify(env[name])}`);
  return seconds;
}

function booleanFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true" || raw === "false") return raw === "true";
  throw new Error(`${name} must be true or false, got ${JSON.stringify(raw)}`);
}

/**
 * SPOTOPT_PUBLIC_URL as a base URL without a trailing slash: http(s) only, no credentials, query or fragment, since
 * it is pasted into commands and links that other people run.
 */
export function parsePublicUrl(raw: string | undefined): string {
  if (raw === undefined || raw === "") return "";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`SPOTOPT_PUBLIC_URL must be an absolute http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (!/^https?:$/.test(url.protocol) || url.username || url.password || url.search || url.hash)
    throw new Error(
      `SPOTOPT_PUBLIC_URL must be an http(s) URL without credentials, query or fragment, got ${JSON.stringify(raw)}`,
    );
  return url.href.replace(/\/+$/, "");
}

/** An image reference split the way the chart's values take it. */
export interface AgentImage {
  repository: string;
  tag?: string;
  digest?: string;
}

/** `repository@digest` split, or undefined when either part is not one. */
function digestReference(repository: string, digest: string): AgentImage | undefined {
  return repository && /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-f0-9]{32,}$/i.test(digest)
    ? { repository, digest }
    : undefined;
}

/**
 * SPOTOPT_AGENT_IMAGE as repository and tag or digest: `repository@digest`, `repository:tag` (the tag after the last
 * `/`), or a bare repository. Any registry's spelling is taken (the chart passes its `image.*` through); only what no
 * image reference holds (whitespace, an empty part, a tag or digest of other characters) is refused, naming the variable.
 */
export function agentImageFrom(raw: string | undefined): { agentImage?: AgentImage } {
  if (raw === undefined || raw === "") return {};
  const refuse = (): never => {
    throw new Error(
      `SPOTOPT_AGENT_IMAGE must be an image reference repository[:tag] or repository@algorithm:hex, got ${JSON.stringify(raw)}`,
    );
  };
  if (/[\s"'`\\]/.test(raw)) refuse();
  const at = raw.lastIndexOf("@");
  if (at >= 0) return { agentImage: digestReference(raw.slice(0, at), raw.slice(at + 1)) ?? refuse() };
  const colon = raw.lastIndexOf(":");
  if (colon < 0 || colon < raw.lastIndexOf("/")) return { agentImage: { repository: raw } };
  const [repository, tag] = [raw.slice(0, colon), raw.slice(colon + 1)];
  if (!repository || !/^\w[\w.-]{0,127}$/.test(tag)) refuse();
  return { agentImage: { repository, tag } };
}

/** Settings given in code on top of the environment (tests, local mode); rate limits may be given one by one. */
export type FacadeConfigOverrides = Partial<Omit<FacadeConfig, "rateLimits">> & {
  rateLimits?: Partial<FacadeRateLimits>;
};

/** The first of the variables that is set and not empty, else the default. */
function firstSet(env: NodeJS.ProcessEnv, names: readonly string[], fallback: string): string {
  for (const name of names) if (env[name]) return env[name];
  return fallback;
}

/** A positive integer, or "0" for off. */
function intOrOffFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  return env[name] === "0" ? 0 : intFromEnv(env, name, fallback);
}

function rateLimitsFromEnv(env: NodeJS.ProcessEnv): FacadeRateLimits {
  const d = DEFAULT_FACADE_CONFIG.rateLimits;
  return {
    signupPerHour: intFromEnv(env, "SPOTOPT_RATE_SIGNUP_PER_HOUR", d.signupPerHour),
    tokenPerMinute: intFromEnv(env, "SPOTOPT_RATE_TOKEN_PER_MINUTE", d.tokenPerMinute),
    logoutPerMinute: intFromEnv(env, "SPOTOPT_RATE_LOGOUT_PER_MINUTE", d.logoutPerMinute),
    invitePerHourPerUser: intFromEnv(env, "SPOTOPT_RATE_INVITE_PER_HOUR", d.invitePerHourPerUser),
    invitePerHourPerOrganisation: intFromEnv(env, "SPOTOPT_RATE_INVITE_ORG_PER_HOUR", d.invitePerHourPerOrganisation),
  };
}

/** Reads SPOTOPT_* variables; throws with the variable's name on a bad value. */
export function loadFacadeConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: FacadeConfigOverrides = {},
): FacadeConfig {
  const d = DEFAULT_FACADE_CONFIG;
  const config: FacadeConfig = {
    systemNamespace: firstSet(env, ["SPOTOPT_SYSTEM_NAMESPACE"], d.systemNamespace),
    accessTokenTtlSeconds: intFromEnv(env, "SPOTOPT_ACCESS_TOKEN_TTL_SECONDS", d.accessTokenTtlSeconds),
    refreshTokenTtlSeconds: intFromEnv(env, "SPOTOPT_REFRESH_TOKEN_TTL_SECONDS", d.refreshTokenTtlSeconds),
    jwtKeySecret: firstSet(env, ["SPOTOPT_JWT_KEY_SECRET"], d.jwtKeySecret),
    jwtIssuer: firstSet(env, ["SPOTOPT_JWT_ISSUER"], d.jwtIssuer),
    jwtAudience: firstSet(env, ["SPOTOPT_JWT_AUDIENCE"], d.jwtAudience),
    rateLimits: rateLimitsFromEnv(env),
    validateResponses: env.SPOTOPT_VALIDATE_RESPONSES
      ? env.SPOTOPT_VALIDATE_RESPONSES === "true"
      : env.NODE_ENV !== "production",
    bodyLimitBytes: intFromEnv(env, "SPOTOPT_BODY_LIMIT_BYTES", d.bodyLimitBytes),
    heartbeatBodyLimitBytes: intFromEnv(env, "SPOTOPT_HEARTBEAT_BODY_LIMIT_BYTES", d.heartbeatBodyLimitBytes),
    trustProxy: trustProxyValue(env.SPOTOPT_TRUST_PROXY),
    version: d.version,
    logLevel: firstSet(env, ["SPOTOPT_LOG_LEVEL", "LOG_LEVEL"], d.logLevel),
    retentionSweepSeconds: intOrOffFromEnv(env, "SPOTOPT_AUDIT_RETENTION_SWEEP_SECONDS", d.retentionSweepSeconds),
    rateLimitSweepSeconds: intOrOffFromEnv(env, "SPOTOPT_RATE_SWEEP_SECONDS", d.rateLimitSweepSeconds),
    agentObjectSweepSeconds: intOrOffFromEnv(env, "SPOTOPT_AGENT_OBJECT_SWEEP_SECONDS", d.agentObjectSweepSeconds),
    responseMemoMs: intOrOffFromEnv(env, "SPOTOPT_RESPONSE_MEMO_MS", d.responseMemoMs),
    servedOverHttps: booleanFromEnv(env, "SPOTOPT_HTTPS", d.servedOverHttps),
    agentStatusIntervalSeconds: intFromEnv(env, "SPOTOPT_AGENT_STATUS_INTERVAL_SECONDS", d.agentStatusIntervalSeconds),
    agentLeaseRenewSeconds: intFromEnv(env, "SPOTOPT_AGENT_LEASE_RENEW_SECONDS", d.agentLeaseRenewSeconds),
    publicUrl: parsePublicUrl(env.SPOTOPT_PUBLIC_URL),
    agentChart: firstSet(env, ["SPOTOPT_AGENT_CHART"], d.agentChart),
    ...agentImageFrom(env.SPOTOPT_AGENT_IMAGE),
    auditRefusalWindowMs: d.auditRefusalWindowMs,
    priceMaxAgeMs: priceMaxAgeMs(env),
    mailOutbox: env.SPOTOPT_MAIL_OUTBOX || d.mailOutbox,
    metricsPort: portFromEnv(env, "SPOTOPT_METRICS_PORT"),
    metricsHost: env.SPOTOPT_METRICS_HOST || d.metricsHost,
    planNodeLimits: planNodeLimitsFromEnv(env, "SPOTOPT_PLAN_NODE_LIMITS"),
    streamRecheckSeconds: recheckSecondsFromEnv(env, "SPOTOPT_STREAM_RECHECK_SECONDS", d.streamRecheckSeconds),
  };
  return {
    ...config,
    ...overrides,
    rateLimits: { ...config.rateLimits, ...overrides.rateLimits },
    publicUrl: parsePublicUrl(overrides.publicUrl ?? config.publicUrl),
  };
}
