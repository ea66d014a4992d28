import type { Context } from 'egg';
import { bearerCredentials } from '../lib/bearer';
import { findApp } from '../lib/apps';
import { UnauthorizedError } from '../lib/errors';

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Route middleware for the authenticated routes: requires `Authorization: Bearer <jwt>`,
 * verifies it (HS256 only) and sets `ctx.uid` and `ctx.state.user`, as the seed's
 * controllers expect, and `ctx.wxAppid`: the app the route acts for.
 */
export default () => async function jwtAuth(ctx: Context, next: () => Promise<void>): Promise<void> {
  const header = ctx.get('authorization');
  if (!header) throw new UnauthorizedError('Missing bearer token: send Authorization: Bearer <token>');
  const token = bearerCredentials(header);
  if (!token) throw new UnauthorizedError('Invalid Authorization header: expected Bearer <token>');
  if (!JWT_SHAPE.test(token)) throw new UnauthorizedError('Invalid token; log in again');
  const claims = ctx.service.account.jwt.verify(token);
  // The route acts for the token's app (tokens without one are the first app's).
  if (claims.appid !== undefined && !findApp(ctx.app.config.wxmp, claims.appid)) {
    throw new UnauthorizedError('This token\'s mini-program is no longer served here; log in again');
  }
  // An ended or expired session refuses its tokens (tokens from before sessions carry no sid).
  if (claims.sid !== undefined) await ctx.service.account.session.require(claims.sid, claims.uid);
  ctx.wxAppid = claims.appid;
  ctx.uid = claims.uid;
  ctx.userId = claims.uid; // printed in this request's log lines
  ctx.state.user = claims;
  await next();
};
