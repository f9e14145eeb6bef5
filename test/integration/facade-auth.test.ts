// Auth endpoints through real HTTP against the local API server: the dashboard's bodies, rotation/reuse, replicas, restart, JWT attacks.
import { SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/cluster.js";
import { ADMIN, call, startTestFacade, type TestFacade } from "../support/facade.js";

let t: TestFacade;

beforeAll(async () => {
  t = await startTestFacade();
});

afterAll(async () => {
  await t?.stop();
});

function decodePayload(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
}

describe("POST /api/auth/signup", () => {
  it("creates an organisation namespace and its owner, returning the fields the dashboard reads", async () => {
    const asked = await t.call("POST", "/api/auth/signup", {
      body: { org_name: "Acme Corp", email: "Admin@Acme.com", password: "SecurePass123!" },
    });
    expect(asked.status).toBe(202);
    const res = await t.call("POST", "/api/auth/verify-email", {
      body: { token: t.mailedCode("admin@acme.com"), password: "SecurePass123!" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      user_id: expect.any(String),
      token: expect.any(String),
      org_id: expect.any(String),
    });
    expect(res.body.access_token).toBe(res.body.token);
    expect(res.body.expires_in).toBe(86_400);
    const ns = await t.client.get<{
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    }>({
      apiVersion: "v1",
      kind: "Namespace",
      name: res.body.namespace,
    });
    expect(ns.metadata.labels["spotoptimizer.io/organisation"]).toBe("true");
    expect(ns.metadata.labels["spotoptimizer.io/org-id"]).toBe(res.body.org_id);
    expect(ns.metadata.annotations["spotoptimizer.io/org-name"]).toBe("Acme Corp");
    // The password is stored only as an argon2id hash.
    const secrets = await t.client.list<{ data?: Record<string, string> }>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: "spot-optimizer-system",
    });
    const dump = JSON.stringify(
      secrets.items.map((s) => Object.values(s.data ?? {}).map((v) => Buffer.from(v, "base64").toString())),
    );
    expect(dump).not.toContain("SecurePass123!");
    expect(dump).toContain("$argon2id$");
    // A second signup for the address answers like the first; its owner is told by mail, and nothing is created.
    const again = await t.call("POST", "/api/auth/signup", {
      body: { org_name: "Acme 2", email: "admin@acme.com", password: "SecurePass123!" },
    });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(asked.body);
    expect(t.mails("admin@acme.com").at(-1)!.subject).toBe("You already have a Spot Optimizer account");
  });

  it("rejects bad bodies with 422 naming the field", async () => {
    const res = await t.call("POST", "/api/auth/signup", {
      body: { org_name: "X", email: "not-an-email", password: "SecurePass123!" },
    });
    expect(res.status).toBe(422);
    expect(res.body.detail).toMatch(/email/);
    const short = await t.call("POST", "/api/auth/signup", {
      body: { org_name: "X", email: "x@y.com", password: "short" },
    });
    expect(short.status).toBe(422);
    expect(short.body.detail).toMatch(/password/);
  });
});

