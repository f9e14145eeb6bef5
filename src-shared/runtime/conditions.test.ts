// Unit tests of the status-condition helpers.
import { describe, expect, it } from "vitest";
import {
  conditionsEqual,
  findCondition,
  isConditionTrue,
  kubeTime,
  removeCondition,
  setCondition,
} from "./conditions.js";

const t0 = new Date("2025-01-01T00:00:00.000Z");
const t1 = new Date("2025-01-01T01:00:00.500Z");

describe("setCondition", () => {
  it("adds a condition with the transition time, observed generation and empty message by default", () => {
    expect(
      setCondition(undefined, { type: "Ready", status: "True", reason: "Applied", observedGeneration: 3 }, t0),
    ).toEqual([
      {
        type: "Ready",
        status: "True",
        reason: "Applied",
        message: "",
        observedGeneration: 3,
        lastTransitionTime: "2025-01-01T00:00:00Z",
      },
    ]);
  });

  it("keeps lastTransitionTime while the status is unchanged but updates reason, message and generation", () => {
    const first = setCondition([], { type: "Ready", status: "True", reason: "Applied", observedGeneration: 1 }, t0);
    const second = setCondition(
      first,
      { type: "Ready", status: "True", reason: "StillApplied", message: "m", observedGeneration: 2 },
      t1,
    );
    expect(second).toEqual([
      {
        type: "Ready",
        status: "True",
        reason: "StillApplied",
        message: "m",
        observedGeneration: 2,
        lastTransitionTime: "2025-01-01T00:00:00Z",
      },
    ]);
  });

  it("moves lastTransitionTime when the status flips", () => {
    const first = setCondition([], { type: "Ready", status: "True", reason: "Applied" }, t0);
    const flipped = setCondition(first, { type: "Ready", status: "False", reason: "Failed" }, t1);
    expect(flipped[0]?.lastTransitionTime).toBe("2025-01-01T01:00:00Z");
  });

  it("sets by type without touching other conditions, and does not mutate its input", () => {
    const base = setCondition(
      setCondition([], { type: "A", status: "True", reason: "R" }, t0),
      { type: "B", status: "False", reason: "R" },
      t0,
    );
    const copy = structuredClone(base);
    const next = setCondition(base, { type: "B", status: "True", reason: "R" }, t1);
    expect(base).toEqual(copy);
    expect(next.map((c) => [c.type, c.status])).toEqual([
      ["A", "True"],
      ["B", "True"],
    ]);
    expect(isConditionTrue(next, "B")).toBe(true);
    expect(findCondition(next, "C")).toBeUndefined();
    expect(removeCondition(next, "A").map((c) => c.type)).toEqual(["B"]);
  });

  it("is idempotent: setting the same state again yields an equal list", () => {
    const first = setCondition([], { type: "Valid", status: "True", reason: "Ok", observedGeneration: 1 }, t0);
    const again = setCondition(first, { type: "Valid", status: "True", reason: "Ok", observedGeneration: 1 }, t1);
    expect(conditionsEqual(first, again)).toBe(true);
    expect(conditionsEqual(first, setCondition(first, { type: "Valid", status: "True", reason: "Other" }, t1))).toBe(
      false,
    );
  });
});

describe("kubeTime", () => {
  it("writes second precision with Z", () => {
    expect(kubeTime(t1)).toBe("2025-01-01T01:00:00Z");
  });
});
