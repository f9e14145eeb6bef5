import { describe, expect, it } from "vitest";
import { KubeApiError } from "../kube/client.js";
import { deletedMeanwhile } from "./manager.js";

const POLICY = { apiVersion: "spotoptimizer.io/v1alpha1", kind: "OptimizationPolicy" };
const ours = { group: "spotoptimizer.io", kind: "optimizationpolicies" };

const notFound = (details: Record<string, unknown> | undefined): KubeApiError =>
  new KubeApiError(
    404,
    { kind: "Status", status: "Failure", reason: "NotFound", code: 404, message: "not found", details },
    "PATCH",
  );

describe("deletedMeanwhile (a reconcile's 404 that is no error)", () => {
  it("is a NotFound naming the reconciled key's own object, of the controller's kind", () => {
    expect(deletedMeanwhile(notFound({ name: "local", ...ours }), "org-a/local", POLICY)).toBe(true);
    const nodes = { apiVersion: "v1", kind: "Node" };
    expect(deletedMeanwhile(notFound({ name: "n1", group: "", kind: "nodes" }), "n1", nodes)).toBe(true);
  });

  it("is not a NotFound of another object, of another kind of the same name, of a missing resource type, or another error", () => {
    expect(deletedMeanwhile(notFound({ name: "other", ...ours }), "org-a/local", POLICY)).toBe(false);
    const schedule = { name: "local", group: "spotoptimizer.io", kind: "hibernationschedules" };
    expect(deletedMeanwhile(notFound(schedule), "org-a/local", POLICY)).toBe(false);
    expect(deletedMeanwhile(notFound({ name: "local", group: "", kind: "configmaps" }), "org-a/local", POLICY)).toBe(
      false,
    );
    expect(deletedMeanwhile(notFound(undefined), "org-a/local", POLICY)).toBe(false);
    expect(deletedMeanwhile(new KubeApiError(409, { reason: "Conflict" }, "PATCH"), "org-a/local", POLICY)).toBe(false);
    expect(deletedMeanwhile(new Error("local"), "org-a/local", POLICY)).toBe(false);
  });
});
