import { describe, expect, it } from "vitest";
import { HibernationScheduleSpec, NodeTemplateSpec } from "./index.js";
import { unknownFields } from "./unknown-fields.js";

describe("unknownFields", () => {
  it("names fields the schema does not declare, nested and in arrays, and none of a valid spec", () => {
    expect(unknownFields(NodeTemplateSpec, { clusterRef: { name: "a" }, families: ["m5"] }, "spec")).toEqual([]);
    expect(
      unknownFields(NodeTemplateSpec, { clusterRef: { name: "a", nmae: "b" }, familes: ["m5"], stratgy: "SPOT" }, "spec"),
    ).toEqual(["spec.clusterRef.nmae", "spec.familes", "spec.stratgy"]);
    expect(
      unknownFields(
        HibernationScheduleSpec,
        { clusterRef: { name: "a" }, timezone: "UTC", weekly: [{ days: ["mon"], start: "08:00", end: "18:00", x: 1 }], prewarmMinute: 30 },
        "spec",
      ),
    ).toEqual(["spec.weekly[0].x", "spec.prewarmMinute"]);
  });
});
