// A free TCP port on loopback, for processes a test starts with an explicit port (local mode, benches).
import { createServer } from "node:net";

/** Asks the kernel for an ephemeral port, then releases it for the caller to listen on. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
    server.once("error", reject);
  });
}
