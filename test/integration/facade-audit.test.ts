// Audit and settings endpoints through real HTTP: chain per organisation, export + spotctl verify, tamper, retention, roles, tenancy.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../operator/cli/main.js";
import { computeEntryHash } from "../../src-shared/audit/chain.js";
import type { AuditRecord } from "../../src-shared/audit/types.js";
import { commands } from "../../operator/cli/commands/index.js";
import { eventually } from "../support/cluster.js";
import { ADMIN, startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

let t: TestFacade;
let owner: SignedUp;
let viewer: SignedUp;
let other: SignedUp;
const dir = mkdtempSync(join(tmpdir(), "facade-audit-"));

async function verifyFile(doc: unknown, name: string): Promise<{ code: number; out: string }> {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc, null, 2));
  let out = "";
  const code = await runCli(["audit", "verify", path], commands, {
    stdout: (s) => (out += s),
    stderr: (s) => (out += s),
  });
  return { code, out };
}

async function auditTotal(token: string): Promise<number> {
  return (await t.call("GET", "/audit?limit=1", { token })).body.total as number;
}

beforeAll(async () => {
  t = await startTestFacade();
  owner = await t.signup("Audit Org");
  other = await t.signup("Other Org");
  viewer = await t.addMember(owner, "viewer");
});

afterAll(async () => {
  await t?.stop();
});

describe("audit log", () => {
  it("records signup, invite and accept-invite in the organisation's chain, newest first, with filters and paging", async () => {
    const res = await eventually(async () => {
      const r = await t.call("GET", "/audit?limit=50&offset=0", { token: owner.accessToken });
      return r.body.total >= 3 ? r : undefined;
    });
    expect(res.status).toBe(200);
    const events = res.body.logs.map((l: { event: string }) => l.event);
    expect(events).toEqual(expect.arrayContaining(["organisation.signup", "team.invite", "user.accept_invite"]));
    expect(res.body.logs[0]).toMatchObject({
      id: expect.stringMatching(/^audit-/),
      timestamp: expect.stringMatching(/Z$/),
      actor: expect.any(String),
      event: expect.any(String),
      resource: expect.any(String),
      outcome: "success",
    });
    expect(res.body.page).toBe(1);
    const seqs = res.body.logs.map((l: { sequence: number }) => l.sequence);
    expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);
    const byActor = await t.call("GET", `/audit?actor=${encodeURIComponent(viewer.email)}`, {
      token: owner.accessToken,
    });
    expect(byActor.body.logs.length).toBeGreaterThan(0);
    expect(byActor.body.logs.every((l: { actor: string }) => l.actor === viewer.email)).toBe(true);
    const byId = await t.call("GET", `/audit?actor=${viewer.userId}`, { token: owner.accessToken });
    expect(byId.body.total).toBe(byActor.body.total);
    const paged = await t.call("GET", "/audit?limit=1&offset=1", { token: owner.accessToken });
    expect(paged.body.logs).toHaveLength(1);
    expect(paged.body.page).toBe(2);
    expect(paged.body.logs[0].id).toBe(res.body.logs[1].id);
    const future = await t.call("GET", "/audit?start_date=2999-01-01", { token: owner.accessToken });
    expect(future.body).toMatchObject({ logs: [], total: 0 });
    expect((await t.call("GET", "/audit?limit=0", { token: owner.accessToken })).status).toBe(422);
    expect((await t.call("GET", "/audit?start_date=yesterday", { token: owner.accessToken })).status).toBe(422);
    // The other organisation sees only its own chain.
    const theirs = await t.call("GET", "/audit", { token: other.accessToken });
    expect(theirs.body.logs.every((l: { actor: string }) => l.actor === other.email)).toBe(true);
  });

  it("records a viewer's attempted mutation as denied and returns 403", async () => {
    const before = await auditTotal(owner.accessToken);
    const res = await t.call("POST", "/settings/invite", {
      token: viewer.accessToken,
      body: { email: "x@example.com", role: "viewer" },
    });
    expect(res.status).toBe(403);
    const denied = await eventually(async () => {
      const r = await t.call("GET", "/audit?limit=1", { token: owner.accessToken });
      return r.body.total > before ? r.body.logs[0] : undefined;
    });
    expect(denied).toMatchObject({ actor: viewer.email, outcome: "denied" });
    expect(
      (await t.call("PATCH", "/audit/retention", { token: viewer.accessToken, body: { retention_days: 1 } })).status,
    ).toBe(403);
    expect(
      (await t.call("DELETE", "/settings/accounts", { token: viewer.accessToken, body: { account_id: "x" } })).status,
    ).toBe(403);
  });

  it("GET /audit/{id}/diff returns before, after and a field diff; another org's id is 404", async () => {
    await t.call("PATCH", "/audit/retention", { token: owner.accessToken, body: { retention_days: 365 } });
    const entry = await eventually(async () => {
      const r = await t.call("GET", "/audit?limit=50", { token: owner.accessToken });
      return r.body.logs.find((l: { event: string }) => l.event === "audit.retention");
    });
    const diff = await t.call("GET", `/audit/${entry.id}/diff`, { token: owner.accessToken });
    expect(diff.status).toBe(200);
    expect(diff.body.after).toMatchObject({ retention_days: 365 });
    expect(diff.body.diff).toContainEqual({ field: "retention_days", old: null, new: 365 });
    expect((await t.call("GET", `/audit/${entry.id}/diff`, { token: other.accessToken })).status).toBe(404);
    expect((await t.call("GET", "/audit/audit-999999999999/diff", { token: owner.accessToken })).status).toBe(404);
  });
});

