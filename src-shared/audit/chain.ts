// Pure audit hash chain: canonical JSON, entry hashes, export documents with a checksum, and their verification.
import { createHash } from "node:crypto";
import { z } from "zod";
import type { AuditInput, AuditRecord } from "./types.js";

export const EXPORT_FORMAT = "spotoptimizer.io/audit-export@v1";
/** prevHash of the first entry of a chain that never had entries removed. */
export const GENESIS_HASH = "";

/** Where a (possibly truncated) chain starts: the last removed entry, or sequence -1 / "" for a fresh chain. */
export interface ChainAnchor {
  sequence: number;
  hash: string;
}

export const GENESIS_ANCHOR: ChainAnchor = { sequence: -1, hash: GENESIS_HASH };

/**
 * Canonical JSON: object keys sorted by UTF-16 code units (Array.prototype.sort), no whitespace,
 * `undefined` members dropped, strings and numbers exactly as JSON.stringify writes them.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    // JSON.stringify(undefined) is undefined; inside arrays JSON writes null there.
    return text === undefined ? "null" : text;
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(",")}}`;
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Object name of the entry at `sequence`: zero-padded so names sort in chain order. */
export function entryName(sequence: number): string {
  return `audit-${String(sequence).padStart(12, "0")}`;
}

/** before/after are stored as JSON objects (the CRD's shape): wrap other values, absent becomes null. */
export function toStoredState(value: unknown): Record<string, unknown> | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "object" && !Array.isArray(value))
    return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  return { value: JSON.parse(JSON.stringify(value)) as unknown };
}

/** The hash of an entry: SHA-256 (hex) of the canonical JSON of every field except `hash` itself. */
export function computeEntryHash(entry: Omit<AuditRecord, "hash">): string {
  const { id, namespace, seq, timestamp, actor, event, resource, outcome, before, after, prevHash } = entry;
  return sha256Hex(
    canonicalJson({
      id,
      namespace,
      seq,
      timestamp,
      actor,
      event,
      resource,
      outcome,
      before: before ?? null,
      after: after ?? null,
      prevHash,
    }),
  );
}

/** Builds the next link after `previous` (the anchor or the current head). */
export function buildEntry(input: AuditInput, previous: ChainAnchor, timestamp: string): AuditRecord {
  const seq = previous.sequence + 1;
  const base: Omit<AuditRecord, "hash"> = {
    id: entryName(seq),
    namespace: input.namespace,
    seq,
    timestamp,
    actor: input.actor,
    event: input.event,
    resource: input.resource,
    outcome: input.outcome,
    before: toStoredState(input.before),
    after: toStoredState(input.after),
    prevHash: previous.hash,
  };
  return { ...base, hash: computeEntryHash(base) };
}

export interface ChainProblem {
  /** Index in the entries array of the first entry that does not verify (entries.length: the end/head). */
  index: number;
  id: string;
  reason: string;
  /** For a problem past the last entry: which part of the export does not match. */
  at?: "head" | "count" | "checksum";
}

/** Checks every hash and every link from the anchor on; returns the first problem, or undefined. */
export function verifyChain(entries: AuditRecord[], anchor: ChainAnchor): ChainProblem | undefined {
  let previous = anchor;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const { hash, ...rest } = entry;
    // Without a stored hash nothing pins the entry's content: re-computing one would bless any edit.
    if (!hash)
      return { index: i, id: String(entry.id), reason: "has no stored hash (hash removed; entry not trusted)" };
    if (computeEntryHash(rest) !== hash)
      return { index: i, id: String(entry.id), reason: "content does not match its hash (entry changed)" };
    if (entry.seq !== previous.sequence + 1 || entry.prevHash !== previous.hash) {
      return {
        index: i,
        id: String(entry.id),
        reason: `does not follow sequence ${previous.sequence} (entry before it deleted, inserted or reordered)`,
      };
    }
    previous = { sequence: entry.seq, hash };
  }
  return undefined;
}

