// The Deployment controller: one ReplicaSet per pod template (named by its hash), rolled by strategy, and status.
import type { CommittedWrite } from "../core.js";
import { keyOf } from "../core.js";
import { clone, deepEqual } from "../objects.js";
import type { KubeObject } from "../selectors.js";
import { upsertCondition } from "./conditions.js";
import { controllerRefTo, type OwnerIndex } from "./owners.js";
import { isPodActive } from "./pods.js";
import { withKind } from "./replicasets.js";
import type { Loop, LoopRuntime } from "./runtime.js";

const DEPLOY = "apps/deployments";
const RS = "apps/replicasets";
const HASH_LABEL = "pod-template-hash";
const REVISION = "deployment.kubernetes.io/revision";
const DESIRED = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";
/** rand.SafeEncodeString's alphabet: no vowels, no confusable digits. */
const SAFE = "bcdfghjklmnpqrstvwxz2456789";

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

/** FNV-32a of the template (and collisionCount), encoded as upstream's ComputeHash encodes it. */
export function templateHash(template: unknown, collisionCount = 0): string {
  let h = 0x811c9dc5;
  const text = stable(template) + (collisionCount ? String(collisionCount) : "");
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return String(h)
    .split("")
    .map((d) => SAFE[Number(d) % SAFE.length])
    .join("");
}

function withoutHash(template: unknown): unknown {
  const t = clone((template ?? {}) as Record<string, any>);
  if (t.metadata?.labels) delete t.metadata.labels[HASH_LABEL];
  return t;
}

