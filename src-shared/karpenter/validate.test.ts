// Unit tests: Karpenter objects are checked against Karpenter's schemas before the operator writes them.
import { describe, expect, it } from "vitest";
import { KarpenterValidationError, validateKarpenterObject } from "./validate.js";

import { minimalEC2NodeClass, minimalNodePool } from "../../test/support/karpenter-fixtures.js";

function minimal(kind: "NodePool" | "EC2NodeClass"): Record<string, any> {
  return kind === "NodePool" ? minimalNodePool() : minimalEC2NodeClass();
}

describe("validateKarpenterObject", () => {
  it("accepts a minimal NodePool, also with hibernation's zero limits and annotation", () => {
    const pool = minimal("NodePool");
    expect(() => validateKarpenterObject(pool)).not.toThrow();
    pool.spec.limits = { cpu: "0", memory: "0" };
    pool.metadata.annotations = { "spotoptimizer.io/hibernation-saved": "{}" };
    expect(() => validateKarpenterObject(pool)).not.toThrow();
  });

  it("rejects a NodePool whose limits or weight break the schema, naming the field", () => {
    const pool = minimal("NodePool");
    pool.spec.limits = { cpu: "lots" };
    expect(() => validateKarpenterObject(pool)).toThrow(/spec\.limits\.cpu/);
    const heavy = minimal("NodePool");
    heavy.spec.weight = 1000;
    expect(() => validateKarpenterObject(heavy)).toThrow(KarpenterValidationError);
    expect(() => validateKarpenterObject(heavy)).toThrow(/NodePool "default" is invalid: spec\.weight/);
  });

  it("with the previous object, tolerates the errors it already had and refuses only new ones", () => {
    const previous = minimal("NodePool");
    previous.spec.weight = 1000;
    const next = structuredClone(previous);
    next.spec.limits = { cpu: "0", memory: "0" };
    expect(() => validateKarpenterObject(next)).toThrow(/spec\.weight/);
    expect(() => validateKarpenterObject(next, previous)).not.toThrow();
    next.spec.limits = { cpu: "zero" };
    expect(() => validateKarpenterObject(next, previous)).toThrow(/is invalid: spec\.limits\.cpu/);
    expect(() => validateKarpenterObject(next, previous)).not.toThrow(/weight/);
  });

  it("ignores server-owned status and managedFields", () => {
    const pool = minimal("NodePool");
    pool.status = { anything: { goes: true } };
    pool.metadata.managedFields = [{ manager: 42 }];
    expect(() => validateKarpenterObject(pool)).not.toThrow();
  });

  it("rejects kinds that are not Karpenter v1 kinds", () => {
    expect(() =>
      validateKarpenterObject({
        apiVersion: "karpenter.sh/v1beta1",
        kind: "NodePool",
        metadata: { name: "x" },
        spec: {},
      }),
    ).toThrow(KarpenterValidationError);
  });
});
