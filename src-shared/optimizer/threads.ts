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
 * CPUs this process may use at once: Node 20's availableParallelism() counts the machine's, not a CPU limit on the
 * process's cgroup (v2 cpu.max, v1 CFS quota; a container's, or a systemd unit's), and a second thread under a
 * one-CPU limit only competes with the first.
 */
export function cpusAvailable(
  read: (path: string) => string | undefined = readIfExists,
  machine: number = availableParallelism(),
): number {
  return Math.max(1, Math.min(machine, ...cgroupCpuLimits(read)));
}

/** The CPU limits (in CPUs) on this process's cgroup and its ancestors, v2 and v1, as far as they can be read. */
function cgroupCpuLimits(read: (path: string) => string | undefined): number[] {
  const own = (read("/proc/self/cgroup") ?? "").split("\n").map((line) => line.split(":"));
  const v2 = own
    .find((f) => f[0] === "0" && f[1] === "")
    ?.slice(2)
    .join(":")
    .trim();
  const v1 = own
    .find((f) => f.length >= 3 && f[1]!.split(",").includes("cpu"))
    ?.slice(2)
    .join(":")
    .trim();
  const limits: number[] = [];
  const add = (quota: number, period: number): void => {
    // "max", -1 or unreadable: no limit there
    if (quota > 0 && period > 0) limits.push(quota / period);
  };
  for (const dir of ancestors(v2)) {
    const fields = read(`/sys/fs/cgroup${dir}/cpu.max`)?.trim().split(/\s+/);
    if (fields) add(Number(fields[0]), Number(fields[1] ?? 100_000));
  }
  for (const mount of ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"])
    for (const dir of ancestors(v1))
      add(Number(read(`${mount}${dir}/cpu.cfs_quota_us`)), Number(read(`${mount}${dir}/cpu.cfs_period_us`)));
  return limits;
}

/** "/a/b" → "/a/b", "/a", "" (the mount's root): in a container the cgroup path may name the host's hierarchy. */
function ancestors(path: string | undefined): string[] {
  const parts = (path ?? "").split("/").filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, parts.length - i).join("/")}`).concat("");
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
