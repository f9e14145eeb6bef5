// Status conditions as controllers write them: lastTransitionTime moves only when the status changes.
import { nowTimestamp } from "../objects.js";

/** A condition to set; `observedGeneration` is written when given. */
export interface ConditionInput {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
  /** Also keep lastUpdateTime (Deployment conditions carry it). */
  withUpdateTime?: boolean;
}

/** Sets a condition by type, keeping lastTransitionTime when the status did not change. */
export function upsertCondition(conditions: unknown, c: ConditionInput): Record<string, unknown>[] {
  const { type, status, reason, message, observedGeneration } = c;
  const list = Array.isArray(conditions) ? (conditions as Record<string, unknown>[]).map((c) => ({ ...c })) : [];
  const existing = list.find((c) => c.type === type);
  const now = nowTimestamp();
  const next: Record<string, unknown> = { type, status, reason, message, lastTransitionTime: now };
  if (c.withUpdateTime) next.lastUpdateTime = now;
  if (observedGeneration !== undefined) next.observedGeneration = observedGeneration;
  if (existing) {
    const same = existing.status === status && existing.reason === reason && existing.message === message;
    if (existing.status === status) next.lastTransitionTime = existing.lastTransitionTime;
    if (same && c.withUpdateTime) next.lastUpdateTime = existing.lastUpdateTime;
    Object.assign(existing, next);
    for (const k of Object.keys(existing)) if (!(k in next)) delete existing[k];
    return list;
  }
  return [...list, next];
}
