import crypto from 'node:crypto';
import WxmpIndexService from './index';
import { isDuplicateKey } from '../../lib/db';
import { ApiError, WeChatError, type WeChatFailure } from '../../lib/errors';
import { forcedRefreshes, tokenRefreshes } from '../../lib/metrics';
import { TOKEN_TYPE_MINIPROGRAM } from '../../model/auth';
import type { WeChatReply } from './client';

/** What a fresh token fetch gives back. */
export interface FetchedToken {
  access_token: string;
  expires_in: number;
}

/** The stored token as the service reads it. */
export interface TokenRecord extends FetchedToken {
  updateTime: Date;
}

/** The stored token's state (GET /health). */
export interface StoredTokenState {
  state: 'ok' | 'missing' | 'refresh_failing';
  /** Seconds since the stored token was fetched, or null. */
  ageSeconds: number | null;
  /** The last refresh failure while it lasts: WeChat's errcode (or -2: no usable answer) and when. */
  failure: { errcode: number; at: string } | null;
}

/** What is mounted on the Application next to `app.wxToken`. */
export interface MountedToken {
  updateTime: Date;
  /** Epoch ms after which WeChat no longer accepts it. */
  expiresAt: number;
}

/** Never hand out a token with less than this left: a call could outlive it. */
const MIN_REMAINING_MS = 60_000;
const POLL_MS = 100;

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

function expiresAt(record: TokenRecord): number {
  return record.updateTime.getTime() + record.expires_in * 1000;
}

/** Whether a token expiring at `expiresAtMs` still has more than MIN_REMAINING_MS left. */
function usableUntil(expiresAtMs: number): boolean {
  return Date.now() < expiresAtMs - MIN_REMAINING_MS;
}

/**
 * The mini-program access_token lifecycle (the seed's wxmpAuth service): fetch it from
 * WeChat, store it in `third_token`, keep it mounted on `app.wxToken`. Only the holder of
 * the cross-process lease calls WeChat; everyone else waits for the record it writes.
 */
export default class WxmpAuthService extends WxmpIndexService {
  private get MODEL() {
    return this.ctx.models.Auth;
  }

  private leaseKey(type: number): string {
    return `${type}:${this.WXAuth.appid}`;
  }

  private isFresh(record: TokenRecord): boolean {
    return Date.now() < expiresAt(record) - this.WXAuth.tokenRefreshMarginSeconds * 1000;
  }

  private isUsable(record: TokenRecord): boolean {
    return usableUntil(expiresAt(record));
  }

  private async findRecord(type: number): Promise<TokenRecord | null> {
    return this.MODEL.findOne({ type, appid: this.WXAuth.appid }, 'access_token expires_in updateTime').lean<TokenRecord>();
  }

  /** The first app's token is the seed's `app.wxToken`; the others' are in `app.wxTokens`. */
  private get isFirstApp(): boolean {
    return this.WXAuth.appid === this.config.wxmp.appid;
  }

  private mounted(): { token?: string; info?: MountedToken } {
    if (this.isFirstApp) return { token: this.app.wxToken, info: this.app.wxTokenInfo };
    return this.app.wxTokens.get(this.WXAuth.appid) ?? {};
  }

  private mount(record: TokenRecord): void {
    const info = { updateTime: record.updateTime, expiresAt: expiresAt(record) };
    if (this.isFirstApp) {
      this.app.wxToken = record.access_token;
      this.app.wxTokenInfo = info;
    } else {
      this.app.wxTokens.set(this.WXAuth.appid, { token: record.access_token, info });
    }
  }

  private unmount(): void {
    if (this.isFirstApp) {
      this.app.wxToken = undefined;
      this.app.wxTokenInfo = undefined;
    } else {
      this.app.wxTokens.delete(this.WXAuth.appid);
    }
  }

  private unmountIfExpired(): void {
    const { info } = this.mounted();
    if (info && !usableUntil(info.expiresAt)) this.unmount();
  }

