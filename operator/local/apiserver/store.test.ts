// Unit tests of the object store: revisions, retained window (410 boundary) and snapshot lists for pagination.
import { describe, expect, it } from "vitest";
import { ObjectStore } from "./store.js";

const cm = (name: string, rv: number, data = ""): any => ({
  metadata: { name, namespace: "ns", resourceVersion: String(rv) },
  data: { v: data },
});

describe("ObjectStore", () => {
  it("replays events after a revision and reports a revision older than the window as expired", () => {
    const s = new ObjectStore(10, 3);
    const rvs: number[] = [];
    for (const name of ["a", "b", "c", "d"]) {
      const rv = s.nextRv();
      rvs.push(rv);
      s.put("/configmaps", `ns/${name}`, cm(name, rv), rv);
    }
    expect(s.eventsSince("/configmaps", rvs[1]!)?.map((e) => e.obj.metadata?.name)).toEqual(["c", "d"]);
    s.setWindow(1);
    expect(s.eventsSince("/configmaps", rvs[1]!)).toBeUndefined();
    expect(s.eventsSince("/configmaps", rvs[2]!)?.map((e) => e.obj.metadata?.name)).toEqual(["d"]);
    expect(s.eventsSince("/configmaps", rvs[3]!)).toEqual([]);
  });

  it("lists the state as of an older revision", () => {
    const s = new ObjectStore(1, 100);
    const r1 = s.nextRv();
    s.put("/configmaps", "ns/a", cm("a", r1, "1"), r1);
    const r2 = s.nextRv();
    s.put("/configmaps", "ns/b", cm("b", r2), r2);
    const snapshot = s.rv;
    const r3 = s.nextRv();
    s.put("/configmaps", "ns/a", cm("a", r3, "2"), r3);
    const r4 = s.nextRv();
    s.remove("/configmaps", "ns/b", cm("b", r4), r4);
    const r5 = s.nextRv();
    s.put("/configmaps", "ns/c", cm("c", r5), r5);
    expect(s.listAt("/configmaps", snapshot).map((o) => [o.metadata!.name, o.data.v])).toEqual([
      ["a", "1"],
      ["b", ""],
    ]);
    expect(s.list("/configmaps").map((o) => [o.metadata!.name, o.data.v])).toEqual([
      ["a", "2"],
      ["c", ""],
    ]);
  });

  it("tells watchers of their resource only", () => {
    const s = new ObjectStore(1, 100);
    const seen: string[] = [];
    const stop = s.addWatcher({ resource: "/pods", send: (ev) => seen.push(`${ev.type}:${ev.key}`) });
    const r1 = s.nextRv();
    s.put("/pods", "ns/p", cm("p", r1), r1);
    const r2 = s.nextRv();
    s.put("/configmaps", "ns/c", cm("c", r2), r2);
    const r3 = s.nextRv();
    s.remove("/pods", "ns/p", cm("p", r3), r3);
    stop();
    const r4 = s.nextRv();
    s.put("/pods", "ns/q", cm("q", r4), r4);
    expect(seen).toEqual(["ADDED:ns/p", "DELETED:ns/p"]);
  });
});