describe("audit export", () => {
  it("exports the chain with a checksum that spotctl audit verify accepts, and rejects any change or deletion", async () => {
    const res = await t.call("GET", "/audit/export?format=json", { token: owner.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      file_url: expect.stringContaining("/audit/export"),
      expires_in: 3600,
    });
    expect(res.body.count).toBeGreaterThanOrEqual(4);
    expect((await verifyFile(res.body, "good.json")).code).toBe(0);
    for (let i = 0; i < res.body.entries.length; i++) {
      const changed = structuredClone(res.body);
      changed.entries[i].outcome = changed.entries[i].outcome === "success" ? "failure" : "success";
      const c = await verifyFile(changed, `changed-${i}.json`);
      expect(c.code).toBe(1);
      expect(JSON.parse(c.out).first_bad_entry.index).toBe(i);
      const deleted = structuredClone(res.body);
      deleted.entries.splice(i, 1);
      expect((await verifyFile(deleted, `deleted-${i}.json`)).code).toBe(1);
    }
    const reordered = structuredClone(res.body);
    reordered.entries.reverse();
    expect((await verifyFile(reordered, "reordered.json")).code).toBe(1);
    // Two organisations never share a chain.
    const theirs = await t.call("GET", "/audit/export", { token: other.accessToken });
    expect(theirs.body.namespace).toBe(other.namespace);
    expect(theirs.body.entries.every((e: { namespace: string }) => e.namespace === other.namespace)).toBe(true);
  });

  it("retention removes the oldest entries and the export still verifies from the recorded anchor", async () => {
    // A replica whose clock is 10 days ahead writes new entries; retention of 5 days then drops everything older.
    const later = await t.startReplica({ now: () => new Date(Date.now() + 10 * 86_400_000) });
    const token = (
      await t.call("POST", "/api/auth/token", { body: { email: owner.email, password: owner.password } }, later)
    ).body.access_token;
    await t.call("POST", "/settings/invite", { token, body: { email: "late@example.com", role: "admin" } }, later);
    const before = await t.call("GET", "/audit/export", { token }, later);
    const res = await t.call("PATCH", "/audit/retention", { token, body: { retention_days: 5 } }, later);
    expect(res.status).toBe(200);
    expect(res.body.removed).toBeGreaterThan(0);
    expect(res.body.removed).toBeLessThan(before.body.count);
    const after = await t.call("GET", "/audit/export", { token }, later);
    expect(after.body.anchor.sequence).toBe(res.body.anchor.sequence);
    expect(after.body.entries[0].seq).toBe(res.body.anchor.sequence + 1);
    expect(after.body.entries[0].prevHash).toBe(res.body.anchor.hash);
    expect((await verifyFile(after.body, "retained.json")).code).toBe(0);
    const dropped = structuredClone(after.body);
    dropped.entries.shift();
    expect((await verifyFile(dropped, "retained-dropped.json")).code).toBe(1);
    // The head ConfigMap is lost: the next audited request still lands after the newest entry, the ConfigMap comes
    // back with the anchor recovered from the oldest entry kept, and the chain still verifies, but as rebuilt: nothing
    // outside the entries pins the ones before the loss any more.
    const head = { apiVersion: "v1", kind: "ConfigMap", namespace: owner.namespace, name: "spot-optimizer-audit-head" };
    await t.client.delete(head);
    const invite = { email: "later@example.com", role: "viewer" };
    expect((await t.call("POST", "/settings/invite", { token, body: invite }, later)).status).toBe(201);
    const recovered = await eventually(async () => {
      const r = await t.call("GET", "/audit/export", { token }, later);
      return r.body.head.sequence > after.body.head.sequence ? r : undefined;
    });
    expect(recovered.body.anchor).toEqual(after.body.anchor);
    expect(recovered.body.entries.at(-1)).toMatchObject({ seq: after.body.head.sequence + 1, event: "team.invite" });
    expect(recovered.body.verification).toMatchObject({ ok: false, status: "rebuilt" });
    expect(recovered.body.retention).toEqual({ days: 5 });
    expect((await verifyFile(recovered.body, "recovered.json")).code).toBe(3);
    const cm = await t.client.get<{ data: Record<string, string> }>(head as never);
    expect(cm.data).toMatchObject({ anchorSequence: String(after.body.anchor.sequence) });
    expect((await t.call("PATCH", "/audit/retention", { token, body: { retention_days: 0 } }, later)).status).toBe(422);
  });
});

