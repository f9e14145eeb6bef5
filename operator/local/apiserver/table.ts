// meta.k8s.io/v1 Table responses (server-side printing for `kubectl get`), incl. CRD additionalPrinterColumns.
import type { PrinterColumn, ResourceType } from "./registry.js";
import { versionOf } from "./registry.js";
import type { KubeObject } from "./selectors.js";
import { humanDuration } from "./objects.js";

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

type CellFn = (o: KubeObject) => unknown;

const NAME: Column = {
  name: "Name",
  type: "string",
  format: "name",
  description:
    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
  priority: 0,
};
const AGE_DESC = "CreationTimestamp is a timestamp representing the server time when this object was created.";

function col(name: string, type = "string", priority = 0, description = ""): Column {
  return { name, type, format: "", description, priority };
}

function age(o: KubeObject): string {
  const ts = o.metadata?.creationTimestamp as string | undefined;
  return ts ? humanDuration(Date.now() - Date.parse(ts)) : "<unknown>";
}

function podReady(o: KubeObject): string {
  const total = ((o.spec?.containers as unknown[] | undefined) ?? []).length;
  const ready = ((o.status?.containerStatuses as { ready?: boolean }[] | undefined) ?? []).filter(
    (c) => c.ready,
  ).length;
  return `${ready}/${total}`;
}

function podRestarts(o: KubeObject): number {
  return ((o.status?.containerStatuses as { restartCount?: number }[] | undefined) ?? []).reduce(
    (n, c) => n + (c.restartCount ?? 0),
    0,
  );
}

function nodeStatus(o: KubeObject): string {
  const ready = ((o.status?.conditions as { type?: string; status?: string }[] | undefined) ?? []).find(
    (c) => c.type === "Ready",
  );
  const base = ready?.status === "True" ? "Ready" : ready ? "NotReady" : "Unknown";
  return o.spec?.unschedulable ? `${base},SchedulingDisabled` : base;
}

function nodeRoles(o: KubeObject): string {
  const roles = Object.keys((o.metadata?.labels ?? {}) as Record<string, string>)
    .filter((k) => k.startsWith("node-role.kubernetes.io/"))
    .map((k) => k.slice("node-role.kubernetes.io/".length));
  return roles.length > 0 ? roles.sort().join(",") : "<none>";
}

/** Columns and cells per built-in kind (a subset of kubectl's printers, enough to read `kubectl get`). */
const BUILTIN: Record<string, [Column, CellFn][]> = {
  Pod: [
    [col("Ready"), podReady],
    [col("Status"), (o) => (o.metadata?.deletionTimestamp ? "Terminating" : (o.status?.phase ?? "Pending"))],
    [col("Restarts", "string"), (o) => String(podRestarts(o))],
    [col("Age"), age],
    [col("IP", "string", 1), (o) => o.status?.podIP ?? "<none>"],
    [col("Node", "string", 1), (o) => o.spec?.nodeName ?? "<none>"],
  ],
  Node: [
    [col("Status"), nodeStatus],
    [col("Roles"), nodeRoles],
    [col("Age"), age],
    [col("Version"), (o) => o.status?.nodeInfo?.kubeletVersion ?? ""],
  ],
  Namespace: [
    [col("Status"), (o) => o.status?.phase ?? ""],
    [col("Age"), age],
  ],
  Deployment: [
    [col("Ready"), (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`],
    [col("Up-to-date", "integer"), (o) => o.status?.updatedReplicas ?? 0],
    [col("Available", "integer"), (o) => o.status?.availableReplicas ?? 0],
    [col("Age"), age],
  ],
  StatefulSet: [
    [col("Ready"), (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`],
    [col("Age"), age],
  ],
  PodDisruptionBudget: [
    [col("Min Available"), (o) => (o.spec?.minAvailable === undefined ? "N/A" : String(o.spec.minAvailable))],
    [col("Max Unavailable"), (o) => (o.spec?.maxUnavailable === undefined ? "N/A" : String(o.spec.maxUnavailable))],
    [col("Allowed Disruptions", "integer"), (o) => o.status?.disruptionsAllowed ?? 0],
    [col("Age"), age],
  ],
  Lease: [
    [col("Holder"), (o) => o.spec?.holderIdentity ?? ""],
    [col("Age"), age],
  ],
  CronJob: [
    [col("Schedule"), (o) => o.spec?.schedule ?? ""],
    [col("Suspend", "boolean"), (o) => String(o.spec?.suspend ?? false)],
    [col("Age"), age],
  ],
  Event: [
    [col("Type"), (o) => o.type ?? ""],
    [col("Reason"), (o) => o.reason ?? ""],
    [
      col("Object"),
      (o) => `${String(o.involvedObject?.kind ?? "").toLowerCase()}/${String(o.involvedObject?.name ?? "")}`,
    ],
    [col("Message"), (o) => o.message ?? o.note ?? ""],
  ],
  CustomResourceDefinition: [[col("Created At", "date"), (o) => o.metadata?.creationTimestamp ?? ""]],
};

/** Evaluates the simple JSONPath subset CRD printer columns use: `.a.b`, `[0]`, `[*]`, `[?(@.type=="Ready")]`. */
export function evalJsonPath(obj: unknown, path: string): unknown[] {
  const tokens = path.replace(/^\{|\}$/g, "").match(/\.[^.[\]]+|\[[^\]]*\]/g) ?? [];
  let cur: unknown[] = [obj];
  for (const t of tokens) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (t.startsWith(".")) {
        const k = t.slice(1);
        if (v && typeof v === "object" && !Array.isArray(v) && k in (v as Record<string, unknown>))
          next.push((v as Record<string, unknown>)[k]);
      } else if (Array.isArray(v)) {
        next.push(...selectArray(v, t.slice(1, -1)));
      }
    }
    cur = next;
  }
  return cur.filter((v) => v !== undefined);
}