describe("token, login, me, logout", () => {
  it("POST /api/auth/token answers the fields the dashboard reads; login is an alias; /me identifies the caller", async () => {
    const user = await t.signup("Token Org");
    const res = await t.call("POST", "/api/auth/token", { body: { email: user.email, password: user.password } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      access_token: expect.any(String),
      token_type: "Bearer",
      expires_in: 86_400,
      role: "client",
      org_role: "owner",
    });
    const claims = decodePayload(res.body.access_token);
    expect((claims.exp as number) - (claims.iat as number)).toBe(86_400);
    const login = await t.call("POST", "/api/auth/login", { body: { username: user.email, password: user.password } });
    expect(login.status).toBe(200);
    const me = await t.call("GET", "/api/auth/me", { token: res.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      user_id: user.userId,
      email: user.email,
      role: "client",
      org_id: user.orgId,
      redirect_path: "/dashboard",
      account_status: "active",
    });
    const wrong = await t.call("POST", "/api/auth/token", { body: { email: user.email, password: "wrong-password" } });
    expect(wrong.status).toBe(401);
    const unknown = await t.call("POST", "/api/auth/token", {
      body: { email: "nobody@example.com", password: "wrong-password" },
    });
    expect(unknown.status).toBe(401);
    expect(unknown.body.detail).toBe(wrong.body.detail);
  });

  it("logout revokes the session: the access and refresh tokens stop working", async () => {
    const user = await t.signup();
    const out = await t.call("POST", "/api/auth/logout", { token: user.accessToken });
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ success: true, message: "Logged out successfully" });
    expect((await t.call("GET", "/api/auth/me", { token: user.accessToken })).status).toBe(401);
    expect((await t.call("POST", "/api/auth/refresh", { body: { refresh_token: user.refreshToken } })).status).toBe(
      401,
    );
    expect((await t.call("POST", "/api/auth/logout")).status).toBe(401);
  });

  it("change-password needs the current password, then only the new one logs in and other sessions end", async () => {
    const user = await t.signup();
    const other = await t.call("POST", "/api/auth/token", { body: { email: user.email, password: user.password } });
    const bad = await t.call("POST", "/api/auth/change-password", {
      token: user.accessToken,
      body: { current_password: "nope-nope", new_password: "NewSecret456!" },
    });
    expect(bad.status).toBe(422);
    const ok = await t.call("POST", "/api/auth/change-password", {
      token: user.accessToken,
      body: { current_password: user.password, new_password: "NewSecret456!" },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ success: true, sessions_revoked: 1 });
    expect(
      (await t.call("POST", "/api/auth/token", { body: { email: user.email, password: user.password } })).status,
    ).toBe(401);
    expect(
      (await t.call("POST", "/api/auth/token", { body: { email: user.email, password: "NewSecret456!" } })).status,
    ).toBe(200);
    expect((await t.call("GET", "/api/auth/me", { token: other.body.access_token })).status).toBe(401);
    expect((await t.call("GET", "/api/auth/me", { token: user.accessToken })).status).toBe(200);
  });
});

describe("the OAuth2 password form", () => {
  it("logs in on both login routes with username and password form fields; no other route reads a form", async () => {
    for (const path of ["/api/auth/token", "/api/auth/login"]) {
      const res = await fetch(t.url + path, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ username: ADMIN.email, password: ADMIN.password }).toString(),
      });
      expect(res.status, path).toBe(200);
      expect(((await res.json()) as { access_token?: string }).access_token, path).toBeTypeOf("string");
    }
    const elsewhere = await fetch(t.url + "/api/auth/signup", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        org_name: "Form Org",
        email: "form@example.com",
        password: "whatever-long-1",
      }).toString(),
    });
    expect(elsewhere.status).toBe(415);
  });

  it("takes the password grant's grant_type, scope and client fields, and refuses any other grant type", async () => {
    const form = (fields: Record<string, string>): Promise<Response> =>
      fetch(t.url + "/api/auth/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ username: ADMIN.email, password: ADMIN.password, ...fields }).toString(),
      });
    expect((await form({ grant_type: "password", scope: "", client_id: "dashboard", client_secret: "" })).status).toBe(
      200,
    );
    const other = await form({ grant_type: "client_credentials" });
    expect(other.status).toBe(422);
    expect(((await other.json()) as { detail: string }).detail).toMatch(/grant_type/);
  });
});