/** The newest entry of an organisation's chain, as an object reference for kubectl-like edits. */
async function newestEntry(
  token: string,
): Promise<{ ref: { apiVersion: string; kind: string; namespace: string; name: string }; entry: AuditRecord }> {
  const doc = (await t.call("GET", "/audit/export", { token })).body;
  const entry = doc.entries.at(-1);
  const ref = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "AuditEntry", namespace: doc.namespace, name: entry.id };
  return { ref, entry };
}

describe("audit export of a tampered newest entry", () => {
  it("names the newest entry when its spec was edited and its hash removed", async () => {
    const { ref } = await newestEntry(owner.accessToken);
    await t.client.patch(
      ref,
      { metadata: { annotations: { "spotoptimizer.io/hash": null } }, spec: { actor: "mallory@evil.test" } },
      { type: "merge" },
    );
    await t.client.patch(ref, { status: { hash: "" } }, { type: "merge", subresource: "status" });
    const res = await t.call("GET", "/audit/export", { token: owner.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.verification).toMatchObject({
      ok: false,
      first_bad_entry: { id: ref.name },
      reason: expect.stringMatching(/no stored hash/),
    });
    expect(res.headers.get("x-audit-verification")).toBe(`tampered ${ref.name}`);
    const cli = await verifyFile(res.body, "hash-removed.json");
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.out).first_bad_entry.id).toBe(ref.name);
  });

  it("names the newest entry when its spec was edited and its hash re-computed (the head ConfigMap disagrees)", async () => {
    const good = await t.call("GET", "/audit/export", { token: other.accessToken });
    expect(good.body.verification).toEqual({ ok: true, status: "intact" });
    expect(good.headers.get("x-audit-verification")).toBe("ok");
    const { ref, entry } = await newestEntry(other.accessToken);
    const { hash: _hash, ...content } = { ...entry, actor: "mallory@evil.test" };
    const rehash = { "spotoptimizer.io/hash": computeEntryHash(content) };
    await t.client.patch(
      ref,
      { metadata: { annotations: rehash }, spec: { actor: "mallory@evil.test" } },
      { type: "merge" },
    );
    const res = await t.call("GET", "/audit/export", { token: other.accessToken });
    expect(res.body.recorded_head).toEqual({ sequence: entry.seq, hash: entry.hash });
    expect(res.body.verification).toMatchObject({
      ok: false,
      first_bad_entry: { id: ref.name },
      reason: expect.stringMatching(/head hash/),
    });
    const cli = await verifyFile(res.body, "rehashed.json");
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.out).first_bad_entry.id).toBe(ref.name);
  });
});

describe("audit export of a chain whose newest entry was deleted", () => {
  it("reports it tampered, for the whole chain and for a date range, in the answer, the header and spotctl", async () => {
    const org = await t.signup("Trimmed Org");
    const token = org.accessToken;
    await t.call("POST", "/settings/invite", { token, body: { email: "t1@example.com", role: "viewer" } });
    const before = await t.call("GET", "/audit/export", { token });
    expect(before.body.verification).toEqual({ ok: true, status: "intact" });
    const { ref, entry } = await newestEntry(token);
    await t.client.delete(ref);
    const res = await t.call("GET", "/audit/export", { token });
    expect(res.body.stored_head.sequence).toBe(entry.seq - 1);
    expect(res.body.recorded_head.sequence).toBe(entry.seq);
    expect(res.body.verification).toMatchObject({ ok: false, reason: expect.stringMatching(/removed from the end/) });
    expect(res.headers.get("x-audit-verification")).toMatch(/^tampered /);
    const day = String(before.body.entries[0].timestamp).slice(0, 10);
    const ranged = await t.call("GET", `/audit/export?start_date=${day}&end_date=${day}`, { token });
    expect(ranged.body.verification).toMatchObject({ ok: false });
    const cli = await verifyFile(res.body, "trimmed.json");
    expect(cli.code).toBe(1);
    expect(cli.out).toMatch(/removed from the end/);
  });
});

