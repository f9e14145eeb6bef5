// optimize() in a worker thread, for long-running processes: a plan of a big cluster takes seconds of CPU, during which
// the operator would otherwise renew no Lease, serve no watch and run no other controller (one event loop).
import type { Worker } from "node:worker_threads";
import { startWorker } from "./threads.js";
import { PlanInputError, type OptimizeInput, type OptimizeResult } from "./optimize.js";

interface Pending {
  resolve: (result: OptimizeResult) => void;
  reject: (err: Error) => void;
}

interface Reply {
  id: number;
  result?: OptimizeResult;
  error?: { name: string; message: string };
}

/** A function cannot cross threads: the policy's type filter goes as the names it allows of the book's types. */
function portable(input: OptimizeInput): { input: OptimizeInput; allowedTypes?: string[] } {
  const { allowType, ...policy } = input.policy;
  if (!allowType) return { input };
  const allowedTypes = [...input.book.instanceTypes.values()].filter((s) => allowType(s)).map((s) => s.name);
  return { input: { ...input, policy }, allowedTypes };
}

/** Errors keep their meaning across the thread: an input the planner refuses stays a PlanInputError. */
function rebuild(error: { name: string; message: string }): Error {
  if (error.name === "PlanInputError") return new PlanInputError(error.message);
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  return rebuilt;
}

/**
 * One worker, started on the first plan and kept (warm JIT and wasm make later plans faster); it does not keep the
 * process alive. If it dies (out of memory, a crash), the plans it held fail and the next plan starts a new one.
 */
export class OptimizerWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  optimize(input: OptimizeInput): Promise<OptimizeResult> {
    const worker = this.ensure();
    const id = this.nextId++;
    return new Promise<OptimizeResult>((resolve, reject) => {
      try {
        worker.postMessage({ id, ...portable(input) });
      } catch (err) {
        // Not cloneable (a value no thread can take): nothing was sent, so nothing waits for an answer.
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.pending.set(id, { resolve, reject });
      worker.ref();
    });
  }

  /** Stops the worker; plans still running fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
    this.failAll(new Error("the optimizer worker was stopped"));
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(new URL("./worker-entry.ts", import.meta.url));
    worker.unref();
    worker.on("message", (reply: Reply) => this.settle(reply));
    worker.on("error", (err) => this.lost(worker, err));
    worker.on("exit", (code) => this.lost(worker, new Error(`the optimizer worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private settle(reply: Reply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (reply.error) pending.reject(rebuild(reply.error));
    else pending.resolve(reply.result as OptimizeResult);
  }

  private lost(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.failAll(err);
  }

  private failAll(err: Error): void {
    for (const pending of this.pending.values()) pending.reject(err);
    this.pending.clear();
  }
}
