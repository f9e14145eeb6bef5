// No endpoint tells whether an address has an account: signup answers alike and becomes an account only through the
// code mailed to the address (hashed at rest, single use, expiring); invites mail their code to the invitee.
import { statSync } from "node:fs";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

let t: TestFacade;
let existing: SignedUp;

beforeAll(async () => {
  t = await startTestFacade();
  existing = await t.signup("Existing Org");
});
afterAll(async () => {
  await t?.stop();
});

async function namespaces(): Promise<number> {
  return (await t.client.list({ apiVersion: "v1", kind: "Namespace" })).items.length;
}

describe("audit of public account requests", () => {
  // First in the file: identical refusals within a minute are counted into one entry (see docs/facade.md, Audit).
  it("a signup request and failed codes each leave one entry in the platform chain", async () => {
    const platform = async (): Promise<Array<{ actor: string; event: string; outcome: string }>> =>
      (await t.facades[0]!.audit.readChain("spot-optimizer-system")).entries as never;
    const before = (await platform()).length;
    const email = "audited-signup@example.com";
    await t.requestSignup(email, { orgName: "Audited" });
    const [id] = t.mailedCode(email).split(".");
    expect(
      (
        await t.call("POST", "/api/auth/verify-email", {
          body: { token: `${id}.${"B".repeat(43)}`, password: "Pass-123456" },
        })
      ).status,
    ).toBe(404);
    const bogus = `${"0".repeat(8)}-0000-0000-0000-${"0".repeat(12)}.${"C".repeat(43)}`;
    expect(
      (await t.call("POST", "/api/auth/accept-invite", { body: { invite_token: bogus, password: "Pass-123456" } }))
        .status,
    ).toBe(404);
    const added = (await platform()).slice(before);
    expect(added).toEqual([
      expect.objectContaining({ actor: email, event: "signup.request", outcome: "success" }),
      expect.objectContaining({ actor: "anonymous", event: "organisation.signup", outcome: "failure" }),
      expect.objectContaining({ actor: "anonymous", event: "user.accept_invite", outcome: "failure" }),
    ]);
  });
});

