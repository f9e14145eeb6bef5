// AuditEntry: one hash-chained record of who changed what (users via the facade, controllers as system:<name>).
import { z } from "zod";
import { defineKind, rfc3339 } from "./common.js";

const Sha256Hex = z.string().regex(/^([0-9a-f]{64})?$/);

export const AuditEntrySpec = z
  .object({
    actor: z.string().min(1).describe("Who acted: a user's email/id, or system:<controller> for the operator."),
    event: z.string().min(1).describe("What happened, e.g. Modified Hibernation Schedule."),
    resource: z.string().describe("What it happened to, e.g. the cluster or object name."),
    outcome: z.enum(["success", "failure", "denied"]).describe("How it ended."),
    timestamp: rfc3339("When it happened (part of the hashed entry).").optional(),
    sequence: z.number().int().min(0).optional().describe("Position in the organisation's chain, starting at 0."),
    before: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("State before the change; free-form.")
      .meta({ "x-kubernetes-preserve-unknown-fields": true }),
    after: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("State after the change; free-form.")
      .meta({ "x-kubernetes-preserve-unknown-fields": true }),
    prevHash: Sha256Hex.describe("Hex SHA-256 hash of the previous entry in the chain (empty for the first)."),
  })
  .describe("The audited event (immutable once written).");
export type AuditEntrySpec = z.infer<typeof AuditEntrySpec>;
/** The spec as written (defaults optional), e.g. for building an object to apply. */

export const AuditEntryStatus = z
  .object({
    hash: Sha256Hex.describe("Hex SHA-256 over the canonical entry and prevHash.").optional(),
  })
  .describe("Chain data computed for the entry.");
export type AuditEntryStatus = z.infer<typeof AuditEntryStatus>;

export const AuditEntryKind = defineKind({
  kind: "AuditEntry",
  plural: "auditentries",
  shortNames: ["ae", "audit"],
  description: "One entry of an organisation's tamper-evident audit chain.",
  spec: AuditEntrySpec,
  status: AuditEntryStatus,
  printerColumns: [
    { name: "Actor", type: "string", jsonPath: ".spec.actor" },
    { name: "Event", type: "string", jsonPath: ".spec.event" },
    { name: "Resource", type: "string", jsonPath: ".spec.resource" },
    { name: "Outcome", type: "string", jsonPath: ".spec.outcome" },
  ],
});
export const AuditEntry = AuditEntryKind.resource;
export type AuditEntry = z.infer<typeof AuditEntry>;
