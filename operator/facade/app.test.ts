// Plumbing tests of the facade app over real HTTP with stub routes: validation, error mapping, docs, metrics, roles, audit.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { AuditInput, AuditRecord, AuditWriter } from "../../src-shared/audit/types.js";
import { createFacadeApp } from "./app.js";
import { DEFAULT_FACADE_CONFIG } from "./config.js";
import { HttpError, NotFoundError } from "./errors.js";
import { defineRoute, type AuthContext, type RouteDef } from "./http.js";

const recorded: AuditInput[] = [];
const audit: AuditWriter = {
  record: async (input) => {
    recorded.push(input);
    return {
      ...input,
      id: "x",
      seq: 1,
      timestamp: "",
      before: null,
      after: null,
      prevHash: "",
      hash: "",
    } as AuditRecord;
  },
};

const users: Record<string, AuthContext> = {
  owner: { userId: "u1", email: "o@a.test", role: "owner", orgId: "org-a", namespace: "ns-a" },
  viewer: { userId: "u2", email: "v@a.test", role: "viewer", orgId: "org-a", namespace: "ns-a" },
  // /metrics on the API port answers only the platform admin.
  platform: { userId: "u0", email: "p@platform.test", role: "super_admin", orgId: "org-a", namespace: "ns-a" },
};

const Widget = z.object({ id: z.string(), size: z.number() });
const routes: RouteDef[] = [
  defineRoute({
    method: "post",
    path: "/widgets/:id",
    summary: "Resize a widget",
    tags: ["test"],
    auth: "user",
    params: z.object({ id: z.string().regex(/^[a-z]+$/) }).strict(),
    query: z.object({ dry: z.enum(["true", "false"]).optional() }).strict(),
    body: z.object({ size: z.number().int().min(1), password: z.string().optional() }).strict(),
    response: Widget,
    handler: async ({ params, body }) => {
      if (params.id === "missing") throw new NotFoundError("widget missing not found");
      return { id: params.id, size: body.size };
    },
  }),
  defineRoute({
    method: "get",
    path: "/widgets/:id",
    summary: "Read a widget",
    tags: ["test"],
    auth: "user",
    response: Widget,
    handler: async () => ({ id: "a", size: "not a number" }) as unknown as z.infer<typeof Widget>,
  }),
  defineRoute({
    method: "get",
    path: "/unbuilt",
    summary: "Needs a provider",
    tags: ["test"],
    auth: "public",
    response: z.object({}),
    handler: async () => {
      throw new HttpError(501, "no provider configured");
    },
  }),
  defineRoute({
    method: "get",
    path: "/boom",
    summary: "Throws",
    tags: ["test"],
    auth: "public",
    response: z.object({}),
    handler: async () => {
      throw new Error("secret internals at /etc/passwd");
    },
  }),
];

let server: Server;
let base = "";
/** The app's log lines, parsed. */
const logLines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  const app = createFacadeApp(
    {
      cache: { hasSynced: () => false },
      audit,
      config: { ...DEFAULT_FACADE_CONFIG, bodyLimitBytes: 1000 },
      now: () => new Date(),
      users: {
        authenticateUser: async (req) => {
          const who = String(req.headers.authorization ?? "").replace("Bearer ", "");
          const user = users[who];
          if (!user) throw new (await import("./errors.js")).UnauthorizedError("bad token");
          return user;
        },
      },
      logger: pino({ level: "info" }, { write: (line: string) => void logLines.push(JSON.parse(line)) }),
    },
    [routes],
  );
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const json = async (res: Response): Promise<any> => res.json();

