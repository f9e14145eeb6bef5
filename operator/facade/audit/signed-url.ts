// Signed download URLs of the audit export: single-purpose (one organisation's export, one format, date range and head),
// HMAC-SHA256 over those parameters and the expiry, with a key derived from the facade's JWT signing key (a Secret in
// the operator's namespace that no API role reads), so a link cannot be re-pointed, extended or forged.
import { createHmac, timingSafeEqual } from "node:crypto";
import { ForbiddenError } from "../errors.js";

export const EXPORT_URL_TTL_SECONDS = 3600;
// Contains "/", which base64url never does: no JWT's signing input (header.payload) is this text, so no token's
// signature is the derived key.
const PURPOSE = "spot-optimizer/audit-export-url/v1";

export interface ExportGrant {
  namespace: string;
  format: "json" | "csv";
  start_date?: string | undefined;
  end_date?: string | undefined;
  /** The last sequence the export held when the link was issued: the link serves that same document. */
  upto: number;
  /** Expiry, Unix seconds. */
  exp: number;
}

/** The URL-signing key: its own purpose, so a signature can never stand in for a token and vice versa. */
export function exportUrlKey(signingKey: Uint8Array): Buffer {
  return createHmac("sha256", signingKey).update(PURPOSE).digest();
}

/** The URL key derived once from the signing key when first needed; a failed read is retried on the next call. */
export function lazyExportUrlKey(signingKey: () => Promise<Uint8Array>): () => Promise<Buffer> {
  let key: Promise<Buffer> | undefined;
  return () => {
    key ??= signingKey()
      .then(exportUrlKey)
      .catch((err: unknown) => {
        key = undefined;
        throw err;
      });
    return key;
  };
}

function mac(key: Buffer, g: ExportGrant): Buffer {
  const text = [g.namespace, g.format, g.start_date ?? "", g.end_date ?? "", String(g.upto), String(g.exp)].join("\n");
  return createHmac("sha256", key).update(text).digest();
}

/** The query string of a signed link (`org` is the organisation's namespace). */
export function signedQuery(key: Buffer, g: ExportGrant): string {
  return new URLSearchParams({
    org: g.namespace,
    format: g.format,
    ...(g.start_date ? { start_date: g.start_date } : {}),
    ...(g.end_date ? { end_date: g.end_date } : {}),
    upto: String(g.upto),
    exp: String(g.exp),
    sig: mac(key, g).toString("base64url"),
  }).toString();
}

/** The grant a link carries, or 403 with the reason (bad signature — tampered or another key — or expired). */
export function verifiedGrant(key: Buffer, g: ExportGrant & { sig: string }, nowMs: number): ExportGrant {
  const given = Buffer.from(g.sig, "base64url");
  const expected = mac(key, g);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new ForbiddenError("This download link is not valid (it was altered or not issued by this service)");
  if (nowMs >= g.exp * 1000)
    throw new ForbiddenError("This download link has expired; ask GET /audit/export for a new one");
  const { namespace, format, start_date, end_date, upto, exp } = g;
  return { namespace, format, start_date, end_date, upto, exp };
}
