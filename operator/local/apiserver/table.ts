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

type Obj = Record<string, any>;

const P1 = 1;
const list = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);
const count = (v: unknown): number => (v && typeof v === "object" ? Object.keys(v).length : 0);
const since = (ts: unknown): string =>
  typeof ts === "string" && ts !== "" ? humanDuration(Date.now() - Date.parse(ts)) : "<unknown>";
const orNone = (v: unknown): string => (v === undefined || v === null || v === "" ? "<none>" : String(v));

/** labels.FormatLabels / LabelSelectorAsSelector: `k=v` pairs sorted by key, `<none>` when empty. */
function selectorString(sel: unknown, isLabelSelector: boolean): string {
  const src = (isLabelSelector ? (sel as Obj | undefined)?.matchLabels : sel) as Record<string, string> | undefined;
  const parts = Object.keys(src ?? {})
    .sort()
    .map((k) => `${k}=${src![k]}`);
  for (const e of list((sel as Obj | undefined)?.matchExpressions)) {
    const values = list(e.values).map(String).sort().join(",");
    if (e.operator === "In") parts.push(`${e.key} in (${values})`);
    else if (e.operator === "NotIn") parts.push(`${e.key} notin (${values})`);
    else parts.push(e.operator === "Exists" ? String(e.key) : `!${String(e.key)}`);
  }
  return parts.length > 0 ? parts.join(",") : "<none>";
}

const templateContainers = (o: KubeObject): Obj[] => list(o.spec?.template?.spec?.containers);
const containerNames = (o: KubeObject): string =>
  templateContainers(o)
    .map((c) => c.name)
    .join(",");
const containerImages = (o: KubeObject): string =>
  templateContainers(o)
    .map((c) => c.image)
    .join(",");

/** The workload columns every controller kind ends with (priority 1: `-o wide`). */
const WORKLOAD_WIDE: [Column, CellFn][] = [
  [col("Containers", "string", P1), containerNames],
  [col("Images", "string", P1), containerImages],
  [col("Selector", "string", P1), (o) => selectorString(o.spec?.selector, true)],
];

