// `spotctl audit verify` through the real dispatcher, JSON and CSV files: exit 0 on a good export, 1 on tampering, 2 on unreadable input.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildEntry, buildExport, GENESIS_ANCHOR, type AuditExport } from "../../../src-shared/audit/chain.js";
import { auditExportCsv } from "../../../src-shared/audit/csv.js";
import type { AuditRecord } from "../../../src-shared/audit/types.js";
import { runCli } from "../main.js";
import { commands } from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "spotctl-audit-"));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(args, commands, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

function exportDoc(): AuditExport {
  const entries: AuditRecord[] = [];
  let prev = GENESIS_ANCHOR;
  for (let i = 0; i < 4; i++) {
    const e = buildEntry(
      {
        namespace: "org-a",
        actor: i === 1 ? "=1+1" : "a@a.test",
        event: `e${i}`,
        resource: "r",
        outcome: "success",
        after: { i },
      },
      prev,
      "2026-01-01T00:00:00.000Z",
    );
    entries.push(e);
    prev = { sequence: e.seq, hash: e.hash };
  }
  return buildExport("org-a", entries, GENESIS_ANCHOR);
}

function csvFile(name: string, edit?: (lines: string[]) => string[]): string {
  const lines = auditExportCsv(exportDoc()).split("\r\n");
  const path = join(dir, name);
  writeFileSync(path, (edit ? edit(lines) : lines).join("\r\n"));
  return path;
}

function exportFile(name: string, mutate?: (entries: AuditRecord[]) => void): string {
  const entries: AuditRecord[] = [];
  let prev = GENESIS_ANCHOR;
  for (let i = 0; i < 4; i++) {
    const e = buildEntry(
      { namespace: "org-a", actor: "a@a.test", event: `e${i}`, resource: "r", outcome: "success", after: { i } },
      prev,
      "2026-01-01T00:00:00.000Z",
    );
    entries.push(e);
    prev = { sequence: e.seq, hash: e.hash };
  }
  const doc = buildExport("org-a", entries, GENESIS_ANCHOR);
  mutate?.(doc.entries);
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

describe("spotctl audit verify", () => {
  it("exits 0 for an untouched export", async () => {
    const r = await run("audit", "verify", exportFile("ok.json"));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, entries: 4 });
  });

  it("exits 1 naming the first bad entry when an entry was changed or deleted", async () => {
    const changed = await run(
      "audit",
      "verify",
      exportFile("changed.json", (e) => (e[2]!.event = "nothing happened")),
    );
    expect(changed.code).toBe(1);
    expect(JSON.parse(changed.out).first_bad_entry).toEqual({ index: 2, id: "audit-000000000002" });
    const deleted = await run(
      "audit",
      "verify",
      exportFile("deleted.json", (e) => e.splice(1, 1)),
    );
    expect(deleted.code).toBe(1);
    expect(JSON.parse(deleted.out).first_bad_entry.index).toBe(1);
  });

  it("exits 1 when the head differs from an independently known one", async () => {
    const r = await run("audit", "verify", exportFile("head.json"), "--head", "0".repeat(64));
    expect(r.code).toBe(1);
    // the real head with the prefix the head ConfigMap shows verifies
    const prefixed = `sha256:${exportDoc().head.hash}`;
    expect((await run("audit", "verify", csvFile("head-prefixed.csv"), "--head", prefixed)).code).toBe(0);
  });

  it("exits 2 for a --head that is no SHA-256 hash (a typo, not a tampered file)", async () => {
    const r = await run("audit", "verify", exportFile("head.json"), "--head", "abc");
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(/--head: must be a SHA-256 hash .*"abc"$/);
  });

  it("exits 2 on unreadable or foreign input", async () => {
    expect((await run("audit", "verify", join(dir, "missing.json"))).code).toBe(2);
    const notJson = join(dir, "bad.json");
    writeFileSync(notJson, "{{{");
    const r = await run("audit", "verify", notJson);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not JSON/);
    expect((await run("audit", "verify")).code).toBe(2);
    expect((await run("audit", "check")).code).toBe(2);
  });

  it("verifies a CSV export (recognised by its content) with the same checksum as the JSON one", async () => {
    const r = await run("audit", "verify", csvFile("ok.csv"));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, format: "csv", entries: 4, checksum: exportDoc().checksum });
    // The extension means nothing: a CSV named .json is still read as CSV.
    expect((await run("audit", "verify", csvFile("csv-named.json"))).code).toBe(0);
    expect((await run("audit", "verify", csvFile("head-ok.csv"), "--head", exportDoc().head.hash)).code).toBe(0);
    expect((await run("audit", "verify", csvFile("head-bad.csv"), "--head", "0".repeat(64))).code).toBe(1);
  });

  it("exits 1 naming the first bad CSV row when a cell, a row or the checksum was changed", async () => {
    // Lines: 0 header, 1 anchor, 2-5 entries, 6 head, 7 checksum.
    const changed = await run(
      "audit",
      "verify",
      csvFile("changed.csv", (l) => l.map((line, i) => (i === 4 ? line.replace(",e2,", ",nothing happened,") : line))),
    );
    expect(changed.code).toBe(1);
    expect(JSON.parse(changed.out)).toMatchObject({
      first_bad_row: 5,
      first_bad_entry: { index: 2, id: "audit-000000000002" },
      reason: expect.stringMatching(/^row 5 \(audit-000000000002\): /),
    });
    const deleted = await run(
      "audit",
      "verify",
      csvFile("deleted.csv", (l) => l.filter((_, i) => i !== 3)),
    );
    expect(deleted.code).toBe(1);
    expect(JSON.parse(deleted.out).first_bad_row).toBe(4);
    const checksum = await run(
      "audit",
      "verify",
      csvFile("checksum.csv", (l) =>
        l.map((line, i) => (i === 7 ? line.replace(/sha256:[0-9a-f]{4}/, "sha256:0000") : line)),
      ),
    );
    expect(checksum.code).toBe(1);
    expect(JSON.parse(checksum.out)).toMatchObject({ first_bad_row: 8, reason: expect.stringMatching(/checksum/) });
    const noHead = await run(
      "audit",
      "verify",
      csvFile("nohead.csv", (l) => l.filter((_, i) => i !== 6)),
    );
    expect(noHead.code).toBe(1);
    expect(JSON.parse(noHead.out).reason).toMatch(/head row is missing/);
  });

  it("exits 2 with one line on a malformed CSV", async () => {
    const unclosed = await run(
      "audit",
      "verify",
      csvFile("unclosed.csv", (l) => l.map((line, i) => (i === 3 ? line.replace(",e1,", ',"e1,') : line))),
    );
    expect(unclosed.code).toBe(2);
    // The stray quote pairs with a later one; the row where the quoting went wrong is named.
    expect(unclosed.err).toMatch(/unclosed.csv: row 4: /);
    const short = await run(
      "audit",
      "verify",
      csvFile("short.csv", (l) => l.map((line, i) => (i === 2 ? line.replace(",e0,", ",") : line))),
    );
    expect(short.code).toBe(2);
    expect(short.err).toMatch(/row 3: 12 cells, expected 13/);
    const header = await run(
      "audit",
      "verify",
      csvFile("header.csv", (l) => ["record,seq,id", ...l.slice(1)]),
    );
    expect(header.code).toBe(2);
    expect(header.err).toMatch(/first row must be/);
    const neither = join(dir, "neither.txt");
    writeFileSync(neither, "hello");
    expect((await run("audit", "verify", neither)).code).toBe(2);
  });

  it("exits 3 for a consistent export of a chain whose head was rebuilt, JSON or CSV, and 2 for a broken rebuilt row", async () => {
    const rebuilt = { at: "2026-01-02T00:00:00.000Z", sequence: 1, hash: "ab", entries: 2 };
    const doc = { ...exportDoc(), head_rebuilt: rebuilt };
    const json = join(dir, "rebuilt.json");
    writeFileSync(json, JSON.stringify(doc));
    const fromJson = await run("audit", "verify", json);
    expect(fromJson.code).toBe(3);
    expect(JSON.parse(fromJson.out)).toMatchObject({ ok: false, status: "rebuilt", head_rebuilt: rebuilt });
    const csv = join(dir, "rebuilt.csv");
    writeFileSync(csv, auditExportCsv(doc));
    const fromCsv = await run("audit", "verify", csv);
    expect(fromCsv.code).toBe(3);
    expect(JSON.parse(fromCsv.out)).toMatchObject({ status: "rebuilt", head_rebuilt: rebuilt });
    // Tampering still wins over the rebuild; a repeated rebuilt row is a problem (1), an unreadable one unreadable (2).
    const tampered = structuredClone(doc);
    tampered.entries[2]!.actor = "mallory@evil.test";
    writeFileSync(json, JSON.stringify(tampered));
    expect((await run("audit", "verify", json)).code).toBe(1);
    const lines = auditExportCsv(doc).split("\r\n");
    const at = lines.findIndex((l) => l.startsWith("rebuilt,"));
    writeFileSync(csv, [...lines.slice(0, at + 1), lines[at], ...lines.slice(at + 1)].join("\r\n"));
    expect((await run("audit", "verify", csv)).code).toBe(1);
    writeFileSync(csv, lines.map((l, i) => (i === at ? l.replace('"entries"', '"count"') : l)).join("\r\n"));
    expect((await run("audit", "verify", csv)).code).toBe(2);
  });
});
