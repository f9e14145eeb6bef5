// Rate limits shared by two facade replicas through real HTTP against the local API server: counters, windows, sweep, API failures.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningFacade } from "../../operator/facade/start.js";
import {
  RATE_LIMIT_BUCKET_LABEL,
  RATE_LIMIT_COUNT_ANNOTATION,
  RATE_LIMIT_WINDOW_END_ANNOTATION,
  RATE_LIMIT_WINDOW_START_ANNOTATION,
  rateLimitObjectName,
  type LeaseObject,
} from "../../operator/facade/rate-limit-cluster.js";
import { SIGNING_KEY_SECRET } from "../../operator/facade/auth/store.js";
import { eventually } from "../support/cluster.js";
import { call, startTestFacade, type CallResult, type TestFacade } from "../support/facade.js";

const SYSTEM_NS = "spot-optimizer-system";
const LIMITS = { signupPerHour: 5, tokenPerMinute: 10, logoutPerMinute: 100 };
const TOKEN_LIMIT = { name: "token", windowMs: 60_000, limit: LIMITS.tokenPerMinute };
const LEASE = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: SYSTEM_NS } as const;

let t: TestFacade;
let a: RunningFacade;
let b: RunningFacade;
let hashKey: Buffer;
/** Both replicas read this clock: advancing it ends windows without waiting. */
let offsetMs = 0;
const clock = (): Date => new Date(Date.now() + offsetMs);

beforeAll(async () => {
  // trustProxy: the client IP comes from X-Forwarded-For, so each test acts as its own clients.
  t = await startTestFacade({ now: clock, config: { trustProxy: true, rateLimits: LIMITS, rateLimitSweepSeconds: 1 } });
  a = t.facades[0]!;
  b = await t.startReplica();
  const secret = await t.client.get<{ data: { key: string } }>({
    apiVersion: "v1",
    kind: "Secret",
    namespace: SYSTEM_NS,
    name: SIGNING_KEY_SECRET,
  });
  hashKey = Buffer.from(secret.data.key, "base64");
});

afterAll(async () => {
  t?.server.faults.reset();
  await t?.stop();
});

function token(ip: string, facade: RunningFacade): Promise<CallResult> {
  return call(facade.url, "POST", "/api/auth/token", {
    body: { email: "nobody@example.com", password: "whatever1" },
    headers: { "x-forwarded-for": ip },
  });
}

async function counter(ip: string): Promise<LeaseObject | undefined> {
  return t.client.getIfExists<LeaseObject>({ ...LEASE, name: rateLimitObjectName(hashKey, ip, TOKEN_LIMIT) });
}

async function leases(): Promise<LeaseObject[]> {
  return (await t.client.list<LeaseObject>(LEASE, { labelSelector: RATE_LIMIT_BUCKET_LABEL })).items;
}

function expectLimited(res: CallResult): void {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(res.body.detail).toMatch(/rate limit of 10 per 60s exceeded for token/);
}

describe("rate limits across two replicas", () => {
  it("counts 10 token requests spread over both replicas; the 11th from that IP is refused on either; another IP passes", async () => {
    const ip = "203.0.113.10";
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await token(ip, i % 2 === 0 ? a : b)).status);
    expect(statuses).toEqual(Array(10).fill(401));
    expectLimited(await token(ip, a));
    expectLimited(await token(ip, b));
    expect((await token("203.0.113.11", b)).status).toBe(401);
    expect((await token("203.0.113.11", a)).status).toBe(401);
    // The cluster holds the count: every allowed request once (none lost to a race), refused ones not written.
    const lease = await counter(ip);
    expect(lease?.metadata?.annotations?.[RATE_LIMIT_COUNT_ANNOTATION]).toBe("10");
    expect((await counter("203.0.113.11"))?.metadata?.annotations?.[RATE_LIMIT_COUNT_ANNOTATION]).toBe("2");
    // Names are DNS-1123 and nothing stored reveals the address.
    const all = await leases();
    for (const l of all) expect(l.metadata?.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(JSON.stringify(all)).not.toContain("203.0.113.1");
  });

  it("holds under concurrent requests on both replicas", async () => {
    const ip = "203.0.113.20";
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => token(ip, i % 2 === 0 ? a : b)));
    expect(first.map((r) => r.status)).toEqual(Array(10).fill(401));
    expectLimited(await token(ip, b));
    expect((await counter(ip))?.metadata?.annotations?.[RATE_LIMIT_COUNT_ANNOTATION]).toBe("10");
  });

  it("allows 5 signups an hour per IP across both replicas", async () => {
    const ip = "198.51.100.5";
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await call(i % 2 === 0 ? a.url : b.url, "POST", "/api/auth/signup", {
        body: { org_name: "x", email: "bad", password: "x" },
        headers: { "x-forwarded-for": ip },
      });
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(3000);
    }
    expect(statuses).toEqual([422, 422, 422, 422, 422, 429]);
  });

  it("lets requests pass again once the window has ended, and the sweep deletes only ended counters", async () => {
    const limitedIp = "203.0.113.10";
    const idleIp = "203.0.113.11";
    expect((await token(limitedIp, a)).status).toBe(429);
    offsetMs += 61_000;
    expect((await token(limitedIp, a)).status).toBe(401);
    expect((await token(limitedIp, b)).status).toBe(401);
    const freshIp = "203.0.113.30";
    expect((await token(freshIp, b)).status).toBe(401);
    // A counter left behind (e.g. by a replica that died), ended an hour ago, created after the live ones above.
    const leftoverName = "ratelimit-token-leftover";
    const endedMs = clock().getTime() - 3_600_000;
    await t.client.create<LeaseObject>({
      ...LEASE,
      metadata: {
        name: leftoverName,
        namespace: SYSTEM_NS,
        labels: { [RATE_LIMIT_BUCKET_LABEL]: "token" },
        annotations: {
          [RATE_LIMIT_COUNT_ANNOTATION]: "3",
          [RATE_LIMIT_WINDOW_START_ANNOTATION]: String(endedMs - 60_000),
          [RATE_LIMIT_WINDOW_END_ANNOTATION]: String(endedMs),
        },
      },
      spec: { holderIdentity: "spot-optimizer-facade/rate-limit", leaseDurationSeconds: 60 },
    });
    await eventually(
      async () => !(await t.client.getIfExists({ ...LEASE, name: leftoverName })),
      10_000,
      "the leftover counter to be swept",
    );
    await eventually(async () => !(await counter(idleIp)), 10_000, "the idle IP's ended counter to be swept");
    // The sweep that removed the leftover listed the live counters too and kept them.
    expect((await counter(limitedIp))?.metadata?.annotations?.[RATE_LIMIT_COUNT_ANNOTATION]).toBe("2");
    expect((await counter(freshIp))?.metadata?.annotations?.[RATE_LIMIT_COUNT_ANNOTATION]).toBe("1");
    const nowMs = clock().getTime();
    for (const l of await leases())
      expect(Number(l.metadata?.annotations?.[RATE_LIMIT_WINDOW_END_ANNOTATION])).toBeGreaterThan(nowMs);
  });

  it("still limits, in memory per replica, when the API server refuses every write; never a 5xx", async () => {
    const ip = "192.0.2.40";
    t.server.faults.setConflictRate(1);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await token(ip, a)).status);
      expect(statuses).toEqual(Array(10).fill(401));
      expectLimited(await token(ip, a));
      expect((await token("192.0.2.41", a)).status).toBe(401);
      // Nothing could be written for these clients.
      expect(await counter(ip)).toBeUndefined();
    } finally {
      t.server.faults.reset();
    }
  });
});
