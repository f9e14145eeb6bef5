// `npm start`: local mode. Runs the embedded Kubernetes API server, installs the CRDs, seeds a simulated cluster
// and a demo organisation, and starts the operator and the facade, until SIGINT/SIGTERM.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startLocalApiServer, type LocalApiServer } from "./apiserver/index.js";
import { KubeClient } from "../../src-shared/kube/index.js";
import { createLogger } from "../../src-shared/log/index.js";
import { listOrganisations } from "../facade/auth/orgs.js";
import { generateAdminCredentials, startFacade, type RunningFacade } from "../facade/start.js";
import { SYSTEM_NAMESPACE, startOperator, type RunningOperator } from "../main.js";
import { KARPENTER_CRD_FILE } from "./karpenter-crds.js";
import { createIfAbsent, demoCounts, seedDemoCluster, seedSimulatedCluster } from "./seed.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DEMO_ORG_NAME = "Demo";
const DEMO_OWNER_EMAIL = "owner@demo.local";

export interface LocalModeSettings {
  home: string;
  facadePort: number;
  apiServerPort: number;
}

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`${name} must be a port number 0-65535, got "${raw}"`);
  return port;
}

/** Settings from the environment: SPOTOPT_HOME (default .spotopt/ in the repo), PORT (8080), SPOTOPT_APISERVER_PORT (6443). */
export function localModeSettings(env: NodeJS.ProcessEnv = process.env): LocalModeSettings {
  return {
    home: resolve(env.SPOTOPT_HOME || join(repoRoot, ".spotopt")),
    facadePort: portFrom(env, "PORT", 8080),
    apiServerPort: portFrom(env, "SPOTOPT_APISERVER_PORT", 6443),
  };
}

/** The demo organisation: created with a fresh owner on the first start, found again on later starts. */
async function ensureDemoOrganisation(
  client: KubeClient,
  facade: RunningFacade,
): Promise<{ namespace: string; ownerPassword?: string }> {
  const existing = (await listOrganisations(client)).find((o) => o.name === DEMO_ORG_NAME);
  if (existing) return { namespace: existing.namespace };
  const ownerPassword = randomBytes(12).toString("base64url");
  const { org } = await facade.auth.signup({
    orgName: DEMO_ORG_NAME,
    email: DEMO_OWNER_EMAIL,
    password: ownerPassword,
  });
  return { namespace: org.namespace, ownerPassword };
}

function banner(input: {
  api: LocalApiServer;
  facade: RunningFacade;
  admin: { email: string; password: string };
  demo: { namespace: string; ownerPassword?: string };
}): string {
  const kubeconfig = input.api.kubeconfigPath ?? "";
  const owner = input.demo.ownerPassword
    ? `  demo owner:   ${DEMO_OWNER_EMAIL} / ${input.demo.ownerPassword}   (shown once: this start created it)`
    : `  demo owner:   ${DEMO_OWNER_EMAIL} (created on the first start; its password was shown then)`;
  return [
    "",
    "Spot Optimizer is running in local mode.",
    `  API server:   ${input.api.url}   (${demoCounts.nodes} simulated nodes, ${demoCounts.pods} pods)`,
    `  facade:       ${input.facade.url}   (health: ${input.facade.url}/healthz, API docs: ${input.facade.url}/docs)`,
    `  kubeconfig:   ${kubeconfig}`,
    `  organisation: ${DEMO_ORG_NAME} (namespace ${input.demo.namespace})`,
    owner,
    `  super_admin:  ${input.admin.email} / ${input.admin.password}   (set SPOTOPT_ADMIN_EMAIL / SPOTOPT_ADMIN_PASSWORD to choose)`,
    "",
    "Try:",
    `  KUBECONFIG=${kubeconfig} kubectl get nodetemplates,managedclusters -A`,
    `  curl -s ${input.facade.url}/api/auth/token -H 'content-type: application/json' -d '{"email":"${input.admin.email}","password":"${input.admin.password}"}'`,
    "",
    "Press Ctrl-C to stop.",
    "",
  ].join("\n");
}

export interface RunningLocalMode {
  api: LocalApiServer;
  facade: RunningFacade;
  operator: RunningOperator;
  stop(): Promise<void>;
}

/** Starts every local-mode component and returns once the facade is listening. */
export async function startLocalMode(env: NodeJS.ProcessEnv = process.env): Promise<RunningLocalMode> {
  const settings = localModeSettings(env);
  mkdirSync(settings.home, { recursive: true });
  const api = await startLocalApiServer({
    port: settings.apiServerPort,
    dataFile: join(settings.home, "state.json"),
    kubeconfigPath: join(settings.home, "kubeconfig"),
  });
  const client = new KubeClient(api.kubeConfig);
  // Karpenter's real CRDs (generated from upstream), replacing any older copy a previous start installed.
  await api.installCrdFiles([join(repoRoot, "crds"), KARPENTER_CRD_FILE]);
  await createIfAbsent(client, { apiVersion: "v1", kind: "Namespace", metadata: { name: SYSTEM_NAMESPACE } });
  await seedSimulatedCluster(client);
  const operator = await startOperator({
    kubeConfig: api.kubeConfig,
    logger: createLogger("operator", env),
    identity: "local-operator",
  });
  const admin =
    env.SPOTOPT_ADMIN_EMAIL && env.SPOTOPT_ADMIN_PASSWORD
      ? { email: env.SPOTOPT_ADMIN_EMAIL, password: env.SPOTOPT_ADMIN_PASSWORD }
      : generateAdminCredentials();
  const facade = await startFacade({
    kubeConfig: api.kubeConfig,
    port: settings.facadePort,
    env,
    admin: { ...admin, resetPassword: true },
    logger: createLogger("facade", env),
  });
  const demo = await ensureDemoOrganisation(client, facade);
  await seedDemoCluster(client, demo.namespace);
  process.stdout.write(banner({ api, facade, admin, demo }));
  return {
    api,
    facade,
    operator,
    stop: async () => {
      await facade.stop();
      await operator.stop();
      client.close();
      await api.stop();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const running = await startLocalMode();
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`\nReceived ${signal}, stopping\n`);
      running.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`Stop failed: ${String(err)}\n`);
          process.exit(1);
        },
      );
    };
    process.once("SIGINT", () => shutdown("SIGINT"));
    process.once("SIGTERM", () => shutdown("SIGTERM"));
  } catch (err) {
    process.stderr.write(
      `spot-optimizer local mode failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exit(1);
  }
}
