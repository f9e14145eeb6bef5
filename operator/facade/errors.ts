// Typed facade errors: thrown anywhere, mapped to HTTP status + {"detail": ...} by the one error handler in app.ts.

/** An error that carries its HTTP status and a client-safe message (never a stack trace). */
export class HttpError extends Error {
  status: number;
  detail: string;
  headers?: Record<string, string>;

  constructor(status: number, detail: string, headers?: Record<string, string>) {
    super(detail);
    this.name = "HttpError";
    this.status = status;
    this.detail = detail;
    if (headers) this.headers = headers;
  }
}

export class BadRequestError extends HttpError {
  constructor(detail: string) {
    super(400, detail);
    this.name = "BadRequestError";
  }
}

export class UnauthorizedError extends HttpError {
  constructor(detail: string) {
    // RFC 6750: a 401 on a bearer-protected resource names the scheme.
    super(401, detail, { "WWW-Authenticate": "Bearer" });
    this.name = "UnauthorizedError";
  }
}

export class ForbiddenError extends HttpError {
  constructor(detail: string) {
    super(403, detail);
    this.name = "ForbiddenError";
  }
}

/** Also used for "exists but belongs to another organisation": never reveal another tenant's ids. */
export class NotFoundError extends HttpError {
  constructor(detail: string) {
    super(404, detail);
    this.name = "NotFoundError";
  }
}

export class ConflictError extends HttpError {
  constructor(detail: string) {
    super(409, detail);
    this.name = "ConflictError";
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(detail: string) {
    super(413, detail);
    this.name = "PayloadTooLargeError";
  }
}

/** Valid JSON, invalid values: the detail names the field. */
export class UnprocessableError extends HttpError {
  constructor(detail: string) {
    super(422, detail);
    this.name = "UnprocessableError";
  }
}

export class RateLimitError extends HttpError {
  retryAfterSeconds: number;

  constructor(detail: string, retryAfterSeconds = 60) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super(429, detail, { "Retry-After": String(seconds) });
    this.name = "RateLimitError";
    this.retryAfterSeconds = seconds;
  }
}

/** 501: the feature is not built (password-reset e-mail). */
export class NotImplementedError extends HttpError {
  constructor(detail: string) {
    super(501, detail);
    this.name = "NotImplementedError";
  }
}

export class NotReadyError extends HttpError {
  constructor(detail: string) {
    super(503, detail);
    this.name = "NotReadyError";
  }
}
