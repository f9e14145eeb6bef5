// The agent's notice bookkeeping: what each heartbeat carries and when a notice is done.
import { describe, expect, it } from "vitest";
import { MAX_NOTICES_PER_HEARTBEAT } from "../src-shared/agent/notice-kinds.js";
import { InterruptionTracker } from "./interruptions.js";

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
