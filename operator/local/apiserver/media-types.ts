// The patch media types a resource accepts, and the 415 kube-apiserver answers for any other.
import type { ResourceType } from "./registry.js";
import { ApiError } from "./status.js";

/**
 * The 415 kube-apiserver answers a PATCH whose Content-Type the resource does not accept (strategic merge on a
 * custom resource, or an unknown type): it lists the patch types of that resource, without echoing the request's.
 */
export function unsupportedPatchType(rt: ResourceType): ApiError {
  const types = [
    "application/json-patch+json",
    "application/merge-patch+json",
    ...(rt.crd ? [] : ["application/strategic-merge-patch+json"]),
    "application/apply-patch+yaml",
  ];
  return new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${types.join(", ")}`,
  );
}