  /**
   * The schedule's entry (every worker, every interval): mount the stored token, refreshing
   * it first when it is missing or inside the refresh margin. A failed refresh keeps the old
   * token mounted while it is still usable and never mounts an error.
   */
  async checkToken(type = TOKEN_TYPE_MINIPROGRAM): Promise<void> {
    const record = await this.findRecord(type);
    if (record && this.isFresh(record)) {
      this.mount(record);
      return;
    }
    try {
      this.mount(await this.MPAuth(type));
      if (this.app.tokenRefreshFailing.delete(this.WXAuth.appid)) {
        this.ctx.logger.info('[token_refresh] recovered: refreshes for appid %s succeed again', this.WXAuth.appid);
      }
    } catch (err) {
      // Logged when refreshes start failing, not on every 10-second check while they do.
      if (!this.app.tokenRefreshFailing.has(this.WXAuth.appid)) this.reportFailure(err);
      this.app.tokenRefreshFailing.add(this.WXAuth.appid);
      if (record && this.isUsable(record)) this.mount(record);
      else this.unmountIfExpired();
    }
  }

  /** A usable token: the mounted one when it has time left, else the stored one, else a fresh one. */
  async getToken(type = TOKEN_TYPE_MINIPROGRAM): Promise<string> {
    const { token: mounted, info } = this.mounted();
    if (mounted && info && usableUntil(info.expiresAt)) return mounted;
    const record = await this.findRecord(type);
    if (record && this.isUsable(record)) {
      this.mount(record);
      return record.access_token;
    }
    const fresh = await this.MPAuth(type);
    this.mount(fresh);
    return fresh.access_token;
  }

  /**
   * The token's state as stored (what every worker and host shares), for /health: `ok` while
   * the stored token is usable, `refresh_failing` while the lease records a failure newer
   * than it (with WeChat's errcode), else `missing`.
   */
  async storedState(type = TOKEN_TYPE_MINIPROGRAM): Promise<StoredTokenState> {
    const [ record, lease ] = await Promise.all([
      this.findRecord(type),
      this.ctx.models.TokenLease.findById(this.leaseKey(type), 'failedAt errcode').lean(),
    ]);
    const failing = !!lease?.failedAt && (!record || lease.failedAt > record.updateTime);
    return {
      state: failing ? 'refresh_failing' : record && this.isUsable(record) ? 'ok' : 'missing',
      ageSeconds: record ? Math.floor((Date.now() - record.updateTime.getTime()) / 1000) : null,
      failure: failing && lease?.failedAt ? { errcode: lease.errcode ?? -2, at: lease.failedAt.toISOString() } : null,
    };
  }

  /**
   * The central token service's answer: a usable token (never one inside its last minute)
   * and when it expires.
   */
  async current(type = TOKEN_TYPE_MINIPROGRAM): Promise<{ access_token: string; expiresAt: number }> {
    const access_token = await this.getToken(type);
    const { info } = this.mounted();
    return { access_token, expiresAt: info?.expiresAt ?? Date.now() };
  }

  /**
   * Another backend reports that WeChat rejected `token` (40001/42001). Compare-and-set: if
   * it is still the stored token it is invalidated and refreshed through the single flight
   * and lease (concurrent reports of it cost one upstream call); if it is already stale, the
   * current token is answered without calling WeChat. A forced refresh is also limited across
   * workers and hosts: a token younger than `forcedRefreshMinAgeSeconds`, or a report within
   * `forcedRefreshIntervalSeconds` of the last forced refresh, is answered as it is (each
   * refresh costs WeChat's daily quota of 2,000, and in classic mode voids the token everyone
   * else holds, so a reporting loop must not turn into a refreshing loop).
   */
  async refreshReported(token: string, type = TOKEN_TYPE_MINIPROGRAM): Promise<{ access_token: string; expiresAt: number }> {
    const stored = await this.findRecord(type);
    if (stored && stored.access_token === token && this.isUsable(stored)) {
      const ageMs = Date.now() - stored.updateTime.getTime();
      const allowed = ageMs >= this.WXAuth.forcedRefreshMinAgeSeconds * 1000 && await this.claimForcedRefresh(type, token);
      forcedRefreshes.inc({ appid: this.WXAuth.appid, outcome: allowed ? 'refreshed' : 'limited' });
      if (!allowed) {
        this.ctx.logger.warn('[token_refresh] a report of the current access_token (%ds old) was not acted on: forced refreshes are limited', Math.floor(ageMs / 1000));
        this.mount(stored);
        return { access_token: stored.access_token, expiresAt: expiresAt(stored) };
      }
    }
    await this.invalidateToken(token, type);
    const record = await this.findRecord(type);
    const fresh = record && record.access_token !== token && this.isUsable(record) ? record : await this.MPAuth(type);
    this.mount(fresh);
    return { access_token: fresh.access_token, expiresAt: expiresAt(fresh) };
  }