describe("signup", () => {
  it("answers the same status, body and headers for an address with an account as for a new one", async () => {
    const before = await namespaces();
    const probe = { orgName: "Probe", password: "Probe-Pass-123" };
    const known = await t.requestSignup(existing.email, probe);
    const fresh = await t.requestSignup("fresh-signup@example.com", probe);
    expect(known.status).toBe(202);
    expect(fresh.status).toBe(202);
    expect(known.body).toEqual(fresh.body);
    for (const h of ["content-type", "cache-control", "content-length"])
      expect(known.headers.get(h), h).toBe(fresh.headers.get(h));
    expect(JSON.stringify(fresh.body)).not.toMatch(/[0-9a-f-]{36}\./);
    // Nothing exists before the mailbox answers: no organisation, and the password does not log in.
    expect(await namespaces()).toBe(before);
    const login = await t.call("POST", "/api/auth/token", {
      body: { email: "fresh-signup@example.com", password: "Probe-Pass-123" },
    });
    expect(login.status).toBe(401);
    // The existing account's owner learns of the attempt; the existing password still works.
    expect(t.mails(existing.email).at(-1)!.subject).toBe("You already have a Spot Optimizer account");
    expect(() => t.mailedCode(existing.email)).toThrow(/no mail with a code/);
    const owner = await t.call("POST", "/api/auth/token", {
      body: { email: existing.email, password: existing.password },
    });
    expect(owner.status).toBe(200);
  });

  it("creates the organisation only with the mailed code, which works once and is stored as a hash", async () => {
    const email = "verify-me@example.com";
    expect((await t.requestSignup(email, { orgName: "Verified" })).status).toBe(202);
    const code = t.mailedCode(email);
    const [id, secret] = code.split(".") as [string, string];
    const decoded = await t.storedSecretText(`signup-${id}`);
    expect(decoded).not.toContain(secret);
    expect(decoded).not.toContain("Pass-123456");
    const guessed = await t.call("POST", "/api/auth/verify-email", {
      body: { token: `${id}.${"A".repeat(43)}`, password: "Pass-123456" },
    });
    expect(guessed.status).toBe(404);
    const ok = await t.call("POST", "/api/auth/verify-email", { body: { token: code, password: "Pass-123456" } });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({
      user_id: expect.any(String),
      token: expect.any(String),
      org_id: expect.any(String),
    });
    expect((await t.call("GET", "/api/auth/me", { token: ok.body.access_token })).body.email).toBe(email);
    const again = { token: code, password: "Pass-123456" };
    expect((await t.call("POST", "/api/auth/verify-email", { body: again })).status).toBe(404);
    expect((await t.call("POST", "/api/auth/token", { body: { email, password: "Pass-123456" } })).status).toBe(200);
  });

  it("a code creates nothing without the password it was asked with: a code someone else asked for is no takeover", async () => {
    // Someone asks first with a password of their own, the mailbox owner asks next: two codes reach the mailbox.
    const email = "asked-twice@example.com";
    await t.requestSignup(email, { orgName: "Totally Victim", password: "Attacker-Pass-1" });
    const foreign = t.mailedCode(email);
    await t.requestSignup(email, { orgName: "Victim", password: "Victim-Pass-12" });
    const own = t.mailedCode(email);
    // Each mail names the organisation it would create.
    expect(t.mails(email).map((m) => /"([^"]+)"/.exec(m.text)?.[1])).toEqual(["Totally Victim", "Victim"]);
    // The mailbox owner tries the code they never asked for with their own password: nothing, and it says why.
    const refused = await t.call("POST", "/api/auth/verify-email", {
      body: { token: foreign, password: "Victim-Pass-12" },
    });
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toMatch(/not the one this signup was asked with/);
    expect((await t.call("POST", "/api/auth/token", { body: { email, password: "Attacker-Pass-1" } })).status).toBe(
      401,
    );
    // Their own code, with their password, works although the other request is still pending.
    const created = await t.call("POST", "/api/auth/verify-email", {
      body: { token: own, password: "Victim-Pass-12" },
    });
    expect(created.status).toBe(201);
    expect((await t.call("POST", "/api/auth/token", { body: { email, password: "Victim-Pass-12" } })).status).toBe(200);
    // The other code, even with its own password, now meets the account.
    const late = await t.call("POST", "/api/auth/verify-email", {
      body: { token: foreign, password: "Attacker-Pass-1" },
    });
    expect(late.status).toBe(409);
    expect((await t.call("POST", "/api/auth/token", { body: { email, password: "Attacker-Pass-1" } })).status).toBe(
      401,
    );
  });

  it("refuses a verification without a password, or with a wrong one, and keeps the code for the right one", async () => {
    const email = "no-password@example.com";
    await t.requestSignup(email, { orgName: "Careful", password: "Careful-Pass-1" });
    const token = t.mailedCode(email);
    expect((await t.call("POST", "/api/auth/verify-email", { body: { token } })).status).toBe(422);
    const wrong = { token, password: "Careful-Pass-2" };
    expect((await t.call("POST", "/api/auth/verify-email", { body: wrong })).status).toBe(401);
    const right = { token, password: "Careful-Pass-1" };
    expect((await t.call("POST", "/api/auth/verify-email", { body: right })).status).toBe(201);
  });

  it("refuses a code after 24 hours", async () => {
    const email = "late@example.com";
    await t.requestSignup(email, { orgName: "Late" });
    const later = await t.startReplica({ now: () => new Date(Date.now() + 24 * 3_600_000 + 60_000) });
    const res = await call(later.url, "POST", "/api/auth/verify-email", {
      body: { token: t.mailedCode(email), password: "Pass-123456" },
    });
    expect(res.status).toBe(404);
  });

  it("answers 501 for every address when no mail transport is configured", async () => {
    const noMail = await t.startReplica({ config: { mailOutbox: "" } });
    for (const email of [existing.email, "nobody-yet@example.com"]) {
      const res = await call(noMail.url, "POST", "/api/auth/signup", {
        body: { org_name: "X", email, password: "Pass-123456" },
      });
      expect(res.status).toBe(501);
      expect(res.body.detail).toMatch(/mail transport/);
    }
  });

  it("keeps the outbox readable by the facade's user only", () => {
    expect(statSync(t.outbox).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(t.outbox)).mode & 0o777).toBe(0o700);
  });
});

describe("invites", () => {
  it("mail their code to the invitee; the inviter's answer is the same for an existing and a new address", async () => {
    const inviter = await t.signup("Inviting Org");
    const known = await t.invite(inviter, existing.email, "viewer");
    const fresh = await t.invite(inviter, "fresh-invitee@example.com", "viewer");
    expect(known.status).toBe(201);
    expect(fresh.status).toBe(201);
    expect(Object.keys(known.body).sort()).toEqual(["expires_in", "invite_id", "success"]);
    expect(Object.keys(fresh.body).sort()).toEqual(["expires_in", "invite_id", "success"]);
    expect(() => t.mailedCode(existing.email)).toThrow(/no mail with a code/);
    const joined = await t.call("POST", "/api/auth/accept-invite", {
      body: { invite_token: t.mailedCode("fresh-invitee@example.com"), password: "Invitee-Pass-1" },
    });
    expect(joined.status).toBe(201);
    expect(joined.body.user.org_id).toBe(inviter.orgId);
  });
});
