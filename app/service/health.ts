import { Service } from 'egg';
import { mpConnection } from '../lib/db';
import type { Saturation } from '../lib/http_server';
import type { StoredTokenState } from './wxminiprogram/auth';

export interface HealthReport {
  /** `degraded` (still HTTP 200) when the token is missing or cannot be refreshed. */
  status: 'ok' | 'degraded';
  mongo: 'up' | 'down';
  wxToken: StoredTokenState['state'];
  /** Seconds since the stored token was fetched, or null. */
  wxTokenAgeSeconds: number | null;
  /** The last refresh failure while it lasts: WeChat's errcode (or -2: no usable answer) and when. */
  wxTokenLastFailure: StoredTokenState['failure'];
  /**
   * What WeChat last said of the AppSecret on any call carrying it (login included):
   * `rejected` (40125/40013) until a call succeeds again; `unknown` before any call.
   */
  wxSecret: 'ok' | 'rejected' | 'unknown';
  /** Avatar uploads need PUBLIC_BASE_URL (WeChat fetches the image to check it). */
  avatars: 'ok' | 'not_configured';
  /**
   * This worker's load: requests in flight, requests whose body is still arriving, and whether
   * a new request would be refused (then /health answers 503 too, so a balancer steers away).
   */
  load: Saturation;
}

export default class HealthService extends Service {
  /** Pings MongoDB (never longer than config.health.timeoutMs), then reads the token's state from it. */
  async check(): Promise<HealthReport> {
    const mongoUp = await this.pingMongo();
    const token = mongoUp ? await this.service.wxminiprogram.auth.storedState().catch(() => undefined) : undefined;
    const wxToken = token?.state ?? 'missing';
    const wxSecret = mongoUp ? await this.secretState().catch(() => 'unknown' as const) : 'unknown';
    const load = this.app.saturation?.() ?? { inFlight: 0, bodyPending: 0, saturated: false };
    return {
      status: mongoUp && wxToken === 'ok' && wxSecret !== 'rejected' && !load.saturated ? 'ok' : 'degraded',
      mongo: mongoUp ? 'up' : 'down',
      wxToken,
      wxTokenAgeSeconds: token?.ageSeconds ?? null,
      wxTokenLastFailure: token?.failure ?? null,
      wxSecret,
      avatars: this.config.avatar.publicBaseUrl ? 'ok' : 'not_configured',
      load,
    };
  }

  private async secretState(): Promise<HealthReport['wxSecret']> {
    const state = await this.ctx.models.WxSecretState.findById(this.config.wxmp.appid).lean();
    if (!state) return 'unknown';
    if (state.rejectedAt && (!state.acceptedAt || state.rejectedAt > state.acceptedAt)) return 'rejected';
    return 'ok';
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
