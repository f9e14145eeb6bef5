// Worker threads on TypeScript entries: the entry's bundled build where spotctl's bundle made one (the thread then
// starts no loader), else the source through tsx's loader, registered in the new thread first (hooks are per thread).
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/** Set by spotctl's bundle build (bin/spotctl-bundle.mjs): each worker entry's source URL → its built file. */
declare const SPOTCTL_BUNDLED_WORKERS: Record<string, string> | undefined;

/** A worker thread running the module at `entry` (a .ts source's URL). */
export function startWorker(entry: URL): Worker {
  const bundled = typeof SPOTCTL_BUNDLED_WORKERS === "object" ? SPOTCTL_BUNDLED_WORKERS[entry.href] : undefined;
  if (bundled) return new Worker(bundled);
  return new Worker(new URL("./worker-boot.mjs", import.meta.url), { workerData: { entry: entry.href } });
}

/**
 * CPUs this process may use at once: Node 20's availableParallelism() counts the machine's, not a container's CPU
 * limit (cgroup v2 cpu.max, v1 cfs quota), and a second thread under a one-CPU limit only competes with the first.
 */
export function cpusAvailable(
  read: (path: string) => string | undefined = readIfExists,
  machine: number = availableParallelism(),
): number {
  const v2 = read("/sys/fs/cgroup/cpu.max")?.trim().split(/\s+/);
  const [quota, period] = v2
    ? [Number(v2[0]), Number(v2[1] ?? 100_000)]
    : [Number(read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")), Number(read("/sys/fs/cgroup/cpu/cpu.cfs_period_us"))];
  // "max", -1 or unreadable: no limit
  if (!(quota > 0) || !(period > 0)) return machine;
  return Math.max(1, Math.min(machine, quota / period));
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
