// How the agent reaches its cluster without @kubernetes/client-node (≈ 15 MB of resident memory): the pod's service
// account, or a kubeconfig file (token, token file, client certificates, basic auth or an exec credential plugin).
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import type https from "node:https";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import type { KubeAccess } from "../src-shared/kube/client.js";
import { AgentConfigError, SERVICE_ACCOUNT_DIR } from "./config.js";

/** Bound service-account tokens rotate (kubelet refreshes the file); re-read at most this often. */
const TOKEN_REREAD_MS = 60_000;
/** An exec credential is renewed this long before it expires. */
const EXEC_RENEW_MARGIN_MS = 30_000;
const EXEC_TIMEOUT_MS = 30_000;

export interface LoadKubeAccessOptions {
  /** A kubeconfig file; wins over everything else. */
  kubeconfigPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Where the service account is mounted (tests point it elsewhere). */
  serviceAccountDir?: string;
}

interface Credentials {
  token?: string;
  cert?: Buffer;
  key?: Buffer;
}

interface Endpoint {
  server: string;
  ca?: Buffer;
  insecure?: boolean;
  servername?: string;
}

/** A KubeAccess over a fixed endpoint and a credentials source (read per request, so rotation is picked up). */
class Access implements KubeAccess {
  constructor(
    private readonly endpoint: Endpoint,
    private readonly credentials: () => Promise<Credentials>,
    private readonly basic?: string,
  ) {}

  getCurrentCluster(): { server: string } {
    return { server: this.endpoint.server };
  }

  async applyToHTTPSOptions(options: https.RequestOptions): Promise<void> {
    const creds = await this.credentials();
    if (this.endpoint.ca !== undefined) options.ca = this.endpoint.ca;
    if (this.endpoint.insecure) options.rejectUnauthorized = false;
    if (this.endpoint.servername !== undefined) options.servername = this.endpoint.servername;
    if (creds.cert !== undefined) options.cert = creds.cert;
    if (creds.key !== undefined) options.key = creds.key;
    const headers = (options.headers ?? {}) as Record<string, string>;
    if (creds.token !== undefined) headers.Authorization = `Bearer ${creds.token}`;
    else if (this.basic !== undefined) headers.Authorization = `Basic ${this.basic}`;
    options.headers = headers;
  }
}

/** A token file read again once it is older than TOKEN_REREAD_MS. */
function tokenFileReader(path: string): () => Promise<Credentials> {
  let cached: { token: string; readMs: number } | undefined;
  return async () => {
    if (cached === undefined || Date.now() - cached.readMs > TOKEN_REREAD_MS)
      cached = { token: readFileSync(path, "utf8").trim(), readMs: Date.now() };
    return { token: cached.token };
  };
}

/** In a pod: the API server from KUBERNETES_SERVICE_HOST/PORT, the service account's CA and token. */
export function inClusterAccess(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): KubeAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (host === undefined) throw new AgentConfigError("KUBERNETES_SERVICE_HOST: not set (not running in a pod?)");
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return new Access({ server, ca: readMaterial(join(dir, "ca.crt")) }, tokenFileReader(join(dir, "token")));
}

type Named<K extends string, T> = { name?: string } & { [key in K]?: T };

interface KubeconfigCluster {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
}

interface ExecConfig {
  command?: string;
  args?: string[];
  env?: Array<{ name: string; value: string }> | null;
  apiVersion?: string;
}

interface KubeconfigUser {
  token?: string;
  tokenFile?: string;
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  "auth-provider"?: unknown;
}

interface Kubeconfig {
  "current-context"?: string;
  contexts?: Array<Named<"context", { cluster?: string; user?: string }>>;
  clusters?: Array<Named<"cluster", KubeconfigCluster>>;
  users?: Array<Named<"user", KubeconfigUser>>;
}

function named<K extends string, T>(list: Array<Named<K, T>> | undefined, key: K, name: string, what: string): T {
  const entry = (list ?? []).find((e) => e.name === name)?.[key];
  if (entry === undefined || entry === null) throw new AgentConfigError(`kubeconfig: no ${what} named "${name}"`);
  return entry;
}

function readMaterial(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new AgentConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Inline base64 data wins over a file path; paths are relative to the kubeconfig's directory, as kubectl reads them. */
function material(data: string | undefined, path: string | undefined, base: string): Buffer | undefined {
  if (data !== undefined) return Buffer.from(data, "base64");
  if (path !== undefined) return readMaterial(isAbsolute(path) ? path : join(base, path));
  return undefined;
}

function endpointOf(cluster: KubeconfigCluster, base: string): Endpoint {
  if (cluster.server === undefined) throw new AgentConfigError("kubeconfig: the current cluster has no server");
  const ca = material(cluster["certificate-authority-data"], cluster["certificate-authority"], base);
  return {
    server: cluster.server,
    ...(ca !== undefined ? { ca } : {}),
    ...(cluster["insecure-skip-tls-verify"] === true ? { insecure: true } : {}),
    ...(cluster["tls-server-name"] !== undefined ? { servername: cluster["tls-server-name"] } : {}),
  };
}

interface ExecCredentialStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expirationTimestamp?: string;
}

