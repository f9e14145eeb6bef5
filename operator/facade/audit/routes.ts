// Audit routes: GET /audit (filters, pagination), /audit/{id}/diff, /audit/export (checksummed JSON or CSV) and its
// signed download link /audit/export/file, PATCH /audit/retention.
import { z } from "zod";
import {
  buildExport,
  canonicalJson,
  entryName,
  EXPORT_FORMAT,
  exportStatus,
  HeadRebuildSchema,
  type AuditExport,
} from "../../../src-shared/audit/chain.js";
import { AUDIT_CSV_COLUMNS, auditExportCsv } from "../../../src-shared/audit/csv.js";
import type { AuditRecord } from "../../../src-shared/audit/types.js";
import { recordFromObject, type AuditChainStore, type RetentionPolicy } from "../../../src-shared/audit/writer.js";
import type { FacadeCache } from "../cache.js";
import { NotFoundError, UnprocessableError } from "../errors.js";
import type { FacadeConfig } from "../config.js";
import { publicUrl } from "../public-url.js";
import { orgIdOfNamespace } from "../auth/orgs.js";
import { defineRoute, IMPERSONATION_KEEPS_AUDIT, type AuthContext, type RouteDef } from "../http.js";
import {
  EXPORT_URL_TTL_SECONDS,
  lazyExportUrlKey,
  signedQuery,
  verifiedGrant,
  type ExportGrant,
} from "./signed-url.js";

export interface AuditRouteDeps {
  audit: AuditChainStore;
  cache: Pick<FacadeCache, "auditEntries">;
  /** The facade's clock (retention cut-off, export time). */
  now: () => Date;
  /** Where the export's file_url points (the facade's public URL). */
  config: Pick<FacadeConfig, "publicUrl">;
  /** The dashboard's `actor` filter may be a user id; entries record the email. */
  emailOfUser?: (userId: string) => string | undefined;
  /** The facade's JWT signing key, from which the export links' signing key is derived. */
  signingKey: () => Promise<Uint8Array>;
  /**
   * Throws NotFoundError once the organisation with this namespace is gone or being deleted: a signed link outlives it,
   * and its chain, gone too, would read as an empty chain that verifies.
   */
  checkOrganisation?: (namespace: string) => Promise<void>;
}

/** The deps with the export links' key, derived once per facade. */
type AuditContext = AuditRouteDeps & { urlKey: () => Promise<Buffer> };

/** `2025-12-01` (whole UTC day) or a full ISO-8601 timestamp. */
const DateParam = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

const DateRange = {
  start_date: DateParam.optional(),
  end_date: DateParam.optional(),
};

/** Inclusive [start, end] in ms; a date-only end covers its whole day. */
export function dateRangeMs(query: { start_date?: string | undefined; end_date?: string | undefined }): {
  fromMs: number;
  toMs: number;
} {
  const fromMs = query.start_date
    ? Date.parse(query.start_date.length === 10 ? `${query.start_date}T00:00:00Z` : query.start_date)
    : -Infinity;
  const toMs = query.end_date
    ? query.end_date.length === 10
      ? Date.parse(`${query.end_date}T00:00:00Z`) + 86_400_000 - 1
      : Date.parse(query.end_date)
    : Infinity;
  if (fromMs > toMs) throw new UnprocessableError("query.end_date: must not be before start_date");
  return { fromMs, toMs };
}

const LogLine = z.object({
  id: z.string(),
  timestamp: z.string(),
  actor: z.string(),
  event: z.string(),
  resource: z.string(),
  outcome: z.enum(["success", "failure", "denied"]),
  sequence: z.number().int(),
  hash: z.string(),
});

export interface DiffLine {
  field: string;
  old: unknown;
  new: unknown;
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  if (prefix) out.set(prefix, value);
}

