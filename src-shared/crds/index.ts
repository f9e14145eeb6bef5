// The registry of our custom resource kinds and re-exports of their zod schemas and TypeScript types.
import { AgentActionKind } from "./agentaction.js";
import { AuditEntryKind } from "./auditentry.js";
import type { CrdKind } from "./common.js";
import { HibernationScheduleKind } from "./hibernationschedule.js";
import { LabExperimentKind } from "./labexperiment.js";
import { ManagedClusterKind } from "./managedcluster.js";
import { NodeTemplateKind } from "./nodetemplate.js";
import { OptimizationPolicyKind } from "./optimizationpolicy.js";

export * from "./common.js";
export * from "./managedcluster.js";
export * from "./nodetemplate.js";
export * from "./optimizationpolicy.js";
export * from "./hibernationschedule.js";
export * from "./labexperiment.js";
export * from "./agentaction.js";
export * from "./auditentry.js";
export * from "./refs.js";

/** Every kind, in the order the CRDs are generated and installed. */
export const crdKinds: readonly CrdKind[] = [
  ManagedClusterKind,
  NodeTemplateKind,
  OptimizationPolicyKind,
  HibernationScheduleKind,
  LabExperimentKind,
  AgentActionKind,
  AuditEntryKind,
];

/** Looks a kind up by kind, plural, singular or short name (case-insensitive). */
export function findCrdKind(name: string): CrdKind | undefined {
  const wanted = name.toLowerCase();
  return crdKinds.find(
    (k) => k.kind.toLowerCase() === wanted || k.plural === wanted || k.singular === wanted || k.shortNames.includes(wanted),
  );
}
