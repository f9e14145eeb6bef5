// Unit tests of the keyed work queue: dedupe, per-key serialisation, backoff, concurrency, requeueAfter, stop.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { backoffDelayMs, WorkQueue, type ReconcileResult } from "./workqueue.js";

/** A reconcile whose calls the test resolves or rejects by hand. */
function manualReconciler() {
  const calls: Array<{ key: string; resolve: (r?: ReconcileResult) => void; reject: (e: unknown) => void }> = [];
  const reconcile = (key: string): Promise<ReconcileResult | void> =>
    new Promise((resolve, reject) => calls.push({ key, resolve: (r) => resolve(r), reject }));
  return { calls, reconcile };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("backoffDelayMs", () => {
  it("doubles from the base and stops at the cap", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, 100, 60_000))).toEqual([100, 200, 400, 800, 1600]);
    expect(backoffDelayMs(20, 100, 60_000)).toBe(60_000);
    expect(backoffDelayMs(5000, 100, 60_000)).toBe(60_000);
    expect(backoffDelayMs(0, 100, 60_000)).toBe(0);
  });
});

describe("WorkQueue", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("queues a key added several times while waiting only once", async () => {
    const { calls, reconcile } = manualReconciler();
    const blocked = new WorkQueue({ concurrency: 1, reconcile });
    blocked.add("ns/blocker");
    blocked.add("ns/a");
    blocked.add("ns/a");
    blocked.add("ns/a");
    expect(blocked.length).toBe(1);
    calls[0]!.resolve();
    await flush();
    expect(calls.map((c) => c.key)).toEqual(["ns/blocker", "ns/a"]);
    calls[1]!.resolve();
    await blocked.idle();
    expect(calls).toHaveLength(2);
  });

  it("never runs a key twice at once, and re-runs it once when added during its run", async () => {
    const { calls, reconcile } = manualReconciler();
    const queue = new WorkQueue({ concurrency: 4, reconcile });
    queue.add("ns/a");
    await flush();
    expect(calls).toHaveLength(1);
    queue.add("ns/a");
    queue.add("ns/a");
    await flush();
    expect(calls).toHaveLength(1);
    expect(queue.inFlight).toBe(1);
    calls[0]!.resolve();
    await flush();
    expect(calls).toHaveLength(2);
    calls[1]!.resolve();
    await queue.idle();
    expect(calls.map((c) => c.key)).toEqual(["ns/a", "ns/a"]);
  });

  it("runs at most `concurrency` reconciles at a time", async () => {
    const { calls, reconcile } = manualReconciler();
    const queue = new WorkQueue({ concurrency: 2, reconcile });
    for (const key of ["a", "b", "c", "d", "e"]) queue.add(key);
    await flush();
    expect(calls.map((c) => c.key)).toEqual(["a", "b"]);
    expect(queue.inFlight).toBe(2);
    calls[1]!.resolve();
    await flush();
    expect(calls.map((c) => c.key)).toEqual(["a", "b", "c"]);
    expect(queue.inFlight).toBe(2);
    calls[0]!.resolve();
    calls[2]!.resolve();
    await flush();
    expect(calls).toHaveLength(5);
    calls[3]!.resolve();
    calls[4]!.resolve();
    await queue.idle();
  });

  it("retries a throwing key with doubling delays and resets after a success", async () => {
    let attempts = 0;
    const failUntil = 4;
    const retries: number[] = [];
    const queue = new WorkQueue({
      baseBackoffMs: 100,
      maxBackoffMs: 60_000,
      onError: (_k, _e, retryInMs) => retries.push(retryInMs),
      reconcile: async () => {
        attempts++;
        if (attempts < failUntil) throw new Error("conflict");
      },
    });
    queue.add("k");
    await flush();
    expect(attempts).toBe(1);
    expect(queue.failureCount("k")).toBe(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toBe(2);
    await vi.advanceTimersByTimeAsync(199);
    expect(attempts).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toBe(3);
    await vi.advanceTimersByTimeAsync(400);
    expect(attempts).toBe(4);
    expect(retries).toEqual([100, 200, 400]);
    expect(queue.failureCount("k")).toBe(0);
    expect(queue.hasDelayed("k")).toBe(false);

    // After the success the next failure starts again at the base delay.
    attempts = 0;
    queue.add("k");
    await flush();
    expect(retries.at(-1)).toBe(100);
    await queue.stop();
  });

  it("caps the backoff", async () => {
    const retries: number[] = [];
    const queue = new WorkQueue({
      baseBackoffMs: 100,
      maxBackoffMs: 500,
      onError: (_k, _e, retryInMs) => retries.push(retryInMs),
      reconcile: async () => {
        throw new Error("always");
      },
    });
    queue.add("k");
    await vi.advanceTimersByTimeAsync(100 + 200 + 400 + 500 + 500);
    expect(retries).toEqual([100, 200, 400, 500, 500, 500]);
    await queue.stop();
  });

  it("holds the retry delay after an error to the bound maxBackoffAfter gives it, and not after other errors", async () => {
    const retries: Array<[string, number]> = [];
    const queue = new WorkQueue({
      baseBackoffMs: 100,
      maxBackoffMs: 60_000,
      maxBackoffAfter: (key, error) => (key === "raced" && (error as Error).message === "lost" ? 300 : undefined),
      onError: (key, _e, retryInMs) => retries.push([key, retryInMs]),
      reconcile: async (key) => {
        throw new Error(key === "raced" ? "lost" : "down");
      },
    });
    queue.add("raced");
    queue.add("down");
    await vi.advanceTimersByTimeAsync(100 + 200 + 400 + 800);
    expect(retries.filter(([k]) => k === "raced").map(([, ms]) => ms)).toEqual([100, 200, 300, 300, 300, 300, 300]);
    expect(retries.filter(([k]) => k === "down").map(([, ms]) => ms)).toEqual([100, 200, 400, 800, 1600]);
    await queue.stop();
  });

  it("gives maxBackoffAfter the failures in a row, so a bound can hold for the first few only", async () => {
    const retries: number[] = [];
    const queue = new WorkQueue({
      baseBackoffMs: 100,
      maxBackoffAfter: (_key, _error, failures) => (failures <= 3 ? 150 : undefined),
      onError: (_k, _e, retryInMs) => retries.push(retryInMs),
      reconcile: async () => {
        throw new Error("lost");
      },
    });
    queue.add("k");
    await vi.advanceTimersByTimeAsync(100 + 150 + 150 + 800 + 1600);
    expect(retries).toEqual([100, 150, 150, 800, 1600, 3200]);
    await queue.stop();
  });

  it("keeps failures per key: one failing key does not delay another", async () => {
    const runs: string[] = [];
    const queue = new WorkQueue({
      reconcile: async (key) => {
        runs.push(key);
        if (key === "bad") throw new Error("boom");
      },
    });
    queue.add("bad");
    queue.add("good");
    await flush();
    expect(runs).toEqual(["bad", "good"]);
    expect(queue.failureCount("bad")).toBe(1);
    expect(queue.failureCount("good")).toBe(0);
    await queue.stop();
  });

  it("runs a key again after requeueAfterMs", async () => {
    let runs = 0;
    const queue = new WorkQueue({
      reconcile: async () => {
        runs++;
        return runs === 1 ? { requeueAfterMs: 5_000 } : {};
      },
    });
    queue.add("k");
    await flush();
    expect(runs).toBe(1);
    expect(queue.hasDelayed("k")).toBe(true);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
    expect(queue.hasDelayed("k")).toBe(false);
    await queue.stop();
  });

  it("lets the latest run decide the requeue: an event in between does not leave a stale timer", async () => {
    let runs = 0;
    const queue = new WorkQueue({
      reconcile: async () => {
        runs++;
        return runs === 1 ? { requeueAfterMs: 10_000 } : { requeueAfterMs: 60_000 };
      },
    });
    queue.add("k");
    await flush();
    queue.add("k");
    await flush();
    expect(runs).toBe(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toBe(2);
    await vi.advanceTimersByTimeAsync(50_000);
    expect(runs).toBe(3);
    await queue.stop();
  });

  it("keeps the earlier due time when a key is delayed twice", async () => {
    const runs: number[] = [];
    const queue = new WorkQueue({ reconcile: async () => void runs.push(Date.now()) });
    const start = Date.now();
    queue.addAfter("k", 1_000);
    queue.addAfter("k", 5_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs).toEqual([start + 1_000]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toHaveLength(1);
    await queue.stop();
  });

  it("stop() waits for running reconciles, drops queued and delayed keys, and ignores later adds", async () => {
    const { calls, reconcile } = manualReconciler();
    const queue = new WorkQueue({ concurrency: 1, reconcile });
    queue.add("a");
    queue.add("b");
    queue.addAfter("c", 1_000);
    await flush();
    let stopped = false;
    const stopping = queue.stop().then(() => {
      stopped = true;
    });
    await flush();
    expect(stopped).toBe(false);
    calls[0]!.resolve();
    await stopping;
    expect(stopped).toBe(true);
    queue.add("d");
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls.map((c) => c.key)).toEqual(["a"]);
  });
});
