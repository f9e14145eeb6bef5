// Starts the optimizer's worker thread from its TypeScript source: tsx's loader is registered for this thread first
// (module hooks are per thread), as bin/spot-optimizer.mjs does for the main one.
import { workerData } from "node:worker_threads";

const { register } = await import("tsx/esm/api");
register();
await import(workerData.entry);