const post = (path: string, body: string, who = "owner"): Promise<Response> =>
  fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${who}` },
    body,
  });

describe("facade plumbing", () => {
  it("passes parsed values to the handler and audits the mutation with secrets redacted", async () => {
    recorded.length = 0;
    const res = await post("/widgets/abc?dry=true", JSON.stringify({ size: 3, password: "hunter2" }));
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ id: "abc", size: 3 });
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      namespace: "ns-a",
      actor: "o@a.test",
      outcome: "success",
      after: { size: 3, password: "[REDACTED]" },
    });
  });

  it("answers 422 naming the field for invalid values and unknown fields", async () => {
    const res = await post("/widgets/abc", JSON.stringify({ size: 0 }));
    expect(res.status).toBe(422);
    expect((await json(res)).detail).toMatch(/body\.size/);
    const extra = await post("/widgets/abc", JSON.stringify({ size: 1, admin: true }));
    expect(extra.status).toBe(422);
    expect((await json(extra)).detail).toMatch(/admin/);
    const badQuery = await post("/widgets/abc?dry=maybe", JSON.stringify({ size: 1 }));
    expect(badQuery.status).toBe(422);
    expect((await json(badQuery)).detail).toMatch(/query\.dry/);
    const badPath = await post("/widgets/ABC", JSON.stringify({ size: 1 }));
    expect(badPath.status).toBe(422);
  });

  it("echoes at most a clipped, well-formed copy of what the client sent in a 422", async () => {
    const detailOf = async (body: string): Promise<string> => {
      const res = await post("/widgets/abc", body);
      expect(res.status).toBe(422);
      return (await json(res)).detail as string;
    };
    const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    const long = await detailOf(`{"size":1,"${"k".repeat(600)}":1}`);
    expect(long.length).toBeLessThan(400);
    expect(long).toMatch(/k{10,}…/);
    // JSON escapes, so that the server parses them (fetch itself would send U+FFFD for a lone surrogate): one alone,
    // and an emoji whose pair the clip at 200 characters cuts in half
    expect(await detailOf(`{"size":1,"\\ud800x":1}`)).not.toMatch(lone);
    expect(await detailOf(`{"size":1,"${"e".repeat(179)}\\ud83d\\ude00":1}`)).not.toMatch(lone);
  });

  it("answers 400 for malformed JSON and 413 for a too large body", async () => {
    const bad = await post("/widgets/abc", "{nope");
    expect(bad.status).toBe(400);
    expect(await json(bad)).toEqual({ detail: "malformed JSON body" });
    const big = await post("/widgets/abc", JSON.stringify({ size: 1, password: "x".repeat(5000) }));
    expect(big.status).toBe(413);
    expect((await json(big)).detail).toBeTypeOf("string");
  });

  it("maps typed errors, 401 without a token, 403 for a viewer mutation, and hides internals", async () => {
    expect((await post("/widgets/missing", JSON.stringify({ size: 1 }))).status).toBe(404);
    const anon = await fetch(base + "/widgets/abc", { method: "POST" });
    expect(anon.status).toBe(401);
    recorded.length = 0;
    const viewer = await post("/widgets/abc", JSON.stringify({ size: 1 }), "viewer");
    expect(viewer.status).toBe(403);
    expect(recorded.map((r) => r.outcome)).toEqual(["denied"]);
    const boom = await fetch(base + "/boom");
    expect(boom.status).toBe(500);
    const text = await boom.text();
    expect(text).toBe(JSON.stringify({ detail: "internal error" }));
    const unknown = await fetch(base + "/nope");
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({ detail: "not found" });
  });

  it("logs a 501 as a completed request at info, with no error object", async () => {
    logLines.length = 0;
    const res = await fetch(base + "/unbuilt");
    expect(res.status).toBe(501);
    await expect.poll(() => logLines.find((l) => l.req !== undefined)).toBeDefined();
    const line = logLines.find((l) => l.req !== undefined)!;
    expect(line).toMatchObject({ level: 30, msg: "request completed" });
    expect(line.err).toBeUndefined();
  });

  it("reads JSON media types, refuses other bodies with 415 and a __proto__ key with 422", async () => {
    const send = (type: string, body: string): Promise<Response> =>
      fetch(base + "/widgets/abc", {
        method: "POST",
        headers: { "content-type": type, authorization: "Bearer owner" },
        body,
      });
    const merge = await send("application/merge-patch+json", JSON.stringify({ size: 3 }));
    expect(await json(merge)).toEqual({ id: "abc", size: 3 });
    for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
      const res = await send(type, JSON.stringify({ size: 3 }));
      expect(res.status, type).toBe(415);
      expect((await json(res)).detail).toMatch(/application\/json/);
    }
    const proto = await send("application/json", '{"size": 2, "password": "x", "__proto__": {"size": 9}}');
    expect(proto.status).toBe(422);
    expect((await json(proto)).detail).toMatch(/__proto__/);
    const nested = await send("application/json", '[{"a": [{"__proto__": 1}]}]');
    expect(nested.status).toBe(422);
    // an empty POST is no body of another type
    const empty = await fetch(base + "/widgets/abc", {
      method: "POST",
      headers: { authorization: "Bearer owner", "content-length": "0" },
    });
    expect(empty.status).toBe(422);
  });

  it("rejects a response that breaks its schema", async () => {
    const res = await fetch(base + "/widgets/abc", { headers: { authorization: "Bearer viewer" } });
    expect(res.status).toBe(500);
  });

  it("serves system endpoints, OpenAPI 3.1, Swagger UI assets and metrics by route template", async () => {
    const root = await json(await fetch(base + "/"));
    expect(root).toMatchObject({ name: "spot-optimizer", docs: "/docs", health: "/health" });
    const health = await json(await fetch(base + "/health"));
    expect(health).toMatchObject({ status: "healthy", service: expect.any(String), version: expect.any(String) });
    expect(health.timestamp).toMatch(/Z$/);
    expect((await fetch(base + "/healthz")).status).toBe(200);
    expect((await fetch(base + "/readyz")).status).toBe(503);
    const doc = await json(await fetch(base + "/openapi.json"));
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/widgets/{id}");
    expect(doc.paths["/widgets/{id}"].post.requestBody).toBeDefined();
    const docs = await fetch(base + "/docs/");
    expect(docs.status).toBe(200);
    const html = await docs.text();
    expect(html).not.toMatch(/https?:\/\/(cdn|unpkg)/);
    expect((await fetch(base + "/docs/swagger-ui-bundle.js")).status).toBe(200);
    expect((await fetch(base + "/metrics", { headers: { authorization: "Bearer owner" } })).status).toBe(403);
    const metrics = await (await fetch(base + "/metrics", { headers: { authorization: "Bearer platform" } })).text();
    expect(metrics).toMatch(/spotopt_facade_http_request_duration_seconds_count\{[^}]*route="\/widgets\/:id"/);
    expect(metrics).not.toMatch(/route="\/widgets\/abc"/);
  });
});
