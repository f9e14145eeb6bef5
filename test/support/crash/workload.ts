// A seeded write workload for crash tests: sequential workers, each owning its objects, so the state a crash may
// leave is known exactly — the last acknowledged write of each object, or the one still in flight when it died.
import type { RawResponse, RawTarget } from "../../../operator/local/apiserver/client.js";
import { rawRequest } from "../../../operator/local/apiserver/client.js";

export type Kind = "configmap" | "deployment";

/** What the test compares: ConfigMap data, or a Deployment's replicas and status.readyReplicas; undefined = absent. */
export type Logical = string | undefined;

export interface TrackedObject {
  kind: Kind;
  name: string;
  /** State after the last acknowledged write. */
  acked: Logical;
  ackedRv?: string;
  /** A write sent but not answered when the server died: its outcome is unknown, either state is allowed. */
  inFlight?: { next: Logical };
}

interface Op {
  label: string;
  method: string;
  path: string;
  body?: unknown;
  contentType?: string;
  /** Status that acknowledges the write, and the state it leaves. */
  ok: number[];
  next: Logical;
  /** A write the server must refuse (4xx): its content must never appear. */
  refused?: boolean;
}

const NS = "crash";
const base = (kind: Kind): string =>
  kind === "configmap" ? `/api/v1/namespaces/${NS}/configmaps` : `/apis/apps/v1/namespaces/${NS}/deployments`;

export function logicalOf(kind: Kind, obj: any): Logical {
  if (!obj) return undefined;
  if (kind === "configmap") return JSON.stringify(obj.data ?? {});
  return JSON.stringify({ replicas: obj.spec?.replicas, ready: obj.status?.readyReplicas ?? null });
}

function deployment(name: string, replicas: number): Record<string, unknown> {
  const labels = { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: "c", image: "busybox" }] } },
    },
  };
}

function createOps(o: TrackedObject, n: number, pick: number): Op {
  const path = `${base(o.kind)}`;
  if (o.kind === "deployment")
    return {
      label: "create",
      method: "POST",
      path,
      body: deployment(o.name, n),
      ok: [201],
      next: JSON.stringify({ replicas: n, ready: null }),
    };
  const data = { v: String(n) };
  if (pick < 0.5)
    return {
      label: "create",
      method: "POST",
      path,
      body: { metadata: { name: o.name }, data },
      ok: [201],
      next: JSON.stringify(data),
    };
  return {
    label: "apply-create",
    method: "PATCH",
    path: `${path}/${o.name}?fieldManager=crash-test`,
    body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: o.name }, data }),
    contentType: "application/apply-patch+yaml",
    ok: [201],
    next: JSON.stringify(data),
  };
}

function refusedOp(o: TrackedObject, pick: number): Op {
  const path = `${base(o.kind)}/${o.name}`;
  if (pick < 0.5)
    return {
      label: "refused-duplicate-create",
      method: "POST",
      path: base(o.kind),
      body: o.kind === "configmap" ? { metadata: { name: o.name }, data: { refused: "yes" } } : deployment(o.name, 99),
      ok: [409],
      next: o.acked,
      refused: true,
    };
  return {
    label: "refused-stale-update",
    method: "PUT",
    path,
    body:
      o.kind === "configmap"
        ? { metadata: { name: o.name, resourceVersion: "1" }, data: { refused: "yes" } }
        : { ...deployment(o.name, 99), metadata: { name: o.name, resourceVersion: "1" } },
    ok: [409],
    next: o.acked,
    refused: true,
  };
}

function configMapOp(o: TrackedObject, n: number, pick: number): Op {
  const path = `${base(o.kind)}/${o.name}`;
  const data = { v: String(n) };
  if (pick < 0.3)
    return {
      label: "update",
      method: "PUT",
      path,
      body: { metadata: { name: o.name, resourceVersion: o.ackedRv }, data },
      ok: [200],
      next: JSON.stringify(data),
    };
  if (pick < 0.55)
    return {
      label: "merge-patch",
      method: "PATCH",
      path,
      body: { data: { v: String(n) } },
      contentType: "application/merge-patch+json",
      ok: [200],
      next: JSON.stringify({ ...JSON.parse(o.acked!), v: String(n) }),
    };
  if (pick < 0.8)
    return {
      label: "apply",
      method: "PATCH",
      path: `${path}?fieldManager=crash-test&force=true`,
      body: JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: o.name },
        data: { v: String(n), w: "applied" },
      }),
      contentType: "application/apply-patch+yaml",
      ok: [200],
      // Apply owns the fields it sent; keys only an update or patch set stay.
      next: JSON.stringify({ ...JSON.parse(o.acked!), v: String(n), w: "applied" }),
    };
  return { label: "delete", method: "DELETE", path, ok: [200], next: undefined };
}

function deploymentOp(o: TrackedObject, n: number, pick: number): Op {
  const path = `${base(o.kind)}/${o.name}`;
  const cur = JSON.parse(o.acked!) as { replicas: number; ready: number | null };
  if (pick < 0.35)
    return {
      label: "status",
      method: "PATCH",
      path: `${path}/status`,
      body: { status: { readyReplicas: n } },
      contentType: "application/merge-patch+json",
      ok: [200],
      next: JSON.stringify({ ...cur, ready: n }),
    };
  if (pick < 0.7)
    return {
      label: "scale-patch",
      method: "PATCH",
      path,
      body: { spec: { replicas: n } },
      contentType: "application/merge-patch+json",
      ok: [200],
      next: JSON.stringify({ ...cur, replicas: n }),
    };
  return { label: "delete", method: "DELETE", path, ok: [200], next: undefined };
}

/** The next write for `o`, chosen by `random`; `n` makes every written value unique. */
export function nextOp(o: TrackedObject, n: number, random: () => number): Op {
  if (o.acked === undefined) return createOps(o, n, random());
  if (random() < 0.15) return refusedOp(o, random());
  return o.kind === "configmap" ? configMapOp(o, n, random()) : deploymentOp(o, n, random());
}

export function send(target: RawTarget, op: Op): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  if (op.contentType) headers["Content-Type"] = op.contentType;
  return rawRequest(target, op.method, op.path, { body: op.body, headers });
}

export const CRASH_NAMESPACE = NS;
