// The agent's notice bookkeeping: what each heartbeat carries, when a notice is done, how a node's taint is dated.
import { describe, expect, it } from "vitest";
import { MAX_NOTICES_PER_HEARTBEAT, SPOT_INTERRUPTION_KIND } from "../src-shared/agent/notice-kinds.js";
import { InterruptionTracker, NOTICE_AT_ANNOTATION, NOTICE_TAINT, noticesOnNode } from "./interruptions.js";

describe("InterruptionTracker", () => {
  it("sends at most what the facade takes a beat, oldest first, and the rest with the next beats", () => {
    const tracker = new InterruptionTracker();
    const at = "2026-06-01T12:00:00.000Z";
    tracker.admit(Array.from({ length: 250 }, (_, k) => ({ node: `n-${k}`, kind: "spot-itn", at })));
    const first = tracker.pending();
    expect(first).toHaveLength(MAX_NOTICES_PER_HEARTBEAT);
    expect(first[0]!.node).toBe("n-0");
    tracker.reported(first);
    tracker.reported(tracker.pending());
    const last = tracker.pending();
    expect(last.map((n) => n.node)).toEqual(Array.from({ length: 50 }, (_, k) => `n-${200 + k}`));
    tracker.reported(last);
    expect(tracker.pending()).toEqual([]);
  });
});

describe("the DaemonSet's notice taint", () => {
  it("is a Spot interruption dated by the notice noted on the node, else when first seen", () => {
    const node = (annotations?: Record<string, string>) => ({
      metadata: { name: "n1", ...(annotations ? { annotations } : {}) },
      spec: { taints: [{ key: NOTICE_TAINT, value: "true", effect: "NoSchedule" }] },
    });
    const now = "2026-12-06T08:00:00.000Z";
    expect(noticesOnNode(node({ [NOTICE_AT_ANNOTATION]: "2026-12-06T07:59:00Z" }), now)).toEqual([
      { node: "n1", kind: SPOT_INTERRUPTION_KIND, at: "2026-12-06T07:59:00.000Z" },
    ]);
    expect(noticesOnNode(node({ [NOTICE_AT_ANNOTATION]: "soon" }), now)).toEqual([
      { node: "n1", kind: SPOT_INTERRUPTION_KIND, at: now },
    ]);
    expect(noticesOnNode(node(), now)[0]!.at).toBe(now);
  });
});