  /**
   * The right to force a refresh of `token`: the `forced:` lease, taken for
   * forcedRefreshIntervalSeconds and naming the token (a hash) it was taken for. Held for
   * that same token, another report joins the refresh under way rather than being refused.
   */
  private async claimForcedRefresh(type: number, token: string): Promise<boolean> {
    const key = `forced:${this.leaseKey(type)}`;
    const subject = crypto.createHash('sha256').update(token).digest('hex')
      .slice(0, 32);
    if (await this.acquireLease(key, this.WXAuth.forcedRefreshIntervalSeconds * 1000, subject)) return true;
    const lease = await this.ctx.models.TokenLease.findById(key, 'subject').lean();
    return lease?.subject === subject;
  }

  /**
   * Refreshes the token exactly once across workers and hosts: one in-flight refresh per
   * process, and across processes only the lease holder calls WeChat. Returns the new record.
   */
  async MPAuth(type = TOKEN_TYPE_MINIPROGRAM): Promise<TokenRecord> {
    return this.app.tokenFlights.run(this.leaseKey(type), () => this.refreshUnderLease(type));
  }

  private async refreshUnderLease(type: number): Promise<TokenRecord> {
    const key = this.leaseKey(type);
    const waitStart = new Date();
    const deadline = waitStart.getTime() + this.WXAuth.tokenWaitMs;
    for (;;) {
      const current = await this.findRecord(type);
      if (current && this.isFresh(current)) return current;
      if (await this.acquireLease(key, this.WXAuth.tokenLeaseMs)) {
        try {
          const again = await this.findRecord(type);
          if (again && this.isFresh(again)) {
            await this.releaseLease(key);
            return again;
          }
          let fetched: FetchedToken;
          try {
            fetched = await this.WXMPToken();
            tokenRefreshes.inc({ appid: this.WXAuth.appid, outcome: 'success' });
          } catch (err) {
            tokenRefreshes.inc({ appid: this.WXAuth.appid, outcome: 'failure' });
            throw err;
          }
          const stored = await this.store(type, fetched);
          await this.releaseLease(key);
          return stored;
        } catch (err) {
          await this.releaseLease(key, err);
          throw err;
        }
      }
      const lease = await this.ctx.models.TokenLease.findById(key).lean();
      if (lease?.failedAt && lease.failedAt >= waitStart) {
        throw new WeChatError(this.tokenPath(), (lease.failure ?? 'errcode') as WeChatFailure, lease.errcode ?? -1, lease.errmsg ?? 'refresh failed in another process');
      }
      if (Date.now() >= deadline) {
        throw new ApiError(503, 'WECHAT_TOKEN_UNAVAILABLE', 'access_token refresh is taking too long, retry shortly');
      }
      await sleep(POLL_MS);
    }
  }

