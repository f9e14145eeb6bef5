// Which API answers are refusals a controller reports and retries slowly, and what it says about them.
import { describe, expect, it } from "vitest";
import { KubeApiError } from "../kube/index.js";
import { isWriteRefused, refusalMessage } from "./refused.js";

const answer = (code: number, reason = "", message = "m"): KubeApiError =>
  new KubeApiError(code, { reason, message }, "PATCH /apis/x");

describe("isWriteRefused", () => {
  it.each([400, 403, 404, 422])("%i is an answer about the object", (code) => {
    expect(isWriteRefused(answer(code))).toBe(true);
  });
  it.each([409, 429, 500, 503, 504])("%i is transient", (code) => {
    expect(isWriteRefused(answer(code))).toBe(false);
  });
  it("a network error is transient", () => {
    expect(isWriteRefused(new Error("ECONNRESET"))).toBe(false);
  });
});

describe("refusalMessage", () => {
  it("is the API server's status message, without the request line", () => {
    expect(refusalMessage(answer(422, "Invalid", 'spec.role: Invalid value: "string": role cannot be empty'))).toBe(
      '422 Invalid: spec.role: Invalid value: "string": role cannot be empty',
    );
  });
});
