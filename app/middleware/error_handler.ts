import type { Context } from 'egg';
import { ApiError, JsonRequiredError, NotFoundError, ServiceUnavailableError, UnauthorizedError } from '../lib/errors';

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
  // koa-bodyparser, egg-security and other HTTP errors meant for the client, in our words
  if (err.status && err.status >= 400 && err.status < 500) {
    if (err.status === 413) return new ApiError(413, 'PAYLOAD_TOO_LARGE', 'Request body is too large (JSON: at most 64 KiB; a message push: 16 KiB)');
    if (err.status === 415) return new JsonRequiredError();
    if (err.status === 405) return new ApiError(405, 'METHOD_NOT_ALLOWED', 'This method is not allowed here');
    // The body parser refuses `__proto__` (and constructor.prototype) keys, valid JSON as they are.
    if (err.status === 400 && /forbidden prototype property/.test(err.message)) {
      return new ApiError(400, 'INVALID_BODY', 'Request body must not contain a "__proto__" or "constructor" key with a prototype');
    }
    return new ApiError(err.status, 'INVALID_BODY', err.status === 400 ? 'Request body is not valid JSON (send a JSON object)' : 'The request was refused');
  }
  return new ApiError(500, 'INTERNAL_ERROR', 'Internal server error');
}

interface RouteLayer {
  methods: string[];
}

/** The methods the router serves on this path (empty when no route has the path). */
function allowedMethods(ctx: Context): string[] {
  const router = ctx.app.router as unknown as { match(path: string, method: string): { path: RouteLayer[] } };
  const methods = new Set(router.match(ctx.path, ctx.method).path.flatMap(layer => layer.methods));
  if (methods.size) methods.add('OPTIONS');
  return [ ...methods ];
}

/**
 * Outermost middleware (app.ts puts it first in coreMiddleware, before the body parser):
 * every failure leaves as `{ code, message }` JSON with its status; only 5xx are logged,
 * with the original error, through ctx.logger. A known path asked with another method is
 * a 405 with `Allow` (OPTIONS: 204 with `Allow`), not a 404.
 */
export default () => async function errorHandler(ctx: Context, next: () => Promise<void>): Promise<void> {
  try {
    await next();
    // Routes never answer 404 themselves (they throw), so a 404 here means no route matched.
    if (ctx.status === 404) {
      const allowed = allowedMethods(ctx);
      if (!allowed.length) throw new NotFoundError(`No route for ${ctx.method} ${ctx.path}`);
      ctx.set('Allow', allowed.join(', '));
      if (ctx.method === 'OPTIONS') {
        ctx.status = 204;
        return;
      }
      throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on ${ctx.path}; allowed: ${allowed.join(', ')}`);
    }
  } catch (thrown) {
    const apiError = toApiError(thrown);
    if (apiError.status >= 500) ctx.logger.error(thrown instanceof Error ? thrown : new Error(String(thrown)));
    ctx.status = apiError.status;
    if (apiError.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(apiError.retryAfterSeconds));
    ctx.body = { code: apiError.code, message: apiError.message };
  }
};
