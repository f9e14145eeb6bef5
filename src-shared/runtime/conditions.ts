// Status-condition helpers (metav1.Condition semantics): set by type, keep lastTransitionTime while the status holds.
import type { Condition, ConditionStatus } from "../crds/common.js";

export type { Condition, ConditionStatus };

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message?: string;
  observedGeneration?: number;
}

/** RFC 3339 with second precision, as Kubernetes serialises metav1.Time. */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Returns a new list with `input` set by type. lastTransitionTime changes only when the status
 * changes, so re-running a reconcile that finds the same state produces an identical list (no write).
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === input.type);
  const next = nextCondition(index >= 0 ? list[index] : undefined, input, now);
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

function nextCondition(previous: Condition | undefined, input: ConditionInput, now: Date): Condition {
  const unchanged = previous !== undefined && previous.status === input.status;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message ?? "",
    lastTransitionTime: unchanged ? previous.lastTransitionTime : kubeTime(now),
  };
  const generation = input.observedGeneration ?? previous?.observedGeneration;
  if (generation !== undefined) next.observedGeneration = generation;
  return next;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === "True";
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** True when both lists hold the same conditions (order-insensitive), i.e. writing would change nothing. */
export function conditionsEqual(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  if (left.length !== right.length) return false;
  return left.every((c) => {
    const other = findCondition(right, c.type);
    return (
      other !== undefined &&
      other.status === c.status &&
      other.reason === c.reason &&
      other.message === c.message &&
      other.observedGeneration === c.observedGeneration &&
      other.lastTransitionTime === c.lastTransitionTime
    );
  });
}
