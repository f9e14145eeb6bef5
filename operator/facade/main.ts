// Facade entrypoint (its own process): kubeconfig from KUBECONFIG or $SPOTOPT_HOME/kubeconfig, listens on PORT (8080).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { pino, type Logger } from "pino";
import { loadKubeConfig } from "../../src-shared/kube/config.js";
import { REDACTED_PATHS } from "../../src-shared/log/index.js";
import { LogTap } from "./log-tap.js";
import { startFacade, type RunningFacade } from "./start.js";

export { startFacade, generateAdminCredentials, type RunningFacade, type StartFacadeOptions } from "./start.js";

function kubeconfigPath(env: NodeJS.ProcessEnv): string | undefined {
  if (env.KUBECONFIG) return undefined; // loadKubeConfig's defaults read $KUBECONFIG
  const home = env.SPOTOPT_HOME;
  const candidate = home ? join(home, "kubeconfig") : undefined;
  return candidate && existsSync(candidate) ? candidate : undefined;
}

/** The facade process's logger: every line to `destination` and to the tap WS /admin/logs streams from, credentials redacted. */
export function facadeLogger(level: string, destination: pino.DestinationStream, tap: pino.DestinationStream): Logger {
  return pino(
    { level, redact: REDACTED_PATHS },
    pino.multistream([
      { level, stream: destination },
      { level, stream: tap },
    ]),
  );
}

/** Starts the facade from the environment; resolves once it listens. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<RunningFacade> {
  // Buffered stdout (written at 4 KiB, at least every second, and synchronously on exit): one access-log line per
  // request must not cost one write(2) each. A SIGKILL can lose up to a second of lines.
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), 1000).unref();
  const level = env.SPOTOPT_LOG_LEVEL ?? env.LOG_LEVEL ?? "info";
  const logTap = new LogTap();
  const logger = facadeLogger(level, destination, logTap);
  const path = kubeconfigPath(env);
  const kubeConfig = loadKubeConfig(path ? { kubeconfigPath: path } : {});
  const port = env.PORT ? Number(env.PORT) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be a port number, got ${JSON.stringify(env.PORT)}`);
  const facade = await startFacade({ kubeConfig, port, host: env.HOST ?? "0.0.0.0", env, logger, logTap });
  logger.info({ url: facade.url }, "Facade listening");
  const shutdown = (): void => {
    facade.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
  return facade;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`facade: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