/** Field-level difference of two JSON objects: dotted paths to leaves; arrays compare as whole values. */
export function diffStates(before: unknown, after: unknown): DiffLine[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  flatten(before, "", a);
  flatten(after, "", b);
  const fields = [...new Set([...a.keys(), ...b.keys()])].sort();
  return fields
    .filter((f) => canonicalJson(a.get(f) ?? null) !== canonicalJson(b.get(f) ?? null))
    .map((f) => ({ field: f, old: a.has(f) ? a.get(f) : null, new: b.has(f) ? b.get(f) : null }));
}

function orgOf(auth: AuthContext | undefined): AuthContext {
  if (!auth?.namespace) throw new NotFoundError("no organisation");
  return auth;
}

function cachedRecords(deps: AuditRouteDeps, namespace: string): AuditRecord[] {
  return deps.cache.auditEntries(namespace).map((e) => recordFromObject(e as Parameters<typeof recordFromObject>[0]));
}

function inRange(r: AuditRecord, range: { fromMs: number; toMs: number }): boolean {
  const t = Date.parse(r.timestamp);
  return t >= range.fromMs && t <= range.toMs;
}

/** An entry's sequence and hash, as the export names the heads. */
const ChainLink = z.object({ sequence: z.number().int(), hash: z.string() });

const ExportResponse = z
  .object({
    format: z.literal(EXPORT_FORMAT),
    namespace: z.string(),
    org_id: z.string(),
    generated_at: z.string(),
    anchor: ChainLink,
    head: ChainLink,
    count: z.number().int(),
    entries: z.array(z.unknown()),
    checksum: z.string(),
    recorded_head: ChainLink.optional(),
    stored_head: ChainLink.optional(),
    head_rebuilt: HeadRebuildSchema.optional(),
    retention: z.object({ days: z.number().int().nullable(), reason: z.string().optional() }),
    verification: z.object({
      ok: z.boolean(),
      status: z.enum(["intact", "rebuilt", "tampered"]),
      first_bad_entry: z.object({ index: z.number().int(), id: z.string() }).optional(),
      reason: z.string().optional(),
    }),
    file_url: z.string(),
    expires_in: z.number().int(),
  })
  .loose();

/** The JSON file (download=true, or the signed link): the document without the link and the facade's verdict. */
const ExportFile = ExportResponse.omit({ file_url: true, expires_in: true, verification: true });

const EXPORT_DESCRIPTION = [
  "Answers the export document (entries in chain order, `anchor`, `head`, `count`, `checksum`) with `file_url`: a signed",
  "link to the file in the requested `format` (GET /audit/export/file, no token needed, this organisation and date range",
  "only, expires after `expires_in` seconds). `download=true` answers the file itself instead.",
  "The `format=csv` file holds the same entries as RFC 4180 (`text/csv; charset=utf-8`, `Content-Disposition: attachment`),",
  `header \`${AUDIT_CSV_COLUMNS.join(",")}\`, one \`anchor\` row, one \`entry\` row per entry, a \`head\` row and a`,
  "`checksum` row; before/after are canonical JSON, cells starting with = + - @ tab CR or ' get a leading ' (removed",
  "again when verifying). The checksum is the one the JSON export of the same range carries; every answer also sends it as",
  "the `X-Audit-Checksum` header. `start_date`/`end_date` select the same entries in both formats. Verify either file with",
  "`spotctl audit verify <file>`; the procedure is in docs/audit.md. The facade runs the same check when it answers:",
  "`verification` (`ok`, and else `first_bad_entry` and `reason`) and the `X-Audit-Verification` header (`ok` or",
  "`tampered <entry id>`); it also compares the entry at the head ConfigMap's recorded head (`recorded_head`) with it.",
  "When the head ConfigMap was lost and rebuilt from the entries (or is missing), `head_rebuilt` says when and from which",
  "head, and a chain that verifies is reported `status: rebuilt` (`ok: false`, header `rebuilt <entry id of that head>`),",
  "never intact: nothing kept outside the entries pins the ones before the rebuild. `retention` is the stored policy",
  "(`days`, null with a `reason` when none is set or it is unknown after a rebuild).",
].join(" ");

