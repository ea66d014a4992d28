import { Controller } from 'egg';

export default class HealthController extends Controller {
  /** GET /health: 200 when the app can serve, 503 when its database is down or this worker is saturated. */
  async show(): Promise<void> {
    const report = await this.service.health.check();
    this.ctx.status = report.mongo === 'up' && !report.load.saturated ? 200 : 503;
    this.ctx.body = report;
  }
}
