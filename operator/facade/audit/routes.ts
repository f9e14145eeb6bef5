// Audit routes: GET /audit (filters, pagination), /audit/{id}/diff, /audit/export (checksummed JSON or CSV), PATCH /audit/retention.
import { z } from "zod";
import { buildExport, canonicalJson, EXPORT_FORMAT } from "../../../src-shared/audit/chain.js";
import { AUDIT_CSV_COLUMNS, auditExportCsv } from "../../../src-shared/audit/csv.js";
import type { AuditRecord } from "../../../src-shared/audit/types.js";
import { recordFromObject, type AuditChainStore } from "../../../src-shared/audit/writer.js";
import type { FacadeCache } from "../cache.js";
import { NotFoundError, UnprocessableError } from "../errors.js";
import type { FacadeConfig } from "../config.js";
import { publicUrl } from "../public-url.js";
import { defineRoute, type AuthContext, type RouteDef } from "../http.js";

export interface AuditRouteDeps {
  audit: AuditChainStore;
  cache: Pick<FacadeCache, "auditEntries">;
  /** The facade's clock (retention cut-off, export time). */
  now: () => Date;
  /** Where the export's file_url points (the facade's public URL). */
  config: Pick<FacadeConfig, "publicUrl">;
  /** The catalogue's `actor` filter may be a user id; entries record the email. */
  emailOfUser?: (userId: string) => string | undefined;
}

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

const ExportResponse = z
  .object({
    format: z.literal(EXPORT_FORMAT),
    namespace: z.string(),
    org_id: z.string(),
    generated_at: z.string(),
    anchor: z.object({ sequence: z.number().int(), hash: z.string() }),
    head: z.object({ sequence: z.number().int(), hash: z.string() }),
    count: z.number().int(),
    entries: z.array(z.unknown()),
    checksum: z.string(),
    file_url: z.string(),
    expires_in: z.number().int(),
  })
  .loose();

const EXPORT_DESCRIPTION = [
  "`format=json` (default): the export document (entries in chain order, `anchor`, `head`, `count`, `checksum`).",
  "`format=csv`: the same entries as an RFC 4180 file (`text/csv; charset=utf-8`, `Content-Disposition: attachment`),",
  `header \`${AUDIT_CSV_COLUMNS.join(",")}\`, one \`anchor\` row, one \`entry\` row per entry, a \`head\` row and a`,
  "`checksum` row; before/after are canonical JSON, cells starting with = + - @ tab CR or ' get a leading ' (removed",
  "again when verifying). The checksum is the one the JSON export of the same range carries; both formats also send it as the",
  "`X-Audit-Checksum` header. `start_date`/`end_date` select the same entries in both formats. Verify either file with",
  "`spotctl audit verify <file>`; the procedure is in docs/audit.md.",
].join(" ");

/** GET /audit: the organisation's entries from the cache, filtered and paged. */
function listRoute(deps: AuditRouteDeps): RouteDef {
  return defineRoute({
    method: "get",
    path: "/audit",
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

/** GET /audit/export: a live read of the chain, as the checksummed JSON document or CSV. */
function exportRoute(deps: AuditRouteDeps): RouteDef {
  return defineRoute({
    method: "get",
    path: "/audit/export",
    summary:
      "The organisation's audit chain (or a date range of it) as JSON or CSV with a SHA-256 checksum; verify with `spotctl audit verify`",
    description: EXPORT_DESCRIPTION,
    tags: ["audit"],
    auth: "user",
    noStore: true,
    produces: (query) => ((query as { format?: string }).format === "csv" ? "csv" : "json"),
    query: z
      .object({
        ...DateRange,
        format: z.enum(["json", "csv"]).default("json"),
        download: z.enum(["true", "false"]).optional(),
      })
      .strict(),
    // format=csv answers the CSV text instead (not parsed with this schema; OpenAPI lists text/csv too).
    response: ExportResponse as z.ZodType<z.infer<typeof ExportResponse> | string>,
    handler: async ({ auth, query, res }) => {
      const caller = orgOf(auth);
      const range = dateRangeMs(query);
      // A live read, not the cache: an export must be complete and consistent with the head.
      const chain = await deps.audit.readChain(caller.namespace);
      const entries = chain.entries.filter((r) => inRange(r, range));
      const first = entries[0];
      const anchor = first ? { sequence: first.seq - 1, hash: first.prevHash } : chain.anchor;
      const doc = buildExport(caller.namespace, entries, anchor);
      const filename = `audit-export-${caller.orgId || caller.namespace}`;
      res.setHeader("X-Audit-Checksum", doc.checksum);
      if (query.format === "csv") {
        res.setHeader("Content-Disposition", `attachment; filename="${filename}.csv"`);
        return auditExportCsv(doc);
      }
      if (query.download === "true") res.setHeader("Content-Disposition", `attachment; filename="${filename}.json"`);
      const params = new URLSearchParams({
        ...(query.start_date ? { start_date: query.start_date } : {}),
        ...(query.end_date ? { end_date: query.end_date } : {}),
        download: "true",
      });
      return {
        ...doc,
        org_id: caller.orgId,
        generated_at: deps.now().toISOString(),
        // The file is this same JSON document (the checksum needs it); fetched with the same Bearer token.
        file_url: publicUrl(deps.config, `/audit/export?${params.toString()}`),
        expires_in: 3600,
      };
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
    body: z.object({ retention_days: z.number().int().min(1).max(3650) }).strict(),
    response: z.object({
      success: z.literal(true),
      retention_days: z.number().int(),
      removed: z.number().int(),
      anchor: z.object({ sequence: z.number().int(), hash: z.string() }),
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
  return [listRoute(deps), diffRoute(deps), exportRoute(deps), retentionRoute(deps)];
}
