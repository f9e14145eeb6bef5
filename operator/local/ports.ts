// Local mode's ports, checked before anything is made: a start that fails later on a taken port would leave a state
// behind with a generated super_admin password it never printed.
import { createServer } from "node:net";

export class PortInUseError extends Error {}

/** Resolves when `port` can be listened on at 127.0.0.1 (0: any port, always); names the variable that chooses it. */
export function ensurePortFree(port: number, variable: string, what: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? new PortInUseError(
              `port ${port} (${variable}, ${what}) is in use: stop what listens there or set ${variable}`,
            )
          : err,
      ),
    );
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}
