import { Service } from 'egg';
import { mpConnection } from '../lib/db';

export interface HealthReport {
  status: 'ok' | 'degraded';
  mongo: 'up' | 'down';
  /** Whether this worker has an access_token mounted; the token itself is never shown. */
  wxToken: 'mounted' | 'missing';
  /** Seconds since the mounted token was fetched, or null. */
  wxTokenAgeSeconds: number | null;
  /** Avatar uploads need PUBLIC_BASE_URL (WeChat fetches the image to check it). */
  avatars: 'ok' | 'not_configured';
}

export default class HealthService extends Service {
  /** Pings MongoDB; never waits longer than config.health.timeoutMs. */
  async check(): Promise<HealthReport> {
    const mongoUp = await this.pingMongo();
    const info = this.app.wxToken ? this.app.wxTokenInfo : undefined;
    return {
      status: mongoUp ? 'ok' : 'degraded',
      mongo: mongoUp ? 'up' : 'down',
      wxToken: info ? 'mounted' : 'missing',
      wxTokenAgeSeconds: info ? Math.floor((Date.now() - info.updateTime.getTime()) / 1000) : null,
      avatars: this.config.avatar.publicBaseUrl ? 'ok' : 'not_configured',
    };
  }

  private async pingMongo(): Promise<boolean> {
    const db = mpConnection(this.app).db;
    if (!db) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>(resolve => {
      timer = setTimeout(() => resolve(false), this.config.health.timeoutMs);
    });
    const ping = db.command({ ping: 1 }).then((reply: { ok?: number }) => reply.ok === 1, () => false);
    try {
      return await Promise.race([ ping, timeout ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
