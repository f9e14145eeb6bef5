// CSV form of an audit export (RFC 4180, formula-safe cells) that converts back to the JSON export, so one verifier checks both.
import {
  canonicalJson,
  EXPORT_FORMAT,
  HeadRebuildSchema,
  parseAuditExport,
  verifyExport,
  type AuditExport,
  type ChainAnchor,
  type HeadRebuild,
} from "./chain.js";
import type { AuditOutcome, AuditRecord } from "./types.js";
import { csvField, unescapeCell } from "../csv.js";

export { escapeCell, unescapeCell } from "../csv.js";

/** The header row; it is also how a CSV export is recognised. Order matters. */
export const AUDIT_CSV_COLUMNS = [
  "record",
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
] as const;

type Column = (typeof AUDIT_CSV_COLUMNS)[number];
type RecordKind = "anchor" | "entry" | "head" | "checksum" | "rebuilt";

/** Columns a metadata row fills; every other cell of it must be empty. Entry rows fill every column. */
const METADATA_COLUMNS: Record<Exclude<RecordKind, "entry">, Column[]> = {
  anchor: ["record", "seq", "namespace", "hash"],
  head: ["record", "seq", "namespace", "hash"],
  checksum: ["record", "id", "namespace", "hash"],
  // Only when the head ConfigMap was rebuilt: the JSON export's head_rebuilt, as canonical JSON.
  rebuilt: ["record", "namespace", "after"],
};

function csvLine(cells: string[]): string {
  return cells.map(csvField).join(",");
}

function metadataRow(kind: RecordKind, values: Partial<Record<Column, string>>): string[] {
  return AUDIT_CSV_COLUMNS.map((c) => (c === "record" ? kind : (values[c] ?? "")));
}

/** before/after cell: empty for null, else canonical JSON (so the value, and with it the hash, survives the round trip). */
function stateCell(value: unknown): string {
  return value === null || value === undefined ? "" : canonicalJson(value);
}

/**
 * The CSV export: header, one `anchor` row, one `entry` row per entry in chain order, one `head` row and one
 * `checksum` row (whose `id` cell holds the format). CRLF line ends. The checksum is the JSON export's: it
 * covers the JSON document this file converts back to (see parseAuditCsv and docs/audit.md).
 */
export function auditExportCsv(doc: AuditExport): string {
  const rows: string[][] = [[...AUDIT_CSV_COLUMNS]];
  rows.push(
    metadataRow("anchor", { seq: String(doc.anchor.sequence), namespace: doc.namespace, hash: doc.anchor.hash }),
  );
  for (const e of doc.entries) {
    rows.push([
      "entry",
      String(e.seq),
      e.id,
      e.namespace,
      e.timestamp,
      e.actor,
      e.event,
      e.resource,
      e.outcome,
      stateCell(e.before),
      stateCell(e.after),
      e.prevHash,
      e.hash,
    ]);
  }
  rows.push(metadataRow("head", { seq: String(doc.head.sequence), namespace: doc.namespace, hash: doc.head.hash }));
  if (doc.head_rebuilt)
    rows.push(metadataRow("rebuilt", { namespace: doc.namespace, after: canonicalJson(doc.head_rebuilt) }));
  rows.push(metadataRow("checksum", { id: doc.format, namespace: doc.namespace, hash: doc.checksum }));
  return rows.map(csvLine).join("\r\n") + "\r\n";
}

/** A file that is not a readable audit CSV (syntax, header, a cell that cannot be decoded): exit 2 territory. */
export class AuditCsvSyntaxError extends Error {
  override name = "AuditCsvSyntaxError";
}

/** A quoted cell starting at `start` (the opening quote): its value and the index after the closing quote. */
function readQuoted(text: string, start: number, row: number): { value: string; end: number } {
  let value = "";
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) throw new AuditCsvSyntaxError(`row ${row}: a quoted cell is never closed`);
    value += text.slice(from, quote);
    if (text[quote + 1] !== '"') return { value, end: quote + 1 };
    value += '"';
    from = quote + 2;
  }
}

