// One local mode per SPOTOPT_HOME: a second start on the same directory rewrote the kubeconfig to its own port and
// kept its own copy of the state, so the writes one of them acknowledged were lost when the other saved.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Another running process holds the home directory. */
export class HomeInUseError extends Error {}

/**
 * Takes `home` for this process (a `lock` file holding its pid, created exclusively) and returns the release. A lock
 * whose process is gone (killed, the machine restarted) is taken over; so is one naming this very pid, which after a
 * container restart is a new process with an old number.
 */
export function lockHome(home: string, pid: number = process.pid): () => void {
  const file = join(home, "lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      try {
        writeSync(fd, `${pid}\n`);
      } finally {
        closeSync(fd);
      }
      return () => release(file, pid);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = holderOf(file);
    if (holder !== undefined && holder !== pid && running(holder))
      throw new HomeInUseError(
        `${home} is in use by process ${holder} (another npm start on the same SPOTOPT_HOME); stop it or set ` +
          `SPOTOPT_HOME to another directory (if no such process runs, remove ${file})`,
      );
    removeQuietly(file);
  }
  throw new HomeInUseError(`${home}: could not take ${file}; another start is taking it at the same time`);
}

function holderOf(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes the lock if it is still this process's (a start that took over a stale lock keeps its own). */
function release(file: string, pid: number): void {
  if (holderOf(file) === pid) removeQuietly(file);
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
