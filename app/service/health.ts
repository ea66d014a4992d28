import { Service } from 'egg';
import { configuredApps } from '../lib/apps';
import { mpConnection } from '../lib/db';
import type { Saturation } from '../lib/http_server';
import type { StoredTokenState } from './wxminiprogram/auth';

/** One mini-program's WeChat state. */
export interface AppHealth {
  appid: string;
  name: string;
  wxToken: StoredTokenState['state'];
  wxTokenAgeSeconds: number | null;
  wxTokenLastFailure: StoredTokenState['failure'];
  wxSecret: 'ok' | 'rejected' | 'unknown';
}

const TOKEN_RANK: Record<StoredTokenState['state'], number> = { ok: 0, missing: 1, refresh_failing: 2 };
const SECRET_RANK: Record<AppHealth['wxSecret'], number> = { ok: 0, unknown: 1, rejected: 2 };

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
  /** Each configured app's token and secret; the fields above are the worst of them (the only app's, with one). */
  apps: AppHealth[];
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
    const apps: AppHealth[] = [];
    for (const { appid, name } of configuredApps(this.config.wxmp)) apps.push(await this.appHealth(appid, name, mongoUp));
    const worst = apps.reduce((a, b) => (TOKEN_RANK[b.wxToken] > TOKEN_RANK[a.wxToken] ? b : a));
    const wxSecret = apps.reduce((a, b) => (SECRET_RANK[b.wxSecret] > SECRET_RANK[a.wxSecret] ? b : a)).wxSecret;
    const load = this.app.saturation?.() ?? { inFlight: 0, bodyPending: 0, saturated: false };
    return {
      status: mongoUp && worst.wxToken === 'ok' && wxSecret !== 'rejected' && !load.saturated ? 'ok' : 'degraded',
      mongo: mongoUp ? 'up' : 'down',
      wxToken: worst.wxToken,
      wxTokenAgeSeconds: worst.wxTokenAgeSeconds,
      wxTokenLastFailure: worst.wxTokenLastFailure,
      wxSecret,
      apps,
      avatars: this.config.avatar.publicBaseUrl ? 'ok' : 'not_configured',
      load,
    };
  }

  private async appHealth(appid: string, name: string, mongoUp: boolean): Promise<AppHealth> {
    if (!mongoUp) return { appid, name, wxToken: 'missing', wxTokenAgeSeconds: null, wxTokenLastFailure: null, wxSecret: 'unknown' };
    const ctx = this.app.createAnonymousContext();
    ctx.wxAppid = appid;
    const token = await ctx.service.wxminiprogram.auth.storedState().catch(() => undefined);
    const wxSecret = await this.secretState(appid).catch(() => 'unknown' as const);
    return { appid, name, wxToken: token?.state ?? 'missing', wxTokenAgeSeconds: token?.ageSeconds ?? null, wxTokenLastFailure: token?.failure ?? null, wxSecret };
  }

  private async secretState(appid: string): Promise<AppHealth['wxSecret']> {
    const state = await this.ctx.models.WxSecretState.findById(appid).lean();
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
