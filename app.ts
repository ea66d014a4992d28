import type { Application, IBoot } from 'egg';

export default class AppBootHook implements IBoot {
  constructor(private readonly app: Application) {}

  configWillLoad(): void {
    // Outermost, so body-parser errors and 404s are answered as JSON too.
    this.app.config.coreMiddleware.unshift('errorHandler');
  }
}