  /** Takes the lease `key` for `ms` if nobody holds it (a MongoDB upsert: atomic across hosts). */
  private async acquireLease(key: string, ms: number, subject?: string): Promise<boolean> {
    const now = new Date();
    try {
      const lease = await this.ctx.models.TokenLease.findOneAndUpdate(
        { _id: key, expiresAt: { $lte: now } },
        {
          $set: { holder: this.app.tokenHolderId, expiresAt: new Date(now.getTime() + ms), ...(subject ? { subject } : {}) },
          $unset: { failedAt: 1, failure: 1, errcode: 1, errmsg: 1 },
        },
        { upsert: true, new: true },
      ).lean();
      return lease?.holder === this.app.tokenHolderId;
    } catch (err) {
      // The upsert collides with a live lease held by someone else.
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /**
   * Success frees the lease at once. A failure keeps it for a short cool-down and records
   * why, so the other processes stop waiting and nobody hammers a failing WeChat.
   */
  private async releaseLease(key: string, err?: unknown): Promise<void> {
    const holder = this.app.tokenHolderId;
    if (!err) {
      await this.ctx.models.TokenLease.deleteOne({ _id: key, holder });
      return;
    }
    const wx = err instanceof WeChatError ? err : undefined;
    await this.ctx.models.TokenLease.updateOne({ _id: key, holder }, {
      $set: {
        expiresAt: new Date(Date.now() + this.WXAuth.tokenFailureCooldownMs),
        failedAt: new Date(),
        failure: wx?.failure ?? 'network',
        errcode: wx?.errcode ?? -2,
        errmsg: wx?.errmsg ?? 'refresh failed',
      },
    }).catch(() => undefined);
  }

  private async store(type: number, fetched: FetchedToken): Promise<TokenRecord> {
    const now = new Date();
    const record = await this.MODEL.findOneAndUpdate(
      { type, appid: this.WXAuth.appid },
      { $set: { access_token: fetched.access_token, expires_in: fetched.expires_in, endTime: now, updateTime: now } },
      { upsert: true, new: true },
    ).lean<TokenRecord>();
    if (!record) throw new Error('token upsert returned nothing');
    this.ctx.logger.info('[token_refresh] stored a new access_token for appid %s (expires_in %ds)', this.WXAuth.appid, fetched.expires_in);
    return { access_token: record.access_token, expires_in: record.expires_in, updateTime: record.updateTime };
  }

  private tokenPath(): string {
    return this.WXAuth.tokenMode === 'stable' ? '/cgi-bin/stable_token' : '/cgi-bin/token';
  }

  /**
   * One token fetch from WeChat (the seed's WXMPToken), retried with backoff when WeChat is
   * busy (-1) or unreachable; refuses any answer that is not a real token.
   */
  async WXMPToken(): Promise<FetchedToken> {
    const { appid, secret, tokenMode, tokenFetchAttempts, tokenRetryBaseMs } = this.WXAuth;
    const client = this.service.wxminiprogram.client;
    for (let attempt = 1; ; attempt++) {
      try {
        const reply = tokenMode === 'stable'
          // Normal mode only: force_refresh is limited to 20 a day and never automatic.
          ? await client.request<WeChatReply & Partial<FetchedToken>>('/cgi-bin/stable_token', {
            method: 'POST', body: { grant_type: 'client_credential', appid, secret, force_refresh: false },
          })
          : await client.request<WeChatReply & Partial<FetchedToken>>('/cgi-bin/token', {
            query: { grant_type: 'client_credential', appid, secret },
          });
        if (typeof reply.access_token !== 'string' || !reply.access_token || typeof reply.expires_in !== 'number' || reply.expires_in <= 0) {
          throw new WeChatError(this.tokenPath(), 'bad_response', -2, 'no access_token in the answer');
        }
        return { access_token: reply.access_token, expires_in: reply.expires_in };
      } catch (err) {
        if (!(err instanceof WeChatError) || !err.retryable || attempt >= tokenFetchAttempts) throw err;
        await sleep(tokenRetryBaseMs * 2 ** (attempt - 1));
      }
    }
  }

  /**
   * WeChat rejected `token`: delete the stored record only if it still holds that same
   * token (compare-and-set), so a late report never discards a newer token.
   */
  async invalidateToken(token: string, type = TOKEN_TYPE_MINIPROGRAM): Promise<void> {
    await this.MODEL.deleteOne({ type, appid: this.WXAuth.appid, access_token: token });
    if (this.mounted().token === token) this.unmount();
  }

  /**
   * Runs a WeChat call that needs the access_token. When WeChat says the token is invalid
   * (40001/40014/42001), invalidates it, refreshes once through the single flight, and
   * retries once.
   */
  async withAccessToken<T>(call: (accessToken: string) => Promise<T>): Promise<T> {
    const token = await this.getToken();
    try {
      return await call(token);
    } catch (err) {
      if (!(err instanceof WeChatError) || !err.isTokenInvalid) throw err;
      await this.invalidateToken(token);
      return call(await this.getToken());
    }
  }

  private reportFailure(err: unknown): void {
    if (err instanceof WeChatError && err.isConfigError) {
      this.ctx.logger.error('[token_refresh] CONFIGURATION ERROR: WeChat refused appid %s with errcode %d (%s); check WXMP_APPID/WXMP_SECRET and the IP whitelist; not retried',
        this.WXAuth.appid, err.errcode, err.errmsg);
    } else if (err instanceof WeChatError) {
      this.ctx.logger.warn('[token_refresh] refresh for appid %s failed: %s errcode=%d (%s); keeping the current token while it is valid',
        this.WXAuth.appid, err.failure, err.errcode, err.errmsg);
    } else if (err instanceof ApiError) {
      this.ctx.logger.warn('[token_refresh] refresh failed: %s', err.message);
    } else {
      this.ctx.logger.error(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
