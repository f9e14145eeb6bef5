// Events: events.k8s.io/v1 is a second view of the core/v1 Event storage (as upstream), and each version's validation.
import type { KubeObject } from "./selectors.js";
import type { StatusCause } from "./status.js";
import { deepEqual } from "./objects.js";

/** Where events.k8s.io/v1 Events are stored: the core/v1 `events` resource. */
export const EVENT_STORAGE = { group: "", plural: "events" };

/** Fields renamed between core/v1 (stored form) and events.k8s.io/v1, as pkg/apis/events/v1/conversion.go maps them. */
const RENAMED: [core: string, events: string][] = [
  ["involvedObject", "regarding"],
  ["message", "note"],
  ["source", "deprecatedSource"],
  ["firstTimestamp", "deprecatedFirstTimestamp"],
  ["lastTimestamp", "deprecatedLastTimestamp"],
  ["count", "deprecatedCount"],
  ["reportingComponent", "reportingController"],
];
const SHARED = ["metadata", "reason", "type", "eventTime", "series", "action", "related", "reportingInstance"];

/** events.k8s.io/v1 fields written only when set (`omitempty` scalars); the structs are always written. */
const EVENTS_OMIT_EMPTY = new Set([
  "reportingController",
  "reportingInstance",
  "action",
  "reason",
  "note",
  "type",
  "deprecatedCount",
]);

function copyFields(from: KubeObject, pairs: [string, string][], omitEmpty?: Set<string>): KubeObject {
  const out: KubeObject = {};
  for (const [src, dst] of pairs) {
    const v = from[src];
    if (v === undefined || v === null) continue;
    if (omitEmpty?.has(dst) && (v === "" || v === 0)) continue;
    out[dst] = v;
  }
  return out;
}

/** events.k8s.io/v1 → the stored core/v1 form. */
export function eventToStored(obj: KubeObject): KubeObject {
  const pairs: [string, string][] = [
    ...SHARED.map((k): [string, string] => [k, k]),
    ...RENAMED.map(([c, e]): [string, string] => [e, c]),
  ];
  return { apiVersion: "v1", kind: "Event", ...copyFields(obj, pairs) };
}

/** The stored core/v1 form → events.k8s.io/v1. */
export function eventFromStored(obj: KubeObject): KubeObject {
  const pairs: [string, string][] = [...SHARED.map((k): [string, string] => [k, k]), ...RENAMED];
  const out: KubeObject = {
    apiVersion: "events.k8s.io/v1",
    kind: "Event",
    ...copyFields(obj, pairs, EVENTS_OMIT_EMPTY),
  };
  out.regarding ??= {};
  out.deprecatedSource ??= {};
  return out;
}

const REPORTING_INSTANCE_LIMIT = 128;
const ACTION_LIMIT = 128;
const REASON_LIMIT = 128;
const NOTE_LIMIT = 1024;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

const required = (field: string): StatusCause => ({ reason: "FieldValueRequired", message: "Required value", field });
const invalidCause = (field: string, value: unknown, msg: string): StatusCause => ({
  reason: "FieldValueInvalid",
  message: `Invalid value: ${JSON.stringify(value)}: ${msg}`,
  field,
});

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const isZeroTime = (v: unknown): boolean => v === undefined || v === null || v === "";

