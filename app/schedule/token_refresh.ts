import { Subscription, type Application } from 'egg';
import { configuredApps } from '../lib/apps';

/**
 * Keeps each mini-program's access_token mounted (the first app's on `app.wxToken`). Unlike the seed it runs in
 * every environment and in every worker (type 'all'), so each worker mounts the token;
 * the lease in the auth service still lets only one process call WeChat.
 */
export default (app: Application) => class TokenRefresh extends Subscription {
  static get schedule() {
    return { interval: app.config.wxmp.tokenCheckInterval, type: 'all', immediate: true };
  }

  /** Every configured app's token, each under its own lease (one app failing does not hold up the others). */
  async subscribe(): Promise<void> {
    for (const { appid } of configuredApps(app.config.wxmp)) {
      const ctx = app.createAnonymousContext();
      ctx.wxAppid = appid;
      await ctx.service.wxminiprogram.auth.checkToken();
    }
  }
};
