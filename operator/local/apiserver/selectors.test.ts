// Unit tests of label/field selector parsing and metav1.LabelSelector matching.
import { describe, expect, it } from "vitest";
import {
  labelSelectorToString,
  matchesLabelSelectorObject,
  parseFieldSelector,
  parseLabelSelector,
} from "./selectors.js";
import { ApiError } from "./status.js";

const obj = (labels: Record<string, string>, extra: Record<string, unknown> = {}): any => ({
  metadata: { name: "a", namespace: "ns", labels },
  ...extra,
});

describe("parseLabelSelector", () => {
  it("supports equality, inequality, set and existence requirements", () => {
    const o = obj({ app: "web", tier: "front" });
    expect(parseLabelSelector("app=web")(o)).toBe(true);
    expect(parseLabelSelector("app==web,tier=front")(o)).toBe(true);
    expect(parseLabelSelector("app!=web")(o)).toBe(false);
    expect(parseLabelSelector("missing!=x")(o)).toBe(true);
    expect(parseLabelSelector("tier in (back, front)")(o)).toBe(true);
    expect(parseLabelSelector("tier notin (front)")(o)).toBe(false);
    expect(parseLabelSelector("missing notin (x)")(o)).toBe(true);
    expect(parseLabelSelector("app")(o)).toBe(true);
    expect(parseLabelSelector("!app")(o)).toBe(false);
    expect(parseLabelSelector("example.com/role")(obj({ "example.com/role": "" }))).toBe(true);
    expect(parseLabelSelector("")(o)).toBe(true);
  });

  it("rejects malformed selectors with a 400", () => {
    expect(() => parseLabelSelector("app in web")).toThrow(ApiError);
    expect(() => parseLabelSelector("a b c")).toThrow(ApiError);
  });
});

describe("parseFieldSelector", () => {
  it("matches the supported fields and refuses others", () => {
    const pod = obj({}, { spec: { nodeName: "n1" }, status: { phase: "Running" } });
    expect(parseFieldSelector("spec.nodeName=n1", "Pod")(pod)).toBe(true);
    expect(parseFieldSelector("spec.nodeName!=n1", "Pod")(pod)).toBe(false);
    expect(parseFieldSelector("metadata.name=a,metadata.namespace=ns,status.phase=Running", "Pod")(pod)).toBe(true);
    expect(parseFieldSelector("spec.nodeName=", "Pod")(obj({}, { spec: {} }))).toBe(true);
    expect(() => parseFieldSelector("spec.nodeName=n1", "ConfigMap")).toThrow(/field label not supported/);
  });
});

describe("metav1.LabelSelector", () => {
  it("matches matchLabels and matchExpressions; null selects nothing and {} everything", () => {
    const labels = { app: "web", tier: "front" };
    expect(matchesLabelSelectorObject({ matchLabels: { app: "web" } }, labels)).toBe(true);
    expect(
      matchesLabelSelectorObject({ matchExpressions: [{ key: "tier", operator: "In", values: ["back"] }] }, labels),
    ).toBe(false);
    expect(matchesLabelSelectorObject({ matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, labels)).toBe(
      true,
    );
    expect(matchesLabelSelectorObject({}, labels)).toBe(true);
    expect(matchesLabelSelectorObject(null, labels)).toBe(false);
  });

  it("prints the selector string Scale.status.selector carries", () => {
    expect(
      labelSelectorToString({ matchLabels: { b: "2", a: "1" }, matchExpressions: [{ key: "c", operator: "Exists" }] }),
    ).toBe("a=1,b=2,c");
  });
});
