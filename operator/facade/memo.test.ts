// Memoised GET responses over real HTTP: reused only while the cache version, the caller's organisation, the URL and
// the age limit all allow it; ETag revalidation still answers 304.
import http, { type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createFacadeApp } from "./app.js";
import { DEFAULT_FACADE_CONFIG } from "./config.js";
import { defineRoute, mountRoutes, type AuthContext, type RouteDef } from "./http.js";

const users: Record<string, AuthContext> = {
  a: { userId: "u1", email: "o@a.test", role: "owner", orgId: "org-a", namespace: "ns-a" },
  b: { userId: "u2", email: "o@b.test", role: "owner", orgId: "org-b", namespace: "ns-b" },
  // /metrics on the API port answers only the platform admin.
  platform: { userId: "u0", email: "p@platform.test", role: "super_admin", orgId: "org-a", namespace: "ns-a" },
};

let computed = 0;
let cacheVersion = 1;
let nowMs = Date.UTC(2026, 0, 1);

const routes: RouteDef[] = [
  defineRoute({
    method: "get",
    path: "/figures",
    summary: "A figure computed from the cache",
    tags: ["test"],
    auth: "user",
    memo: true,
    query: z.object({ scope: z.string().optional() }).strict(),
    response: z.object({ namespace: z.string(), scope: z.string().nullable(), computation: z.number() }),
    handler: async ({ auth, query }) => ({
      namespace: auth!.namespace,
      scope: query.scope ?? null,
      computation: ++computed,
    }),
  }),
];

let server: Server;
let base = "";

beforeAll(async () => {
  const app = createFacadeApp(
    {
      cache: { hasSynced: () => true, version: () => cacheVersion },
      audit: { record: async () => Promise.reject(new Error("no audit for GETs")) },
      config: { ...DEFAULT_FACADE_CONFIG, responseMemoMs: 1000 },
      now: () => new Date(nowMs),
      users: {
        authenticateUser: async (req) => {
          const user = users[String(req.headers.authorization ?? "").replace("Bearer ", "")];
          if (!user) throw Object.assign(new Error("no"), { status: 401 });
          return user;
        },
      },
      logger: pino({ level: "silent" }),
    },
    [routes],
  );
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function get(
  path: string,
  who: string,
): Promise<{
  status: number;
  etag: string | null;
  body: { namespace: string; scope: string | null; computation: number } | null;
}> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${who}` } });
  const text = await res.text();
  return { status: res.status, etag: res.headers.get("etag"), body: text ? (JSON.parse(text) as never) : null };
}

describe("memoised GET responses", () => {
  it("reuses the body while the cache is unchanged, and recomputes after any cache change", async () => {
    const first = await get("/figures", "a");
    const second = await get("/figures", "a");
    expect(first.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.etag).toBe(first.etag);
    cacheVersion++;
    const third = await get("/figures", "a");
    expect(third.body!.computation).toBeGreaterThan(first.body!.computation);
    expect(third.etag).not.toBe(first.etag);
  });

  it("recomputes once the entry is older than the age limit, even with an unchanged cache", async () => {
    const first = await get("/figures", "a");
    nowMs += 999;
    expect((await get("/figures", "a")).body).toEqual(first.body);
    nowMs += 1;
    expect((await get("/figures", "a")).body!.computation).toBeGreaterThan(first.body!.computation);
  });

  it("keeps one entry per organisation and per URL: nobody is served another caller's answer", async () => {
    const a = await get("/figures", "a");
    const b = await get("/figures", "b");
    expect(a.body!.namespace).toBe("ns-a");
    expect(b.body!.namespace).toBe("ns-b");
    const scoped = await get("/figures?scope=x", "a");
    expect(scoped.body).toMatchObject({ namespace: "ns-a", scope: "x" });
    expect((await get("/figures", "a")).body).toEqual(a.body);
  });

  it("still validates the query and authenticates before serving a remembered body", async () => {
    await get("/figures", "a");
    expect((await get("/figures?unknown=1", "a")).status).toBe(422);
    expect((await get("/figures", "nobody")).status).toBe(401);
  });

  it("answers 304 to If-None-Match with the remembered ETag", async () => {
    const first = await get("/figures", "a");
    // node:http, not fetch: fetch turns a request with If-None-Match into an uncached one (Cache-Control), as browsers do.
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get(`${base}/figures`, { headers: { authorization: "Bearer a", "if-none-match": first.etag! } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on("error", reject);
    });
    expect(status).toBe(304);
  });

  it("counts hits and misses per route template in /metrics", async () => {
    cacheVersion++;
    await get("/figures", "a");
    await get("/figures", "a");
    const exposition = await (await fetch(`${base}/metrics`, { headers: { authorization: "Bearer platform" } })).text();
    const count = (result: string): number =>
      Number(
        new RegExp(`spotopt_facade_response_memo_lookups_total\\{route="/figures",result="${result}"\\} (\\d+)`).exec(
          exposition,
        )?.[1] ?? -1,
      );
    expect(count("hit")).toBeGreaterThanOrEqual(1);
    expect(count("miss")).toBeGreaterThanOrEqual(1);
  });

  it("refuses to memoise a mutating route", () => {
    const post = { ...routes[0]!, method: "post" } as RouteDef;
    expect(() => mountRoutes(express.Router(), [post], {} as never)).toThrow(/only GET routes may be memoised/);
  });
});