/**
 * The head ConfigMap's recorded head was written by the appender from the hash it computed, so the entry at that
 * sequence must still carry it; this catches the newest entry edited and re-hashed, which no later link pins.
 * An entry outside `entries` (a date range, or a head behind the anchor) is not checked.
 */
export function verifyRecordedHead(entries: AuditRecord[], recorded: ChainAnchor): ChainProblem | undefined {
  const index = entries.findIndex((e) => e.seq === recorded.sequence);
  const entry = entries[index];
  if (!entry || entry.hash === recorded.hash) return undefined;
  return {
    index,
    id: String(entry.id),
    reason: `hash is not the head hash ${recorded.hash || '""'} recorded when it was written (entry changed)`,
  };
}

/**
 * The appender records each entry as the head once it is stored, so a recorded head beyond the newest stored entry
 * means the newest entries were deleted: no later link pins them, so nothing else in an export shows it.
 */
function tailDeleted(doc: AuditExport): ChainProblem | undefined {
  const recorded = doc.recorded_head;
  const stored = doc.stored_head;
  if (!recorded || !stored || recorded.sequence <= stored.sequence) return undefined;
  return {
    index: doc.entries.length,
    id: "(end of chain)",
    at: "head",
    reason:
      `the head was recorded at sequence ${recorded.sequence} but the newest stored entry is ${stored.sequence} ` +
      "(entries removed from the end of the chain)",
  };
}

/**
 * The head ConfigMap was lost and rebuilt from the entries alone (or, `at: null`, is missing right now). Nothing kept
 * outside the entries then pins them: someone able to edit entries and delete the ConfigMap could have trimmed or
 * re-hashed the chain up to `sequence` without any check noticing, so such a chain is never reported intact.
 */
export interface HeadRebuild {
  /** When the ConfigMap was rebuilt; null when it is missing at the time of the read. */
  at: string | null;
  /** The newest entry the rebuild found (the head it rebuilt from). */
  sequence: number;
  hash: string;
  /** How many entries the rebuild's LIST held. */
  entries: number;
}

/** The export document a client downloads; `checksum` covers every other field that matters. */
export interface AuditExport {
  format: typeof EXPORT_FORMAT;
  namespace: string;
  anchor: ChainAnchor;
  head: ChainAnchor;
  count: number;
  entries: AuditRecord[];
  checksum: string;
  /** The head ConfigMap's head at export time (informational, not covered by the checksum). */
  recorded_head?: ChainAnchor;
  /**
   * The newest entry stored at export time, whatever range was exported (informational, not covered by the checksum):
   * behind `recorded_head`, the newest entries were deleted.
   */
  stored_head?: ChainAnchor;
  /** Present when the head ConfigMap was rebuilt or is missing (informational, not covered by the checksum). */
  head_rebuilt?: HeadRebuild;
}

export function exportChecksum(doc: Omit<AuditExport, "checksum">): string {
  const { format, namespace, anchor, head, count, entries } = doc;
  return `sha256:${sha256Hex(canonicalJson({ format, namespace, anchor, head, count, entries }))}`;
}

/** Export of consecutive entries (ascending sequence) that start right after `anchor`. */
export function buildExport(namespace: string, entries: AuditRecord[], anchor: ChainAnchor): AuditExport {
  const last = entries[entries.length - 1];
  const head = last ? { sequence: last.seq, hash: last.hash } : anchor;
  const doc = {
    format: EXPORT_FORMAT as typeof EXPORT_FORMAT,
    namespace,
    anchor,
    head,
    count: entries.length,
    entries,
  };
  return { ...doc, checksum: exportChecksum(doc) };
}

export type ExportVerdict = { ok: true; count: number; head: ChainAnchor } | { ok: false; problem: ChainProblem };

