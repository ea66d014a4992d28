import type { Context } from 'egg';
import { UnauthorizedError } from '../lib/errors';

/** RFC 7235: the scheme is case-insensitive; one or more spaces before the credentials. */
const BEARER = /^Bearer +(\S+)$/i;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Route middleware for the authenticated routes: requires `Authorization: Bearer <jwt>`,
 * verifies it (HS256 only) and sets `ctx.uid` and `ctx.state.user`, as the seed's
 * controllers expect.
 */
export default () => async function jwtAuth(ctx: Context, next: () => Promise<void>): Promise<void> {
  const header = ctx.get('authorization');
  if (!header) throw new UnauthorizedError('Missing bearer token: send Authorization: Bearer <token>');
  const match = BEARER.exec(header.trim());
  if (!match) throw new UnauthorizedError('Invalid Authorization header: expected Bearer <token>');
  if (!JWT_SHAPE.test(match[1])) throw new UnauthorizedError('Invalid token; log in again');
  const claims = ctx.service.account.jwt.verify(match[1]);
  ctx.uid = claims.uid;
  ctx.userId = claims.uid; // printed in this request's log lines
  ctx.state.user = claims;
  await next();
};