/** validation.IsQualifiedName's messages. */
function qualifiedNameErrors(value: string): string[] {
  const parts = value.split("/");
  if (parts.length > 2)
    return [
      `a qualified name ${QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  const errs: string[] = [];
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix === "") errs.push("prefix part must be non-empty");
    else if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))
      errs.push(
        "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      );
  }
  if (name === "") errs.push("name part must be non-empty");
  else if (name.length > 63) errs.push("name part must be no more than 63 characters");
  if (!QUALIFIED_NAME.test(name)) errs.push(`name part ${QUALIFIED_NAME_MSG}`);
  return errs;
}

function maxLength(field: string, value: string, limit: number): StatusCause[] {
  return value.length > limit ? [invalidCause(field, "", `can have at most ${limit} characters`)] : [];
}

/** The involved object's namespace must agree with the Event's (legacy Events also allow "default"). */
function namespaceAgreement(ev: KubeObject): StatusCause[] {
  const ns = str(ev.metadata?.namespace);
  const involvedNs = str(ev.involvedObject?.namespace);
  const mismatch = (): StatusCause[] => [
    invalidCause("involvedObject.namespace", involvedNs, "does not match event.namespace"),
  ];
  if (isZeroTime(ev.eventTime)) {
    if (involvedNs === "") return ns !== "" && ns !== "default" ? mismatch() : [];
    return ns !== involvedNs ? mismatch() : [];
  }
  return involvedNs === "" && ns !== "default" && ns !== "kube-system" ? mismatch() : [];
}

/** "New" Events (eventTime set) name who reported them and what happened. */
function reportingFields(ev: KubeObject): StatusCause[] {
  const controller = str(ev.reportingComponent);
  const instance = str(ev.reportingInstance);
  const action = str(ev.action);
  const reason = str(ev.reason);
  const causes: StatusCause[] = [];
  if (controller === "") causes.push(required("reportingController"));
  for (const msg of qualifiedNameErrors(controller)) causes.push(invalidCause("reportingController", controller, msg));
  if (instance === "") causes.push(required("reportingInstance"));
  causes.push(...maxLength("reportingInstance", instance, REPORTING_INSTANCE_LIMIT));
  if (action === "") causes.push(required("action"));
  causes.push(...maxLength("action", action, ACTION_LIMIT));
  if (reason === "") causes.push(required("reason"));
  causes.push(...maxLength("reason", reason, REASON_LIMIT));
  causes.push(...maxLength("message", str(ev.message), NOTE_LIMIT));
  return causes;
}

/** legacyValidateEvent: what every Event must satisfy, whichever version wrote it. */
function legacyEventCauses(ev: KubeObject): StatusCause[] {
  return [...namespaceAgreement(ev), ...(isZeroTime(ev.eventTime) ? [] : reportingFields(ev))];
}

function seriesCauses(ev: KubeObject): StatusCause[] {
  const series = ev.series as { count?: number; lastObservedTime?: string } | undefined | null;
  if (!series) return [];
  const causes: StatusCause[] = [];
  if ((series.count ?? 0) < 2) causes.push(invalidCause("series.count", "", "should be at least 2"));
  if (isZeroTime(series.lastObservedTime)) causes.push(required("series.lastObservedTime"));
  return causes;
}

/** What events.k8s.io/v1 adds on create: a new-style Event, none of the deprecated fields. */
function strictCreateCauses(ev: KubeObject): StatusCause[] {
  const causes = seriesCauses(ev);
  if (isZeroTime(ev.eventTime)) causes.push(required("eventTime"));
  if (ev.type !== "Normal" && ev.type !== "Warning")
    causes.push(invalidCause("type", "", `has invalid value: ${str(ev.type)}`));
  for (const f of ["firstTimestamp", "lastTimestamp"])
    if (!isZeroTime(ev[f])) causes.push(invalidCause(f, "", "needs to be unset"));
  if (Number(ev.count ?? 0) !== 0) causes.push(invalidCause("count", "", "needs to be unset"));
  if (str(ev.source?.component) !== "" || str(ev.source?.host) !== "")
    causes.push(invalidCause("source", "", "needs to be unset"));
  return causes;
}

/** Stored field → the internal field name upstream's immutability errors use. */
const IMMUTABLE: [stored: string, field: string][] = [
  ["involvedObject", "involvedObject"],
  ["reason", "reason"],
  ["message", "message"],
  ["source", "source"],
  ["firstTimestamp", "firstTimestamp"],
  ["lastTimestamp", "lastTimestamp"],
  ["count", "count"],
  ["type", "type"],
  ["eventTime", "eventTime"],
  ["action", "action"],
  ["related", "related"],
  ["reportingComponent", "reportingController"],
  ["reportingInstance", "reportingInstance"],
];

const normalised = (v: unknown): unknown =>
  v === null || v === "" || v === 0 || (v && typeof v === "object" && Object.keys(v).length === 0) ? undefined : v;

/** What events.k8s.io/v1 adds on update: only the series (and metadata) may change. */
function strictUpdateCauses(ev: KubeObject, old: KubeObject): StatusCause[] {
  const causes = deepEqual(normalised(ev.series), normalised(old.series)) ? [] : seriesCauses(ev);
  for (const [stored, field] of IMMUTABLE) {
    if (!deepEqual(normalised(ev[stored]), normalised(old[stored])))
      causes.push(invalidCause(field, ev[stored] ?? "", "field is immutable"));
  }
  return causes;
}

/**
 * ValidateEventCreate / ValidateEventUpdate on the stored (core/v1) form: `requestGroupVersion` is the version the
 * client wrote through — events.k8s.io/v1 is strict, core/v1 only gets the legacy rules (backwards compatibility).
 */
export function validateEvent(ev: KubeObject, old: KubeObject | undefined, requestGroupVersion: string): StatusCause[] {
  const causes = legacyEventCauses(ev);
  if (requestGroupVersion !== "events.k8s.io/v1") return causes;
  return [...causes, ...(old ? strictUpdateCauses(ev, old) : strictCreateCauses(ev))];
}
