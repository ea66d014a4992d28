import type { Context } from 'egg';
import type { RateLimitScope } from '../lib/rate_limit';

export interface RateLimitOptions {
  /** `login`: per client address (before the route calls WeChat); `user`: per authenticated user. */
  scope: RateLimitScope;
}

/**
 * Route middleware: 429 RATE_LIMITED with Retry-After once the caller is over its limit,
 * decided before the controller (and so before any WeChat call) runs. `user` must come
 * after jwtAuth.
 */
export default (options: RateLimitOptions) => async function rateLimit(ctx: Context, next: () => Promise<void>): Promise<void> {
  const { loginPerMinute, userPerMinute } = ctx.app.config.rateLimit;
  if (options.scope === 'login') {
    await ctx.app.rateLimiters.consume('login', ctx.ip, loginPerMinute);
  } else {
    if (!ctx.uid) throw new Error('rateLimit({ scope: "user" }) must follow jwtAuth');
    await ctx.app.rateLimiters.consume('user', ctx.uid, userPerMinute);
  }
  await next();
};
