// Pod resource requests and node allocatable as numbers (cpu in millicores, the rest in base units), as the scheduler adds them.
import { parseQuantity } from "../../../../src-shared/fleet/quantity.js";
import type { KubeObject } from "../selectors.js";

/** A quantity's value (0 when absent or unreadable: the API server refuses bad quantities on write). */
export function quantityValue(q: unknown): number {
  if (typeof q !== "number" && typeof q !== "string") return 0;
  return parseQuantity(q) ?? 0;
}

/** Resource amounts by name; cpu in millicores. */
export type Resources = Map<string, number>;

function amount(name: string, q: unknown): number {
  const v = quantityValue(q);
  return name === "cpu" ? Math.ceil(v * 1000) : v;
}

export function resourceList(list: unknown): Resources {
  const out: Resources = new Map();
  if (!list || typeof list !== "object") return out;
  for (const [name, q] of Object.entries(list as Record<string, unknown>)) out.set(name, amount(name, q));
  return out;
}

function addInto(into: Resources, add: Resources, sign = 1): void {
  for (const [k, v] of add) into.set(k, (into.get(k) ?? 0) + sign * v);
}

type Container = { resources?: { requests?: unknown } };

/** What a pod asks for: the sum of its containers, at least each init container, plus overhead (as upstream). */
export function podRequests(pod: KubeObject): Resources {
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[]; overhead?: unknown };
  const total: Resources = new Map();
  for (const c of spec.containers ?? []) addInto(total, resourceList(c.resources?.requests));
  for (const c of spec.initContainers ?? []) {
    for (const [k, v] of resourceList(c.resources?.requests)) if (v > (total.get(k) ?? 0)) total.set(k, v);
  }
  addInto(total, resourceList(spec.overhead));
  return total;
}

export function addResources(into: Resources, add: Resources): void {
  addInto(into, add);
}

export function subtractResources(from: Resources, sub: Resources): void {
  addInto(from, sub, -1);
}