function selectArray(arr: unknown[], expr: string): unknown[] {
  if (expr === "*") return arr;
  if (/^-?\d+$/.test(expr)) {
    const i = Number(expr);
    const v = arr[i < 0 ? arr.length + i : i];
    return v === undefined ? [] : [v];
  }
  const m = /^\?\(@\.([\w.-]+)\s*==\s*["']([^"']*)["']\)$/.exec(expr);
  if (!m) return [];
  const [, field, want] = m;
  return arr.filter((e) => evalJsonPath(e, `.${field!}`)[0] === want);
}

function cellFor(c: PrinterColumn, o: KubeObject): unknown {
  const values = evalJsonPath(o, c.jsonPath);
  if (values.length === 0) return null;
  const v = values[0];
  switch (c.type) {
    case "integer":
      return typeof v === "number" ? Math.trunc(v) : null;
    case "number":
      return typeof v === "number" ? v : null;
    case "boolean":
      return typeof v === "boolean" ? v : null;
    case "date":
      return typeof v === "string"
        ? Number.isNaN(Date.parse(v))
          ? "<invalid>"
          : humanDuration(Date.now() - Date.parse(v))
        : null;
    default:
      return typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
  }
}

function columnsFor(rt: ResourceType, version: string): [Column, CellFn][] {
  if (rt.crd) {
    const printer = versionOf(rt, version).additionalPrinterColumns;
    const cols: PrinterColumn[] =
      printer && printer.length > 0
        ? printer
        : [{ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: AGE_DESC }];
    return cols.map((c) => [
      {
        name: c.name,
        type: c.type,
        format: c.format ?? "",
        description: c.description ?? "",
        priority: c.priority ?? 0,
      },
      (o: KubeObject) => cellFor(c, o),
    ]);
  }
  return BUILTIN[rt.kind] ?? [[col("Age", "string", 0, AGE_DESC), age]];
}

/** The Table for `objects`; `includeObject` is None, Metadata (default) or Object, as the TableOptions query says. */
export function toTable(
  rt: ResourceType,
  version: string,
  objects: KubeObject[],
  opts: { includeObject?: string; resourceVersion?: string; continueToken?: string },
): Record<string, unknown> {
  const cols = columnsFor(rt, version);
  const rows = objects.map((o) => {
    const row: Record<string, unknown> = { cells: [o.metadata?.name ?? "", ...cols.map(([, f]) => f(o))] };
    if (opts.includeObject === "Object") row.object = o;
    else if (opts.includeObject !== "None") {
      row.object = { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
    }
    return row;
  });
  const metadata: Record<string, unknown> = {};
  if (opts.resourceVersion) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continueToken) metadata.continue = opts.continueToken;
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata,
    columnDefinitions: [NAME, ...cols.map(([c]) => c)],
    rows,
  };
}
