// A local-mode start on a taken port stops before it makes anything: no state, so no generated password is lost.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startLocalMode } from "./main.js";
import { PortInUseError } from "./ports.js";

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

async function taken(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

describe("local mode's ports", () => {
  it("refuses a taken facade, API server or metrics port naming its variable, and leaves the home empty", async () => {
    for (const variable of ["PORT", "SPOTOPT_APISERVER_PORT", "SPOTOPT_METRICS_PORT"]) {
      const home = mkdtempSync(join(tmpdir(), "spotopt-ports-"));
      cleanups.push(() => rmSync(home, { recursive: true, force: true }));
      const port = await taken();
      const env = { SPOTOPT_HOME: home, PORT: "0", SPOTOPT_APISERVER_PORT: "0", [variable]: String(port) };
      const start = startLocalMode(env, []);
      await expect(start).rejects.toThrow(PortInUseError);
      await expect(start).rejects.toThrow(`port ${port} (${variable}, `);
      expect(readdirSync(home)).toEqual([]);
    }
  });
});
