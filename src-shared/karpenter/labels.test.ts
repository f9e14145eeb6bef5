// Label values standing for object names: a name that is a valid label value stays itself (labels written before
// stay matched); a longer one becomes a readable start plus a hash that fits, always the same for the same name.
import { describe, expect, it } from "vitest";
import { labelValue } from "./labels.js";
import { actionOwner, isOwnedBy, ownerMarks, ownerSelector } from "../agent/action-owner.js";

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LONG = `a${"b".repeat(250)}c`;

describe("labelValue", () => {
  it.each([
    ["general", "general"],
    ["a.b-c", "a.b-c"],
    ["x".repeat(63), "x".repeat(63)],
  ])("keeps %s, a valid label value, as it is", (name, value) => {
    expect(labelValue(name)).toBe(value);
  });

  it.each([["x".repeat(64)], [LONG], ["a".repeat(62) + ".b"], ["a..".repeat(40) + "z"]])(
    "fits %s into a valid label value, the same each time",
    (name) => {
      const value = labelValue(name);
      expect(value.length).toBeLessThanOrEqual(63);
      expect(value).toMatch(LABEL_VALUE);
      expect(labelValue(name)).toBe(value);
    },
  );

  it("gives names that share their first 54 characters different values", () => {
    expect(labelValue(`${"n".repeat(60)}-one`)).not.toBe(labelValue(`${"n".repeat(60)}-two`));
  });
});

describe("an AgentAction's owner", () => {
  const action = (labels: Record<string, string>, annotations?: Record<string, string>): object => ({
    metadata: { labels, ...(annotations ? { annotations } : {}) },
  });
  const KEY = "nodetemplate.spotoptimizer.io/template";

  it("is the full name, whatever its length, and is selected by a label value that fits", () => {
    const marks = ownerMarks(KEY, LONG);
    expect(marks.labels[KEY]).toMatch(LABEL_VALUE);
    expect(ownerSelector(KEY, LONG)).toEqual(marks.labels);
    expect(actionOwner(action(marks.labels, marks.annotations), KEY)).toBe(LONG);
  });

  it("of an action labelled before the annotation existed is the label", () => {
    expect(isOwnedBy(action({ [KEY]: "general" }), KEY, "general")).toBe(true);
  });

  it("is never a name whose label value another name's action carries", () => {
    // A short name equal to the long name's label value: both select the same actions, the full name tells them apart.
    const short = labelValue(LONG);
    const longs = ownerMarks(KEY, LONG);
    expect(ownerSelector(KEY, short)).toEqual(ownerSelector(KEY, LONG));
    expect(isOwnedBy(action(longs.labels, longs.annotations), KEY, short)).toBe(false);
    expect(isOwnedBy(action({ [KEY]: short }), KEY, LONG)).toBe(false);
  });
});
