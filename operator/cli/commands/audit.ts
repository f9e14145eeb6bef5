// `spotctl audit verify <file>`: re-computes an audit export's hash chain and checksum, JSON or CSV (exit 0 ok, 1 tampered, 2 unreadable).
import { readFile } from "node:fs/promises";
import { rebuiltReason, verifyExport, type ChainAnchor } from "../../../src-shared/audit/chain.js";
import { parseAuditExportFile, verifyAuditCsv, type AuditExportFile } from "../../../src-shared/audit/csv.js";
import { parseFlags, UsageError, type CliCommand } from "../command.js";

const USAGE = `spotctl audit verify <export.json|export.csv> [--head <sha256-hex>]

Re-computes every entry hash, every prevHash link, the head and the checksum of a file
downloaded from GET /audit/export (its file_url, or ?download=true), either form: JSON
(default) or CSV (?format=csv; the checksum is also in its X-Audit-Checksum response
header). The form is recognised by the
content: a file starting with "{" is JSON, one starting with the header row
"record,seq,id,..." is CSV. A CSV file is converted back to the JSON export it was written
from (cells starting with ' lose that one protective quote; before/after are JSON) and then
checked exactly like a JSON file; problems are reported with the CSV row number (the header
is row 1), as a spreadsheet shows it.

An entry with an empty hash is reported as tampered (its hash was removed). A JSON export
also carries the head ConfigMap's recorded head (recorded_head); the entry at that
sequence must still have that hash, which catches a newest entry edited and re-hashed, and
the newest entry stored (stored_head), which may not be behind it: the newest entries deleted.

An export of a chain whose head ConfigMap was lost and rebuilt from the entries (its
head_rebuilt field, or the CSV "rebuilt" row) is never reported verified: nothing kept
outside the entries pinned the ones before the rebuild, so someone able to edit entries
and delete the ConfigMap could have trimmed or re-hashed them unnoticed (exit 3).

--head additionally compares the last hash with one obtained independently (an earlier
export, the head ConfigMap), which also catches a forger who re-computed the whole file.

Prints one JSON line. Exit codes:
  0  verified
  1  tampered: an entry was changed, deleted, inserted or reordered, or the head, the
     checksum or a CSV metadata row (anchor, head, checksum) was changed or removed; the
     first bad entry (first_bad_entry) and, for CSV, the first bad row (first_bad_row) are
     printed
  2  the file is unreadable or not an audit export (not JSON, not the CSV layout, a CSV
     row with the wrong number of cells or a cell that cannot be decoded)
  3  consistent, but the chain's head ConfigMap was rebuilt (or missing) when it was
     exported: status "rebuilt", with when and from which head`;

/** Either what to print for a file that does not verify, or the head it verified up to. */
function check(file: AuditExportFile): { failure: Record<string, unknown> } | { head: ChainAnchor } {
  if (file.kind === "json") {
    const verdict = verifyExport(file.doc);
    if (verdict.ok) return { head: verdict.head };
    const { index, id, reason } = verdict.problem;
    return { failure: { ok: false, first_bad_entry: { index, id }, reason } };
  }
  const verdict = verifyAuditCsv(file.csv);
  if (verdict.ok) return { head: verdict.head };
  const where = verdict.row === null ? "" : `row ${verdict.row}${verdict.entry ? ` (${verdict.entry.id})` : ""}: `;
  return {
    failure: {
      ok: false,
      first_bad_row: verdict.row,
      first_bad_entry: verdict.entry,
      reason: `${where}${verdict.reason}`,
    },
  };
}

async function readExport(path: string): Promise<AuditExportFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return parseAuditExportFile(text);
  } catch (err) {
    throw new UsageError(`${path}: ${(err as Error).message}`);
  }
}

async function verify(args: string[], io: Parameters<CliCommand["run"]>[1]): Promise<number> {
  const { flags, positional } = parseFlags(args, { values: ["head"] });
  if (positional.length !== 1) throw new UsageError("audit verify needs exactly one file");
  const expectedHead = flags.get("head")?.[0];
  // a value that cannot be a head is a typo, not evidence of tampering
  if (expectedHead !== undefined && !/^(sha256:)?[0-9a-f]{64}$/.test(expectedHead))
    throw new UsageError(
      `--head: must be a SHA-256 hash (64 hex digits, optionally sha256:), got ${JSON.stringify(expectedHead)}`,
    );
  const file = await readExport(positional[0]!);
  const result = check(file);
  if ("failure" in result) {
    io.stdout(JSON.stringify(result.failure) + "\n");
    return 1;
  }
  const { head } = result;
  if (expectedHead !== undefined && expectedHead.replace(/^sha256:/, "") !== head.hash) {
    io.stdout(
      JSON.stringify({
        ok: false,
        first_bad_entry: null,
        reason: `head ${head.hash} is not the expected ${expectedHead}`,
      }) + "\n",
    );
    return 1;
  }
  const doc = file.kind === "json" ? file.doc : file.csv.doc;
  if (doc.head_rebuilt) {
    const rebuilt = doc.head_rebuilt;
    io.stdout(
      JSON.stringify({ ok: false, status: "rebuilt", head, head_rebuilt: rebuilt, reason: rebuiltReason(rebuilt) }) +
        "\n",
    );
    return 3;
  }
  io.stdout(
    JSON.stringify({
      ok: true,
      status: "intact",
      format: file.kind,
      namespace: doc.namespace,
      entries: doc.entries.length,
      head,
      checksum: doc.checksum,
    }) + "\n",
  );
  return 0;
}

export const auditCommand: CliCommand = {
  usage: USAGE,
  run: async (args, io) => {
    const [sub, ...rest] = args;
    if (sub !== "verify")
      throw new UsageError(
        `unknown audit subcommand ${sub === undefined ? "(none)" : JSON.stringify(sub)}; try: spotctl audit verify <file>`,
      );
    return verify(rest, io);
  },
};