describe("refresh rotation", () => {
  it("issues a new pair, rejects the used token, and a reuse revokes the whole family", async () => {
    const user = await t.signup();
    const first = await t.call("POST", "/api/auth/refresh", { body: { refresh_token: user.refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      expires_in: 86_400,
    });
    expect(first.body.refresh_token).not.toBe(user.refreshToken);
    // Reuse of the rotated-away token: rejected, and the family (including the new pair) is revoked.
    const reuse = await t.call("POST", "/api/auth/refresh", { body: { refresh_token: user.refreshToken } });
    expect(reuse.status).toBe(401);
    expect(reuse.body.detail).toMatch(/already used/);
    expect(
      (await t.call("POST", "/api/auth/refresh", { body: { refresh_token: first.body.refresh_token } })).status,
    ).toBe(401);
    // and it says why: the session ended on a reused refresh token, which is no logout
    await eventually(async () => {
      const me = await t.call("GET", "/api/auth/me", { token: first.body.access_token });
      return me.status === 401 && /session has ended: refresh token reuse detected/.test(me.body.detail);
    }, 10_000);
    // Other sessions of the same user are untouched.
    const fresh = await t.call("POST", "/api/auth/token", { body: { email: user.email, password: user.password } });
    expect((await t.call("GET", "/api/auth/me", { token: fresh.body.access_token })).status).toBe(200);
  });

  it("an access token is not a refresh token", async () => {
    const user = await t.signup();
    expect((await t.call("POST", "/api/auth/refresh", { body: { refresh_token: user.accessToken } })).status).toBe(401);
  });
});

describe("JWT attacks", () => {
  it("rejects tampered, alg none, foreign-key, wrong-audience and expired tokens", async () => {
    const user = await t.signup();
    const [h, p, s] = user.accessToken.split(".");
    const payload = decodePayload(user.accessToken);
    const tampered = [
      h,
      Buffer.from(JSON.stringify({ ...payload, role: "super_admin" })).toString("base64url"),
      s,
    ].join(".");
    const none = new UnsecuredJWT(payload).encode();
    const foreign = await new SignJWT(payload)
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode("x".repeat(32)));
    for (const token of [tampered, none, foreign, "garbage", `${h}.${p}.`]) {
      const res = await t.call("GET", "/api/auth/me", { token });
      expect(res.status).toBe(401);
      expect(res.body.detail).toBeTypeOf("string");
    }
    // Same key, wrong audience / expired: a replica with another audience, and one whose clock is 25 h ahead.
    const otherAudience = await t.startReplica({ config: { jwtAudience: "someone-else" } });
    expect((await t.call("GET", "/api/auth/me", { token: user.accessToken }, otherAudience)).status).toBe(401);
    const future = await t.startReplica({ now: () => new Date(Date.now() + 25 * 3_600_000) });
    const expired = await t.call("GET", "/api/auth/me", { token: user.accessToken }, future);
    expect(expired.status).toBe(401);
    expect(expired.body.detail).toBe("token expired");
  });
});

describe("token lifetimes", () => {
  it("are configurable: a replica with 60 s access and 120 s refresh tokens says so and signs so", async () => {
    const short = await t.startReplica({ config: { accessTokenTtlSeconds: 60, refreshTokenTtlSeconds: 120 } });
    const user = await t.signup();
    const res = await call(short.url, "POST", "/api/auth/token", {
      body: { email: user.email, password: user.password },
    });
    expect(res.body).toMatchObject({ expires_in: 60, refresh_expires_in: 120 });
    const claims = decodePayload(res.body.refresh_token);
    expect((claims.exp as number) - (claims.iat as number)).toBe(120);
  });
});

describe("two replicas and restarts", () => {
  it("shares users, sessions and revocations between replicas and keeps them across a restart", async () => {
    const b = await t.startReplica();
    const user = await t.signup();
    // Signed up on replica A: logs in on B, and tokens from A are valid on B (one signing key).
    expect((await t.call("GET", "/api/auth/me", { token: user.accessToken }, b)).status).toBe(200);
    const onB = await t.call("POST", "/api/auth/token", { body: { email: user.email, password: user.password } }, b);
    expect(onB.status).toBe(200);
    // Rotate on A, reuse on B: B detects the reuse.
    const rotated = await t.call("POST", "/api/auth/refresh", { body: { refresh_token: onB.body.refresh_token } });
    expect(rotated.status).toBe(200);
    expect(
      (await t.call("POST", "/api/auth/refresh", { body: { refresh_token: onB.body.refresh_token } }, b)).status,
    ).toBe(401);
    // Logout on B is seen by A (through its watch).
    await t.call("POST", "/api/auth/logout", { token: user.accessToken }, b);
    await eventually(
      async () => (await t.call("GET", "/api/auth/me", { token: user.accessToken })).status === 401,
      5000,
      "logout seen by replica A",
    );
    // A restart (new process state, same cluster): the user and the revocation survive.
    await b.stop();
    t.facades.splice(t.facades.indexOf(b), 1);
    const c = await t.startReplica();
    expect(
      (await t.call("POST", "/api/auth/token", { body: { email: user.email, password: user.password } }, c)).status,
    ).toBe(200);
    expect((await t.call("GET", "/api/auth/me", { token: user.accessToken }, c)).status).toBe(401);
  });

  it("two replicas starting together on an empty system namespace agree on one signing key", async () => {
    const config = { systemNamespace: "spotopt-race-test" };
    const [x, y] = await Promise.all([t.startReplica({ config }), t.startReplica({ config })]);
    const keys = await t.client.list(
      { apiVersion: "v1", kind: "Secret", namespace: "spotopt-race-test" },
      { labelSelector: "spotoptimizer.io/auth-type=signing-key" },
    );
    expect(keys.items).toHaveLength(1);
    const asked = await call(x.url, "POST", "/api/auth/signup", {
      body: { org_name: "Race", email: "race@example.com", password: "SecurePass123!" },
    });
    expect(asked.status).toBe(202);
    const signup = await call(y.url, "POST", "/api/auth/verify-email", {
      body: { token: t.mailedCode("race@example.com"), password: "SecurePass123!" },
    });
    expect(signup.status).toBe(201);
    expect((await call(y.url, "GET", "/api/auth/me", { token: signup.body.access_token })).status).toBe(200);
  });
});

