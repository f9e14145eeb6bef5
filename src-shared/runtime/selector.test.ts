// Unit tests of label-selector parsing and matching used by informer cache lookups.
import { describe, expect, it } from "vitest";
import { matchesLabelSelector, parseLabelSelector } from "./selector.js";

describe("label selectors", () => {
  const labels = { app: "web", tier: "front", "team.example.com/owner": "a" };
  it.each([
    ["app=web", true],
    ["app==web", true],
    ["app!=web", false],
    ["app=web,tier in (front, back)", true],
    ["tier notin (front)", false],
    ["team.example.com/owner", true],
    ["!legacy", true],
    ["!app", false],
    ["missing!=x", true],
    ["", true],
  ])("%s -> %s", (selector, expected) => {
    expect(matchesLabelSelector(labels, parseLabelSelector(selector))).toBe(expected);
  });

  it("accepts the map form", () => {
    expect(matchesLabelSelector(labels, { app: "web" })).toBe(true);
    expect(matchesLabelSelector(undefined, { app: "web" })).toBe(false);
  });

  it("rejects syntax it does not understand", () => {
    expect(() => parseLabelSelector("app=(web")).toThrow(/Invalid label selector/);
  });
});
