// Runs local mode (`npm start`: operator/local/main.ts) as a child process on free ports with its own state directory.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "./cluster.js";
import { afterAll } from "vitest";
import { freePort } from "./ports.js";

/** Instances not stopped yet: a test that fails between a start and its stop must not leave one running. */
const running = new Set<() => Promise<number | null>>();
afterAll(async () => {
  for (const stop of [...running]) await stop();
});

export interface LocalMode {
  child: ChildProcess;
  /** Everything it printed so far (the banner included). */
  output: () => string;
  facadeUrl: string;
  /** The admin kubeconfig the banner names (TLS, bearer token), as kubectl and helm use it. */
  kubeconfigPath: string;
  /** SIGINT, as Ctrl-C; resolves with the exit code. */
  stop: () => Promise<number | null>;
}

export interface LocalModeOptions {
  /** Added to (or, with an undefined value, removed from) this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Fixed ports, e.g. to restart on the same ones; free ports otherwise. */
  ports?: { facade: number; api: number };
}

/** Starts local mode with SPOTOPT_HOME=`home`; resolves once its banner says it is ready. */
export async function startLocalMode(home: string, opts: LocalModeOptions = {}): Promise<LocalMode> {
  const { env = {} } = opts;
  const ports = opts.ports ?? { facade: await freePort(), api: await freePort() };
  const child = spawn(process.execPath, [join(repoRoot, "node_modules/tsx/dist/cli.mjs"), "operator/local/main.ts"], {
    cwd: repoRoot,
    env: {
      ...process.env,
      SPOTOPT_HOME: home,
      PORT: String(ports.facade),
      SPOTOPT_APISERVER_PORT: String(ports.api),
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise<void>((ready, fail) => {
    const timer = setInterval(() => {
      if (out.includes("Press Ctrl-C to stop")) {
        clearInterval(timer);
        ready();
      }
    }, 100);
    child.once("exit", (code) => {
      clearInterval(timer);
      fail(new Error(`local mode exited with ${code}: ${out}`));
    });
  });
  const stop = (): Promise<number | null> => {
    running.delete(stop);
    return child.exitCode !== null
      ? Promise.resolve(child.exitCode)
      : new Promise((done) => {
          child.once("exit", (code) => done(code));
          child.kill("SIGINT");
        });
  };
  running.add(stop);
  return {
    child,
    output: () => out,
    facadeUrl: `http://127.0.0.1:${ports.facade}`,
    kubeconfigPath: join(home, "kubeconfig"),
    stop,
  };
}
