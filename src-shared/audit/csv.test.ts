// Unit tests of the CSV audit export: RFC 4180 round trip, formula-safe cells, and tamper detection through verifyExport.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildEntry, buildExport, GENESIS_ANCHOR, type AuditExport } from "./chain.js";
import {
  AUDIT_CSV_COLUMNS,
  AuditCsvSyntaxError,
  auditExportCsv,
  escapeCell,
  parseAuditCsv,
  parseAuditExportFile,
  parseCsvRecords,
  unescapeCell,
  verifyAuditCsv,
} from "./csv.js";
import type { AuditInput, AuditRecord } from "./types.js";

const NASTY = [
  "=1+1",
  "+SUM(A1)",
  "-2+3",
  "@cmd",
  "\tx",
  "'quoted",
  'say "hi", then\r\nleave',
  "plain, with comma",
  "",
  "ünïcödé ✓",
];

function chain(inputs: Array<Partial<AuditInput>>, anchor = GENESIS_ANCHOR): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = anchor;
  inputs.forEach((input, i) => {
    const e = buildEntry(
      {
        namespace: "org-a",
        actor: "a@a.test",
        event: "PATCH /policies/binpack",
        resource: "cluster/prod",
        outcome: "success",
        ...input,
      },
      prev,
      new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    );
    out.push(e);
    prev = { sequence: e.seq, hash: e.hash };
  });
  return out;
}

function sample(): AuditExport {
  return buildExport(
    "org-a",
    chain([
      { before: { v: 1 }, after: { v: 2, note: '=HYPERLINK("http://x")' } },
      { actor: "=cmd|' /C calc'!A0", event: "@SUM(1)", resource: "-1+1", after: { list: [1, "a,b", null] } },
      { outcome: "denied" },
      { after: { text: 'multi\nline "quoted"' } },
    ]),
    GENESIS_ANCHOR,
  );
}

/** Every row of a CSV export as cells (header included), for editing in tests. */
function rows(csv: string): string[][] {
  return parseCsvRecords(csv);
}

/** Writes rows back the way a careful editor would: same quoting rules as the exporter. */
function unparse(records: string[][]): string {
  return (
    records.map((r) => r.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(",")).join("\r\n") +
    "\r\n"
  );
}

function verifyText(text: string): ReturnType<typeof verifyAuditCsv> {
  return verifyAuditCsv(parseAuditCsv(text));
}