const CELL_END = /[",\r\n]/g;

/** An unquoted cell starting at `start`: its value and the index of the character that ends it. */
function readPlain(text: string, start: number, row: number): { value: string; end: number } {
  CELL_END.lastIndex = start;
  const end = CELL_END.exec(text)?.index ?? text.length;
  if (text[end] === '"') throw new AuditCsvSyntaxError(`row ${row}: a quote inside an unquoted cell`);
  return { value: text.slice(start, end), end };
}

/** Where the next record starts after the end of a cell at `i` that is not followed by a comma. */
function afterLineEnd(text: string, i: number, row: number): number {
  const next = text[i];
  if (next !== undefined && next !== "\r" && next !== "\n")
    throw new AuditCsvSyntaxError(`row ${row}: text after the closing quote of a cell`);
  return i + (next === "\r" && text[i + 1] === "\n" ? 2 : 1);
}

/**
 * RFC 4180 records (CRLF, LF or CR line ends; a final line end is optional). Row numbers are 1-based and
 * count every record, blank ones included, so they match the rows a spreadsheet shows.
 */
export function parseCsvRecords(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  while (i < text.length) {
    const row = records.length + 1;
    const cell = text[i] === '"' ? readQuoted(text, i, row) : readPlain(text, i, row);
    record.push(cell.value);
    i = cell.end;
    const next = text[i];
    if (next === ",") {
      i++;
      // A trailing comma at the very end still opens one (empty) last cell.
      if (i === text.length) record.push("");
      continue;
    }
    i = afterLineEnd(text, i, row);
    records.push(record);
    record = [];
  }
  if (record.length > 0) records.push(record);
  return records;
}

/** A row that reads fine but does not conform (missing or repeated metadata row, stray value): exit 1 territory. */
export interface CsvRowProblem {
  /** 1-based row (the header is row 1); null when the problem is a row that is missing. */
  row: number | null;
  reason: string;
}

/** A CSV export converted back to the JSON export it was written from, with where each part came from. */
export interface ParsedAuditCsv {
  doc: AuditExport;
  /** Row of each entry of doc.entries. */
  entryRows: number[];
  anchorRow: number | null;
  headRow: number | null;
  checksumRow: number | null;
  problems: CsvRowProblem[];
}

/** Canonical integers only (no "-0", "01", "+1"), so every other spelling of a number fails instead of passing as it. */
const INTEGER = /^(0|-?[1-9][0-9]*)$/;

type MetaKind = Exclude<RecordKind, "entry">;
/** The metadata rows every export has; `rebuilt` is there only for a chain whose head ConfigMap was rebuilt. */
const META_KINDS: MetaKind[] = ["anchor", "head", "checksum"];

/** One data row after unescaping, with helpers that decode typed cells or throw naming row and column. */
class DecodedRow {
  readonly values = {} as Record<Column, string>;

  constructor(
    readonly row: number,
    cells: string[],
  ) {
    if (cells.length !== AUDIT_CSV_COLUMNS.length) {
      throw new AuditCsvSyntaxError(`row ${row}: ${cells.length} cells, expected ${AUDIT_CSV_COLUMNS.length}`);
    }
    AUDIT_CSV_COLUMNS.forEach((column, i) => {
      try {
        this.values[column] = unescapeCell(cells[i]!);
      } catch (err) {
        throw this.error(column, (err as Error).message);
      }
    });
  }

  error(column: Column, message: string): AuditCsvSyntaxError {
    return new AuditCsvSyntaxError(`row ${this.row}, column ${column}: ${message}`);
  }

  integer(column: Column): number {
    const n = Number(this.values[column]);
    if (!INTEGER.test(this.values[column]) || !Number.isSafeInteger(n)) throw this.error(column, "not an integer");
    return n;
  }

  /** Empty is null, anything else JSON. */
  state(column: Column): unknown {
    if (this.values[column] === "") return null;
    try {
      return JSON.parse(this.values[column]) as unknown;
    } catch {
      throw this.error(column, "not JSON");
    }
  }

  kind(): RecordKind {
    const kind = this.values.record;
    if (kind === "entry" || kind === "anchor" || kind === "head" || kind === "checksum" || kind === "rebuilt")
      return kind;
    throw this.error("record", `${JSON.stringify(kind)} is not anchor, entry, head, rebuilt or checksum`);
  }

  entry(): AuditRecord {
    const v = this.values;
    return {
      id: v.id,
      namespace: v.namespace,
      seq: this.integer("seq"),
      timestamp: v.timestamp,
      actor: v.actor,
      event: v.event,
      resource: v.resource,
      // Not checked here: an unknown outcome simply fails that entry's hash.
      outcome: v.outcome as AuditOutcome,
      before: this.state("before"),
      after: this.state("after"),
      prevHash: v.prev_hash,
      hash: v.hash,
    };
  }
}

/** Missing metadata rows, and the one whose namespace disagrees with the other two (the changed one). */
function metadataProblems(meta: Partial<Record<MetaKind, DecodedRow>>): {
  namespace: string;
  problems: CsvRowProblem[];
} {
  const problems: CsvRowProblem[] = [];
  for (const kind of META_KINDS) if (!meta[kind]) problems.push({ row: null, reason: `the ${kind} row is missing` });
  const named = META_KINDS.flatMap((k) => (meta[k] ? [meta[k].values.namespace] : []));
  const namespace = named.find((n, i) => named.indexOf(n) !== i) ?? named[0] ?? "";
  for (const kind of [...META_KINDS, "rebuilt" as const]) {
    const m = meta[kind];
    if (m && m.values.namespace !== namespace) {
      problems.push({
        row: m.row,
        reason: `the ${kind} row names namespace ${JSON.stringify(m.values.namespace)}, not ${JSON.stringify(namespace)}`,
      });
    }
  }
  return { namespace, problems };
}

function rowOf(m: DecodedRow | undefined): number | null {
  return m ? m.row : null;
}

function linkOf(m: DecodedRow | undefined): ChainAnchor {
  return m ? { sequence: Number(m.values.seq), hash: m.values.hash } : { sequence: Number.NaN, hash: "" };
}

/** Records an anchor/head/checksum row; a repeated one, or one with a value where it has none, is a problem. */
function addMetadataRow(
  meta: Partial<Record<MetaKind, DecodedRow>>,
  kind: MetaKind,
  decoded: DecodedRow,
): CsvRowProblem | undefined {
  if (kind === "anchor" || kind === "head") decoded.integer("seq");
  const first = meta[kind];
  if (first) return { row: decoded.row, reason: `a second ${kind} row (the first is row ${first.row})` };
  meta[kind] = decoded;
  const stray = AUDIT_CSV_COLUMNS.find((c) => !METADATA_COLUMNS[kind].includes(c) && decoded.values[c] !== "");
  return stray
    ? { row: decoded.row, reason: `the ${kind} row has a value in column ${stray}, which it does not use` }
    : undefined;
}

/** The `rebuilt` row's record; a cell that is not one is unreadable (the row says the chain's head was rebuilt). */
function rebuiltOf(row: DecodedRow): HeadRebuild {
  const parsed = HeadRebuildSchema.safeParse(row.state("after"));
  if (!parsed.success) throw row.error("after", "not a head rebuild record");
  return parsed.data;
}

/** Parses an audit CSV export; throws AuditCsvSyntaxError (one line, naming row and column) when it cannot be read. */
export function parseAuditCsv(text: string): ParsedAuditCsv {
  const records = parseCsvRecords(text.replace(/^\uFEFF/, ""));
  if (records[0]?.join(",") !== AUDIT_CSV_COLUMNS.join(",")) {
    throw new AuditCsvSyntaxError(`not an audit CSV export: the first row must be ${AUDIT_CSV_COLUMNS.join(",")}`);
  }
  const problems: CsvRowProblem[] = [];
  const entries: AuditRecord[] = [];
  const entryRows: number[] = [];
  const meta: Partial<Record<MetaKind, DecodedRow>> = {};
  records.forEach((cells, r) => {
    // Row r + 1; the header is row 1. Blank lines are skipped but keep their row number.
    if (r === 0 || (cells.length === 1 && cells[0] === "")) return;
    const decoded = new DecodedRow(r + 1, cells);
    const kind = decoded.kind();
    if (kind === "entry") {
      entries.push(decoded.entry());
      entryRows.push(decoded.row);
      return;
    }
    const problem = addMetadataRow(meta, kind, decoded);
    if (problem) problems.push(problem);
  });
  const checked = metadataProblems(meta);
  const rebuilt = meta.rebuilt ? rebuiltOf(meta.rebuilt) : undefined;
  const doc: AuditExport = {
    // Cast: a changed format cell is not rejected here but fails the checksum, which covers it.
    format: (meta.checksum?.values.id ?? "") as typeof EXPORT_FORMAT,
    namespace: checked.namespace,
    anchor: linkOf(meta.anchor),
    head: linkOf(meta.head),
    count: entries.length,
    entries,
    checksum: meta.checksum?.values.hash ?? "",
    ...(rebuilt ? { head_rebuilt: rebuilt } : {}),
  };
  return {
    doc,
    entryRows,
    anchorRow: rowOf(meta.anchor),
    headRow: rowOf(meta.head),
    checksumRow: rowOf(meta.checksum),
    problems: [...problems, ...checked.problems],
  };
}

export type CsvVerdict =
  | { ok: true; count: number; head: ChainAnchor }
  | {
      ok: false;
      /** 1-based row of the first row that does not verify (null: a required row is missing). */
      row: number | null;
      /** The entry at that row, when it is an entry row. */
      entry: { index: number; id: string } | null;
      reason: string;
    };

/** Verifies a parsed CSV export with the JSON export's verifier (verifyExport) and names the first bad row. */
export function verifyAuditCsv(parsed: ParsedAuditCsv): CsvVerdict {
  const missing = parsed.problems.find((p) => p.row === null);
  if (missing) return { ok: false, row: null, entry: null, reason: missing.reason };
  const verdict = verifyExport(parsed.doc);
  const candidates: Array<Extract<CsvVerdict, { ok: false }>> = parsed.problems.map((p) => ({
    ok: false,
    row: p.row,
    entry: null,
    reason: p.reason,
  }));
  if (!verdict.ok) {
    const { index, id, reason, at } = verdict.problem;
    if (index < parsed.entryRows.length) {
      candidates.push({ ok: false, row: parsed.entryRows[index]!, entry: { index, id }, reason });
    } else {
      candidates.push({ ok: false, row: at === "head" ? parsed.headRow : parsed.checksumRow, entry: null, reason });
    }
  }
  if (verdict.ok && candidates.length === 0) return verdict;
  return candidates.reduce((a, b) => ((b.row ?? Infinity) < (a.row ?? Infinity) ? b : a));
}

/** An export file of either form, recognised by its content. */
export type AuditExportFile = { kind: "json"; doc: AuditExport } | { kind: "csv"; csv: ParsedAuditCsv };

/** JSON when the text starts with `{`, CSV when it starts with the CSV header; throws a one-line Error otherwise. */
export function parseAuditExportFile(text: string): AuditExportFile {
  const body = text.replace(/^\uFEFF/, "");
  if (body.trimStart().startsWith("{")) return { kind: "json", doc: parseAuditExport(body) };
  if (body.startsWith(`${AUDIT_CSV_COLUMNS[0]},`)) return { kind: "csv", csv: parseAuditCsv(body) };
  throw new Error(`not an audit export: neither JSON nor a CSV whose first row is ${AUDIT_CSV_COLUMNS.join(",")}`);
}