/** GET /audit: the organisation's entries from the cache, filtered and paged. */
function listRoute(deps: AuditRouteDeps): RouteDef {
  return defineRoute({
    method: "get",
    path: "/audit",
    asRecorded: true,
    summary: "Audit log of the caller's organisation, newest first",
    tags: ["audit"],
    auth: "user",
    query: z
      .object({
        ...DateRange,
        actor: z.string().min(1).max(254).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(50),
        offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
      })
      .strict(),
    response: z.object({
      logs: z.array(LogLine),
      total: z.number().int(),
      page: z.number().int(),
      limit: z.number().int(),
      offset: z.number().int(),
    }),
    handler: async ({ auth, query }) => {
      const { namespace } = orgOf(auth);
      const range = dateRangeMs(query);
      const actor =
        query.actor === undefined ? undefined : (deps.emailOfUser?.(query.actor) ?? query.actor).toLowerCase();
      const matching = cachedRecords(deps, namespace)
        .filter((r) => inRange(r, range) && (actor === undefined || r.actor.toLowerCase() === actor))
        .sort((a, b) => b.seq - a.seq);
      const logs = matching.slice(query.offset, query.offset + query.limit).map((r) => ({
        id: r.id,
        timestamp: r.timestamp,
        actor: r.actor,
        event: r.event,
        resource: r.resource,
        outcome: r.outcome,
        sequence: r.seq,
        hash: r.hash,
      }));
      return {
        logs,
        total: matching.length,
        page: Math.floor(query.offset / query.limit) + 1,
        limit: query.limit,
        offset: query.offset,
      };
    },
  }) as RouteDef;
}

/** GET /audit/{id}/diff: one entry's before/after and the fields that changed. */
function diffRoute(deps: AuditRouteDeps): RouteDef {
  return defineRoute({
    method: "get",
    path: "/audit/:id/diff",
    asRecorded: true,
    summary: "Before/after of one audit entry with a field-level diff",
    tags: ["audit"],
    auth: "user",
    params: z.object({ id: z.string().min(1).max(253) }).strict(),
    response: z.object({
      id: z.string(),
      before: z.unknown(),
      after: z.unknown(),
      diff: z.array(z.object({ field: z.string(), old: z.unknown(), new: z.unknown() })),
    }),
    handler: async ({ auth, params }) => {
      const { namespace } = orgOf(auth);
      const record = cachedRecords(deps, namespace).find((r) => r.id === params.id);
      if (!record) throw new NotFoundError(`audit entry ${params.id} not found`);
      return {
        id: record.id,
        before: record.before,
        after: record.after,
        diff: diffStates(record.before, record.after),
      };
    },
  }) as RouteDef;
}

/** The export document of an organisation's chain (or a date range of it), read live: an export must be complete. */
async function exportDocument(
  deps: AuditContext,
  namespace: string,
  query: { start_date?: string | undefined; end_date?: string | undefined; upto?: number },
): Promise<AuditExport & { retention: RetentionReport }> {
  const range = dateRangeMs(query);
  const upto = query.upto ?? Infinity;
  const chain = await deps.audit.readChain(namespace);
  const entries = chain.entries.filter((r) => inRange(r, range) && r.seq <= upto);
  const first = entries[0];
  const anchor = first ? { sequence: first.seq - 1, hash: first.prevHash } : chain.anchor;
  const doc = buildExport(namespace, entries, anchor);
  // The head ConfigMap's head goes along, so spotctl can also catch a re-hashed newest entry from the file alone, and
  // so does a rebuild's mark, so spotctl can tell a rebuilt chain from an intact one from the file too.
  return {
    ...doc,
    ...(chain.recordedHead ? { recorded_head: chain.recordedHead } : {}),
    stored_head: chain.storedHead,
    ...(chain.rebuilt ? { head_rebuilt: chain.rebuilt } : {}),
    retention: retentionOf(chain.retentionDays),
  };
}

/** The export's `retention`, as its schema says. */
type RetentionReport = z.infer<typeof ExportResponse>["retention"];