describe("bootstrap super_admin", () => {
  it("logs in with SPOTOPT_ADMIN_* credentials and reaches /admin/*, which org users cannot", async () => {
    const admin = await t.call("POST", "/api/auth/token", { body: ADMIN });
    expect(admin.status).toBe(200);
    expect(admin.body.role).toBe("super_admin");
    const me = await t.call("GET", "/api/auth/me", { token: admin.body.access_token });
    expect(me.body.redirect_path).toBe("/admin");
    const clients = await t.call("GET", "/admin/clients", { token: admin.body.access_token });
    expect(clients.status).toBe(200);
    expect(clients.body.clients.length).toBeGreaterThan(0);
    expect(clients.body.clients[0]).toMatchObject({
      id: expect.any(String),
      org_name: expect.any(String),
      plan: expect.any(String),
      monthly_spend: expect.any(Number),
    });
    const stats = await t.call("GET", "/admin/stats", { token: admin.body.access_token });
    expect(stats.body).toMatchObject({ total_clients: clients.body.clients.length, active_clusters: 0 });
    const health = await t.call("GET", "/admin/health", { token: admin.body.access_token });
    expect(health.body).toMatchObject({ api_server: "healthy", database: "healthy" });
    const owner = await t.signup();
    expect((await t.call("GET", "/admin/clients", { token: owner.accessToken })).status).toBe(403);
  });
});

