import type { Application, IBoot } from 'egg';

export default class AppBootHook implements IBoot {
  constructor(private readonly app: Application) {}

  configWillLoad(): void {
    // Outermost, so body-parser errors and 404s are answered as JSON too.
    this.app.config.coreMiddleware.unshift('errorHandler');
  }

  async didReady(): Promise<void> {
    // Mount the access_token in this worker as soon as it can serve. The token_refresh
    // schedule's immediate run does the same in a cluster; this also covers processes where
    // 'all' schedules are not dispatched (egg-mock). Both share one refresh. Not awaited:
    // WeChat being down must not keep the app from serving.
    const ctx = this.app.createAnonymousContext();
    ctx.service.wxminiprogram.auth.checkToken().catch((err: unknown) => {
      ctx.logger.error(err instanceof Error ? err : new Error(String(err)));
    });
  }
}