/** The stored retention policy as the API reports it: days, or null with why. */
function retentionOf(policy: RetentionPolicy): RetentionReport {
  if (typeof policy === "number") return { days: policy };
  if (policy === undefined) return { days: null, reason: "no retention policy is set: every entry is kept" };
  return {
    days: null,
    reason:
      "unknown: the head ConfigMap was rebuilt and the newest entry does not record the policy; nothing is removed " +
      "until it is set again with PATCH /audit/retention",
  };
}

/** The export's `verification`, as its schema says. */
type Verification = z.infer<typeof ExportResponse>["verification"];

/** The facade's own check of an export (spotctl's, including the recorded head), also sent as X-Audit-Verification. */
function verifyAndTell(res: { setHeader(k: string, v: string): unknown }, doc: AuditExport): Verification {
  const verdict = exportStatus(doc);
  if (verdict.status === "intact") {
    res.setHeader("X-Audit-Verification", "ok");
    return { ok: true, status: "intact" };
  }
  if (verdict.status === "rebuilt") {
    res.setHeader("X-Audit-Verification", `rebuilt ${entryName(verdict.rebuilt.sequence)}`);
    return { ok: false, status: "rebuilt", reason: verdict.reason };
  }
  const { index, id, reason } = verdict.problem;
  res.setHeader("X-Audit-Verification", `tampered ${id}`);
  return { ok: false, status: "tampered", first_bad_entry: { index, id }, reason };
}

/** A signed link to one organisation's export in one format and date range, valid for EXPORT_URL_TTL_SECONDS. */
async function signedFileUrl(deps: AuditContext, grant: Omit<ExportGrant, "exp">): Promise<string> {
  const exp = Math.floor(deps.now().getTime() / 1000) + EXPORT_URL_TTL_SECONDS;
  return publicUrl(deps.config, `/audit/export/file?${signedQuery(await deps.urlKey(), { ...grant, exp })}`);
}

/** The file itself: JSON or CSV, with the checksum header and as an attachment. */
function sendFile(
  deps: AuditContext,
  doc: AuditExport,
  file: { format: "json" | "csv"; name: string; orgId: string; res: { setHeader(k: string, v: string): unknown } },
): unknown {
  file.res.setHeader("X-Audit-Checksum", doc.checksum);
  verifyAndTell(file.res, doc);
  file.res.setHeader("Content-Disposition", `attachment; filename="${file.name}.${file.format}"`);
  if (file.format === "csv") return auditExportCsv(doc);
  return { ...doc, org_id: file.orgId, generated_at: deps.now().toISOString() };
}

const isFile = (query: unknown): boolean => (query as { download?: string }).download === "true";
const formatOf = (query: unknown): "json" | "csv" => ((query as { format?: string }).format === "csv" ? "csv" : "json");

/** GET /audit/export: a live read of the chain, as the checksummed JSON document (with a signed file_url) or the file. */
function exportRoute(deps: AuditContext): RouteDef {
  return defineRoute({
    method: "get",
    path: "/audit/export",
    asRecorded: true,
    summary:
      "The organisation's audit chain (or a date range of it) as JSON or CSV with a SHA-256 checksum; verify with `spotctl audit verify`",
    description: EXPORT_DESCRIPTION,
    tags: ["audit"],
    auth: "user",
    noStore: true,
    produces: (query) => (isFile(query) ? formatOf(query) : "json"),
    query: z
      .object({
        ...DateRange,
        format: z.enum(["json", "csv"]).default("json"),
        download: z.enum(["true", "false"]).optional(),
      })
      .strict(),
    // download=true with format=csv answers the CSV text instead (not parsed with this schema; OpenAPI lists text/csv too).
    // download=true with format=json answers the JSON file (ExportFile).
    response: z.union([ExportResponse, ExportFile]) as z.ZodType<
      z.infer<typeof ExportResponse> | z.infer<typeof ExportFile> | string
    >,
    handler: async ({ auth, query, res }) => {
      const caller = orgOf(auth);
      const doc = await exportDocument(deps, caller.namespace, query);
      const name = `audit-export-${caller.orgId || caller.namespace}`;
      if (query.download === "true")
        return sendFile(deps, doc, { format: query.format, name, orgId: caller.orgId, res });
      res.setHeader("X-Audit-Checksum", doc.checksum);
      const verification = verifyAndTell(res, doc);
      const range = { start_date: query.start_date, end_date: query.end_date };
      return {
        ...doc,
        verification,
        org_id: caller.orgId,
        generated_at: deps.now().toISOString(),
        // A signed link to the file of this same range (the checksum is this document's), for this organisation only.
        file_url: await signedFileUrl(deps, {
          namespace: caller.namespace,
          format: query.format,
          ...range,
          upto: doc.head.sequence,
        }),
        expires_in: EXPORT_URL_TTL_SECONDS,
      };
    },
  }) as RouteDef;
}

