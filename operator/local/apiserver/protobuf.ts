// Decodes the Kubernetes protobuf request bodies kubectl's typed clients send (Namespace, ConfigMap, Secret, Eviction, Deployment, PodDisruptionBudget).
import { badRequest, ApiError } from "./status.js";

/** How one field of a message is decoded into JSON. */
type FieldType = "string" | "bytes" | "int64" | "bool" | "time" | { message: string } | { map: "string" | "bytes" };
interface Field {
  json: string;
  type: FieldType;
  repeated?: boolean;
  /** A non-pointer number with `omitempty` (0 means absent). */
  omitZero?: boolean;
}
type Message = Record<number, Field>;

/** Field numbers from k8s.io/api and k8s.io/apimachinery generated.proto. */
const messages: Record<string, Message> = {
  TypeMeta: { 1: { json: "apiVersion", type: "string" }, 2: { json: "kind", type: "string" } },
  Unknown: {
    1: { json: "typeMeta", type: { message: "TypeMeta" } },
    2: { json: "raw", type: "bytes" },
    3: { json: "contentEncoding", type: "string" },
    4: { json: "contentType", type: "string" },
  },
  ObjectMeta: {
    1: { json: "name", type: "string" },
    2: { json: "generateName", type: "string" },
    3: { json: "namespace", type: "string" },
    4: { json: "selfLink", type: "string" },
    5: { json: "uid", type: "string" },
    6: { json: "resourceVersion", type: "string" },
    7: { json: "generation", type: "int64", omitZero: true },
    8: { json: "creationTimestamp", type: "time" },
    9: { json: "deletionTimestamp", type: "time" },
    10: { json: "deletionGracePeriodSeconds", type: "int64" },
    11: { json: "labels", type: { map: "string" } },
    12: { json: "annotations", type: { map: "string" } },
    13: { json: "ownerReferences", type: { message: "OwnerReference" }, repeated: true },
    14: { json: "finalizers", type: "string", repeated: true },
  },
  OwnerReference: {
    1: { json: "kind", type: "string" },
    3: { json: "name", type: "string" },
    4: { json: "uid", type: "string" },
    5: { json: "apiVersion", type: "string" },
    6: { json: "controller", type: "bool" },
    7: { json: "blockOwnerDeletion", type: "bool" },
  },
  Namespace: {
    1: { json: "metadata", type: { message: "ObjectMeta" } },
    2: { json: "spec", type: { message: "NamespaceSpec" } },
    3: { json: "status", type: { message: "NamespaceStatus" } },
  },
  NamespaceSpec: { 1: { json: "finalizers", type: "string", repeated: true } },
  NamespaceStatus: { 1: { json: "phase", type: "string" } },
  ConfigMap: {
    1: { json: "metadata", type: { message: "ObjectMeta" } },
    2: { json: "data", type: { map: "string" } },
    3: { json: "binaryData", type: { map: "bytes" } },
    4: { json: "immutable", type: "bool" },
  },
  Secret: {
    1: { json: "metadata", type: { message: "ObjectMeta" } },
    2: { json: "data", type: { map: "bytes" } },
    3: { json: "type", type: "string" },
    4: { json: "stringData", type: { map: "string" } },
    5: { json: "immutable", type: "bool" },
  },
  Eviction: {
    1: { json: "metadata", type: { message: "ObjectMeta" } },
    2: { json: "deleteOptions", type: { message: "DeleteOptions" } },
  },
  DeleteOptions: {
    1: { json: "gracePeriodSeconds", type: "int64" },
    2: { json: "preconditions", type: { message: "Preconditions" } },
    3: { json: "orphanDependents", type: "bool" },
    4: { json: "propagationPolicy", type: "string" },
    5: { json: "dryRun", type: "string", repeated: true },
  },
  Preconditions: { 1: { json: "uid", type: "string" }, 2: { json: "resourceVersion", type: "string" } },
  // apps/v1 Deployment as `kubectl create deployment NAME --image=... [--replicas] [--port]` sends it.
  Deployment: {
    1: { json: "metadata", type: { message: "ObjectMeta" } },
    2: { json: "spec", type: { message: "DeploymentSpec" } },
    3: { json: "status", type: { message: "DeploymentStatus" } },
  },
  DeploymentSpec: {
    1: { json: "replicas", type: "int64" },
    2: { json: "selector", type: { message: "LabelSelector" } },
    3: { json: "template", type: { message: "PodTemplateSpec" } },
    4: { json: "strategy", type: { message: "DeploymentStrategy" } },
    5: { json: "minReadySeconds", type: "int64", omitZero: true },
    6: { json: "revisionHistoryLimit", type: "int64" },
    7: { json: "paused", type: "bool", omitZero: true },
    9: { json: "progressDeadlineSeconds", type: "int64" },
  },
  DeploymentStrategy: { 1: { json: "type", type: "string" } },
  DeploymentStatus: {
    1: { json: "observedGeneration", type: "int64", omitZero: true },
    2: { json: "replicas", type: "int64", omitZero: true },
    3: { json: "updatedReplicas", type: "int64", omitZero: true },
    4: { json: "availableReplicas", type: "int64", omitZero: true },
    5: { json: "unavailableReplicas", type: "int64", omitZero: true },
    7: { json: "readyReplicas", type: "int64", omitZero: true },
  },
  LabelSelector: {
    1: { json: "matchLabels", type: { map: "string" } },
    2: { json: "matchExpressions", type: { message: "LabelSelectorRequirement" }, repeated: true },
  },
  LabelSelectorRequirement: {
    1: { json: "key", type: "string" },
    2: { json: "operator", type: "string" },
    3: { json: "values", type: "string", repeated: true },
  },
  // policy/v1 PodDisruptionBudget as `kubectl create pdb NAME --selector=... --min-available|--max-unavailable=...` sends it.
  PodDisruptionBudget: {
    1: { json: "metadata", type: { message: "ObjectMeta" } },
    2: { json: "spec", type: { message: "PodDisruptionBudgetSpec" } },
    3: { json: "status", type: { message: "PodDisruptionBudgetStatus" } },
  },
  PodDisruptionBudgetSpec: {
    1: { json: "minAvailable", type: { message: "IntOrString" } },
    2: { json: "selector", type: { message: "LabelSelector" } },
    3: { json: "maxUnavailable", type: { message: "IntOrString" } },
    4: { json: "unhealthyPodEvictionPolicy", type: "string" },
  },
  PodDisruptionBudgetStatus: {
    1: { json: "observedGeneration", type: "int64", omitZero: true },
    3: { json: "disruptionsAllowed", type: "int64", omitZero: true },
    4: { json: "currentHealthy", type: "int64", omitZero: true },
    5: { json: "desiredHealthy", type: "int64", omitZero: true },
    6: { json: "expectedPods", type: "int64", omitZero: true },
  },
  // Converted to its JSON form (a number or a string) by intOrString().
  IntOrString: {
    1: { json: "type", type: "int64" },
    2: { json: "intVal", type: "int64" },
    3: { json: "strVal", type: "string" },
  },
  PodTemplateSpec: {
    1: { json: "metadata", type: { message: "ObjectMeta" } },
    2: { json: "spec", type: { message: "PodSpec" } },
  },
  PodSpec: {
    2: { json: "containers", type: { message: "Container" }, repeated: true },
    3: { json: "restartPolicy", type: "string" },
    4: { json: "terminationGracePeriodSeconds", type: "int64" },
    6: { json: "dnsPolicy", type: "string" },
    7: { json: "nodeSelector", type: { map: "string" } },
    8: { json: "serviceAccountName", type: "string" },
    9: { json: "serviceAccount", type: "string" },
    10: { json: "nodeName", type: "string" },
    11: { json: "hostNetwork", type: "bool", omitZero: true },
    12: { json: "hostPID", type: "bool", omitZero: true },
    13: { json: "hostIPC", type: "bool", omitZero: true },
    16: { json: "hostname", type: "string" },
    17: { json: "subdomain", type: "string" },
    19: { json: "schedulerName", type: "string" },
    24: { json: "priorityClassName", type: "string" },
  },
  Container: {
    1: { json: "name", type: "string" },
    2: { json: "image", type: "string" },
    3: { json: "command", type: "string", repeated: true },
    4: { json: "args", type: "string", repeated: true },
    5: { json: "workingDir", type: "string" },
    6: { json: "ports", type: { message: "ContainerPort" }, repeated: true },
    8: { json: "resources", type: { message: "ResourceRequirements" } },
    13: { json: "terminationMessagePath", type: "string" },
    14: { json: "imagePullPolicy", type: "string" },
    16: { json: "stdin", type: "bool", omitZero: true },
    17: { json: "stdinOnce", type: "bool", omitZero: true },
    18: { json: "tty", type: "bool", omitZero: true },
    20: { json: "terminationMessagePolicy", type: "string" },
  },
  ContainerPort: {
    1: { json: "name", type: "string" },
    2: { json: "hostPort", type: "int64", omitZero: true },
    3: { json: "containerPort", type: "int64", omitZero: true },
    4: { json: "protocol", type: "string" },
    5: { json: "hostIP", type: "string" },
  },
  ResourceRequirements: {},
  MapEntry: { 1: { json: "key", type: "string" }, 2: { json: "value", type: "bytes" } },
  Timestamp: { 1: { json: "seconds", type: "int64" }, 2: { json: "nanos", type: "int64" } },
};

