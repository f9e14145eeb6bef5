// Worker threads on TypeScript entries: the entry's bundled build where spotctl's bundle made one (the thread then
// starts no loader), else the source through tsx's loader, registered in the new thread first (hooks are per thread).
import { Worker } from "node:worker_threads";

/** Set by spotctl's bundle build (bin/spotctl-bundle.mjs): each worker entry's source URL → its built file. */
declare const SPOTCTL_BUNDLED_WORKERS: Record<string, string> | undefined;

/** A worker thread running the module at `entry` (a .ts source's URL). */
export function startWorker(entry: URL): Worker {
  const bundled = typeof SPOTCTL_BUNDLED_WORKERS === "object" ? SPOTCTL_BUNDLED_WORKERS[entry.href] : undefined;
  if (bundled) return new Worker(bundled);
  return new Worker(new URL("./worker-boot.mjs", import.meta.url), { workerData: { entry: entry.href } });
}