/** GET /audit/export/file: the download behind a signed link; no Bearer token, the link's signature is the grant. */
function exportFileRoute(deps: AuditContext): RouteDef {
  return defineRoute({
    method: "get",
    path: "/audit/export/file",
    asRecorded: true,
    summary:
      "Download behind GET /audit/export's signed file_url (JSON or CSV with X-Audit-Checksum); 403 once expired or altered",
    tags: ["audit"],
    auth: "public",
    errors: { "403": "The link expired or was altered" },
    noStore: true,
    produces: formatOf,
    query: z
      .object({
        org: z.string().min(1).max(100),
        format: z.enum(["json", "csv"]),
        ...DateRange,
        upto: z.coerce.number().int().min(-1),
        exp: z.coerce.number().int().min(0),
        sig: z.string().min(1).max(100),
      })
      .strict(),
    response: ExportFile as z.ZodType<unknown>,
    handler: async ({ query, res }) => {
      const grant = verifiedGrant(await deps.urlKey(), { ...query, namespace: query.org }, deps.now().getTime());
      await deps.checkOrganisation?.(grant.namespace);
      const doc = await exportDocument(deps, grant.namespace, grant);
      const orgId = orgIdOfNamespace(grant.namespace);
      return sendFile(deps, doc, { format: grant.format, name: `audit-export-${orgId}`, orgId, res });
    },
  }) as RouteDef;
}

/** PATCH /audit/retention: the new retention, applied at once. */
function retentionRoute(deps: AuditRouteDeps): RouteDef {
  return defineRoute({
    method: "patch",
    path: "/audit/retention",
    summary: "Set the retention in days and remove older entries; the chain stays verifiable from the recorded anchor",
    tags: ["audit"],
    auth: "user",
    roles: ["owner"],
    notImpersonated: IMPERSONATION_KEEPS_AUDIT,
    body: z.object({ retention_days: z.number().int().min(1).max(3650) }).strict(),
    response: z.object({
      success: z.literal(true),
      retention_days: z.number().int(),
      removed: z.number().int(),
      anchor: ChainLink,
    }),
    handler: async ({ auth, body, audit }) => {
      const { namespace } = orgOf(auth);
      const before = await deps.audit.readHead(namespace);
      await deps.audit.updateHead(namespace, (s) => ({ ...s, retentionDays: body.retention_days }));
      const nowMs = deps.now().getTime();
      const result = await deps.audit.applyRetention(namespace, new Date(nowMs - body.retention_days * 86_400_000));
      audit({
        event: "audit.retention",
        resource: `audit/${namespace}`,
        before: { retention_days: before.retentionDays ?? null, anchor: before.anchor },
        after: { retention_days: body.retention_days, removed: result.removed, anchor: result.anchor },
      });
      return {
        success: true as const,
        retention_days: body.retention_days,
        removed: result.removed,
        anchor: result.anchor,
      };
    },
  }) as RouteDef;
}

export function createAuditRoutes(deps: AuditRouteDeps): RouteDef[] {
  const ctx: AuditContext = { ...deps, urlKey: lazyExportUrlKey(deps.signingKey) };
  return [listRoute(ctx), diffRoute(ctx), exportRoute(ctx), exportFileRoute(ctx), retentionRoute(ctx)];
}
