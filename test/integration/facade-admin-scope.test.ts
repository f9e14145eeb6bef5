// A super_admin's reach through real HTTP: impersonation tokens are scoped to one organisation and audited as the
// admin acting as a user there; X-Org-Id reads are audited in the organisation's chain; the super_admin's own auth
// events (and failed logins) land in the platform chain in the system namespace.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

const PLATFORM = "spot-optimizer-system";
let t: TestFacade;
let admin: string;
let a: SignedUp;
let b: SignedUp;

async function chain(namespace: string): Promise<Array<{ actor: string; event: string; outcome: string }>> {
  return (await t.facades[0]!.audit.readChain(namespace)).entries as never;
}

beforeAll(async () => {
  t = await startTestFacade();
  admin = (await t.call("POST", "/api/auth/token", { body: ADMIN })).body.access_token;
  a = await t.signup("Scope A");
  b = await t.signup("Scope B");
});
afterAll(async () => {
  await t?.stop();
});

describe("impersonation tokens", () => {
  it("act inside one organisation only, never on /admin/*, and are audited as the admin acting as a user", async () => {
    const res = await t.call("POST", "/admin/impersonate", { token: admin, body: { client_id: a.orgId } });
    expect(res.status).toBe(200);
    const temp = res.body.temp_token as string;
    expect((await t.call("GET", "/admin/clients", { token: temp })).status).toBe(403);
    expect((await t.call("POST", "/admin/impersonate", { token: temp, body: { client_id: b.orgId } })).status).toBe(
      403,
    );
    // X-Org-Id cannot switch it to another organisation: it still sees A's team, not B's.
    const team = await t.call("GET", "/settings/team", { token: temp, headers: { "x-org-id": b.orgId } });
    expect(team.status).toBe(200);
    const emails = team.body.members.map((m: { email: string }) => m.email);
    expect(emails).toContain(a.email);
    expect(emails).not.toContain(b.email);
    expect(
      (
        await t.call("POST", "/api/auth/change-password", {
          token: temp,
          body: { current_password: ADMIN.password, new_password: "Another-Pass-123" },
        })
      ).status,
    ).toBe(403);
    const connected = await t.call("POST", "/clusters/connect", { token: temp, body: { cluster_id: "support" } });
    expect(connected.status).toBe(200);
    const entries = await chain(a.namespace);
    expect(entries.find((e) => e.event === "Connected new cluster (agent token issued)")?.actor).toBe(
      `${ADMIN.email} (admin acting as user)`,
    );
    expect((await chain(b.namespace)).some((e) => e.actor.startsWith(ADMIN.email))).toBe(false);
  });
});

describe("super_admin reads and auth events", () => {
  it("a read through X-Org-Id leaves an entry in that organisation's chain", async () => {
    const before = (await chain(b.namespace)).length;
    const res = await t.call("GET", "/settings/team", { token: admin, headers: { "x-org-id": b.orgId } });
    expect(res.status).toBe(200);
    const entries = await chain(b.namespace);
    expect(entries.length).toBe(before + 1);
    expect(entries.at(-1)).toMatchObject({ actor: ADMIN.email, event: "admin.read", outcome: "success" });
  });

  it("a malformed X-Org-Id is refused without being echoed; an unknown one is 404", async () => {
    const long = "a".repeat(9000);
    const bad = await t.call("GET", "/settings/team", { token: admin, headers: { "x-org-id": long } });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).not.toContain(long);
    const unknown = await t.call("GET", "/settings/team", {
      token: admin,
      headers: { "x-org-id": "00000000-0000-4000-8000-000000000000" },
    });
    expect(unknown.status).toBe(404);
  });

  it("login, failed login, logout and change-password of the super_admin land in the platform chain", async () => {
    const count = async (event: string, outcome: string): Promise<number> =>
      (await chain(PLATFORM)).filter((e) => e.event === event && e.outcome === outcome && e.actor === ADMIN.email)
        .length;
    const [logins, failures, logouts, changes] = [
      await count("user.login", "success"),
      await count("user.login", "failure"),
      await count("user.logout", "success"),
      await count("user.change_password", "success"),
    ];
    const bad = await t.call("POST", "/api/auth/token", { body: { email: ADMIN.email, password: "wrong-password" } });
    expect(bad.status).toBe(401);
    const login = await t.call("POST", "/api/auth/token", { body: ADMIN });
    expect(login.status).toBe(200);
    const token = login.body.access_token as string;
    const changed = await t.call("POST", "/api/auth/change-password", {
      token,
      body: { current_password: ADMIN.password, new_password: "Root-Password-456" },
    });
    expect(changed.status).toBe(200);
    await t.call("POST", "/api/auth/change-password", {
      token,
      body: { current_password: "Root-Password-456", new_password: ADMIN.password },
    });
    expect((await t.call("POST", "/api/auth/logout", { token })).status).toBe(200);
    expect(await count("user.login", "failure")).toBe(failures + 1);
    expect(await count("user.login", "success")).toBe(logins + 1);
    expect(await count("user.change_password", "success")).toBe(changes + 2);
    expect(await count("user.logout", "success")).toBe(logouts + 1);
  });

  it("a failed login of an organisation user lands in its organisation's chain", async () => {
    const bad = await t.call("POST", "/api/auth/token", { body: { email: a.email, password: "not-the-password" } });
    expect(bad.status).toBe(401);
    const entries = await chain(a.namespace);
    expect(entries.at(-1)).toMatchObject({ actor: a.email, event: "user.login", outcome: "failure" });
  });
});
