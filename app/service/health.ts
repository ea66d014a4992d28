import { Service } from 'egg';

export interface HealthReport {
  status: 'ok' | 'degraded';
  mongo: 'up' | 'down';
}

export default class HealthService extends Service {
  /** Pings MongoDB; never waits longer than config.health.timeoutMs. */
  async check(): Promise<HealthReport> {
    const mongoUp = await this.pingMongo();
    return { status: mongoUp ? 'ok' : 'degraded', mongo: mongoUp ? 'up' : 'down' };
  }

  private async pingMongo(): Promise<boolean> {
    const conn = this.app.mongooseDB.get('mp');
    if (!conn.db) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>(resolve => {
      timer = setTimeout(() => resolve(false), this.config.health.timeoutMs);
    });
    const ping = conn.db.command({ ping: 1 }).then((reply: { ok?: number }) => reply.ok === 1, () => false);
    try {
      return await Promise.race([ ping, timeout ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
