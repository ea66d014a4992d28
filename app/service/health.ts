import { Service } from 'egg';
import { mpConnection } from '../lib/db';
import { TOKEN_TYPE_MINIPROGRAM } from '../model/auth';

/** What the access_token looks like in the database, which every worker and host shares. */
export type TokenHealth = 'ok' | 'missing' | 'refresh_failing';

export interface HealthReport {
  /** `degraded` (still HTTP 200) when the token is missing or cannot be refreshed. */
  status: 'ok' | 'degraded';
  mongo: 'up' | 'down';
  wxToken: TokenHealth;
  /** Seconds since the stored token was fetched, or null. */
  wxTokenAgeSeconds: number | null;
  /** The last refresh failure while it lasts: WeChat's errcode (or -2: no usable answer) and when. */
  wxTokenLastFailure: { errcode: number; at: string } | null;
  /** Avatar uploads need PUBLIC_BASE_URL (WeChat fetches the image to check it). */
  avatars: 'ok' | 'not_configured';
}

/** A token is "ok" only with more than this left. */
const MIN_REMAINING_MS = 60_000;

export default class HealthService extends Service {
  /** Pings MongoDB (never longer than config.health.timeoutMs), then reads the token's state from it. */
  async check(): Promise<HealthReport> {
    const mongoUp = await this.pingMongo();
    const token = mongoUp ? await this.tokenState().catch(() => undefined) : undefined;
    const wxToken = token?.state ?? 'missing';
    return {
      status: mongoUp && wxToken === 'ok' ? 'ok' : 'degraded',
      mongo: mongoUp ? 'up' : 'down',
      wxToken,
      wxTokenAgeSeconds: token?.ageSeconds ?? null,
      wxTokenLastFailure: token?.failure ?? null,
      avatars: this.config.avatar.publicBaseUrl ? 'ok' : 'not_configured',
    };
  }

  private async tokenState(): Promise<{ state: TokenHealth; ageSeconds: number | null; failure: HealthReport['wxTokenLastFailure'] }> {
    const { appid } = this.config.wxmp;
    const [ record, lease ] = await Promise.all([
      this.ctx.models.Auth.findOne({ type: TOKEN_TYPE_MINIPROGRAM, appid }, 'expires_in updateTime').lean<{ expires_in: number; updateTime: Date }>(),
      this.ctx.models.TokenLease.findById(`${TOKEN_TYPE_MINIPROGRAM}:${appid}`, 'failedAt errcode').lean(),
    ]);
    const now = Date.now();
    const usable = !!record && now < record.updateTime.getTime() + record.expires_in * 1000 - MIN_REMAINING_MS;
    const failing = !!lease?.failedAt && (!record || lease.failedAt > record.updateTime);
    return {
      state: failing ? 'refresh_failing' : usable ? 'ok' : 'missing',
      ageSeconds: record ? Math.floor((now - record.updateTime.getTime()) / 1000) : null,
      failure: failing && lease?.failedAt ? { errcode: lease.errcode ?? -2, at: lease.failedAt.toISOString() } : null,
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
