// Hibernation's saved-original annotation: written by the hibernation controller on what it put to sleep, read by it
// and by the NodeTemplate controller (which holds a template's NodePool at zero limits while the annotation is there).

export const SAVED_ANNOTATION = "hibernation.spotoptimizer.io/saved";

type LimitValue = string | number;

/** What the annotation holds: who saved it and the original value; `null` means the field was absent. */
export interface SavedOriginal {
  by: string;
  replicas?: number | null;
  suspend?: boolean | null;
  limits?: Record<string, LimitValue> | null;
  /**
   * A NodeTemplate's NodePool: hibernation wrote only this annotation, and the NodeTemplate controller holds the pool
   * at zero limits while it is there (one writer per field, so neither leaves limits behind the other cannot remove).
   */
  heldByTemplate?: true;
}

interface Annotated {
  metadata: { annotations?: Record<string, string> | undefined };
}

function isCount(value: unknown): boolean {
  return value === undefined || value === null || (Number.isInteger(value) && (value as number) >= 0);
}

function isLimits(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value !== "object" || Array.isArray(value)) return false;
  return Object.values(value).every((v) => typeof v === "string" || typeof v === "number");
}

function isSavedValue(saved: SavedOriginal): boolean {
  const suspendOk = saved.suspend === undefined || saved.suspend === null || typeof saved.suspend === "boolean";
  return isCount(saved.replicas) && suspendOk && isLimits(saved.limits);
}

/**
 * Our annotation as saved, "absent", or "unreadable" (hand-edited: not JSON, or values no object could take back). An
 * unreadable one is left as it is and reported: overwriting it would lose what it held, restoring it would fail.
 */
export function savedState(object: Annotated): SavedOriginal | "absent" | "unreadable" {
  const raw = object.metadata.annotations?.[SAVED_ANNOTATION];
  if (raw === undefined) return "absent";
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (typeof parsed === "object" && parsed !== null && typeof (parsed as SavedOriginal).by === "string")
      return isSavedValue(parsed as SavedOriginal) ? (parsed as SavedOriginal) : "unreadable";
  } catch {
    // Not JSON: unreadable, as below.
  }
  return "unreadable";
}

/** Reads our annotation; undefined when absent or unreadable (savedState tells the two apart). */
export function readSaved(object: Annotated): SavedOriginal | undefined {
  const state = savedState(object);
  return typeof state === "object" ? state : undefined;
}

/** Whether a schedule put a NodeTemplate's pool to sleep for its controller to hold at zero limits (it says so). */
export function hibernationHolds(annotations: Record<string, string> | undefined): boolean {
  return readSaved({ metadata: { annotations } })?.heldByTemplate === true;
}
