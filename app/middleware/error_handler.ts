import type { Context } from 'egg';
import { ApiError, NotFoundError, ServiceUnavailableError, UnauthorizedError } from '../lib/errors';

/** Driver and Mongoose errors that mean "the database is not reachable right now". */
const DB_DOWN_NAMES = new Set([
  'MongoServerSelectionError', 'MongooseServerSelectionError', 'MongoNetworkError',
  'MongoNetworkTimeoutError', 'MongoNotConnectedError', 'MongoTopologyClosedError',
]);

function isDatabaseDown(err: Error): boolean {
  return DB_DOWN_NAMES.has(err.name) || /buffering timed out/.test(err.message);
}

interface HttpishError extends Error {
  status?: number;
  expose?: boolean;
}

/** Maps anything thrown to the API error it stands for; unknown errors become 500. */
export function toApiError(thrown: unknown): ApiError {
  if (thrown instanceof ApiError) return thrown;
  const err = thrown instanceof Error ? thrown as HttpishError : new Error(String(thrown)) as HttpishError;
  if (isDatabaseDown(err)) return new ServiceUnavailableError();
  // koa-jwt2's UnauthorizedError, should anyone mount egg-jwt's middleware on a route
  if (err.name === 'UnauthorizedError' || err.status === 401) return new UnauthorizedError();
  // koa-bodyparser and other HTTP errors meant for the client (invalid JSON, too large, ...)
  if (err.status && err.status >= 400 && err.status < 500) {
    const code = err.status === 413 ? 'PAYLOAD_TOO_LARGE' : err.status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'INVALID_BODY';
    return new ApiError(err.status, code, err.expose ? err.message : 'Request body is not valid JSON');
  }
  return new ApiError(500, 'INTERNAL_ERROR', 'Internal server error');
}

/**
 * Outermost middleware (app.ts puts it first in coreMiddleware, before the body parser):
 * every failure leaves as `{ code, message }` JSON with its status; only 5xx are logged,
 * with the original error, through ctx.logger.
 */
export default () => async function errorHandler(ctx: Context, next: () => Promise<void>): Promise<void> {
  try {
    await next();
    // Routes never answer 404 themselves (they throw), so a 404 here means no route matched.
    if (ctx.status === 404) throw new NotFoundError(`No route for ${ctx.method} ${ctx.path}`);
  } catch (thrown) {
    const apiError = toApiError(thrown);
    if (apiError.status >= 500) ctx.logger.error(thrown instanceof Error ? thrown : new Error(String(thrown)));
    ctx.status = apiError.status;
    if (apiError.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(apiError.retryAfterSeconds));
    ctx.body = { code: apiError.code, message: apiError.message };
  }
};
