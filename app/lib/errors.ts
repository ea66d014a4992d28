/**
 * Typed errors thrown anywhere in the app; the outermost error_handler middleware turns
 * each into `{ code, message }` with its HTTP status. `code` values are stable API.
 */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export class BadRequestError extends ApiError {
  constructor(message: string, code = 'INVALID_PARAM') {
    super(400, code, message);
  }
}

export class UnauthorizedError extends ApiError {
  constructor(message = 'Missing, invalid or expired token; log in again', code = 'UNAUTHORIZED') {
    super(401, code, message);
  }
}

export class ForbiddenError extends ApiError {
  constructor(message: string, code = 'FORBIDDEN') {
    super(403, code, message);
  }
}

export class NotFoundError extends ApiError {
  constructor(message = 'Not Found', code = 'NOT_FOUND') {
    super(404, code, message);
  }
}

export class TooManyRequestsError extends ApiError {
  constructor(message: string, code = 'RATE_LIMITED') {
    super(429, code, message);
  }
}

export class ServiceUnavailableError extends ApiError {
  constructor(message = 'Database unavailable, retry shortly', code = 'DB_UNAVAILABLE') {
    super(503, code, message);
  }
}
