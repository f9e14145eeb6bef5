// A write the API server refused for what it says (invalid, forbidden, gone): retrying at once gives the same answer,
// so controllers name the refusal in a condition and look again on a slow fixed period, not an error loop.
import { KubeApiError } from "../kube/index.js";

/** Condition reason of a write the API server refused. */
export const WRITE_REFUSED = "WriteRefused";
/** Next try after a refused write: it needs a change by someone else first. */
export const REFUSED_RETRY_MS = 30_000;

/** 400, 403, 404 and 422 are answers about the object; 409, 5xx and timeouts are transient and retried at once. */
export function isWriteRefused(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && [400, 403, 404, 422].includes(err.statusCode);
}

/** The API server's own words (its Status message), without the request line the error carries for logs. */
export function refusalMessage(err: KubeApiError): string {
  const body = (typeof err.body === "object" && err.body !== null ? err.body : {}) as { message?: unknown };
  const said = typeof body.message === "string" && body.message !== "" ? body.message : err.message;
  return `${err.statusCode} ${err.reason || "refused"}: ${said}`.replace(/\s+$/, "");
}