/** intstr as upstream scales it: percentages of `total`, rounded up for surge and down for unavailability. */
function scaled(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.endsWith("%")) {
    const x = (Number(v.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  return Number(v) || 0;
}

function replicasOf(obj: KubeObject): number {
  return (obj.spec?.replicas as number | undefined) ?? 0;
}

function statusNumber(obj: KubeObject, field: string): number {
  return (obj.status?.[field] as number | undefined) ?? 0;
}

function revisionOf(rs: KubeObject): number {
  return Number((rs.metadata?.annotations as Record<string, string> | undefined)?.[REVISION] ?? 0) || 0;
}

interface Plan {
  d: KubeObject;
  newRs?: KubeObject;
  olds: KubeObject[];
  replicas: number;
  maxSurge: number;
  maxUnavailable: number;
}

export class DeploymentController implements Loop {
  constructor(
    private readonly runtime: LoopRuntime,
    private readonly owners: OwnerIndex,
  ) {}

  resync(): void {
    for (const d of this.runtime.core.store.list(DEPLOY)) this.enqueue(keyOf(d));
  }

  observe(w: CommittedWrite): void {
    const ev = w.event;
    if (ev.resource === DEPLOY && ev.type !== "DELETED") this.enqueue(ev.key);
    for (const key of this.owners.controllersOf(ev, RS, { kind: "Deployment", plural: "deployments" }))
      this.enqueue(key);
  }

  private enqueue(key: string): void {
    this.runtime.enqueue(`deploy:${key}`, () => this.sync(key));
  }

  private sync(key: string): void {
    const d = this.runtime.core.store.get(DEPLOY, key);
    if (!d || d.metadata?.deletionTimestamp) return;
    const plan = this.plan(d);
    if (!d.spec?.paused) {
      if (!plan.newRs) plan.newRs = this.createNewRs(plan);
      if (d.spec?.strategy?.type === "Recreate") this.recreate(plan);
      else this.rollingUpdate(plan);
      this.cleanup(plan);
    }
    this.writeStatus(key);
  }

  private plan(d: KubeObject): Plan {
    const all = this.owners.controlled(d.metadata?.uid as string, RS).filter((rs) => !rs.metadata?.deletionTimestamp);
    const want = stable(withoutHash(d.spec?.template));
    const newRs = all.find((rs) => stable(withoutHash(rs.spec?.template)) === want);
    const olds = all.filter((rs) => rs !== newRs).sort((a, b) => revisionOf(a) - revisionOf(b));
    const replicas = replicasOf(d);
    const ru = d.spec?.strategy?.rollingUpdate ?? {};
    const maxSurge = scaled(ru.maxSurge ?? "25%", replicas, true);
    let maxUnavailable = scaled(ru.maxUnavailable ?? "25%", replicas, false);
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    return { d, newRs, olds, replicas, maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
  }

  private createNewRs(plan: Plan): KubeObject {
    const d = plan.d;
    const hash = templateHash(d.spec?.template, (d.status?.collisionCount as number | undefined) ?? 0);
    const template = clone(d.spec?.template ?? {});
    template.metadata = { ...(template.metadata ?? {}) };
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [HASH_LABEL]: hash };
    const selector = clone(d.spec?.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash };
    const revision = Math.max(0, ...plan.olds.map(revisionOf)) + 1;
    const running = plan.olds.reduce((n, rs) => n + replicasOf(rs), 0);
    const initial = d.spec?.strategy?.type === "Recreate" || running === 0 ? plan.replicas : 0;
    const rsType = this.runtime.type("apps", "replicasets");
    const ns = d.metadata?.namespace as string;
    return this.runtime.core.create(
      { ...this.runtime.ctx(rsType, ns), verb: "create" },
      {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: {
          name: `${String(d.metadata?.name)}-${hash}`,
          namespace: ns,
          labels: template.metadata.labels,
          annotations: this.annotations(plan, revision),
          ownerReferences: [controllerRefTo(withKind(d, "apps/v1", "Deployment"))],
        },
        spec: {
          replicas: initial,
          minReadySeconds: d.spec?.minReadySeconds ?? 0,
          selector,
          template,
        },
      },
    );
  }

  private annotations(plan: Plan, revision: number): Record<string, string> {
    return {
      [DESIRED]: String(plan.replicas),
      [MAX_REPLICAS]: String(plan.replicas + plan.maxSurge),
      [REVISION]: String(revision),
    };
  }

  /** Scales a ReplicaSet (spec.replicas and the deployment annotations); no write when nothing changes. */
  private scale(plan: Plan, rs: KubeObject, replicas: number): void {
    const next = clone(rs);
    next.spec = { ...next.spec, replicas };
    next.metadata!.annotations = { ...(next.metadata?.annotations ?? {}), ...this.annotations(plan, revisionOf(rs)) };
    if (rs === plan.newRs) {
      next.spec.minReadySeconds = plan.d.spec?.minReadySeconds ?? 0;
      const revision = Math.max(revisionOf(rs), ...plan.olds.map((o) => revisionOf(o) + 1));
      next.metadata!.annotations[REVISION] = String(revision);
    } else if (replicas === replicasOf(rs)) return;
    if (deepEqual(next, rs)) return;
    const rsType = this.runtime.type("apps", "replicasets");
    this.runtime.core.commitUpdate(this.runtime.ctx(rsType, rs.metadata?.namespace as string), rs, next);
  }

  /** Recreate: old ReplicaSets go to 0, and the new one scales up once none of their pods is left running. */
  private recreate(plan: Plan): void {
    for (const rs of plan.olds) this.scale(plan, rs, 0);
    const oldPods = plan.olds.some((rs) =>
      this.owners.controlled(rs.metadata?.uid as string, "/pods").some(isPodActive),
    );
    this.scale(plan, plan.newRs!, oldPods ? replicasOf(plan.newRs!) : plan.replicas);
  }

  /** RollingUpdate within maxSurge above and maxUnavailable below spec.replicas (rolling.go, simplified). */
  private rollingUpdate(plan: Plan): void {
    const newRs = plan.newRs!;
    const total = (): number => [newRs, ...plan.olds].reduce((n, rs) => n + replicasOf(rs), 0);
    let newReplicas = replicasOf(newRs);
    if (plan.olds.every((rs) => replicasOf(rs) === 0)) newReplicas = plan.replicas;
    else if (newReplicas > plan.replicas) newReplicas = plan.replicas;
    else if (newReplicas < plan.replicas) {
      const room = plan.replicas + plan.maxSurge - total();
      newReplicas += Math.max(0, Math.min(room, plan.replicas - newReplicas));
    }
    this.scale(plan, newRs, newReplicas);
    const minAvailable = plan.replicas - plan.maxUnavailable;
    const newUnavailable = newReplicas - statusNumber(newRs, "availableReplicas");
    let budget = total() - minAvailable - newUnavailable;
    // Old replicas that are not available go first; then available ones while availability stays above the minimum.
    for (const rs of plan.olds) {
      if (budget <= 0) break;
      const unhealthy = Math.max(0, replicasOf(rs) - statusNumber(rs, "availableReplicas"));
      const down = Math.min(budget, unhealthy);
      if (down > 0) this.scale(plan, rs, replicasOf(rs) - down);
      budget -= down;
    }
    const available = [newRs, ...plan.olds].reduce((n, rs) => n + statusNumber(rs, "availableReplicas"), 0);
    let scaleDown = Math.min(budget, available - minAvailable);
    for (const rs of plan.olds) {
      const cur = this.runtime.core.store.get(RS, keyOf(rs)) ?? rs;
      if (scaleDown <= 0) break;
      const down = Math.min(scaleDown, replicasOf(cur));
      if (down > 0) this.scale(plan, cur, replicasOf(cur) - down);
      scaleDown -= down;
    }
  }

  /** Old ReplicaSets scaled to 0 beyond revisionHistoryLimit are deleted, oldest first. */
  private cleanup(plan: Plan): void {
    const limit = (plan.d.spec?.revisionHistoryLimit as number | undefined) ?? 10;
    const idle = plan.olds.filter((rs) => {
      const cur = this.runtime.core.store.get(RS, keyOf(rs));
      return cur && replicasOf(cur) === 0 && statusNumber(cur, "replicas") === 0;
    });
    const rsType = this.runtime.type("apps", "replicasets");
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit)))
      this.runtime.core.delete(
        this.runtime.ctx(rsType, rs.metadata?.namespace as string),
        rs.metadata?.name as string,
        {},
      );
  }

  private writeStatus(key: string): void {
    const d = this.runtime.core.store.get(DEPLOY, key);
    if (!d) return;
    const plan = this.plan(d);
    const all = [...(plan.newRs ? [plan.newRs] : []), ...plan.olds];
    const sum = (f: string): number => all.reduce((n, rs) => n + statusNumber(rs, f), 0);
    const status: Record<string, any> = {
      ...clone((d.status ?? {}) as Record<string, any>),
      observedGeneration: d.metadata?.generation,
      replicas: sum("replicas"),
      updatedReplicas: plan.newRs ? statusNumber(plan.newRs, "replicas") : 0,
      readyReplicas: sum("readyReplicas"),
      availableReplicas: sum("availableReplicas"),
    };
    status.unavailableReplicas = Math.max(0, plan.replicas - status.availableReplicas);
    status.conditions = conditions(plan, status);
    if (deepEqual(status, d.status)) return;
    const dType = this.runtime.type("apps", "deployments");
    this.runtime.core.commitUpdate(
      this.runtime.ctx(dType, d.metadata?.namespace as string),
      d,
      { ...d, status },
      "status",
    );
  }
}

/** Available and Progressing, with the reasons and messages the deployment controller writes. */
function conditions(plan: Plan, status: Record<string, any>): Record<string, unknown>[] {
  const available = status.availableReplicas >= plan.replicas - plan.maxUnavailable;
  let list = upsertCondition(status.conditions, {
    type: "Available",
    status: available ? "True" : "False",
    reason: available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
    message: available ? "Deployment has minimum availability." : "Deployment does not have minimum availability.",
    withUpdateTime: true,
  });
  const name = String(plan.newRs?.metadata?.name ?? "");
  const complete =
    status.updatedReplicas === plan.replicas &&
    status.replicas === plan.replicas &&
    status.availableReplicas === plan.replicas;
  list = upsertCondition(list, {
    type: "Progressing",
    status: "True",
    reason: complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
    message: complete ? `ReplicaSet "${name}" has successfully progressed.` : `ReplicaSet "${name}" is progressing.`,
    withUpdateTime: true,
  });
  // Upstream lists Available before Progressing once both exist.
  return list.sort((a, b) => (a.type === "Available" ? -1 : b.type === "Available" ? 1 : 0));
}
