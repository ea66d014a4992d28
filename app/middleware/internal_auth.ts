import crypto from 'node:crypto';
import type { Context } from 'egg';
import { bearerCredentials } from '../lib/bearer';
import { ApiError, NotFoundError, UnauthorizedError } from '../lib/errors';
import { DEFAULT_SCOPES, type InternalKey, type InternalScope } from '../../config/env';

const digest = (value: string) => crypto.createHash('sha256').update(value).digest();

/**
 * The internal API's guard: `Authorization: Bearer <key>` with a key of INTERNAL_API_KEYS,
 * compared in constant time (digests of equal length, every key compared). Sets
 * `ctx.internalCaller` to the key's name, which is what gets logged, never the key. Without
 * any key configured the internal routes do not exist (404). A key outside the route's scope
 * is a 403 FORBIDDEN_SCOPE naming it.
 */
export default (options: { scope: InternalScope }) => async function internalAuth(ctx: Context, next: () => Promise<void>): Promise<void> {
  const { keys } = ctx.app.config.internal;
  if (!keys.length) throw new NotFoundError(`No route for ${ctx.method} ${ctx.path}`);
  const given = bearerCredentials(ctx.get('authorization'));
  if (!given) throw new UnauthorizedError('Missing API key: send Authorization: Bearer <key>');
  const givenDigest = digest(given);
  let caller: InternalKey | undefined;
  for (const entry of keys) {
    if (crypto.timingSafeEqual(digest(entry.key), givenDigest)) caller = caller ?? entry;
  }
  if (!caller) {
    ctx.logger.warn('[internal] refused a request with an unknown API key');
    throw new UnauthorizedError('Invalid API key');
  }
  ctx.internalCaller = caller.name;
  ctx.userId = `internal:${caller.name}`; // printed in this request's log lines
  if (!(caller.scopes ?? DEFAULT_SCOPES).includes(options.scope)) {
    ctx.logger.warn('[internal] %s lacks scope %s', caller.name, options.scope);
    throw new ApiError(403, 'FORBIDDEN_SCOPE', `This key may not do this: it lacks the scope "${options.scope}"`);
  }
  await next();
};
