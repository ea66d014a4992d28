import crypto from 'node:crypto';
import type { Context } from 'egg';
import { bearerCredentials } from '../lib/bearer';
import { NotFoundError, UnauthorizedError } from '../lib/errors';

const digest = (value: string) => crypto.createHash('sha256').update(value).digest();

/**
 * The internal API's guard: `Authorization: Bearer <key>` with a key of INTERNAL_API_KEYS,
 * compared in constant time (digests of equal length, every key compared). Sets
 * `ctx.internalCaller` to the key's name, which is what gets logged, never the key. Without
 * any key configured the internal routes do not exist (404).
 */
export default () => async function internalAuth(ctx: Context, next: () => Promise<void>): Promise<void> {
  const { keys } = ctx.app.config.internal;
  if (!keys.length) throw new NotFoundError(`No route for ${ctx.method} ${ctx.path}`);
  const given = bearerCredentials(ctx.get('authorization'));
  if (!given) throw new UnauthorizedError('Missing API key: send Authorization: Bearer <key>');
  const givenDigest = digest(given);
  let caller: string | undefined;
  for (const { name, key } of keys) {
    if (crypto.timingSafeEqual(digest(key), givenDigest)) caller = caller ?? name;
  }
  if (!caller) {
    ctx.logger.warn('[internal] refused a request with an unknown API key');
    throw new UnauthorizedError('Invalid API key');
  }
  ctx.internalCaller = caller;
  ctx.userId = `internal:${caller}`; // printed in this request's log lines
  await next();
};
