// exclusions.namespaces on remote clusters: the agent's heartbeat says, per namespace, whether pods lack
// `karpenter.sh/do-not-disrupt` or carry this policy's marker; each namespace that needs a change gets one `annotate`
// AgentAction naming the Namespace, which the agent resolves to its pods (only pods without the annotation are
// protected, only pods with this policy's marker are released). Level-based: a report read after the action completed
// that still shows the need (new pods, a failure) hands it over again; a need that is gone retires its actions.
import { createHash } from "node:crypto";
import { DO_NOT_DISRUPT, PROTECTED_BY } from "../../../src-shared/agent/annotations.js";
import type { HeartbeatPodGroup } from "../../../src-shared/agent/protocol.js";
import { ownerMarks } from "../../../src-shared/agent/action-owner.js";
import type { AgentAction } from "../../../src-shared/crds/index.js";
import { API_VERSION } from "../../../src-shared/crds/common.js";
import { KubeApiError, type KubeClient, type KubeObject } from "../../../src-shared/kube/index.js";
import { reportAfter, type RemoteView } from "../../../src-shared/agent/remote-view.js";

/** Label (and annotation, with the full name) on the AgentActions of a policy's remote exclusions, naming the policy. */
export const POLICY_ACTION_LABEL = "optimizationpolicy.spotoptimizer.io/policy";
const FIELD_MANAGER = "spot-optimizer-optimizationpolicy";
/** A failed action is handed over again no sooner than this after it failed. */
const RETRY_AFTER_FAILURE_MS = 15_000;

export interface ExclusionNeed {
  namespace: string;
  op: "protect" | "release";
}

/**
 * Pure: the namespaces whose reported pods differ from "exactly the pods of `excluded` are protected by `policyKey`":
 * protect where a pod lacks the annotation (one set by someone else counts as present), release where a pod carries
 * this policy's marker outside `excluded`.
 */
export function exclusionNeeds(input: {
  groups: readonly HeartbeatPodGroup[];
  excluded: ReadonlySet<string>;
  policyKey: string;
}): ExclusionNeed[] {
  const needs = new Map<string, ExclusionNeed>();
  for (const g of input.groups) {
    const excluded = input.excluded.has(g.namespace);
    if (excluded && !g.do_not_disrupt) needs.set(`protect/${g.namespace}`, { namespace: g.namespace, op: "protect" });
    if (!excluded && g.protected_by === input.policyKey)
      needs.set(`release/${g.namespace}`, { namespace: g.namespace, op: "release" });
  }
  return [...needs.values()].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.op.localeCompare(b.op));
}

/** The `annotate` params of a need: what the agent sets on which pods of the namespace. */
export function exclusionParams(need: ExclusionNeed, policyKey: string): Record<string, unknown> {
  return need.op === "protect"
    ? {
        annotations: { [DO_NOT_DISRUPT]: "true", [PROTECTED_BY]: policyKey },
        pods: { when: { [DO_NOT_DISRUPT]: null } },
      }
    : { annotations: { [DO_NOT_DISRUPT]: null, [PROTECTED_BY]: null }, pods: { when: { [PROTECTED_BY]: policyKey } } };
}

const finished = (a: AgentAction): boolean => a.status?.phase === "Succeeded" || a.status?.phase === "Failed";
const completedMs = (a: AgentAction): number => Date.parse(a.status?.completedAt ?? "") || 0;

function baseOf(policyKey: string, cluster: string, need: ExclusionNeed): string {
  const digest = createHash("sha256")
    .update(`${policyKey}\u0000${cluster}\u0000${need.op}\u0000${need.namespace}`)
    .digest("hex")
    .slice(0, 24);
  return `exclusion-${digest}`;
}

function tryOf(a: AgentAction, base: string): number | undefined {
  const name = a.metadata.name ?? "";
  if (!name.startsWith(`${base}-`)) return undefined;
  const n = Number(name.slice(base.length + 1));
  return Number.isInteger(n) ? n : undefined;
}

export interface ClusterExclusions {
  client: KubeClient;
  /** The policy's namespace, `namespace/name` and name (the policy may be gone: then nothing is excluded). */
  namespace: string;
  policyKey: string;
  policyName: string;
  view: RemoteView;
  excluded: ReadonlySet<string>;
  /** The policy's exclusion actions for this cluster. */
  actions: readonly AgentAction[];
}

function actionObject(c: ClusterExclusions, name: string, need: ExclusionNeed): KubeObject {
  const marks = ownerMarks(POLICY_ACTION_LABEL, c.policyName);
  return {
    apiVersion: API_VERSION,
    kind: "AgentAction",
    metadata: {
      name,
      namespace: c.namespace,
      labels: { ...marks.labels, "app.kubernetes.io/managed-by": "spot-optimizer" },
      annotations: marks.annotations,
    },
    spec: {
      clusterRef: { name: c.view.clusterName },
      type: "annotate",
      target: { apiVersion: "v1", kind: "Namespace", name: need.namespace },
      params: exclusionParams(need, c.policyKey),
    },
  };
}

async function create(client: KubeClient, object: KubeObject): Promise<void> {
  try {
    await client.create(object, { fieldManager: FIELD_MANAGER });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.statusCode === 409 && err.reason === "AlreadyExists")) throw err;
  }
}

async function drop(client: KubeClient, a: AgentAction): Promise<void> {
  await client.delete({
    apiVersion: API_VERSION,
    kind: "AgentAction",
    namespace: a.metadata.namespace,
    name: a.metadata.name ?? "",
  });
}

/** One need: its first action, or the next once the report read after the last one still shows the need. */
async function pursue(c: ClusterExclusions, need: ExclusionNeed): Promise<void> {
  const base = baseOf(c.policyKey, c.view.clusterName, need);
  const tries = c.actions
    .map((a) => ({ a, n: tryOf(a, base) }))
    .filter((t): t is { a: AgentAction; n: number } => t.n !== undefined)
    .sort((x, y) => y.n - x.n);
  const latest = tries[0];
  if (latest && !finished(latest.a)) return;
  const settleFrom = latest
    ? completedMs(latest.a) + (latest.a.status?.phase === "Failed" ? RETRY_AFTER_FAILURE_MS : 0)
    : 0;
  if (latest && !reportAfter(c.view, settleFrom)) return;
  await create(c.client, actionObject(c, `${base}-${latest ? latest.n + 1 : 0}`, need));
  for (const t of tries) await drop(c.client, t.a);
}

/**
 * Brings one remote cluster's protected pods in line with `excluded`; true while actions are outstanding (so the
 * caller looks again: the report that settles them may not name this policy any more).
 */
export async function syncClusterExclusions(c: ClusterExclusions): Promise<boolean> {
  const needs = exclusionNeeds({ groups: c.view.pods, excluded: c.excluded, policyKey: c.policyKey });
  for (const need of needs) await pursue(c, need);
  const wanted = new Set(needs.map((n) => baseOf(c.policyKey, c.view.clusterName, n)));
  let left = needs.length > 0;
  for (const a of c.actions) {
    if ([...wanted].some((base) => tryOf(a, base) !== undefined)) continue;
    // A need that is gone: its action is history once a report read after it completed agrees.
    if (finished(a) && reportAfter(c.view, completedMs(a))) await drop(c.client, a);
    else left = true;
  }
  return left;
}
