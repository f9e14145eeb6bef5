// GET /audit/export's file_url through real HTTP: a signed link that downloads the same document (JSON or CSV) with its
// checksum header without a token, refuses another organisation, an altered expiry, format or signature, and expires.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCsvRecords } from "../../src-shared/audit/csv.js";
import { ADMIN, startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

let t: TestFacade;
let a: SignedUp;
let b: SignedUp;
let nowMs = Date.now();

beforeAll(async () => {
  t = await startTestFacade({ now: () => new Date(nowMs) });
  a = await t.signup("Link Corp");
  b = await t.signup("Other Corp");
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

const download = (url: string): Promise<Response> => fetch(url);

/** The link with one query parameter replaced. */
function altered(fileUrl: string, key: string, value: string): string {
  const u = new URL(fileUrl);
  u.searchParams.set(key, value);
  return u.toString();
}

async function expectRefused(url: string, detail: RegExp): Promise<void> {
  const r = await download(url);
  expect(r.status).toBe(403);
  expect(((await r.json()) as { detail: string }).detail).toMatch(detail);
}

describe("GET /audit/export file_url", () => {
  it("is a signed link on the public URL that serves the export with its checksum, then expires", async () => {
    const res = await t.call("GET", "/audit/export", { token: a.accessToken });
    expect(res.status).toBe(200);
    const { file_url: fileUrl, checksum, expires_in: expiresIn, count } = res.body;
    expect(expiresIn).toBe(3600);
    expect(fileUrl.startsWith(`${t.url}/audit/export/file?`)).toBe(true);
    expect(new URL(fileUrl).searchParams.get("sig")).toBeTruthy();

    const file = await download(fileUrl);
    expect(file.status).toBe(200);
    expect(file.headers.get("x-audit-checksum")).toBe(checksum);
    expect(file.headers.get("cache-control")).toBe("no-store");
    const doc = (await file.json()) as { checksum: string; count: number; namespace: string };
    expect(doc).toMatchObject({ checksum, count, namespace: a.namespace });

    // An entry written after the link was issued: the link still serves the document it was issued for.
    const patched = await t.call("PATCH", "/audit/retention", { token: a.accessToken, body: { retention_days: 3650 } });
    expect(patched.status).toBe(200);
    expect((await t.call("GET", "/audit/export", { token: a.accessToken })).body.count).toBe(count + 1);
    const again = await download(fileUrl);
    expect(again.headers.get("x-audit-checksum")).toBe(checksum);
    expect(((await again.json()) as { count: number }).count).toBe(count);

    // Altered: another organisation, a later expiry, another format, another signature.
    const exp = Number(new URL(fileUrl).searchParams.get("exp"));
    await expectRefused(altered(fileUrl, "org", b.namespace), /not valid/);
    await expectRefused(altered(fileUrl, "exp", String(exp + 86_400)), /not valid/);
    await expectRefused(altered(fileUrl, "format", "csv"), /not valid/);
    await expectRefused(altered(fileUrl, "start_date", "2000-01-01"), /not valid/);
    await expectRefused(altered(fileUrl, "upto", String(count)), /not valid/);
    await expectRefused(altered(fileUrl, "sig", "A".repeat(43)), /not valid/);

    // expires_in later the same link is refused; a second before, it is still served.
    nowMs += expiresIn * 1000;
    await expectRefused(fileUrl, /expired/);
    nowMs -= expiresIn * 1000 - 1000;
    expect((await download(fileUrl)).status).toBe(200);
  }, 30_000);

  it("format=csv answers JSON whose file_url serves the CSV file with the same checksum", async () => {
    const res = await t.call("GET", "/audit/export?format=csv", { token: a.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.expires_in).toBe(3600);
    const file = await download(res.body.file_url);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(file.headers.get("x-audit-checksum")).toBe(res.body.checksum);
    const rows = parseCsvRecords(await file.text());
    const checksumRow = rows.find((r) => r[0] === "checksum");
    expect(checksumRow).toContain(res.body.checksum);
    expect(rows.filter((r) => r[0] === "entry")).toHaveLength(res.body.count);
    await expectRefused(altered(res.body.file_url, "format", "json"), /not valid/);
  }, 30_000);

  it("each organisation's link serves its own chain only", async () => {
    const res = await t.call("GET", "/audit/export", { token: b.accessToken });
    const doc = (await (await download(res.body.file_url)).json()) as { namespace: string; checksum: string };
    expect(doc.namespace).toBe(b.namespace);
    expect(doc.checksum).toBe(res.body.checksum);
  }, 30_000);

  it("answers 404 once its organisation is deleted, not an empty chain that verifies", async () => {
    const gone = await t.signup("Gone Corp");
    const res = await t.call("GET", "/audit/export", { token: gone.accessToken });
    expect((await download(res.body.file_url)).status).toBe(200);
    const login = await t.call("POST", "/api/auth/token", { body: { email: ADMIN.email, password: ADMIN.password } });
    const orgId = gone.namespace.replace(/^org-/, "");
    const deleted = await t.call("DELETE", `/admin/clients/${orgId}`, { token: login.body.access_token });
    expect(deleted.status).toBe(200);
    const after = await download(res.body.file_url);
    expect(after.status).toBe(404);
    expect(((await after.json()) as { detail: string }).detail).toMatch(/not found/);
  }, 30_000);
});
