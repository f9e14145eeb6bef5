// Keyed work queue: de-duplicates keys, runs one reconcile per key at a time, backs off per key, limits concurrency.

/** What a reconcile returns: ask to be run again after a delay (e.g. at the next schedule transition). */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

export type ReconcileFn = (key: string) => Promise<ReconcileResult | void>;

export interface WorkQueueOptions {
  reconcile: ReconcileFn;
  /** Reconciles running at the same time (different keys). Default 4. */
  concurrency?: number;
  /** First retry delay after a throw; doubles per consecutive failure of the same key. Default 100 ms. */
  baseBackoffMs?: number;
  /** Upper bound of the retry delay. Default 60 s. */
  maxBackoffMs?: number;
  /**
   * The upper bound of the retry delay after this error (undefined: maxBackoffMs). A lost write race says the API
   * server is well and the next read is newer, so its retry need not back off as far as an outage's.
   */
  maxBackoffAfter?: (key: string, error: unknown, failures: number) => number | undefined;
  /** Called when a reconcile throws (for logging); the key is retried after `retryInMs`. */
  onError?: (key: string, error: unknown, retryInMs: number) => void;
}

/** Delay before retry number `failures` (1-based): base * 2^(failures-1), capped. */
export function backoffDelayMs(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  const exponent = Math.min(failures - 1, 52);
  return Math.min(maxMs, baseMs * 2 ** exponent);
}

/**
 * client-go's rate-limited work queue, reduced to what our controllers need. A key added while it is
 * queued is queued once; a key added while its reconcile runs is run once more afterwards (never
 * concurrently with itself). A throw retries the key with exponential backoff; success resets it.
 */
export class WorkQueue {
  private readonly reconcile: ReconcileFn;
  private readonly concurrency: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly onError: WorkQueueOptions["onError"];
  private readonly maxBackoffAfter: WorkQueueOptions["maxBackoffAfter"];
  private readonly order: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { dueMs: number; timer: NodeJS.Timeout }>();
  private readonly idleWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(options: WorkQueueOptions) {
    this.reconcile = options.reconcile;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.baseBackoffMs = options.baseBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.onError = options.onError;
    this.maxBackoffAfter = options.maxBackoffAfter;
  }

  /** Queues `key` now (no-op if already queued, or after stop()). */
  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    // A key being processed is re-queued when its run ends, so it never runs twice at once.
    if (!this.processing.has(key)) this.order.push(key);
    this.pump();
  }

  /** Queues `key` after `delayMs`; if the key already waits, the earlier due time wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const dueMs = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing !== undefined && existing.dueMs <= dueMs) return;
    if (existing !== undefined) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.timers.set(key, { dueMs, timer });
  }

  /** Consecutive failures of `key` since its last success. */
  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Keys waiting to run (not counting delayed ones). */
  get length(): number {
    return this.order.length;
  }

  /** Keys whose reconcile is running now. */
  get inFlight(): number {
    return this.processing.size;
  }

  /** Whether a delayed add (requeueAfter or backoff) is pending for `key`. */
  hasDelayed(key: string): boolean {
    return this.timers.has(key);
  }

  /** Resolves when nothing is queued or running (delayed keys do not count). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking keys, drops queued and delayed ones, and resolves once running reconciles finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.order.length = 0;
    this.dirty.clear();
    await this.idle();
  }

  private isIdle(): boolean {
    return this.order.length === 0 && this.processing.size === 0;
  }

  private pump(): void {
    while (!this.stopped && this.processing.size < this.concurrency && this.order.length > 0) {
      const key = this.order.shift() as string;
      this.dirty.delete(key);
      this.processing.add(key);
      void this.run(key);
    }
    if (this.isIdle()) this.idleWaiters.splice(0).forEach((resolve) => resolve());
  }

  private async run(key: string): Promise<void> {
    let retryInMs: number | undefined;
    try {
      const result = await this.reconcile(key);
      this.failures.delete(key);
      retryInMs = result?.requeueAfterMs;
    } catch (error) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      retryInMs = backoffDelayMs(failures, this.baseBackoffMs, this.retryCapMs(key, error, failures));
      this.safeOnError(key, error, retryInMs);
    } finally {
      this.processing.delete(key);
    }
    // The latest run decides when the key comes back: drop an older delayed add first.
    this.cancelDelayed(key);
    if (this.dirty.has(key) && !this.stopped) this.order.push(key);
    if (retryInMs !== undefined && retryInMs >= 0 && Number.isFinite(retryInMs)) this.addAfter(key, retryInMs);
    this.pump();
  }

  private retryCapMs(key: string, error: unknown, failures: number): number {
    let cap: number | undefined;
    try {
      cap = this.maxBackoffAfter?.(key, error, failures);
    } catch {
      // A broken classifier falls back to the ordinary cap.
    }
    return cap === undefined ? this.maxBackoffMs : Math.min(cap, this.maxBackoffMs);
  }

  private cancelDelayed(key: string): void {
    const existing = this.timers.get(key);
    if (existing === undefined) return;
    clearTimeout(existing.timer);
    this.timers.delete(key);
  }

  private safeOnError(key: string, error: unknown, retryInMs: number): void {
    try {
      this.onError?.(key, error, retryInMs);
    } catch {
      // A broken logger must not stop the queue.
    }
  }
}
