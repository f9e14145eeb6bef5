// `spotctl audit verify <file>`: re-computes an audit export's hash chain and checksum (exit 0 ok, 1 tampered, 2 unreadable).
import { readFile } from "node:fs/promises";
import { parseAuditExport, verifyExport } from "../../../src-shared/audit/chain.js";
import { parseFlags, UsageError, type CliCommand } from "../command.js";

const USAGE = `spotctl audit verify <export.json> [--head <sha256-hex>]

Re-computes every entry hash, every prevHash link, the head and the checksum of a file
downloaded from GET /audit/export (JSON). --head additionally compares the last hash with
one obtained independently (e.g. an earlier export or the facade's response), which also
catches a forger who re-computed the whole file.

Exit codes: 0 verified; 1 an entry was changed, deleted, inserted or reordered (the first
bad entry is printed); 2 the file is unreadable or not an audit export.`;

async function verify(args: string[], io: Parameters<CliCommand["run"]>[1]): Promise<number> {
  const { flags, positional } = parseFlags(args, { values: ["head"] });
  if (positional.length !== 1) throw new UsageError("audit verify needs exactly one file");
  let text: string;
  try {
    text = await readFile(positional[0]!, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${positional[0]}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc;
  try {
    doc = parseAuditExport(text);
  } catch (err) {
    throw new UsageError(`${positional[0]}: ${(err as Error).message}`);
  }
  const verdict = verifyExport(doc);
  if (!verdict.ok) {
    const { index, id, reason } = verdict.problem;
    io.stdout(JSON.stringify({ ok: false, first_bad_entry: { index, id }, reason }) + "\n");
    return 1;
  }
  const expectedHead = flags.get("head")?.[0];
  if (expectedHead !== undefined && expectedHead.replace(/^sha256:/, "") !== verdict.head.hash) {
    io.stdout(JSON.stringify({ ok: false, first_bad_entry: null, reason: `head ${verdict.head.hash} is not the expected ${expectedHead}` }) + "\n");
    return 1;
  }
  io.stdout(JSON.stringify({ ok: true, namespace: doc.namespace, entries: verdict.count, head: verdict.head, checksum: doc.checksum }) + "\n");
  return 0;
}

export const auditCommand: CliCommand = {
  name: "audit",
  summary: "Verify an audit export (hash chain + checksum)",
  usage: USAGE,
  run: async (args, io) => {
    const [sub, ...rest] = args;
    if (sub !== "verify") throw new UsageError(`unknown audit subcommand ${sub === undefined ? "(none)" : JSON.stringify(sub)}; try: spotctl audit verify <file>`);
    return verify(rest, io);
  },
};
