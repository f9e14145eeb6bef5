// Events: core/v1 and events.k8s.io/v1 are two views of one storage (field mapping as upstream), each with its own validation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalApiServer } from "../../operator/local/apiserver/index.js";
import { eventually, kubectl, startTestCluster } from "../support/cluster.js";

let server: LocalApiServer;
const NS = "evs";
const core = `/api/v1/namespaces/${NS}/events`;
const v1 = `/apis/events.k8s.io/v1/namespaces/${NS}/events`;

beforeAll(async () => {
  server = await startTestCluster();
  await server.request("POST", "/api/v1/namespaces", { body: { metadata: { name: NS } } });
});

afterAll(async () => {
  await server?.stop();
});

/** A valid events.k8s.io/v1 Event. */
function newEvent(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    metadata: { name },
    eventTime: "2026-03-01T10:00:00.123456Z",
    reportingController: "example.com/scaler",
    reportingInstance: "scaler-0",
    action: "Scale",
    reason: "ScaledUp",
    regarding: { kind: "Deployment", apiVersion: "apps/v1", name: "web", namespace: NS },
    note: "scaled web to 3",
    type: "Normal",
    ...extra,
  };
}

/** A core/v1 Event as older recorders write it. */
function legacyEvent(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    metadata: { name },
    involvedObject: { kind: "Pod", name: "p", namespace: NS },
    reason: "Pulled",
    message: "pulled busybox",
    type: "Normal",
    source: { component: "kubelet", host: "node-1" },
    firstTimestamp: "2026-03-01T10:00:00Z",
    lastTimestamp: "2026-03-01T10:05:00Z",
    count: 3,
    ...extra,
  };
}

describe("one storage, two versions", () => {
  it("an Event written through events.k8s.io/v1 reads through core/v1 with the fields mapped", async () => {
    const created = await server.request("POST", v1, {
      body: newEvent("scaled", { series: { count: 2, lastObservedTime: "2026-03-01T10:01:00.5Z" } }),
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ apiVersion: "events.k8s.io/v1", note: "scaled web to 3" });
    const got = await server.request("GET", `${core}/scaled`);
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({
      apiVersion: "v1",
      kind: "Event",
      involvedObject: { kind: "Deployment", name: "web", namespace: NS },
      message: "scaled web to 3",
      reason: "ScaledUp",
      action: "Scale",
      reportingComponent: "example.com/scaler",
      reportingInstance: "scaler-0",
      eventTime: "2026-03-01T10:00:00.123456Z",
      series: { count: 2, lastObservedTime: "2026-03-01T10:01:00.500000Z" },
    });
    expect(got.json.metadata.uid).toBe(created.json.metadata.uid);
    expect(got.json.metadata.resourceVersion).toBe(created.json.metadata.resourceVersion);
    expect(got.json).not.toHaveProperty("note");
    expect(got.json).not.toHaveProperty("regarding");
  });

  it("an Event written through core/v1 reads through events.k8s.io/v1 with the deprecated fields", async () => {
    expect((await server.request("POST", core, { body: legacyEvent("pulled") })).status).toBe(201);
    const got = await server.request("GET", `${v1}/pulled`);
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      regarding: { kind: "Pod", name: "p", namespace: NS },
      note: "pulled busybox",
      reason: "Pulled",
      type: "Normal",
      deprecatedSource: { component: "kubelet", host: "node-1" },
      deprecatedFirstTimestamp: "2026-03-01T10:00:00Z",
      deprecatedLastTimestamp: "2026-03-01T10:05:00Z",
      deprecatedCount: 3,
    });
    for (const f of ["involvedObject", "message", "source", "firstTimestamp", "lastTimestamp", "count"])
      expect(got.json).not.toHaveProperty(f);
  });

  it("lists through either version hold the same Events", async () => {
    await server.request("POST", v1, { body: newEvent("listed") });
    const [a, b] = await Promise.all([server.request("GET", core), server.request("GET", v1)]);
    const names = (r: { json: { items: { metadata: { name: string } }[] } }): string[] =>
      r.json.items.map((i) => i.metadata.name).sort();
    expect(names(a)).toEqual(names(b));
    expect(names(a)).toEqual(expect.arrayContaining(["listed", "pulled", "scaled"]));
    expect(a.json.metadata.resourceVersion).toBe(b.json.metadata.resourceVersion);
  });

  it("a core/v1 watch sees an Event written through events.k8s.io/v1, and its deletion through core/v1 is seen there", async () => {
    const start = (await server.request("GET", core)).json.metadata.resourceVersion as string;
    await server.request("POST", v1, { body: newEvent("watched") });
    await server.request("DELETE", `${core}/watched`);
    const stream = await server.request("GET", `${v1}?watch=true&resourceVersion=${start}&timeoutSeconds=1`);
    const lines = stream.text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; object: Record<string, any> });
    expect(lines.map((l) => [l.type, l.object.metadata.name])).toEqual([
      ["ADDED", "watched"],
      ["DELETED", "watched"],
    ]);
    expect(lines[0]!.object).toMatchObject({ apiVersion: "events.k8s.io/v1", note: "scaled web to 3" });
    const coreStream = await server.request("GET", `${core}?watch=true&resourceVersion=${start}&timeoutSeconds=1`);
    const first = JSON.parse(coreStream.text.split("\n")[0]!) as { type: string; object: Record<string, any> };
    expect(first).toMatchObject({ type: "ADDED", object: { apiVersion: "v1", message: "scaled web to 3" } });
    expect((await server.request("GET", `${v1}/watched`)).status).toBe(404);
  });

  it("a series update through events.k8s.io/v1 of an Event written there is seen through core/v1", async () => {
    const created = await server.request("POST", v1, { body: newEvent("series") });
    const updated = await server.request("PUT", `${v1}/series`, {
      body: { ...created.json, series: { count: 5, lastObservedTime: "2026-03-01T12:00:00.000001+02:00" } },
    });
    expect(updated.status).toBe(200);
    const got = await server.request("GET", `${core}/series`);
    expect(got.json.series).toEqual({ count: 5, lastObservedTime: "2026-03-01T10:00:00.000001Z" });
  });
});

