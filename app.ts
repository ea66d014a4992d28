import type { Server } from 'node:http';
import type { Application, IBoot } from 'egg';
import { hideSecretsFromConfigDump } from './config/dump';
import { PathOnlyContextLogger } from './app/lib/context_logger';
import { NoContextStorage } from './app/lib/context_storage';
import { configuredApps } from './app/lib/apps';
import { clientErrorResponse, configureServer, installLoadShedding } from './app/lib/http_server';
import { reportTokenExpiry } from './app/lib/metrics';
import { workerMetrics } from './app/lib/metrics_cluster';

/** egg's core middlewares this JSON API leaves out (configWillLoad). */
const WEBSITE_MIDDLEWARE = new Set([ 'siteFile', 'notfound', 'overrideMethod' ]);

/** How long a stopping worker waits for requests in flight (egg-cluster kills it after 5 s). */
const DRAIN_MS = 4000;

export default class AppBootHook implements IBoot {
  constructor(private readonly app: Application) {
    // Requests run without egg's AsyncLocalStorage: its promise hooks cost every promise (context_storage.ts).
    Object.defineProperty(app, 'ctxStorage', { value: new NoContextStorage(), configurable: true });
    // Log lines name the request by its path, never its query string (context_logger.ts).
    app.ContextLogger = PathOnlyContextLogger as unknown as Application['ContextLogger'];
    app.clusterMetrics = workerMetrics(app);
    reportTokenExpiry(() => configuredApps(app.config.wxmp).map(({ appid }) => ({
      appid,
      expiresAt: appid === app.config.wxmp.appid ? (app.wxToken ? app.wxTokenInfo?.expiresAt : undefined) : app.wxTokens.get(appid)?.info.expiresAt,
    })));
    // Emitted by egg-cluster before the worker's server listens.
    app.on('server', (server: Server) => {
      configureServer(server, app.config.httpServer);
      app.saturation = installLoadShedding(server, () => app.config.overload);
    });
  }

  configWillLoad(): void {
    // Outermost: every request gets an id first, then every failure (body-parser errors
    // and 404s included) is answered as JSON. (Load shedding sits before egg: http_server.ts.)
    // Left out, egg's middlewares for websites: siteFile (/favicon.ico redirected to eggjs.org's
    // icon), notfound (an HTML or JSON 404 body: errorHandler answers 404s) and overrideMethod
    // (`_method` turning a POST into another method). Each is a step of every request.
    const { config } = this.app;
    config.coreMiddleware = [ 'requestId', 'errorHandler', ...config.coreMiddleware.filter((name: string) => !WEBSITE_MIDDLEWARE.has(name)) ];
    config.onClientError = clientErrorResponse;
    hideSecretsFromConfigDump(config.dump.ignore);
  }

  async didReady(): Promise<void> {
    // Mount the access_token in this worker as soon as it can serve. The token_refresh
    // schedule's immediate run does the same in a cluster; this also covers processes where
    // 'all' schedules are not dispatched (egg-mock). Both share one refresh. Not awaited:
    // WeChat being down must not keep the app from serving.
    for (const { appid } of configuredApps(this.app.config.wxmp)) {
      const ctx = this.app.createAnonymousContext();
      ctx.wxAppid = appid;
      ctx.service.wxminiprogram.auth.checkToken().catch((err: unknown) => {
        ctx.logger.error(err instanceof Error ? err : new Error(String(err)));
      });
    }
  }

  async beforeClose(): Promise<void> {
    // Graceful stop: let the requests already being served finish.
    const deadline = Date.now() + DRAIN_MS;
    const busy = (): boolean => {
      const load = this.app.saturation?.();
      return !!load && load.inFlight + load.bodyPending > 0;
    };
    while (busy() && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 50));
    }
  }
}
