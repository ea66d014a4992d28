import { Service } from 'egg';
import { Types } from 'mongoose';
import { NotFoundError } from '../../lib/errors';
import type { IUser } from '../../model/account/user';
import { appLinks } from '../wxminiprogram/user';

/** A user as support sees them. */
export interface SupportUserView {
  uid: string;
  openId: string;
  appid: string;
  apps: { appid: string; openid: string }[];
  unionid: string | null;
  telphone: string | null;
  isWXAuth: boolean;
  profile: Record<string, unknown>;
  _merchant: { _id: string; role?: string } | null;
  status: 'active' | 'banned';
  banned: { at: string; reason: string | null; by: string | null } | null;
  createdAt: string | null;
  liveSessions: number;
}

/** What support may look a user up by (exactly one). */
export interface UserQuery {
  openid?: string;
  appid?: string;
  phone?: string;
  unionid?: string;
}

/**
 * The operator side of the accounts (the internal API's `users:*` scopes): look a user up, ban
 * and unban, end their sessions, delete them. Each action is recorded in the audit trail with
 * the internal key's name and the reason given.
 */
export default class SupportService extends Service {
  private get USERS() {
    return this.ctx.models.Account.User;
  }

  private async load(uid: string): Promise<IUser> {
    const user = Types.ObjectId.isValid(uid) ? await this.USERS.findById(uid).lean<IUser>() : null;
    if (!user) throw new NotFoundError('No such user');
    return user;
  }

  async view(uid: string): Promise<SupportUserView> {
    return this.viewOf(await this.load(uid));
  }

  /** The users matching one field: an openid (of `appid` when given), a phone or a unionid. */
  async find(query: UserQuery): Promise<SupportUserView[]> {
    let filter: Record<string, unknown>;
    if (query.openid) {
      filter = { $or: [{ openId: query.openid }, { 'wxApps.openid': query.openid }] };
    } else if (query.phone) {
      filter = { telphone: query.phone };
    } else {
      filter = { unionid: query.unionid };
    }
    const users = await this.USERS.find(filter).limit(10).lean<IUser[]>();
    const views = await Promise.all(users.map(u => this.viewOf(u)));
    // An openid is unique to its app: with `appid`, only the user whose openid is of that app.
    return query.openid && query.appid ? views.filter(v => v.apps.some(a => a.appid === query.appid && a.openid === query.openid)) : views;
  }

  private async viewOf(user: IUser): Promise<SupportUserView> {
    const first = this.config.wxmp.appid;
    const liveSessions = await this.ctx.models.Session.countDocuments({ uid: user._id, endedAt: { $exists: false }, expiresAt: { $gt: new Date() } });
    return {
      uid: String(user._id),
      openId: user.openId,
      appid: user.appid ?? first,
      apps: appLinks(user, first),
      unionid: user.unionid ?? null,
      telphone: user.telphone ?? null,
      isWXAuth: user.isWXAuth === true,
      profile: { ...(user.wxUserInfo ?? {}) },
      _merchant: user._merchant ? { _id: String(user._merchant._id), ...(user._merchant.role ? { role: user._merchant.role } : {}) } : null,
      status: user.bannedAt ? 'banned' : 'active',
      banned: user.bannedAt ? { at: user.bannedAt.toISOString(), reason: user.bannedReason ?? null, by: user.bannedBy ?? null } : null,
      createdAt: user.createdAt ? new Date(user.createdAt).toISOString() : null,
      liveSessions,
    };
  }

  /** Bans the user: 403 USER_BANNED at login and on every authenticated route; their sessions end. */
  async ban(uid: string, reason: string | undefined): Promise<SupportUserView> {
    const user = await this.load(uid);
    await this.USERS.updateOne({ _id: user._id }, { $set: { bannedAt: new Date(), bannedReason: reason ?? '', bannedBy: this.ctx.internalCaller ?? '' } });
    const ended = await this.service.account.session.endAll(user._id, 'banned');
    await this.service.account.audit.record('user_banned', { uid: user._id, reason, detail: { sessionsEnded: ended } });
    this.ctx.logger.info('[support] %s banned user %s (%d sessions ended)', this.ctx.internalCaller, uid, ended);
    return this.view(uid);
  }

  async unban(uid: string, reason: string | undefined): Promise<SupportUserView> {
    const user = await this.load(uid);
    await this.USERS.updateOne({ _id: user._id }, { $unset: { bannedAt: 1, bannedReason: 1, bannedBy: 1 } });
    await this.service.account.audit.record('user_unbanned', { uid: user._id, reason });
    this.ctx.logger.info('[support] %s unbanned user %s', this.ctx.internalCaller, uid);
    return this.view(uid);
  }

  /** Ends every session of the user (a stolen phone): their tokens get 401 SESSION_ENDED. */
  async endSessions(uid: string, reason: string | undefined): Promise<number> {
    const user = await this.load(uid);
    const ended = await this.service.account.session.endAll(user._id, 'support');
    await this.service.account.audit.record('sessions_ended_by_support', { uid: user._id, reason, detail: { sessionsEnded: ended } });
    return ended;
  }

  /** The same deletion as the user's own DELETE /user, asked for through support. */
  async delete(uid: string, reason: string | undefined): Promise<void> {
    await this.load(uid);
    await this.service.wxminiprogram.user.deleteAccount(uid, { reason, actor: `key:${this.ctx.internalCaller ?? ''}` });
  }
}