describe("audit export of a chain whose head ConfigMap was deleted", () => {
  it("reports a trimmed chain as rebuilt, not intact, in the answer, the headers, both files and spotctl", async () => {
    const org = await t.signup("Rebuilt Org");
    const token = org.accessToken;
    expect((await t.call("PATCH", "/audit/retention", { token, body: { retention_days: 400 } })).status).toBe(200);
    await t.call("POST", "/settings/invite", { token, body: { email: "r1@example.com", role: "viewer" } });
    const intact = await t.call("GET", "/audit/export", { token });
    expect(intact.body.verification).toEqual({ ok: true, status: "intact" });
    expect(intact.body.retention).toEqual({ days: 400 });
    expect(intact.body.head_rebuilt).toBeUndefined();
    // Someone who may edit entries and delete the ConfigMap removes the oldest entry (the signup) and the head.
    const first = intact.body.entries[0];
    const entry = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "AuditEntry", namespace: org.namespace };
    await t.client.delete({ ...entry, name: first.id });
    const head = { apiVersion: "v1", kind: "ConfigMap", namespace: org.namespace, name: "spot-optimizer-audit-head" };
    await t.client.delete(head);
    const missing = await t.call("GET", "/audit/export", { token });
    expect(missing.body.verification).toMatchObject({ ok: false, status: "rebuilt", reason: /missing/ });
    expect(missing.body.head_rebuilt).toMatchObject({ at: null, sequence: intact.body.head.sequence });
    expect(missing.headers.get("x-audit-verification")).toBe(`rebuilt ${intact.body.entries.at(-1).id}`);
    // The next audited request rebuilds the ConfigMap; every later export still says so, with when and from what.
    await t.call("POST", "/settings/invite", { token, body: { email: "r2@example.com", role: "viewer" } });
    const res = await eventually(async () => {
      const r = await t.call("GET", "/audit/export", { token });
      return r.body.head.sequence > intact.body.head.sequence && r.body.head_rebuilt?.at ? r : undefined;
    });
    expect(res.body.head_rebuilt).toMatchObject({
      at: expect.stringMatching(/Z$/),
      sequence: intact.body.head.sequence,
      hash: intact.body.head.hash,
      entries: intact.body.count - 1,
    });
    expect(res.body.verification).toMatchObject({ ok: false, status: "rebuilt" });
    expect(res.headers.get("x-audit-verification")).toBe(`rebuilt ${intact.body.entries.at(-1).id}`);
    // The policy came back from the newest entry instead of silently becoming "keep everything".
    expect(res.body.retention).toEqual({ days: 400 });
    const cli = await verifyFile(res.body, "rebuilt.json");
    expect(cli.code).toBe(3);
    expect(JSON.parse(cli.out)).toMatchObject({ ok: false, status: "rebuilt", head_rebuilt: res.body.head_rebuilt });
    const csv = await t.call("GET", "/audit/export?format=csv&download=true", { token });
    expect(csv.headers.get("x-audit-verification")).toBe(`rebuilt ${intact.body.entries.at(-1).id}`);
    const csvPath = join(dir, "rebuilt.csv");
    writeFileSync(csvPath, csv.text);
    let out = "";
    const io = { stdout: (x: string) => (out += x), stderr: (x: string) => (out += x) };
    expect(await runCli(["audit", "verify", csvPath], commands, io)).toBe(3);
    expect(JSON.parse(out)).toMatchObject({ status: "rebuilt", head_rebuilt: res.body.head_rebuilt });
    const file = await t.call("GET", "/audit/export?download=true", { token });
    expect(file.headers.get("x-audit-verification")).toBe(`rebuilt ${intact.body.entries.at(-1).id}`);
    expect(file.body.head_rebuilt).toEqual(res.body.head_rebuilt);
  });
});