function runExec(exec: ExecConfig, base: string): Promise<ExecCredentialStatus> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const e of exec.env ?? []) env[e.name] = e.value;
  const apiVersion = exec.apiVersion ?? "client.authentication.k8s.io/v1";
  env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion, kind: "ExecCredential", spec: { interactive: false } });
  // kubectl resolves a command with a path separator against the kubeconfig's directory, a bare name through PATH.
  const command = exec.command!.includes("/") && !isAbsolute(exec.command!) ? join(base, exec.command!) : exec.command!;
  return new Promise((resolve, reject) => {
    execFile(command, exec.args ?? [], { env, timeout: EXEC_TIMEOUT_MS }, (err, stdout) => {
      if (err) return reject(new Error(`kubeconfig exec plugin ${exec.command} failed: ${err.message}`));
      try {
        resolve((JSON.parse(stdout) as { status?: ExecCredentialStatus }).status ?? {});
      } catch {
        reject(new Error(`kubeconfig exec plugin ${exec.command} printed no ExecCredential JSON`));
      }
    });
  });
}

/** Runs the plugin when there is no credential yet or it is about to expire. */
function execReader(exec: ExecConfig, base: string): () => Promise<Credentials> {
  let cached: { creds: Credentials; expiresMs: number } | undefined;
  return async () => {
    if (cached !== undefined && Date.now() < cached.expiresMs - EXEC_RENEW_MARGIN_MS) return cached.creds;
    const status = await runExec(exec, base);
    const expires = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : Number.POSITIVE_INFINITY;
    cached = {
      creds: {
        ...(status.token !== undefined ? { token: status.token } : {}),
        ...(status.clientCertificateData !== undefined ? { cert: Buffer.from(status.clientCertificateData) } : {}),
        ...(status.clientKeyData !== undefined ? { key: Buffer.from(status.clientKeyData) } : {}),
      },
      expiresMs: Number.isFinite(expires) ? expires : Number.POSITIVE_INFINITY,
    };
    return cached.creds;
  };
}

function credentialsOf(user: KubeconfigUser, base: string): () => Promise<Credentials> {
  if (user["auth-provider"] !== undefined)
    throw new AgentConfigError("kubeconfig: auth-provider users are not supported (use a token, certificates or exec)");
  if (user.exec?.command !== undefined) return execReader(user.exec, base);
  if (user.tokenFile !== undefined)
    return tokenFileReader(isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile));
  const cert = material(user["client-certificate-data"], user["client-certificate"], base);
  const key = material(user["client-key-data"], user["client-key"], base);
  const creds: Credentials = {
    ...(user.token !== undefined ? { token: user.token } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
  };
  return async () => creds;
}

/** The current context of a kubeconfig file (YAML or JSON). */
export async function kubeconfigAccess(path: string): Promise<KubeAccess> {
  const yaml = await import("js-yaml");
  let doc: Kubeconfig;
  try {
    doc = (yaml.load(readFileSync(path, "utf8")) ?? {}) as Kubeconfig;
  } catch (err) {
    throw new AgentConfigError(`kubeconfig ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
  const contextName = doc["current-context"];
  if (!contextName) throw new AgentConfigError(`kubeconfig ${path}: no current-context`);
  const context = named(doc.contexts, "context", contextName, "context");
  const base = dirname(path);
  const cluster = named(doc.clusters, "cluster", context.cluster ?? "", "cluster");
  const user = context.user ? named(doc.users, "user", context.user, "user") : {};
  const basic =
    user.username !== undefined ? Buffer.from(`${user.username}:${user.password ?? ""}`).toString("base64") : undefined;
  return new Access(endpointOf(cluster, base), credentialsOf(user, base), basic);
}

/**
 * Explicit kubeconfig > in-cluster service account (KUBERNETES_SERVICE_HOST and a mounted token) > the first file of
 * $KUBECONFIG that exists > ~/.kube/config. A missing or unusable configuration throws AgentConfigError.
 */
export async function loadKubeAccess(opts: LoadKubeAccessOptions = {}): Promise<KubeAccess> {
  const env = opts.env ?? process.env;
  if (opts.kubeconfigPath !== undefined) return kubeconfigAccess(opts.kubeconfigPath);
  const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(join(dir, "token"))) return inClusterAccess(env, dir);
  const candidates = [...(env.KUBECONFIG ?? "").split(":").filter(Boolean), join(homedir(), ".kube", "config")];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined)
    throw new AgentConfigError(
      "SPOTOPT_KUBECONFIG: not set, not in a pod and no kubeconfig found ($KUBECONFIG, ~/.kube/config)",
    );
  return kubeconfigAccess(found);
}
