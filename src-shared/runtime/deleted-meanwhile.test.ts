import { describe, expect, it } from "vitest";
import { KubeApiError } from "../kube/client.js";
import { deletedMeanwhile } from "./manager.js";

const notFound = (details: Record<string, unknown> | undefined): KubeApiError =>
  new KubeApiError(
    404,
    { kind: "Status", status: "Failure", reason: "NotFound", code: 404, message: "not found", details },
    "PATCH",
  );

describe("deletedMeanwhile (a reconcile's 404 that is no error)", () => {
  it("is a NotFound naming the reconciled key's own object", () => {
    expect(deletedMeanwhile(notFound({ name: "local", kind: "optimizationpolicies" }), "org-a/local")).toBe(true);
    expect(deletedMeanwhile(notFound({ name: "cluster-wide" }), "cluster-wide")).toBe(true);
  });

  it("is not a NotFound of another object, of a missing resource type, or any other error", () => {
    expect(deletedMeanwhile(notFound({ name: "other" }), "org-a/local")).toBe(false);
    expect(deletedMeanwhile(notFound(undefined), "org-a/local")).toBe(false);
    expect(deletedMeanwhile(new KubeApiError(409, { reason: "Conflict" }, "PATCH"), "org-a/local")).toBe(false);
    expect(deletedMeanwhile(new Error("local"), "org-a/local")).toBe(false);
  });
});
