// `npm start` stops when SIGTERM or SIGINT is sent to the npm process itself (as a process manager or `kill` does),
// not only when the signal reaches its child: nothing is left listening afterwards.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../support/ports.js";

const repoRoot = resolve(import.meta.dirname, "../..");

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("npm start and signals sent to npm", () => {
  it.each(["SIGTERM", "SIGINT"] as const)("stops everything on %s to the npm process", async (signal) => {
    const home = mkdtempSync(join(tmpdir(), "spotopt-signals-"));
    const facadePort = await freePort();
    const npmCli = process.env.npm_execpath;
    const [cmd, args] = npmCli ? [process.execPath, [npmCli, "start"]] : ["npm", ["start"]];
    const npm = spawn(cmd, args, {
      cwd: repoRoot,
      detached: true,
      env: {
        ...process.env,
        SPOTOPT_HOME: home,
        PORT: String(facadePort),
        SPOTOPT_APISERVER_PORT: String(await freePort()),
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    npm.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    npm.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const facade = `http://127.0.0.1:${facadePort}/healthz`;
    try {
      await waitFor(
        `npm start to be ready (output so far: ${out})`,
        () => out.includes("Press Ctrl-C to stop"),
        50_000,
      );
      expect(await answers(facade)).toBe(true);
      process.kill(npm.pid!, signal);
      await waitFor(
        `the facade on port ${facadePort} to stop answering after ${signal}`,
        async () => !(await answers(facade)),
        30_000,
      );
      await waitFor("npm to exit", () => npm.exitCode !== null || npm.signalCode !== null, 10_000);
    } finally {
      // Whatever the outcome, leave no process of this test behind.
      try {
        process.kill(-npm.pid!, "SIGKILL");
      } catch {
        // already gone
      }
      rmSync(home, { recursive: true, force: true });
    }
  });
});
