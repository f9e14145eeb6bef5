// Kubernetes `Status` error objects exactly as kube-apiserver returns them, so client-node and kubectl parse them.

/** One entry of `details.causes` in a Status (field paths like `spec.replicas`). */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** The `details` of a Status; `kind` is the resource plural (NotFound/Conflict) or the Kind (Invalid), as upstream. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** A meta/v1 Status body. */
export interface StatusObject {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, unknown>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error that carries the HTTP status and the Status body to send. */
export class ApiError extends Error {
  readonly code: number;
  readonly status: StatusObject;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
    if (details) this.status.details = details;
  }
}

/** A resource named like the apiserver does in messages: `pods`, `deployments.apps`. */
export interface QualifiedResource {
  group: string;
  plural: string;
}

function qualified(r: QualifiedResource): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

function details(r: QualifiedResource, name: string, extra?: Partial<StatusDetails>): StatusDetails {
  const d: StatusDetails = { name };
  if (r.group) d.group = r.group;
  d.kind = r.plural;
  return { ...d, ...extra };
}

export function notFound(r: QualifiedResource, name: string): ApiError {
  return new ApiError(404, "NotFound", `${qualified(r)} "${name}" not found`, details(r, name));
}

export function alreadyExists(r: QualifiedResource, name: string): ApiError {
  return new ApiError(409, "AlreadyExists", `${qualified(r)} "${name}" already exists`, details(r, name));
}

export function conflict(r: QualifiedResource, name: string, why?: string): ApiError {
  const reason = why ?? "the object has been modified; please apply your changes to the latest version and try again";
  return new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${reason}`,
    details(r, name),
  );
}

/** 422 Invalid: `Kind "name" is invalid: field: message, field2: message2`. */
export function invalid(r: QualifiedResource & { kind: string }, name: string, causes: StatusCause[]): ApiError {
  const summary = causes.map((c) => (c.field ? `${c.field}: ${c.message ?? ""}` : (c.message ?? ""))).join(", ");
  const kindLabel = r.group ? `${r.kind}.${r.group}` : r.kind;
  const msg =
    causes.length === 1
      ? `${kindLabel} "${name}" is invalid: ${summary}`
      : `${kindLabel} "${name}" is invalid: [${summary}]`;
  const d: StatusDetails = { name };
  if (r.group) d.group = r.group;
  d.kind = r.kind;
  d.causes = causes;
  return new ApiError(422, "Invalid", msg, d);
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, "BadRequest", message);
}

export function forbidden(r: QualifiedResource, name: string, message: string, causes?: StatusCause[]): ApiError {
  return new ApiError(403, "Forbidden", message, details(r, name, causes ? { causes } : undefined));
}

export function methodNotAllowed(
  message = "the server does not allow this method on the requested resource",
): ApiError {
  return new ApiError(405, "MethodNotAllowed", message, {});
}

export function expired(message: string): ApiError {
  return new ApiError(410, "Expired", message);
}

export function tooManyRequests(message: string, causes?: StatusCause[]): ApiError {
  return new ApiError(429, "TooManyRequests", message, causes ? { causes } : undefined);
}

export function notAcceptable(message: string): ApiError {
  return new ApiError(406, "NotAcceptable", message);
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/apply-patch+yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${contentType || "none"})`,
  );
}

export function unauthorized(): ApiError {
  return new ApiError(401, "Unauthorized", "Unauthorized");
}

export function pageNotFound(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource", {});
}

export function internalError(message: string): ApiError {
  return new ApiError(500, "InternalError", `Internal error occurred: ${message}`, { causes: [{ message }] });
}

/** A Success Status (delete of a resource whose strategy does not return the object, eviction). */
export function successStatus(code: number, d?: StatusDetails): StatusObject {
  const s: StatusObject = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code };
  if (d) s.details = d;
  return s;
}
