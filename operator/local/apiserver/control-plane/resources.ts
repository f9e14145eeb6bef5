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

// kube-scheduler scores a container that sets no cpu or memory request as asking 100m / 200 MiB, so that pods
// without requests still spread over nodes (the fit check uses the real requests).
const SCORING_DEFAULTS: [string, number][] = [
  ["cpu", 100],
  ["memory", 200 * 1024 * 1024],
];

function containerRequests(c: Container, nonZero: boolean): Resources {
  const requests = resourceList(c.resources?.requests);
  if (!nonZero) return requests;
  const set = (c.resources?.requests ?? {}) as Record<string, unknown>;
  for (const [name, value] of SCORING_DEFAULTS) if (!(name in set)) requests.set(name, value);
  return requests;
}

function sumRequests(pod: KubeObject, nonZero: boolean): Resources {
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[]; overhead?: unknown };
  const total: Resources = new Map();
  for (const c of spec.containers ?? []) addInto(total, containerRequests(c, nonZero));
  for (const c of spec.initContainers ?? []) {
    for (const [k, v] of containerRequests(c, nonZero)) if (v > (total.get(k) ?? 0)) total.set(k, v);
  }
  addInto(total, resourceList(spec.overhead));
  return total;
}

/** What a pod asks for: the sum of its containers, at least each init container, plus overhead (as upstream). */
export function podRequests(pod: KubeObject): Resources {
  return sumRequests(pod, false);
}

/** The requests kube-scheduler scores with: as podRequests, with unset cpu/memory container requests defaulted. */
export function podScoringRequests(pod: KubeObject): Resources {
  return sumRequests(pod, true);
}

export function addResources(into: Resources, add: Resources): void {
  addInto(into, add);
}

export function subtractResources(from: Resources, sub: Resources): void {
  addInto(from, sub, -1);
}
