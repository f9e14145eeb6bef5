// How an AgentAction names the object of its namespace it was made for (a NodeTemplate, OptimizationPolicy or
// HibernationSchedule): a label to select by and, since names outgrow label values, the full name beside it.
import { labelValue } from "../karpenter/labels.js";

interface Marked {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** The label and the annotation (both under `key`) that mark an action as `name`'s. */
export function ownerMarks(
  key: string,
  name: string,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  return { labels: { [key]: labelValue(name) }, annotations: { [key]: name } };
}

/** Selects `name`'s actions, and perhaps another name's that shares the label value: `isOwnedBy` decides. */
export function ownerSelector(key: string, name: string): Record<string, string> {
  return { [key]: labelValue(name) };
}

/** The name an action was made for: its annotation, else its label (an action made before the annotation was). */
export function actionOwner(action: Marked, key: string): string | undefined {
  return action.metadata?.annotations?.[key] ?? action.metadata?.labels?.[key];
}

export function isOwnedBy(action: Marked, key: string, name: string): boolean {
  return actionOwner(action, key) === name;
}
