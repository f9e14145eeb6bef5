// The status last written stands in for the informer's only while the informer still shows the version it was written from.
import { describe, expect, it } from "vitest";
import { StatusMemory } from "./status-memory.js";

const object = (rv: string, status: unknown, uid = "u1") => ({
  apiVersion: "v1",
  kind: "X",
  metadata: { name: "a", namespace: "n", uid, resourceVersion: rv },
  status,
});

describe("StatusMemory", () => {
  it("gives the written status while the informer lags, then trusts the informer from its next version on", () => {
    const memory = new StatusMemory();
    const base = object("10", { phase: "old" });
    memory.remember("n/a", base, { phase: "new" });
    expect(memory.latest("n/a", base).status).toEqual({ phase: "new" });
    // another writer (a replica that led meanwhile) wrote after us: its status, not ours
    const moved = object("12", { phase: "theirs" });
    expect(memory.latest("n/a", moved).status).toEqual({ phase: "theirs" });
    // and the memory is gone: the lagging version no longer gets ours either
    expect(memory.latest("n/a", base).status).toEqual({ phase: "old" });
  });

  it("never lends a status to an object of the same name made again, nor after forget", () => {
    const memory = new StatusMemory();
    memory.remember("n/a", object("10", {}), { phase: "new" });
    expect(memory.latest("n/a", object("10", { phase: "fresh" }, "u2")).status).toEqual({ phase: "fresh" });
    memory.remember("n/a", object("10", {}), { phase: "new" });
    memory.forget("n/a");
    expect(memory.latest("n/a", object("10", { phase: "old" })).status).toEqual({ phase: "old" });
  });
});