describe("rate limits (documented defaults)", () => {
  it("answers 429 with Retry-After after 10 token requests a minute and 5 signups an hour", async () => {
    const limited = await t.startReplica({
      config: { rateLimits: { signupPerHour: 5, tokenPerMinute: 10, logoutPerMinute: 100 } },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      statuses.push(
        (
          await call(limited.url, "POST", "/api/auth/token", {
            body: { email: "nobody@example.com", password: "whatever1" },
          })
        ).status,
      );
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    const limitedRes = await call(limited.url, "POST", "/api/auth/login", {
      body: { email: "nobody@example.com", password: "whatever1" },
    });
    expect(limitedRes.status).toBe(429);
    expect(Number(limitedRes.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(limitedRes.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(limitedRes.body.detail).toMatch(/rate limit/);
    const signups: number[] = [];
    for (let i = 0; i < 6; i++) {
      signups.push(
        (await call(limited.url, "POST", "/api/auth/signup", { body: { org_name: "x", email: "bad", password: "x" } }))
          .status,
      );
    }
    expect(signups.slice(0, 5)).toEqual([422, 422, 422, 422, 422]);
    expect(signups[5]).toBe(429);
  });
});

describe("admin actions", () => {
  it("impersonates an organisation for an hour, audited in that organisation's chain, ended by logout", async () => {
    const admin = (await t.call("POST", "/api/auth/token", { body: ADMIN })).body.access_token;
    const owner = await t.signup("Impersonated Org");
    const res = await t.call("POST", "/admin/impersonate", { token: admin, body: { client_id: owner.orgId } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      temp_token: expect.any(String),
      expires_in: 3600,
      client_org: "Impersonated Org",
    });
    const claims = decodePayload(res.body.temp_token);
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    const team = await t.call("GET", "/settings/team", { token: res.body.temp_token });
    expect(team.status).toBe(200);
    expect(team.body.members.map((m: { email: string }) => m.email)).toContain(owner.email);
    const log = await eventually(async () => {
      const r = await t.call("GET", "/audit", { token: owner.accessToken });
      return r.body.logs.find((l: { event: string }) => l.event === "admin.impersonate");
    });
    expect(log.actor).toBe(ADMIN.email);
    await t.call("POST", "/api/auth/logout", { token: res.body.temp_token });
    expect((await t.call("GET", "/settings/team", { token: res.body.temp_token })).status).toBe(401);
    expect(
      (await t.call("POST", "/admin/impersonate", { token: owner.accessToken, body: { client_id: owner.orgId } }))
        .status,
    ).toBe(403);
    expect(
      (
        await t.call("POST", "/admin/impersonate", {
          token: admin,
          body: { client_id: "00000000-0000-4000-8000-000000000000" },
        })
      ).status,
    ).toBe(404);
  });

  it("sets feature flags, answers 501 for password-reset mail, and deletes a client with its users", async () => {
    const admin = (await t.call("POST", "/api/auth/token", { body: ADMIN })).body.access_token;
    const owner = await t.signup("Doomed Org");
    const flags = await t.call("PATCH", `/clients/${owner.orgId}/flags`, {
      token: admin,
      body: { flags: { enable_hibernation: true, enable_multi_account: false } },
    });
    expect(flags.status).toBe(200);
    const again = await t.call("PATCH", `/clients/${owner.orgId}/flags`, {
      token: admin,
      body: { flags: { enable_multi_account: true } },
    });
    expect(again.body.flags).toEqual({ enable_hibernation: true, enable_multi_account: true });
    expect(
      (await t.call("PATCH", `/clients/${owner.orgId}/flags`, { token: admin, body: { flags: { x: "yes" } } })).status,
    ).toBe(422);
    // Bounded: one body of more than 100 flags, and a change that would make the organisation hold more than 100.
    const many = (n: number, prefix: string): Record<string, boolean> =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}_${i}`, true]));
    const tooMany = await t.call("PATCH", `/clients/${owner.orgId}/flags`, {
      token: admin,
      body: { flags: many(101, "f") },
    });
    expect(tooMany.status).toBe(422);
    expect(
      (await t.call("PATCH", `/clients/${owner.orgId}/flags`, { token: admin, body: { flags: many(98, "f") } })).status,
    ).toBe(200);
    const past = await t.call("PATCH", `/clients/${owner.orgId}/flags`, {
      token: admin,
      body: { flags: many(2, "g") },
    });
    expect(past.status).toBe(422);
    expect(past.body.detail).toBe("an organisation holds at most 100 feature flags; this change makes 102");
    const held = await t.call("PATCH", `/clients/${owner.orgId}/flags`, {
      token: admin,
      body: { flags: { f_0: false } },
    });
    expect(Object.keys(held.body.flags)).toHaveLength(100);
    const reset = await t.call("POST", "/admin/reset-pass", { token: admin, body: { client_id: owner.orgId } });
    expect(reset.status).toBe(501);
    expect(reset.body.detail).toMatch(/not built/);
    const del = await t.call("DELETE", `/admin/clients/${owner.orgId}`, { token: admin });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ success: true, deleted_resources: { clusters: 0, templates: 0, users: 1 } });
    expect(
      (await t.call("POST", "/api/auth/token", { body: { email: owner.email, password: owner.password } })).status,
    ).toBe(401);
    await eventually(
      async () => (await t.call("GET", "/api/auth/me", { token: owner.accessToken })).status === 401,
      5000,
      "deleted user's session revoked",
    );
    const clients = await t.call("GET", "/admin/clients", { token: admin });
    expect(clients.body.clients.some((c: { id: string }) => c.id === owner.orgId)).toBe(false);
    expect((await t.call("DELETE", `/admin/clients/${owner.orgId}`, { token: admin })).status).toBe(404);
  });
});
