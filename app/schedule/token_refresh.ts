import { Subscription, type Application } from 'egg';

/**
 * Keeps the mini-program access_token mounted on `app.wxToken`. Unlike the seed it runs in
 * every environment and in every worker (type 'all'), so each worker mounts the token;
 * the lease in the auth service still lets only one process call WeChat.
 */
export default (app: Application) => class TokenRefresh extends Subscription {
  static get schedule() {
    return { interval: app.config.wxmp.tokenCheckInterval, type: 'all', immediate: true };
  }

  async subscribe(): Promise<void> {
    await this.ctx.service.wxminiprogram.auth.checkToken();
  }
};
