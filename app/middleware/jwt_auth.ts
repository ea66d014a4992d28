import type { Context } from 'egg';
import { UnauthorizedError } from '../lib/errors';

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/;

/**
 * Route middleware for the authenticated routes: requires `Authorization: Bearer <jwt>`,
 * verifies it (HS256 only) and sets `ctx.uid` and `ctx.state.user`, as the seed's
 * controllers expect.
 */
export default () => async function jwtAuth(ctx: Context, next: () => Promise<void>): Promise<void> {
  const match = BEARER.exec(ctx.get('authorization'));
  if (!match) throw new UnauthorizedError('Missing bearer token: send Authorization: Bearer <token>');
  const claims = ctx.service.account.jwt.verify(match[1]);
  ctx.uid = claims.uid;
  ctx.userId = claims.uid; // printed in this request's log lines
  ctx.state.user = claims;
  await next();
};
