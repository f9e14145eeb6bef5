// Invites through real HTTP: acceptance needs the one-time secret token, which only the invited mailbox receives (ids
// shown in lists and audit are not secrets), the token works once, and an admin cannot grant a role above its own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

let t: TestFacade;
let owner: SignedUp;
let viewer: SignedUp;
let admin: SignedUp;

beforeAll(async () => {
  t = await startTestFacade();
  owner = await t.signup("Invite Org");
  viewer = await t.addMember(owner, "viewer");
  admin = await t.addMember(owner, "admin");
});
afterAll(async () => {
  await t?.stop();
});

describe("invites", () => {
  it("a viewer who sees a pending owner invite's id cannot accept it", async () => {
    const invite = await t.invite(owner, "new-owner@example.com", "owner");
    expect(invite.status).toBe(201);
    const code = t.mailedCode("new-owner@example.com");
    expect(code).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
    // The inviter's answer does not carry it: only the mailbox does.
    expect(invite.text).not.toContain(code.split(".")[1]);
    const team = await t.call("GET", "/settings/team", { token: viewer.accessToken });
    const pending = team.body.members.find((m: { status: string }) => m.status === "invited");
    expect(pending.id).toBe(invite.body.invite_id);
    // The id alone (old body shape) is refused; so is the id with a guessed secret.
    const byId = await t.call("POST", "/api/auth/accept-invite", {
      body: { invite_id: pending.id, password: "Attacker-Pass-1" },
    });
    expect(byId.status).toBe(422);
    const guessed = await t.call("POST", "/api/auth/accept-invite", {
      body: { invite_token: `${pending.id}.${"A".repeat(43)}`, password: "Attacker-Pass-1" },
    });
    expect(guessed.status).toBe(404);
    // The invite is still pending and the invited person can still join with the real token, exactly once.
    const ok = await t.call("POST", "/api/auth/accept-invite", {
      body: { invite_token: code, password: "Invitee-Pass-1" },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.org_role ?? ok.body.role).toBe("owner");
    const again = await t.call("POST", "/api/auth/accept-invite", {
      body: { invite_token: code, password: "Invitee-Pass-1" },
    });
    expect(again.status).toBe(404);
  });

  it("stores only a hash of the token", async () => {
    const invite = await t.invite(owner, "hash-check@example.com", "viewer");
    const stored = await t.storedSecretText(`invite-${invite.body.invite_id}`);
    expect(stored).not.toContain(t.mailedCode("hash-check@example.com").split(".")[1]);
  });

  it("an admin cannot invite an owner (a role above its own)", async () => {
    const res = await t.invite(admin, "escalate@example.com", "owner");
    expect(res.status).toBe(403);
  });

  it("answers the same for an email that has an account in another organisation as for a fresh one", async () => {
    const elsewhere = await t.signup("Elsewhere Org");
    const existing = await t.invite(owner, elsewhere.email, "viewer");
    const fresh = await t.invite(owner, "fresh-person@example.com", "viewer");
    expect(existing.status).toBe(fresh.status);
    expect(Object.keys(existing.body).sort()).toEqual(Object.keys(fresh.body).sort());
    // The existing account's mailbox is told, without a code, so nobody can accept it and learn from the answer.
    expect(t.mails(elsewhere.email).at(-1)!.subject).toBe("You already have a Spot Optimizer account");
    expect(() => t.mailedCode(elsewhere.email)).toThrow(/no mail with a code/);
    expect(t.mailedCode("fresh-person@example.com")).toMatch(/^[0-9a-f-]{36}\./);
    const login = await t.call("POST", "/api/auth/token", {
      body: { email: elsewhere.email, password: elsewhere.password },
    });
    expect(login.status).toBe(200);
  });
});
