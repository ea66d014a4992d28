import crypto from 'node:crypto';
import net from 'node:net';
import { Service } from 'egg';
import { Types } from 'mongoose';
import { ApiError, NotFoundError, UnauthorizedError } from '../../lib/errors';
import type { ISession, SessionEndReason } from '../../model/session';

/** A session as its owner sees it (GET /user/sessions). */
export interface SessionView {
  sid: string;
  appid: string;
  createdAt: string;
  refreshedAt: string;
  expiresAt: string;
  ip: string;
  userAgent: string;
  current: boolean;
}

type SessionState = Pick<ISession, 'uid' | 'expiresAt' | 'endedAt' | 'endReason'> | null;

/** What this process read of each session lately (at most config.session.cacheMs old). */
const cache = new Map<string, { state: SessionState; readAt: number }>();
const CACHE_MAX = 50_000;

/** The client address without its last bits: enough for a person to recognise, not to locate. */
export function maskAddress(ip: string): string {
  const plain = ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (net.isIPv4(plain)) return `${plain.split('.').slice(0, 3).join('.')}.0/24`;
  if (net.isIPv6(plain)) {
    // Expand `::` to read the first three groups.
    const [ head, tail = '' ] = plain.split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = plain.includes('::') ? [ ...left, ...Array(8 - left.length - right.length).fill('0'), ...right ] : left;
    return `${groups.slice(0, 3).map(g => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/48`;
  }
  return 'unknown';
}

/**
 * Sessions (one per login): opened at login, kept by refreshes up to SESSION_MAX_AGE, ended
 * by logout, by the user from another device, by account deletion, by WeChat (the user
 * deleted their WeChat account) or by support. Every authenticated request checks its token's
 * session; a worker trusts what it read for config.session.cacheMs, so an ended session is
 * refused on every worker and host within that.
 */
export default class SessionService extends Service {
  private get MODEL() {
    return this.ctx.models.Session;
  }

  /** Opens a session for a login of `uid` in `appid`; returns its sid. */
  async open(uid: Types.ObjectId, appid: string): Promise<string> {
    const now = new Date();
    const sid = crypto.randomBytes(16).toString('base64url');
    const { maxAgeSeconds, tokenTtlSeconds } = this.config.session;
    const expiresAt = new Date(now.getTime() + maxAgeSeconds * 1000);
    await this.MODEL.create({
      _id: sid, uid, appid, createdAt: now, refreshedAt: now, expiresAt,
      ip: maskAddress(this.ctx.ip), userAgent: this.userAgent(),
      purgeAt: new Date(expiresAt.getTime() + tokenTtlSeconds * 1000),
    });
    return sid;
  }

  /**
   * Refuses a token whose session is over: 401 SESSION_ENDED (USER_NOT_FOUND when the
   * account was deleted, as before sessions existed), SESSION_EXPIRED past SESSION_MAX_AGE.
   */
  async require(sid: string, uid: string): Promise<void> {
    const state = await this.read(sid);
    if (!state || String(state.uid) !== uid) throw new UnauthorizedError('This session has ended; log in again', 'SESSION_ENDED');
    if (state.endReason === 'deleted') throw new UnauthorizedError('This user no longer exists; log in again', 'USER_NOT_FOUND');
    // Ended by a ban: 403 while it lasts (an unban lets the user log in again, not revive these).
    if (state.endReason === 'banned' && await this.ctx.models.Account.User.exists({ _id: state.uid, bannedAt: { $exists: true } })) {
      throw new ApiError(403, 'USER_BANNED', 'This account is banned; contact support');
    }
    if (state.endedAt) throw new UnauthorizedError('This session has ended; log in again', 'SESSION_ENDED');
    if (state.expiresAt.getTime() <= Date.now()) throw new UnauthorizedError('This session is older than its maximum age; log in again', 'SESSION_EXPIRED');
  }

  private async read(sid: string): Promise<SessionState> {
    const hit = cache.get(sid);
    if (hit && Date.now() - hit.readAt < this.config.session.cacheMs) return hit.state;
    const state = await this.MODEL.findById(sid, { uid: 1, expiresAt: 1, endedAt: 1, endReason: 1 }).lean<SessionState>();
    // Entries are kept in the order they were read: drop the stale ones from the front, so the
    // cache holds only what was read in the last cacheMs (and never more than CACHE_MAX).
    const now = Date.now();
    for (const [ key, entry ] of cache) {
      if (cache.size < CACHE_MAX && now - entry.readAt < this.config.session.cacheMs) break;
      cache.delete(key);
    }
    cache.delete(sid);
    cache.set(sid, { state, readAt: now });
    return state;
  }

  /** A refresh keeps the session: notes when and from where. */
  async touch(sid: string): Promise<void> {
    await this.MODEL.updateOne({ _id: sid, endedAt: { $exists: false } }, { $set: { refreshedAt: new Date(), ip: maskAddress(this.ctx.ip), userAgent: this.userAgent() } });
  }

  /** Ends one session of `uid`; 404 when `uid` has no live session `sid`. */
  async end(uid: string, sid: string, reason: SessionEndReason): Promise<void> {
    const ended = await this.MODEL.updateOne(
      { _id: sid, uid: new Types.ObjectId(uid), endedAt: { $exists: false }, expiresAt: { $gt: new Date() } },
      { $set: { endedAt: new Date(), endReason: reason } },
    );
    cache.delete(sid);
    if (!ended.matchedCount) throw new NotFoundError('No such session');
    await this.service.account.audit.record('session_ended', { uid, reason, detail: { sid } });
  }

  /** Ends every live session of `uid`; returns how many. */
  async endAll(uid: Types.ObjectId, reason: SessionEndReason): Promise<number> {
    const live = await this.MODEL.find({ uid, endedAt: { $exists: false } }, { _id: 1 }).lean();
    const result = await this.MODEL.updateMany({ uid, endedAt: { $exists: false } }, { $set: { endedAt: new Date(), endReason: reason } });
    for (const { _id } of live) cache.delete(_id);
    return result.modifiedCount;
  }

  /** The live sessions of `uid`, newest first; `current` marks the caller's. */
  async list(uid: string, currentSid: string | undefined): Promise<SessionView[]> {
    const sessions = await this.MODEL.find({ uid: new Types.ObjectId(uid), endedAt: { $exists: false }, expiresAt: { $gt: new Date() } })
      .sort({ createdAt: -1 })
      .lean();
    return sessions.map(s => ({
      sid: s._id, appid: s.appid, createdAt: s.createdAt.toISOString(), refreshedAt: s.refreshedAt.toISOString(),
      expiresAt: s.expiresAt.toISOString(), ip: s.ip, userAgent: s.userAgent, current: s._id === currentSid,
    }));
  }

  private userAgent(): string {
    return (this.ctx.get('user-agent') || 'unknown').slice(0, 256);
  }
}