describe("cell escaping", () => {
  it("prefixes every formula start with ' and takes it off again", () => {
    for (const v of NASTY) {
      const cell = escapeCell(v);
      expect(/^[=+\-@\t\r]/.test(cell)).toBe(false);
      expect(unescapeCell(cell)).toBe(v);
    }
    fc.assert(fc.property(fc.string(), (v) => unescapeCell(escapeCell(v)) === v));
  });

  it("refuses a ' that the exporter would not have written, so each value has one spelling", () => {
    expect(() => unescapeCell("'abc")).toThrow(/leading '/);
    expect(unescapeCell("''abc")).toBe("'abc");
  });
});

describe("RFC 4180 records", () => {
  it("reads quoted cells with commas, doubled quotes and line breaks; CRLF, LF and a missing final line end", () => {
    expect(parseCsvRecords('a,"b,c","d""e"\r\n"x\r\ny",,z')).toEqual([
      ["a", "b,c", 'd"e'],
      ["x\r\ny", "", "z"],
    ]);
    expect(parseCsvRecords("a\nb\n")).toEqual([["a"], ["b"]]);
  });

  it("rejects broken quoting with the row", () => {
    expect(() => parseCsvRecords('a\r\n"open,b')).toThrow(/row 2: a quoted cell is never closed/);
    expect(() => parseCsvRecords('a"b')).toThrow(/quote inside an unquoted cell/);
    expect(() => parseCsvRecords('"a"b')).toThrow(/after the closing quote/);
  });
});

describe("CSV audit export", () => {
  it("writes the header, anchor, entries, head and checksum rows; no cell starts a formula", () => {
    const doc = sample();
    const csv = auditExportCsv(doc);
    const records = rows(csv);
    expect(records[0]).toEqual([...AUDIT_CSV_COLUMNS]);
    expect(records.map((r) => r[0])).toEqual([
      "record",
      "anchor",
      "entry",
      "entry",
      "entry",
      "entry",
      "head",
      "checksum",
    ]);
    expect(records.at(-1)![AUDIT_CSV_COLUMNS.indexOf("hash")]).toBe(doc.checksum);
    for (const cell of records.flat()) expect(/^[=+\-@\t\r]/.test(cell)).toBe(false);
    expect(records[3]![AUDIT_CSV_COLUMNS.indexOf("actor")]).toBe("'=cmd|' /C calc'!A0");
    expect(csv.endsWith("\r\n")).toBe(true);
  });

  it("converts back to exactly the JSON export (same entries, same checksum) and verifies", () => {
    const doc = sample();
    const parsed = parseAuditCsv(auditExportCsv(doc));
    expect(parsed.doc).toEqual(doc);
    expect(parsed.entryRows).toEqual([3, 4, 5, 6]);
    expect(verifyAuditCsv(parsed)).toMatchObject({ ok: true, count: 4 });
  });

  it("round-trips any strings and JSON states", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            actor: fc.string(),
            event: fc.string(),
            resource: fc.string(),
            after: fc.option(fc.dictionary(fc.string(), fc.jsonValue()), { nil: undefined }),
          }),
          { maxLength: 4 },
        ),
        (inputs) => {
          const doc = buildExport("org-a", chain(inputs), GENESIS_ANCHOR);
          const parsed = parseAuditCsv(auditExportCsv(doc));
          expect(verifyAuditCsv(parsed).ok).toBe(true);
          expect(parsed.doc.checksum).toBe(doc.checksum);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("verifies an empty range and a range that starts at an anchor", () => {
    expect(verifyText(auditExportCsv(buildExport("org-a", [], GENESIS_ANCHOR))).ok).toBe(true);
    const full = chain([{}, {}, {}, {}]);
    expect(
      verifyText(auditExportCsv(buildExport("org-a", full.slice(2), { sequence: 1, hash: full[1]!.hash }))).ok,
    ).toBe(true);
  });

  it("names the row of any changed entry cell", () => {
    const records = rows(auditExportCsv(sample()));
    for (let r = 2; r <= 5; r++) {
      for (const column of [
        "seq",
        "id",
        "namespace",
        "timestamp",
        "actor",
        "event",
        "resource",
        "outcome",
        "before",
        "after",
        "prev_hash",
        "hash",
      ] as const) {
        const c = AUDIT_CSV_COLUMNS.indexOf(column);
        const edited = records.map((row) => [...row]);
        const old = edited[r]![c]!;
        edited[r]![c] =
          column === "seq"
            ? String(Number(old) + 7)
            : column === "before" || column === "after"
              ? '{"v":999}'
              : old === "x"
                ? "y"
                : "x";
        const verdict = verifyText(unparse(edited));
        expect(verdict.ok, `${column} of row ${r + 1}`).toBe(false);
        if (!verdict.ok) expect(verdict.row, `${column} of row ${r + 1}`).toBe(r + 1);
      }
    }
  });

  it("names the row after a deleted, inserted or moved entry row", () => {
    const records = rows(auditExportCsv(sample()));
    for (let r = 2; r <= 5; r++) {
      const deleted = records.filter((_, i) => i !== r);
      const verdict = verifyText(unparse(deleted));
      expect(verdict.ok).toBe(false);
      // The row that now takes the deleted one's place (the head row when the last entry went).
      if (!verdict.ok) expect(verdict.row).toBe(r + 1);
    }
    const swapped = records.map((row) => [...row]);
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    const verdict = verifyText(unparse(swapped));
    expect(verdict).toMatchObject({ ok: false, row: 4 });
    const duplicated = [...records.slice(0, 4), records[3]!, ...records.slice(4)];
    expect(verifyText(unparse(duplicated))).toMatchObject({ ok: false, row: 5 });
  });

  it("fails on a changed or removed anchor, head or checksum row, and on stray values in metadata rows", () => {
    const records = rows(auditExportCsv(sample()));
    const edit = (r: number, column: string, value: string): ReturnType<typeof verifyAuditCsv> => {
      const edited = records.map((row) => [...row]);
      edited[r]![AUDIT_CSV_COLUMNS.indexOf(column as (typeof AUDIT_CSV_COLUMNS)[number])] = value;
      return verifyText(unparse(edited));
    };
    expect(edit(7, "hash", "sha256:" + "0".repeat(64))).toMatchObject({
      ok: false,
      row: 8,
      reason: expect.stringMatching(/checksum/),
    });
    expect(edit(7, "id", "spotoptimizer.io/audit-export@v2")).toMatchObject({ ok: false, row: 8 });
    expect(edit(7, "namespace", "org-b")).toMatchObject({ ok: false, row: 8 });
    expect(edit(1, "namespace", "org-b")).toMatchObject({ ok: false, row: 2 });
    expect(edit(6, "hash", "0".repeat(64))).toMatchObject({ ok: false, row: 7 });
    expect(edit(6, "seq", "9")).toMatchObject({ ok: false, row: 7 });
    expect(edit(1, "hash", "0".repeat(64))).toMatchObject({ ok: false, row: 3 });
    expect(edit(6, "actor", "mallory")).toMatchObject({
      ok: false,
      row: 7,
      reason: expect.stringMatching(/column actor/),
    });
    for (const [r, kind] of [
      [1, "anchor"],
      [6, "head"],
      [7, "checksum"],
    ] as const) {
      const verdict = verifyText(unparse(records.filter((_, i) => i !== r)));
      expect(verdict).toMatchObject({ ok: false, row: null, reason: `the ${kind} row is missing` });
    }
    // Truncated at the end together with the head row: still missing, never "verified".
    expect(verifyText(unparse([...records.slice(0, 4), records[7]!])).ok).toBe(false);
  });

  it("is a syntax error (not a verdict) when the file cannot be read as the CSV layout", () => {
    const csv = auditExportCsv(sample());
    const records = rows(csv);
    const bad = (text: string, message: RegExp): void => {
      expect(() => parseAuditCsv(text)).toThrow(AuditCsvSyntaxError);
      expect(() => parseAuditCsv(text)).toThrow(message);
    };
    bad("id,seq\r\n", /first row must be record,seq,id/);
    bad(unparse([records[0]!, records[1]!.slice(1)]), /row 2: 12 cells, expected 13/);
    bad(
      unparse([records[0]!, ["entry", ...records[2]!.slice(1, 9), "{oops", ...records[2]!.slice(10)]]),
      /row 2, column before: not JSON/,
    );
    bad(unparse([records[0]!, ["entry", "01", ...records[2]!.slice(2)]]), /row 2, column seq: not an integer/);
    bad(unparse([records[0]!, ["intry", ...records[2]!.slice(1)]]), /row 2, column record/);
    bad(
      unparse([records[0]!, ["entry", ...records[2]!.slice(1, 5), "'mallory", ...records[2]!.slice(6)]]),
      /row 2, column actor: a leading '/,
    );
  });

  it("recognises JSON and CSV files by their content", () => {
    const doc = sample();
    expect(parseAuditExportFile(JSON.stringify(doc)).kind).toBe("json");
    expect(parseAuditExportFile(auditExportCsv(doc)).kind).toBe("csv");
    expect(parseAuditExportFile("\uFEFF" + auditExportCsv(doc)).kind).toBe("csv");
    expect(() => parseAuditExportFile("hello")).toThrow(/neither JSON nor a CSV/);
    expect(() => parseAuditExportFile("{{")).toThrow(/not JSON/);
  });
});