describe("timestamps are normalised to UTC in both versions", () => {
  it.each([
    {
      via: "events.k8s.io/v1",
      path: v1,
      body: newEvent("tz-new", { eventTime: "2026-03-01T12:00:00.25+02:00" }),
      expectCore: { eventTime: "2026-03-01T10:00:00.250000Z" },
    },
    {
      via: "core/v1",
      path: core,
      body: legacyEvent("tz-old", {
        firstTimestamp: "2026-03-01T05:00:00-05:00",
        lastTimestamp: "2026-03-01T11:30:00+01:30",
      }),
      expectCore: { firstTimestamp: "2026-03-01T10:00:00Z", lastTimestamp: "2026-03-01T10:00:00Z" },
    },
  ])("written through $via", async ({ path, body, expectCore }) => {
    const res = await server.request("POST", path, { body });
    expect(res.status).toBe(201);
    const name = (body.metadata as { name: string }).name;
    expect((await server.request("GET", `${core}/${name}`)).json).toMatchObject(expectCore);
  });
});

describe("validation of each version (422 with field paths)", () => {
  it.each([
    {
      why: "events.k8s.io/v1 needs eventTime",
      path: v1,
      body: newEvent("e1", { eventTime: undefined }),
      fields: ["eventTime"],
    },
    {
      why: "events.k8s.io/v1 type is Normal or Warning",
      path: v1,
      body: newEvent("e2", { type: "Info" }),
      fields: ["type"],
    },
    {
      why: "events.k8s.io/v1 refuses the deprecated fields",
      path: v1,
      body: newEvent("e3", {
        deprecatedCount: 2,
        deprecatedFirstTimestamp: "2026-03-01T10:00:00Z",
        deprecatedSource: { component: "x" },
      }),
      fields: ["firstTimestamp", "count", "source"],
    },
    {
      why: "a series counts at least 2 and has lastObservedTime",
      path: v1,
      body: newEvent("e4", { series: { count: 1 } }),
      fields: ["series.count", "series.lastObservedTime"],
    },
    {
      why: "new Events name their reporter, action and reason",
      path: v1,
      body: newEvent("e5", {
        reportingController: undefined,
        reportingInstance: undefined,
        action: undefined,
        reason: undefined,
      }),
      // An empty qualified name is both "required" and two IsQualifiedName messages, as upstream reports it.
      fields: [
        "reportingController",
        "reportingController",
        "reportingController",
        "reportingInstance",
        "action",
        "reason",
      ],
    },
    {
      why: "reportingController is a qualified name, note at most 1024 characters",
      path: v1,
      body: newEvent("e6", { reportingController: "not a name", note: "x".repeat(1025) }),
      fields: ["reportingController", "message"],
    },
    {
      why: "core/v1: the involved object's namespace matches the Event's",
      path: core,
      body: legacyEvent("e7", { involvedObject: { kind: "Pod", name: "p", namespace: "other" } }),
      fields: ["involvedObject.namespace"],
    },
    {
      why: "core/v1 with eventTime gets the new-Event rules (reportingComponent, action)",
      path: core,
      body: legacyEvent("e8", { eventTime: "2026-03-01T10:00:00.000000Z" }),
      fields: ["reportingController", "reportingController", "reportingController", "reportingInstance", "action"],
    },
  ])("$why", async ({ path, body, fields }) => {
    const res = await server.request("POST", path, { body });
    expect(res.status).toBe(422);
    expect(res.json.reason).toBe("Invalid");
    expect(res.json.details.kind).toBe("Event");
    expect((res.json.details.causes as { field: string }[]).map((c) => c.field).sort()).toEqual([...fields].sort());
    const name = (body.metadata as { name: string }).name;
    expect((await server.request("GET", `${core}/${name}`)).status).toBe(404);
  });

  it("core/v1 keeps accepting deprecated fields and changes to them (backwards compatibility)", async () => {
    const created = await server.request("POST", core, { body: legacyEvent("legacy-upd") });
    expect(created.status).toBe(201);
    const bumped = await server.request("PUT", `${core}/legacy-upd`, {
      body: { ...created.json, count: 4, message: "pulled busybox again" },
    });
    expect(bumped.status).toBe(200);
    expect(bumped.json.count).toBe(4);
  });

  it("events.k8s.io/v1 updates may change only the series: note and reason are immutable", async () => {
    const created = await server.request("POST", v1, { body: newEvent("immutable") });
    const res = await server.request("PUT", `${v1}/immutable`, {
      body: { ...created.json, note: "changed", reason: "Other" },
    });
    expect(res.status).toBe(422);
    expect((res.json.details.causes as { field: string; message: string }[]).map((c) => c.field).sort()).toEqual([
      "message",
      "reason",
    ]);
    expect(res.json.details.causes[0].message).toContain("field is immutable");
    expect((await server.request("GET", `${core}/immutable`)).json.message).toBe("scaled web to 3");
  });
});

describe("kubectl shows Events written through events.k8s.io/v1", () => {
  beforeAll(async () => {
    await server.request("POST", `/apis/events.k8s.io/v1/namespaces/${NS}/events`, {
      body: newEvent("kubectl-shown", {
        eventTime: new Date().toISOString(),
        reason: "Hibernated",
        note: "scaled to zero for the night",
        regarding: { kind: "Deployment", apiVersion: "apps/v1", name: "night-owl", namespace: NS },
      }),
    });
  });

  it.each([
    {
      cmd: ["get", "events", "-n", NS],
      expect: ["Hibernated", "deployment/night-owl", "scaled to zero for the night"],
    },
    { cmd: ["events", "-n", NS], expect: ["Hibernated", "Deployment/night-owl", "scaled to zero for the night"] },
    {
      cmd: ["get", "events.v1.events.k8s.io", "-n", NS, "kubectl-shown", "-o", "jsonpath={.note}"],
      expect: ["scaled to zero for the night"],
    },
  ])("kubectl $cmd", async ({ cmd, expect: want }) => {
    const out = await eventually(async () => {
      const r = await kubectl(server, cmd);
      return r.code === 0 ? r.stdout : false;
    });
    for (const w of want) expect(out).toContain(w);
  });
});
