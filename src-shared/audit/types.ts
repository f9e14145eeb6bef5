// Types shared by the audit hash chain, its writer (facade + controllers) and the export verifier.

/** What happened to the thing the entry is about. */
export type AuditOutcome = "success" | "failure" | "denied";

/** The input of one audit record: who did what to which resource, with the state before and after. */
export interface AuditInput {
  /** The organisation's namespace: one chain per namespace. */
  namespace: string;
  /** A user's email / id, or `system:<controller>` for operator actions. */
  actor: string;
  /** What happened, e.g. `template.create` or `PATCH /policies/binpack`. */
  event: string;
  /** What it happened to, e.g. `cluster/prod-eu` or `/templates/abc`. */
  resource: string;
  outcome: AuditOutcome;
  before?: unknown;
  after?: unknown;
}

/** One link of a chain, exactly the fields the hash covers plus the hash itself. */
export interface AuditRecord {
  /** Object name of the AuditEntry (`audit-<seq padded>`), also the id the API exposes. */
  id: string;
  namespace: string;
  /** 1-based position in the namespace's chain; contiguous, never reused. */
  seq: number;
  /** ISO-8601 UTC with `Z`, when the entry was written. */
  timestamp: string;
  actor: string;
  event: string;
  resource: string;
  outcome: AuditOutcome;
  /** JSON value or null (absent is stored as null so the hash input is unambiguous). */
  before: unknown;
  after: unknown;
  /** Hash of the previous entry, or of the anchor / genesis for the first one. */
  prevHash: string;
  /** Hex SHA-256 over the canonical JSON of every other field (see canonical.ts). */
  hash: string;
}

/** Writes audit entries; used by the facade for every mutating request and by controllers. */
export interface AuditWriter {
  record(input: AuditInput): Promise<AuditRecord>;
}
