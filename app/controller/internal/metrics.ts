import { Controller } from 'egg';

/** GET /metrics: Prometheus text format, every worker's numbers together (behind the internal API keys). */
export default class MetricsController extends Controller {
  async show(): Promise<void> {
    this.ctx.type = 'text/plain; version=0.0.4; charset=utf-8';
    this.ctx.body = await this.app.clusterMetrics.collect();
  }
}