describe("settings", () => {
  it("lists the team with roles, invites with the documented answer, and answers empty accounts honestly", async () => {
    const team = await t.call("GET", "/settings/team", { token: viewer.accessToken });
    expect(team.status).toBe(200);
    const members = team.body.members as Array<{ email: string; role: string; status: string }>;
    expect(members).toContainEqual(expect.objectContaining({ email: owner.email, role: "owner", status: "active" }));
    expect(members).toContainEqual(expect.objectContaining({ email: viewer.email, role: "viewer", status: "active" }));
    expect(members.some((m) => m.email === other.email)).toBe(false);
    const invite = await t.call("POST", "/settings/invite", {
      token: owner.accessToken,
      body: { email: "auditor@acme.com", role: "viewer" },
    });
    expect(invite.status).toBe(201);
    expect(invite.body).toMatchObject({ success: true, invite_id: expect.any(String), expires_in: 604_800 });
    const accounts = await t.call("GET", "/settings/accounts", { token: owner.accessToken });
    expect(accounts.body).toEqual({ accounts: [], active_account: null, active_account_reason: null });
    expect(
      (await t.call("PATCH", "/settings/context", { token: owner.accessToken, body: { account_id: "nope" } })).status,
    ).toBe(404);
    expect(
      (await t.call("DELETE", "/settings/accounts", { token: owner.accessToken, body: { account_id: "nope" } })).status,
    ).toBe(404);
  });

  it("shows a ManagedCluster as an account, switches context to it, and hides it from other organisations", async () => {
    await t.client.create({
      apiVersion: "spotoptimizer.io/v1alpha1",
      kind: "ManagedCluster",
      metadata: { name: "prod-eu", namespace: owner.namespace },
      spec: {
        mode: "remote",
        displayName: "Acme Prod",
        region: "eu-west-1",
        aws: { nodeRole: "arn:aws:iam::123456789012:role/nodes" },
      },
    });
    const accounts = await eventually(async () => {
      const r = await t.call("GET", "/settings/accounts", { token: owner.accessToken });
      return r.body.accounts.length === 1 ? r.body.accounts : undefined;
    });
    expect(accounts[0]).toEqual({
      id: "prod-eu",
      alias: "Acme Prod",
      aws_account_id: "123456789012",
      region: "eu-west-1",
      status: "pending",
      connection_method: "agent",
      removing: false,
    });
    const ctx = await t.call("PATCH", "/settings/context", {
      token: viewer.accessToken,
      body: { account_id: "prod-eu" },
    });
    expect(ctx.status).toBe(200);
    expect(ctx.body).toMatchObject({ success: true, active_account: "Acme Prod" });
    await eventually(
      async () =>
        (await t.call("GET", "/settings/accounts", { token: viewer.accessToken })).body.active_account === "prod-eu",
    );
    expect((await t.call("GET", "/api/auth/me", { token: viewer.accessToken })).body.active_account).toBe("prod-eu");
    expect((await t.call("GET", "/api/auth/me", { token: owner.accessToken })).body.active_account).toBeNull();
    expect(
      (await t.call("PATCH", "/settings/context", { token: other.accessToken, body: { account_id: "prod-eu" } }))
        .status,
    ).toBe(404);
    expect(
      (await t.call("DELETE", "/settings/accounts", { token: other.accessToken, body: { account_id: "prod-eu" } }))
        .status,
    ).toBe(404);
    const del = await t.call("DELETE", "/settings/accounts", {
      token: owner.accessToken,
      body: { account_id: "prod-eu" },
    });
    expect(del.status).toBe(200);
    expect((await t.call("GET", "/settings/accounts", { token: owner.accessToken })).body.accounts).toEqual([]);
  });

  it("lets a super_admin act on an organisation only through X-Org-Id", async () => {
    const admin = (await t.call("POST", "/api/auth/token", { body: ADMIN })).body.access_token;
    expect((await t.call("GET", "/settings/team", { token: admin })).status).toBe(404);
    const team = await t.call("GET", "/settings/team", { token: admin, headers: { "x-org-id": owner.orgId } });
    expect(team.status).toBe(200);
    expect(team.body.members.some((m: { email: string }) => m.email === owner.email)).toBe(true);
    expect(
      (
        await t.call("GET", "/settings/team", {
          token: admin,
          headers: { "x-org-id": "00000000-0000-4000-8000-000000000000" },
        })
      ).status,
    ).toBe(404);
    // X-Org-Id means nothing for an organisation user.
    const own = await t.call("GET", "/settings/team", {
      token: other.accessToken,
      headers: { "x-org-id": owner.orgId },
    });
    expect(own.body.members.some((m: { email: string }) => m.email === owner.email)).toBe(false);
  });
});