/** Re-computes every entry hash, every link, the head and the checksum of an export. */
export function verifyExport(doc: AuditExport): ExportVerdict {
  const problem =
    verifyChain(doc.entries, doc.anchor) ??
    (doc.recorded_head ? verifyRecordedHead(doc.entries, doc.recorded_head) : undefined) ??
    tailDeleted(doc);
  if (problem) return { ok: false, problem };
  const end = { index: doc.entries.length, id: "(end of export)" };
  const last = doc.entries[doc.entries.length - 1];
  const head = last ? { sequence: last.seq, hash: last.hash } : doc.anchor;
  if (head.sequence !== doc.head.sequence || head.hash !== doc.head.hash) {
    return {
      ok: false,
      problem: {
        ...end,
        at: "head",
        reason: `last entry is not the recorded head ${doc.head.sequence} (entries removed from the end)`,
      },
    };
  }
  if (doc.count !== doc.entries.length)
    return {
      ok: false,
      problem: { ...end, at: "count", reason: `count ${doc.count} but ${doc.entries.length} entries` },
    };
  const { checksum, ...rest } = doc;
  if (exportChecksum(rest) !== checksum)
    return { ok: false, problem: { ...end, at: "checksum", reason: "checksum does not match the export" } };
  return { ok: true, count: doc.entries.length, head };
}

/** What an auditor is told of a chain whose head was rebuilt: which entries nothing outside them pins. */
export function rebuiltReason(rebuilt: HeadRebuild): string {
  const what = rebuilt.at
    ? `was lost and rebuilt at ${rebuilt.at} from the ${rebuilt.entries} entries then stored`
    : `is missing; this read rests on the ${rebuilt.entries} entries alone`;
  return (
    `the head ConfigMap ${what} (head ${rebuilt.sequence} ${rebuilt.hash || '""'}): entries up to sequence ` +
    `${rebuilt.sequence} may have been trimmed or re-hashed before that without any check noticing`
  );
}

export type ChainStatus =
  | { status: "intact"; head: ChainAnchor }
  | { status: "rebuilt"; head: ChainAnchor; rebuilt: HeadRebuild; reason: string }
  | { status: "tampered"; problem: ChainProblem };

/**
 * The verdict on an export: tampered when it does not verify, else rebuilt when its head was rebuilt (from then on,
 * for every range: the entries after a rebuild chain onto ones nothing pinned), else intact.
 */
export function exportStatus(doc: AuditExport): ChainStatus {
  const verdict = verifyExport(doc);
  if (!verdict.ok) return { status: "tampered", problem: verdict.problem };
  if (!doc.head_rebuilt) return { status: "intact", head: verdict.head };
  return { status: "rebuilt", head: verdict.head, rebuilt: doc.head_rebuilt, reason: rebuiltReason(doc.head_rebuilt) };
}

const AnchorSchema = z.object({ sequence: z.number().int().min(-1), hash: z.string() });
export const HeadRebuildSchema = z.object({
  at: z.string().nullable(),
  sequence: z.number().int().min(-1),
  hash: z.string(),
  entries: z.number().int().min(0),
});
const RecordSchema = z.object({
  id: z.string(),
  namespace: z.string(),
  seq: z.number().int().min(0),
  timestamp: z.string(),
  actor: z.string(),
  event: z.string(),
  resource: z.string(),
  outcome: z.enum(["success", "failure", "denied"]),
  before: z.unknown(),
  after: z.unknown(),
  prevHash: z.string(),
  hash: z.string(),
});
/** Shape of an export file; extra top-level fields (file_url, generated_at, ...) are allowed and not covered. */
export const AuditExportSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  namespace: z.string(),
  anchor: AnchorSchema,
  head: AnchorSchema,
  count: z.number().int().min(0),
  entries: z.array(RecordSchema),
  checksum: z.string(),
  recorded_head: AnchorSchema.optional(),
  stored_head: AnchorSchema.optional(),
  head_rebuilt: HeadRebuildSchema.optional(),
});

/** Parses an export file's text; throws an Error with a one-line reason when it is not one. */
export function parseAuditExport(text: string): AuditExport {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error("not JSON");
  }
  const parsed = AuditExportSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`not an audit export: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data as AuditExport;
}
