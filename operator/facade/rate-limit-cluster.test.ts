// The cluster rate limiter when the API server is unreachable, hangs or errors: it keeps limiting in memory and backs off.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { KubeClient } from "../../src-shared/kube/client.js";
import { RateLimitError } from "./errors.js";
import { createClusterRateLimiter, rateLimitObjectName } from "./rate-limit-cluster.js";
import { MemoryRateCounter } from "./rate-limit.js";

const LIMIT = { name: "token", windowMs: 60_000, limit: 3 };
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  // Last opened, first closed: sockets before the servers that wait for them.
  for (const close of closers.splice(0).reverse()) await close();
});

function clientFor(url: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: url, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  const client = new KubeClient(kc);
  closers.push(() => Promise.resolve(client.close()));
  return client;
}

async function listening(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        if (server instanceof http.Server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** Outcome of each of `n` checks: "ok", a 429 with its Retry-After, or the unexpected error's message. */
async function outcomes(
  check: (ip: string, limit: typeof LIMIT) => void | Promise<void>,
  ip: string,
  n: number,
): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await check(ip, LIMIT);
      out.push("ok");
    } catch (err) {
      out.push(err instanceof RateLimitError ? `429 ${err.retryAfterSeconds}` : `error ${String(err)}`);
    }
  }
  return out;
}

describe("cluster rate limiter failure policy", () => {
  it("limits in memory when the API server is unreachable", async () => {
    const probe = net.createServer();
    const port = await listening(probe);
    await closers.pop()!(); // nothing listens on that port any more
    const nowMs = Date.parse("2026-01-01T00:00:00Z");
    const limiter = createClusterRateLimiter({
      client: clientFor(`http://127.0.0.1:${port}`),
      namespace: "sys",
      hashKey: Buffer.from("k"),
      now: () => new Date(nowMs),
    });
    expect(await outcomes(limiter.check, "10.0.0.1", 5)).toEqual(["ok", "ok", "ok", "429 60", "429 60"]);
    expect(await outcomes(limiter.check, "10.0.0.2", 1)).toEqual(["ok"]);
  });

  it("stops waiting for an API server that does not answer", async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    const port = await listening(silent);
    closers.push(() => Promise.resolve(sockets.forEach((s) => s.destroy())));
    const limiter = createClusterRateLimiter({
      client: clientFor(`http://127.0.0.1:${port}`),
      namespace: "sys",
      hashKey: Buffer.from("k"),
      now: () => new Date(),
      apiDeadlineMs: 50,
    });
    expect(await outcomes(limiter.check, "10.0.0.1", 4)).toEqual([
      "ok",
      "ok",
      "ok",
      expect.stringMatching(/^429 (59|60)$/),
    ]);
  });

  it("after an API error asks the API server again only once the back-off has passed", async () => {
    let received = 0;
    const failing = http.createServer((_req, res) => {
      received += 1;
      res
        .writeHead(500, { "content-type": "application/json" })
        .end(JSON.stringify({ kind: "Status", reason: "InternalError", message: "boom" }));
    });
    const port = await listening(failing);
    let monotonicMs = 0;
    const limiter = createClusterRateLimiter({
      client: clientFor(`http://127.0.0.1:${port}`),
      namespace: "sys",
      hashKey: Buffer.from("k"),
      now: () => new Date(),
      retryClusterAfterMs: 10_000,
      monotonicMs: () => monotonicMs,
    });
    expect(await outcomes(limiter.check, "10.0.0.1", 1)).toEqual(["ok"]);
    const afterFirst = received;
    expect(afterFirst).toBeGreaterThan(0);
    monotonicMs = 9_999;
    expect(await outcomes(limiter.check, "10.0.0.1", 3)).toEqual(["ok", "ok", expect.stringMatching(/^429 /)]);
    expect(received).toBe(afterFirst);
    monotonicMs = 10_001;
    expect(await outcomes(limiter.check, "10.0.0.1", 1)).toEqual([expect.stringMatching(/^429 /)]);
    expect(received).toBeGreaterThan(afterFirst);
  });
});

describe("counter names and the in-memory counter", () => {
  it("names counters with valid DNS-1123 names that depend on the key, bucket, limit and client but never show the address", () => {
    const name = rateLimitObjectName(Buffer.from("key-1"), "2001:db8::1", LIMIT);
    expect(name).toMatch(/^ratelimit-token-[0-9a-f]{40}$/);
    expect(rateLimitObjectName(Buffer.from("key-2"), "2001:db8::1", LIMIT)).not.toBe(name);
    expect(rateLimitObjectName(Buffer.from("key-1"), "2001:db8::2", LIMIT)).not.toBe(name);
    expect(rateLimitObjectName(Buffer.from("key-1"), "2001:db8::1", { ...LIMIT, limit: 4 })).not.toBe(name);
    expect(rateLimitObjectName(Buffer.from("key-1"), "x", { ...LIMIT, name: "Weird Bucket_Name!" })).toMatch(
      /^ratelimit-weird-bucket-name-[0-9a-f]{40}$/,
    );
  });

  it("starts a window at the first request and a new one once it has ended", () => {
    const counter = new MemoryRateCounter();
    expect(counter.hit("ip", LIMIT, 1_000)).toEqual({ count: 1, windowEndMs: 61_000 });
    expect(counter.hit("ip", LIMIT, 60_999)).toEqual({ count: 2, windowEndMs: 61_000 });
    expect(counter.hit("other", LIMIT, 60_999)).toEqual({ count: 1, windowEndMs: 120_999 });
    expect(counter.hit("ip", LIMIT, 61_000)).toEqual({ count: 1, windowEndMs: 121_000 });
  });
});