/** Kinds we decode, by `apiVersion/kind` of the envelope. */
const kinds: Record<string, string> = {
  "v1/Namespace": "Namespace",
  "v1/ConfigMap": "ConfigMap",
  "v1/Secret": "Secret",
  "policy/v1/Eviction": "Eviction",
  "apps/v1/Deployment": "Deployment",
  "policy/v1/PodDisruptionBudget": "PodDisruptionBudget",
};

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw badRequest("protobuf: truncated varint");
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw badRequest("protobuf: varint too long");
  }
  bytes(): Uint8Array {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw badRequest("protobuf: truncated field");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8");

function toInt64(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

function decodeTime(b: Uint8Array): string | undefined {
  const t = decodeMessage(b, "Timestamp");
  if (t.seconds === undefined) return undefined;
  return new Date(Number(t.seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function decodeMapEntry(b: Uint8Array, valueType: "string" | "bytes"): [string, string] {
  const e = decodeMessage(b, "MapEntry") as { key?: string; value?: Uint8Array };
  const value = e.value ?? new Uint8Array();
  return [e.key ?? "", valueType === "string" ? text(value) : Buffer.from(value).toString("base64")];
}

function decodeLengthDelimited(b: Uint8Array, type: FieldType): unknown {
  if (type === "string") return text(b);
  if (type === "bytes") return b;
  if (type === "time") return decodeTime(b);
  if (typeof type === "object" && "message" in type) {
    const decoded = decodeMessage(b, type.message);
    return type.message === "IntOrString" ? intOrString(decoded) : decoded;
  }
  throw unsupported(`length-delimited value for a ${JSON.stringify(type)} field`);
}

/** intstr.IntOrString's JSON form: type 1 is the string, anything else the integer (0 when absent, as Go encodes it). */
function intOrString(v: Record<string, unknown>): number | string {
  return v.type === 1 ? ((v.strVal as string | undefined) ?? "") : ((v.intVal as number | undefined) ?? 0);
}

function unsupported(what: string): ApiError {
  return new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - this server decodes protobuf only for Namespace, ConfigMap, Secret, Eviction, Deployment and PodDisruptionBudget (${what})`,
  );
}

/** Go always encodes non-pointer scalars; their JSON tags are `omitempty`, so zero values are not part of the object. */
function omitted(field: Field, value: unknown): boolean {
  if (value === undefined) return true;
  if (field.repeated) return false;
  return (field.type === "string" && value === "") || (field.omitZero === true && (value === 0 || value === false));
}

function setField(out: Record<string, unknown>, field: Field, value: unknown): void {
  if (omitted(field, value)) return;
  if (typeof field.type === "object" && "map" in field.type) {
    const [k, v] = value as [string, string];
    out[field.json] = { ...((out[field.json] as Record<string, string> | undefined) ?? {}), [k]: v };
  } else if (field.repeated) {
    out[field.json] = [...((out[field.json] as unknown[] | undefined) ?? []), value];
  } else {
    out[field.json] = value;
  }
}

function readValue(r: Reader, wire: number, field: Field): unknown {
  if (wire === 0) {
    const v = r.varint();
    if (field.type === "bool") return v !== 0n;
    if (field.type === "int64") return toInt64(v);
    throw unsupported(`varint for field ${field.json}`);
  }
  if (wire !== 2) throw unsupported(`wire type ${wire} for field ${field.json}`);
  const b = r.bytes();
  if (typeof field.type === "object" && "map" in field.type) return decodeMapEntry(b, field.type.map);
  return decodeLengthDelimited(b, field.type);
}

/** Decodes one message; an unknown field is refused (415), never silently dropped. */
function decodeMessage(buf: Uint8Array, name: string): Record<string, any> {
  const desc = messages[name]!;
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (!r.done()) {
    const tag = Number(r.varint());
    const field = desc[tag >>> 3];
    if (!field) throw unsupported(`field ${tag >>> 3} of ${name}`);
    setField(out, field, readValue(r, tag & 7, field));
  }
  return out;
}

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

/**
 * Decodes a `application/vnd.kubernetes.protobuf` body (the "k8s\0" envelope around runtime.Unknown) to the JSON
 * object kube-apiserver would have read. Kinds other than Namespace, ConfigMap, Secret, Eviction, Deployment and PodDisruptionBudget get 415.
 */
export function decodeKubeProtobuf(body: Uint8Array): Record<string, unknown> {
  if (body.length < 4 || MAGIC.some((b, i) => body[i] !== b))
    throw badRequest("protobuf: missing the k8s envelope prefix");
  const unknown = decodeMessage(body.subarray(4), "Unknown") as {
    typeMeta?: { apiVersion?: string; kind?: string };
    raw?: Uint8Array;
    contentEncoding?: string;
  };
  const apiVersion = unknown.typeMeta?.apiVersion ?? "";
  const kind = unknown.typeMeta?.kind ?? "";
  const message = kinds[`${apiVersion}/${kind}`];
  if (!message) throw unsupported(`${apiVersion}/${kind}`);
  if (unknown.contentEncoding) throw unsupported(`content encoding ${unknown.contentEncoding}`);
  return { apiVersion, kind, ...decodeMessage(unknown.raw ?? new Uint8Array(), message) };
}
