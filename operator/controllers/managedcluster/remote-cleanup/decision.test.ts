// When a remote ManagedCluster holds the cleanup finalizer, and when a cluster being deleted lets it go.
import { describe, expect, it } from "vitest";
import type { RemoteView } from "../../../../src-shared/agent/remote-view.js";
import { decideCleanup, type CleanupInput } from "./decision.js";

const NOW = Date.parse("2026-12-05T04:00:00Z");

function view(receivedAtMs: number, templates: string[] = []): RemoteView {
  return {
    clusterName: "edge",
    receivedAtMs,
    settleMs: 5_000,
    pods: [],
    objects: templates.map((t) => ({
      kind: "NodePool",
      name: t.replace("/", "-"),
      annotations: { "spotoptimizer.io/nodetemplate": t },
    })),
  } as RemoteView;
}

function input(over: Partial<CleanupInput>): CleanupInput {
  return {
    namespace: "acme",
    hasFinalizer: false,
    templates: 0,
    openActions: 0,
    nowMs: NOW,
    giveUpMs: 600_000,
    ...over,
  };
}

describe("decideCleanup", () => {
  it("holds the finalizer while the cluster has templates or reports objects of ours, and only then", () => {
    expect(decideCleanup(input({ templates: 1 }))).toEqual({ action: "add" });
    expect(decideCleanup(input({ view: view(NOW, ["acme/web"]) }))).toEqual({ action: "add" });
    // Another organisation's objects in the report are not ours to wait for.
    expect(decideCleanup(input({ view: view(NOW, ["other/web"]) }))).toEqual({ action: "none" });
    expect(decideCleanup(input({ hasFinalizer: true }))).toEqual({ action: "remove" });
    expect(decideCleanup(input({ hasFinalizer: true, templates: 2 }))).toEqual({ action: "none" });
  });

  it("lets a deleted cluster go once a report after the deletion shows nothing of ours and no action is open", () => {
    const deleting = { hasFinalizer: true, deletionMs: NOW - 60_000 };
    expect(decideCleanup(input({ ...deleting, view: view(NOW - 1_000, ["acme/web"]) }))).toMatchObject({
      action: "none",
    });
    // Nothing reported, but the report predates the deletion (plus the settle time), or an action is still open.
    expect(decideCleanup(input({ ...deleting, view: view(NOW - 58_000) }))).toMatchObject({ action: "none" });
    expect(decideCleanup(input({ ...deleting, openActions: 1, view: view(NOW - 1_000) }))).toMatchObject({
      action: "none",
    });
    expect(decideCleanup(input({ ...deleting, view: view(NOW - 1_000) }))).toEqual({ action: "remove" });
  });

  it("gives up on an agent that stopped reporting, naming what it may have left, and on one that never reported", () => {
    const deleting = { hasFinalizer: true, deletionMs: NOW - 60_000 };
    expect(decideCleanup(input({ ...deleting, view: view(NOW - 700_000, ["acme/web"]) }))).toEqual({
      action: "remove",
      left: ["acme/web"],
    });
    expect(decideCleanup(input({ ...deleting, templates: 3 }))).toEqual({ action: "remove" });
    // An agent that keeps reporting objects it fails to delete: the wait ends once the deletion is that old.
    const stuck = { hasFinalizer: true, deletionMs: NOW - 700_000, openActions: 1, view: view(NOW, ["acme/web"]) };
    expect(decideCleanup(input(stuck))).toEqual({ action: "remove", left: ["acme/web"] });
  });
});