function servicePorts(o: KubeObject): string {
  const ports = list(o.spec?.ports).map((p) =>
    p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? "TCP"}` : `${p.port}/${p.protocol ?? "TCP"}`,
  );
  return ports.length > 0 ? ports.join(",") : "<none>";
}

function loadBalancerIPs(o: KubeObject, external: string[]): string {
  const ingress = list(o.status?.loadBalancer?.ingress).map((i) => String(i.ip || i.hostname || ""));
  const all = [...ingress.filter((i) => i !== ""), ...external];
  return all.length > 0 ? all.join(",") : "<pending>";
}

function serviceExternalIP(o: KubeObject): string {
  const spec = (o.spec ?? {}) as Obj;
  const external = list(spec.externalIPs).map(String);
  if (spec.type === "ExternalName") return String(spec.externalName ?? "");
  if (spec.type === "LoadBalancer") return loadBalancerIPs(o, external);
  return external.length > 0 ? external.join(",") : "<none>";
}

function nodeAddress(o: KubeObject, type: string): string {
  return orNone(list(o.status?.addresses).find((a) => a.type === type)?.address);
}

const JOB_STATUS: [string, string][] = [
  ["Failed", "Failed"],
  ["Complete", "Complete"],
  ["Suspended", "Suspended"],
  ["FailureTarget", "FailureTarget"],
  ["SuccessCriteriaMet", "SuccessCriteriaMet"],
];

function jobStatus(o: KubeObject): string {
  const conds = list(o.status?.conditions);
  for (const [type, text] of JOB_STATUS) if (conds.some((c) => c.type === type && c.status === "True")) return text;
  return o.metadata?.deletionTimestamp ? "Terminating" : "Running";
}

function jobCompletions(o: KubeObject): string {
  const succeeded = (o.status?.succeeded as number | undefined) ?? 0;
  if (o.spec?.completions !== undefined && o.spec?.completions !== null) return `${succeeded}/${o.spec.completions}`;
  const parallelism = (o.spec?.parallelism as number | undefined) ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function jobDuration(o: KubeObject): string {
  const start = o.status?.startTime as string | undefined;
  if (!start) return "";
  const end = (o.status?.completionTime as string | undefined) ?? new Date().toISOString();
  return humanDuration(Date.parse(end) - Date.parse(start));
}

/** An Event in its stored (core/v1) form, or as events.k8s.io/v1 shows it. */
function eventParts(o: KubeObject): { involved: Obj; source: Obj; message: string; count: number } {
  return {
    involved: (o.involvedObject ?? o.regarding ?? {}) as Obj,
    source: (o.source ?? o.deprecatedSource ?? {}) as Obj,
    message: String(o.message ?? o.note ?? "").trim(),
    count: (o.count ?? o.deprecatedCount ?? 0) as number,
  };
}

function eventFirstSeen(o: KubeObject): string {
  const first = (o.firstTimestamp ?? o.deprecatedFirstTimestamp) as string | undefined;
  return since(first || o.eventTime);
}

function eventLastSeen(o: KubeObject): string {
  if (o.series) return since(o.series.lastObservedTime);
  const last = (o.lastTimestamp ?? o.deprecatedLastTimestamp) as string | undefined;
  return last ? since(last) : eventFirstSeen(o);
}

function eventObject(o: KubeObject): string {
  const { involved } = eventParts(o);
  const kind = String(involved.kind ?? "").toLowerCase();
  return involved.name ? `${kind}/${String(involved.name)}` : kind;
}

function eventSource(o: KubeObject): string {
  const { source } = eventParts(o);
  const component = String(source.component || o.reportingComponent || o.reportingController || "");
  const instance = String(source.host || o.reportingInstance || "");
  if (!component) return "";
  return instance ? `${component}, ${instance}` : component;
}

/** Columns and cells per built-in kind, as kube-apiserver 1.33's table printers (pkg/printers/internalversion) make them. */
const BUILTIN: Record<string, [Column, CellFn][]> = {
  Pod: [
    [col("Ready"), podReady],
    [col("Status"), (o) => (o.metadata?.deletionTimestamp ? "Terminating" : (o.status?.phase ?? "Pending"))],
    [col("Restarts", "string"), (o) => String(podRestarts(o))],
    [col("Age"), age],
    [col("IP", "string", P1), (o) => o.status?.podIP ?? "<none>"],
    [col("Node", "string", P1), (o) => o.spec?.nodeName ?? "<none>"],
    [col("Nominated Node", "string", P1), (o) => orNone(o.status?.nominatedNodeName)],
    [col("Readiness Gates", "string", P1), (o) => (list(o.spec?.readinessGates).length > 0 ? "" : "<none>")],
  ],
  Node: [
    [col("Status"), nodeStatus],
    [col("Roles"), nodeRoles],
    [col("Age"), age],
    [col("Version"), (o) => o.status?.nodeInfo?.kubeletVersion ?? ""],
    [col("Internal-IP", "string", P1), (o) => nodeAddress(o, "InternalIP")],
    [col("External-IP", "string", P1), (o) => nodeAddress(o, "ExternalIP")],
    [col("OS-Image", "string", P1), (o) => o.status?.nodeInfo?.osImage || "<unknown>"],
    [col("Kernel-Version", "string", P1), (o) => o.status?.nodeInfo?.kernelVersion || "<unknown>"],
    [col("Container-Runtime", "string", P1), (o) => o.status?.nodeInfo?.containerRuntimeVersion || "<unknown>"],
  ],
  Namespace: [
    [col("Status"), (o) => o.status?.phase ?? ""],
    [col("Age"), age],
  ],
  ConfigMap: [
    [col("Data", "integer"), (o) => count(o.data) + count(o.binaryData)],
    [col("Age"), age],
  ],
  Secret: [
    [col("Type"), (o) => o.type ?? ""],
    [col("Data"), (o) => count(o.data)],
    [col("Age"), age],
  ],
  ServiceAccount: [
    [col("Secrets"), (o) => list(o.secrets).length],
    [col("Age"), age],
  ],
  Service: [
    [col("Type"), (o) => o.spec?.type ?? ""],
    [col("Cluster-IP"), (o) => orNone(o.spec?.clusterIP)],
    [col("External-IP"), serviceExternalIP],
    [col("Port(s)"), servicePorts],
    [col("Age"), age],
    [col("Selector", "string", P1), (o) => selectorString(o.spec?.selector, false)],
  ],
  Deployment: [
    [col("Ready"), (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`],
    [col("Up-to-date"), (o) => o.status?.updatedReplicas ?? 0],
    [col("Available"), (o) => o.status?.availableReplicas ?? 0],
    [col("Age"), age],
    ...WORKLOAD_WIDE,
  ],
  ReplicaSet: [
    [col("Desired", "integer"), (o) => o.spec?.replicas ?? 1],
    [col("Current", "integer"), (o) => o.status?.replicas ?? 0],
    [col("Ready", "integer"), (o) => o.status?.readyReplicas ?? 0],
    [col("Age"), age],
    ...WORKLOAD_WIDE,
  ],
  StatefulSet: [
    [col("Ready"), (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`],
    [col("Age"), age],
    [col("Containers", "string", P1), containerNames],
    [col("Images", "string", P1), containerImages],
  ],
  DaemonSet: [
    [col("Desired", "integer"), (o) => o.status?.desiredNumberScheduled ?? 0],
    [col("Current", "integer"), (o) => o.status?.currentNumberScheduled ?? 0],
    [col("Ready", "integer"), (o) => o.status?.numberReady ?? 0],
    [col("Up-to-date", "integer"), (o) => o.status?.updatedNumberScheduled ?? 0],
    [col("Available", "integer"), (o) => o.status?.numberAvailable ?? 0],
    [col("Node Selector"), (o) => selectorString(o.spec?.template?.spec?.nodeSelector, false)],
    [col("Age"), age],
    ...WORKLOAD_WIDE,
  ],
  Job: [
    [col("Status"), jobStatus],
    [col("Completions"), jobCompletions],
    [col("Duration"), jobDuration],
    [col("Age"), age],
    ...WORKLOAD_WIDE,
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
    [col("Timezone"), (o) => orNone(o.spec?.timeZone)],
    [col("Suspend", "boolean"), (o) => (o.spec?.suspend === undefined ? "<unset>" : o.spec.suspend ? "True" : "False")],
    [col("Active", "integer"), (o) => list(o.status?.active).length],
    [col("Last Schedule"), (o) => (o.status?.lastScheduleTime ? since(o.status.lastScheduleTime) : "<none>")],
    [col("Age"), age],
    [
      col("Containers", "string", P1),
      (o) =>
        list(o.spec?.jobTemplate?.spec?.template?.spec?.containers)
          .map((c) => c.name)
          .join(","),
    ],
    [
      col("Images", "string", P1),
      (o) =>
        list(o.spec?.jobTemplate?.spec?.template?.spec?.containers)
          .map((c) => c.image)
          .join(","),
    ],
    [col("Selector", "string", P1), (o) => selectorString(o.spec?.jobTemplate?.spec?.selector, true)],
  ],
  CustomResourceDefinition: [[col("Created At", "date"), (o) => o.metadata?.creationTimestamp ?? ""]],
};

/** Kinds whose printer does not start with the Name column (Events: LAST SEEN first, NAME only with -o wide). */
const OWN_NAME_COLUMN: Record<string, [Column, CellFn][]> = {
  Event: [
    [col("Last Seen"), eventLastSeen],
    [col("Type"), (o) => o.type ?? ""],
    [col("Reason"), (o) => o.reason ?? ""],
    [col("Object"), eventObject],
    [col("Subobject", "string", P1), (o) => eventParts(o).involved.fieldPath ?? ""],
    [col("Source", "string", P1), eventSource],
    [col("Message"), (o) => eventParts(o).message],
    [col("First Seen", "string", P1), eventFirstSeen],
    [col("Count", "string", P1), (o) => (o.series ? o.series.count : eventParts(o).count || 1)],
    [{ ...NAME, priority: P1 }, (o) => o.metadata?.name ?? ""],
  ],
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
  const own = rt.crd ? undefined : OWN_NAME_COLUMN[rt.kind];
  const cols = own ?? [
    [NAME, (o: KubeObject) => o.metadata?.name ?? ""] as [Column, CellFn],
    ...columnsFor(rt, version),
  ];
  const rows = objects.map((o) => {
    const row: Record<string, unknown> = { cells: cols.map(([, f]) => f(o)) };
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
    columnDefinitions: cols.map(([c]) => c),
    rows,
  };
}
