import type { Readable } from 'node:stream';
import { Types } from 'mongoose';
import WxmpIndexService from './index';
import WXBizDataCrypt from '../../lib/WXBizDataCrypt';
import { isDuplicateKey, retryOnDuplicateKey } from '../../lib/db';
import { ApiError, BadRequestError, ConflictError, UnauthorizedError, WeChatError } from '../../lib/errors';
import type { ProfileBody } from '../../lib/openapi';
import type { IBasicUser, IBasicWxLink } from '../../model/basics/user/user';
import type { IAppLink, IMerchantRef, IUser, IWxUserInfo } from '../../model/account/user';
import type { SessionClaims } from '../account/jwt';
import { maskPhone } from '../account/audit';
import type { WeChatReply } from './client';

/** What jscode2session gives back. session_key never leaves this service. */
export interface WxSession {
  openId: string;
  session_key: string;
  unionid?: string;
}

/** The seed's `DATAS`: what the mini-program sends along with a wx.login code. */
export interface EncryptedInput {
  js_code: string;
  encryptedData?: string;
  iv?: string;
}

export interface BindPhoneInput {
  /** getPhoneNumber's `code` (base library ≥ 2.21.2): exchanged via getuserphonenumber. */
  code?: string;
  /** The seed's form: a fresh wx.login code plus getPhoneNumber's encryptedData/iv. */
  js_code?: string;
  encryptedData?: string;
  iv?: string;
}

/** `userInfo` in the login answer: the stored profile plus the seed's extra fields. */
export type LoginUserInfo = IWxUserInfo & { telphone: string | null; uid: string; _merchant: IMerchantRef | null };

/** `userInfo` in the info and refreshToken answers (the seed's `show`: the profile without `language`). */
export type ProfileUserInfo = Omit<IWxUserInfo, 'language'> & {
  uid: string;
  telphone: string | null;
  _merchant: IMerchantRef | null;
};

export interface SessionAnswer<U> {
  token: string;
  isWXAuth: boolean;
  userInfo: U;
  /** The mini-programs the user has logged in to (one person across apps: unionid). */
  apps: string[];
}

export interface ProfileAnswer {
  isWXAuth: boolean;
  userInfo: ProfileUserInfo;
  apps: string[];
}

interface Jscode2SessionReply extends WeChatReply {
  openid?: string;
  session_key?: string;
  unionid?: string;
}

interface PhoneNumberReply extends WeChatReply {
  phone_info?: { phoneNumber?: string; purePhoneNumber?: string; countryCode?: string };
}

/** What decrypted user data may carry (wx.getUserInfo / getUserProfile). */
interface DecryptedUserData extends IWxUserInfo {
  openId?: string;
  unionId?: string;
}

type LeanUser = Pick<IUser, '_id' | 'openId' | 'appid' | 'wxApps' | 'isWXAuth' | 'wxUserInfo' | 'telphone' | '_merchant' | 'unionid' | 'bannedAt'>;

const PROFILE_STRING_FIELDS = [ 'nickName', 'avatarUrl', 'city', 'province', 'country', 'language' ] as const;
const USER_FIELDS = 'openId appid wxApps unionid isWXAuth wxUserInfo telphone _merchant bannedAt';
const USER_PROJECTION = { openId: 1, appid: 1, wxApps: 1, unionid: 1, isWXAuth: 1, wxUserInfo: 1, telphone: 1, _merchant: 1, bannedAt: 1 } as const;
const PHONE = /^\+?[0-9]{3,20}$/;
/**
 * A letter, digit, symbol (emoji included) or punctuation mark: a nickname of spaces,
 * combining marks, joiners or U+2800 (a blank Braille cell) alone shows nothing.
 */
const VISIBLE = /(?!\u2800)[\p{L}\p{N}\p{S}\p{P}]/u;

/**
 * The data decrypted (so the session and ciphertext were fine) but lacks what this route
 * needs: logging in again cannot help, the client sent the wrong button's data.
 */
function dataIncomplete(field: string): BadRequestError {
  return new BadRequestError(`The decrypted data has no valid ${field}; send the data of the matching WeChat API`, 'DATA_INCOMPLETE');
}

/**
 * The user's apps and openids. A user of the one-app release has only `openId` (no `appid`,
 * no `wxApps`): that openid is theirs in the first app.
 */
export function appLinks(user: Pick<IUser, 'openId' | 'appid' | 'wxApps'>, firstAppid: string): IAppLink[] {
  const links = [ ...(user.wxApps ?? []) ];
  if (!links.some(l => l.openid === user.openId)) links.unshift({ appid: user.appid ?? firstAppid, openid: user.openId });
  return links;
}

export function userBanned(): ApiError {
  return new ApiError(403, 'USER_BANNED', 'This account is banned; contact support');
}

function userGone(): UnauthorizedError {
  return new UnauthorizedError('This user no longer exists; log in again', 'USER_NOT_FOUND');
}

/** Keeps only the profile fields, with the types they must have, bounded. */
function pickProfile(data: DecryptedUserData): IWxUserInfo {
  const profile: IWxUserInfo = {};
  for (const field of PROFILE_STRING_FIELDS) {
    const value = data[field];
    if (typeof value === 'string') profile[field] = value.slice(0, 512);
  }
  if (typeof data.gender === 'number' && Number.isInteger(data.gender)) profile.gender = data.gender;
  return profile;
}

/**
 * Mini-program users (the seed's weChatTemplateService): login with a wx.login code,
 * decrypt user data, bind a phone, read WeRun steps, issue session tokens.
 */
export default class WxmpUserService extends WxmpIndexService {
  private get userMODEL() {
    return this.ctx.models.Account.User;
  }

  private get BASICUSER() {
    return this.ctx.models.Basics.User.User;
  }

  private get tokenSERVICE() {
    return this.service.account.jwt;
  }

  /** Exchanges a wx.login code for the session. Never retried: a code may already be spent. */
  async getOpenID(js_code: string): Promise<WxSession> {
    const { appid, secret } = this.WXAuth;
    const reply = await this.service.wxminiprogram.client.request<Jscode2SessionReply>('/sns/jscode2session', {
      query: { appid, secret, js_code, grant_type: 'authorization_code' },
    });
    if (typeof reply.openid !== 'string' || !reply.openid || typeof reply.session_key !== 'string' || !reply.session_key) {
      throw new WeChatError('/sns/jscode2session', 'bad_response', -2, 'no openid or session_key in the answer');
    }
    return { openId: reply.openid, session_key: reply.session_key, unionid: typeof reply.unionid === 'string' ? reply.unionid : undefined };
  }

  private decrypt<T extends object>(session: WxSession, encryptedData: string, iv: string): T {
    const crypt = new WXBizDataCrypt(this.WXAuth.appid, session.session_key);
    const decoded = crypt.decryptData<T>(encryptedData, iv, { maxAgeSeconds: this.WXAuth.decryptMaxAgeSeconds });
    const openId = (decoded as { openId?: unknown }).openId;
    if (openId !== undefined && openId !== session.openId) {
      throw new BadRequestError('Encrypted data belongs to another user', 'OPENID_MISMATCH');
    }
    return decoded;
  }

  /**
   * Decrypts data sent with a fresh wx.login code (the seed's descDatas). When the caller is
   * logged in, the code must belong to that same user.
   */
  async descDatas<T extends object>(DATAS: EncryptedInput, expectedOpenId?: string): Promise<T> {
    const { js_code, encryptedData, iv } = DATAS;
    if (!encryptedData || !iv) throw new BadRequestError('encryptedData and iv are required');
    const session = await this.getOpenID(js_code);
    if (expectedOpenId !== undefined && session.openId !== expectedOpenId) {
      throw new BadRequestError('The wx.login code belongs to another user', 'OPENID_MISMATCH');
    }
    return this.decrypt<T>(session, encryptedData, iv);
  }

  /**
   * Login (POST /user/auth): upserts the user by openId; with encryptedData+iv also stores
   * the decrypted profile and marks the user authorised. Returns a session token.
   */
  async getUserInfo(DATAS: EncryptedInput): Promise<SessionAnswer<LoginUserInfo>> {
    // The app is the one the request named (ctx.wxAppid): its secret exchanges the code, so a
    // code of another app fails at WeChat (40029) rather than logging anyone in.
    const session = await this.getOpenID(DATAS.js_code);
    let profile: IWxUserInfo | undefined;
    let unionid = session.unionid;
    if (DATAS.encryptedData && DATAS.iv) {
      const data = this.decrypt<DecryptedUserData>(session, DATAS.encryptedData, DATAS.iv);
      profile = pickProfile(data);
      if (typeof data.unionId === 'string' && data.unionId) unionid = data.unionId;
    }
    const user = await this.upsertUser(session.openId, unionid, profile);
    if (user.bannedAt) {
      await this.service.account.audit.record('login_refused', { uid: user._id, code: 'USER_BANNED' });
      throw userBanned();
    }
    const userInfo: LoginUserInfo = {
      ...(user.wxUserInfo ?? {}),
      telphone: user.telphone ?? null,
      uid: user._id.toString(),
      _merchant: user._merchant ?? null,
    };
    const sid = await this.service.account.session.open(user._id, this.WXAuth.appid);
    await this.service.account.audit.record('login', { uid: user._id, detail: { sid, isWXAuth: user.isWXAuth } });
    return this.setToken({ ...this.claimsOf(user), sid }, { isWXAuth: user.isWXAuth, userInfo, apps: this.appsOf(user) });
  }

  /**
   * The user of `openId` in this request's app, created or found. One person is one user: a
   * login whose unionid is already a user's (from another app) adds this app's openid to that
   * user. Concurrent first logins race on the unique openId and unionid indexes: a loser
   * retries and finds the winner's user.
   */
  private async upsertUser(openId: string, unionid: string | undefined, profile: IWxUserInfo | undefined): Promise<LeanUser> {
    const link: IAppLink = { appid: this.WXAuth.appid, openid: openId };
    const $set: Partial<IUser> = {};
    if (profile) Object.assign($set, { isWXAuth: true, wxUserInfo: profile });
    const user = await retryOnDuplicateKey(async () => {
      // Known here: found by this app's openid (a one-app release's user by its openId).
      const known = await this.linkUser({ $or: [{ openId }, { 'wxApps.openid': openId }] }, link, $set, unionid);
      if (known) return known;
      // New to this app: the person's user when the unionid is known, else a new user.
      const update = { $set, $setOnInsert: { openId, appid: link.appid }, $addToSet: { wxApps: link } };
      return this.userMODEL.findOneAndUpdate(unionid ? { unionid } : { openId }, update, { upsert: true, new: true, projection: USER_FIELDS }).lean<LeanUser>();
    }, 5);
    if (!user) throw new Error('user upsert returned nothing');
    return user;
  }

  /**
   * Updates the user `filter` finds with this app's link, and the unionid when WeChat gave one
   * the user lacks. Should that unionid already be another user's (this user logged in
   * before the app joined the open platform), the two stay apart: merging users is for
   * support, never automatic.
   */
  private async linkUser(filter: object, link: IAppLink, $set: Partial<IUser>, unionid: string | undefined): Promise<LeanUser | null> {
    const options = { new: true, projection: USER_FIELDS };
    if (unionid) {
      try {
        return await this.userMODEL.findOneAndUpdate({ $and: [ filter, { $or: [{ unionid }, { unionid: { $exists: false } }] }] }, { $set: { ...$set, unionid }, $addToSet: { wxApps: link } }, options).lean<LeanUser>()
          ?? await this.userMODEL.findOneAndUpdate(filter, { $set, $addToSet: { wxApps: link } }, options).lean<LeanUser>();
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        this.ctx.logger.warn('[login] the unionid of openid %s in %s is another user\'s; the users stay apart', link.openid, link.appid);
      }
    }
    return this.userMODEL.findOneAndUpdate(filter, { $set, $addToSet: { wxApps: link } }, options).lean<LeanUser>();
  }

  /** The apps the user has logged in to. */
  private appsOf(user: LeanUser): string[] {
    return [ ...new Set(appLinks(user, this.config.wxmp.appid).map(l => l.appid)) ];
  }

  /** The user's openid in this request's app (content checks and decryption name the user by it). */
  private openidOf(user: LeanUser): string {
    const link = appLinks(user, this.config.wxmp.appid).find(l => l.appid === this.WXAuth.appid);
    if (!link) throw new UnauthorizedError('This user has not logged in to this mini-program; log in again');
    return link.openid;
  }

  /**
   * The seed's createBasicUser: the platform user keyed by phone, given this app's WeChat link
   * of the user as a whole (`wx_apps.<appid>`), and the seed's one-link fields the same link.
   * Fields a user does not have are removed, never left from someone else.
   */
  async createBasicUser(link: { openId: string; wxUserInfo?: IWxUserInfo; unionid?: string }, phone: string): Promise<void> {
    const wxLink: IBasicWxLink = { openId: link.openId };
    if (link.unionid) wxLink.unionid = link.unionid;
    if (link.wxUserInfo) wxLink.UserInfo = link.wxUserInfo;
    const $set: Partial<IBasicUser> & Record<string, unknown> = { phone, wx_openId: link.openId, [`wx_apps.${this.WXAuth.appid}`]: wxLink };
    const $unset: Partial<Record<keyof IBasicUser, 1>> = {};
    if (link.wxUserInfo) $set.wx_UserInfo = link.wxUserInfo;
    else $unset.wx_UserInfo = 1;
    if (link.unionid) $set.wx_unionid = link.unionid;
    else $unset.wx_unionid = 1;
    const update = Object.keys($unset).length ? { $set, $unset } : { $set };
    await retryOnDuplicateKey(() => this.BASICUSER.updateOne({ phone }, update, { upsert: true }));
  }

  /** Removes the user's WeChat links (every app's) from the platform user of `phone` (the number stays theirs). */
  async releaseBasicUser(user: Pick<IUser, 'openId' | 'appid' | 'wxApps'>, phone: string): Promise<void> {
    const links = appLinks(user, this.config.wxmp.appid);
    await this.BASICUSER.updateOne({ phone, wx_openId: { $in: links.map(l => l.openid) } }, { $unset: { wx_openId: 1, wx_UserInfo: 1, wx_unionid: 1 } });
    for (const { appid, openid } of links) {
      await this.BASICUSER.updateOne({ phone, [`wx_apps.${appid}.openId`]: openid }, { $unset: { [`wx_apps.${appid}`]: 1 } });
    }
  }

  /** The user behind a verified token; 401 when the token names no (or no longer any) user. */
  async requireUser(uid: string, allow: { banned?: boolean } = {}): Promise<LeanUser> {
    if (!Types.ObjectId.isValid(uid)) throw new UnauthorizedError('Invalid token; log in again');
    // Hot path (every authenticated request): a driver-level read with a projection, skipping
    // Mongoose's query casting and document machinery.
    const user = await this.userMODEL.collection.findOne<LeanUser>({ _id: new Types.ObjectId(uid) }, { projection: USER_PROJECTION });
    if (!user) throw userGone();
    if (user.bannedAt && !allow.banned) throw userBanned();
    return { ...user, isWXAuth: user.isWXAuth === true };
  }

  /**
   * Binds a phone number (either form) to the user and gives the platform user of that number
   * this user's WeChat link. A number held by another user is a 409 that changes nothing (the
   * unique index decides races); the number this user held before is released.
   */
  async bindPhone(DATAS: BindPhoneInput, _id: string): Promise<{ phone: string }> {
    const user = await this.requireUser(_id);
    const phone = DATAS.code ? await this.phoneFromCode(DATAS.code) : await this.phoneFromEncrypted(DATAS, this.openidOf(user));
    let before: LeanUser | null;
    try {
      before = await this.userMODEL.findOneAndUpdate({ _id: user._id }, { $set: { telphone: phone } }, { new: false, projection: USER_FIELDS }).lean<LeanUser>();
    } catch (err) {
      if (isDuplicateKey(err)) throw new ConflictError('This phone number is bound to another account', 'PHONE_TAKEN');
      throw err;
    }
    if (!before) throw userGone();
    const audit = this.service.account.audit;
    if (before.telphone && before.telphone !== phone) {
      await this.releaseBasicUser(before, before.telphone);
      await audit.record('phone_released', { uid: before._id, detail: { phone: maskPhone(before.telphone) } });
    }
    await this.createBasicUser({ openId: this.openidOf(before), wxUserInfo: before.wxUserInfo, unionid: before.unionid }, phone);
    await audit.record('phone_bound', { uid: before._id, detail: { phone: maskPhone(phone) } });
    return { phone };
  }

  private async phoneFromCode(code: string): Promise<string> {
    const { client, auth } = this.service.wxminiprogram;
    const reply = await auth.withAccessToken(access_token => client.request<PhoneNumberReply>('/wxa/business/getuserphonenumber', {
      method: 'POST', query: { access_token }, body: { code },
    }));
    const phone = reply.phone_info?.phoneNumber;
    if (typeof phone !== 'string' || !PHONE.test(phone)) {
      throw new WeChatError('/wxa/business/getuserphonenumber', 'bad_response', -2, 'no phone number in the answer');
    }
    return phone;
  }

  private async phoneFromEncrypted(DATAS: BindPhoneInput, openId: string): Promise<string> {
    if (!DATAS.js_code) throw new BadRequestError('Send either code, or jscode with encryptedData and iv');
    const data = await this.descDatas<{ phoneNumber?: unknown }>({ js_code: DATAS.js_code, encryptedData: DATAS.encryptedData, iv: DATAS.iv }, openId);
    if (typeof data.phoneNumber !== 'string' || !PHONE.test(data.phoneNumber)) throw dataIncomplete('phoneNumber');
    return data.phoneNumber;
  }

  /** WeRun steps (the seed's getRun, which had no route). */
  async getRun(DATAS: EncryptedInput, uid: string): Promise<{ stepInfoList: unknown[] }> {
    const user = await this.requireUser(uid);
    const data = await this.descDatas<{ stepInfoList?: unknown }>(DATAS, this.openidOf(user));
    if (!Array.isArray(data.stepInfoList)) throw dataIncomplete('stepInfoList');
    return { stepInfoList: data.stepInfoList };
  }

  /** The seed's `show`: the token's own user, in the seed's shape. */
  async profile(uid: string): Promise<ProfileAnswer & { claims: SessionClaims }> {
    return this.profileOf(await this.requireUser(uid));
  }

  private profileOf(user: LeanUser): ProfileAnswer & { claims: SessionClaims } {
    const info = user.wxUserInfo ?? {};
    return {
      claims: this.claimsOf(user),
      apps: this.appsOf(user),
      isWXAuth: user.isWXAuth,
      userInfo: {
        uid: user._id.toString(),
        telphone: user.telphone ?? null,
        _merchant: user._merchant ?? null,
        nickName: info.nickName,
        avatarUrl: info.avatarUrl,
        gender: info.gender,
        city: info.city,
        province: info.province,
        country: info.country,
      },
    };
  }

  /**
   * Today's profile flow (`<input type="nickname">` + the other fields): the nickname is
   * checked with WeChat's msg_sec_check; `risky` is a 422 and nothing is stored, `review` is
   * stored and logged. The user becomes isWXAuth. Answers like `profile`.
   */
  async updateProfile(uid: string, input: ProfileBody): Promise<ProfileAnswer> {
    const user = await this.requireUser(uid);
    const $set: Record<string, unknown> = { isWXAuth: true };
    let checked: string | undefined;
    if (input.nickName !== undefined) {
      // NFKC first: full-width letters, ligatures and compatibility forms read as their plain
      // letters, so the content check sees the word a reader sees.
      const nickName = input.nickName.normalize('NFKC').trim();
      if (!VISIBLE.test(nickName)) throw new BadRequestError('nickName must not be blank');
      const verdict = await this.service.wxminiprogram.security.msgSecCheck({ openid: this.openidOf(user), scene: 1, content: nickName, nickname: nickName });
      checked = verdict.suggest;
      if (verdict.suggest === 'risky') {
        await this.service.account.audit.record('profile_updated', { uid: user._id, code: 'CONTENT_RISKY', detail: { fields: [ 'nickName' ], nickNameCheck: 'risky', label: verdict.label } });
        throw new ApiError(422, 'CONTENT_RISKY', `WeChat's content check refused this nickname (label ${verdict.label}); choose another`);
      }
      if (verdict.suggest === 'review') this.ctx.logger.warn('[profile] nickname of %s needs review (label %d, trace_id %s)', uid, verdict.label, verdict.trace_id);
      $set['wxUserInfo.nickName'] = nickName;
    }
    for (const field of [ 'city', 'province', 'country' ] as const) {
      const value = input[field];
      if (value !== undefined) $set[`wxUserInfo.${field}`] = value.normalize('NFKC');
    }
    for (const field of [ 'gender', 'language' ] as const) {
      if (input[field] !== undefined) $set[`wxUserInfo.${field}`] = input[field];
    }
    const updated = await this.userMODEL.findOneAndUpdate({ _id: user._id }, { $set }, { new: true, projection: USER_FIELDS }).lean<LeanUser>();
    if (!updated) throw userGone();
    await this.service.account.audit.record('profile_updated', { uid: user._id, detail: { fields: Object.keys(input), ...(checked ? { nickNameCheck: checked } : {}) } });
    const { isWXAuth, userInfo, apps } = this.profileOf(updated);
    return { isWXAuth, userInfo, apps };
  }

  /**
   * Stores an uploaded avatar, starts WeChat's media check on its public URL and makes it the
   * user's avatarUrl. The previous approved avatar is kept until the new one passes (and comes
   * back if it is rejected: rejectAvatar). One upload per user at a time, across workers and
   * hosts (409 UPLOAD_IN_PROGRESS). If the check cannot be started, or the user is deleted
   * meanwhile, the new image and its check are deleted again and nothing changes.
   */
  async setAvatar(uid: string, upload: Readable): Promise<{ avatarUrl: string }> {
    if (!this.config.avatar.publicBaseUrl) {
      throw new ApiError(503, 'NOT_CONFIGURED', 'Avatar uploads need PUBLIC_BASE_URL (WeChat must be able to fetch the image)');
    }
    const user = await this.requireUser(uid);
    await this.lockAvatarUpload(user._id);
    try {
      const avatars = this.service.account.avatar;
      const stored = await avatars.store(uid, upload);
      const { security } = this.service.wxminiprogram;
      let traceId: string | undefined;
      try {
        traceId = await security.mediaCheckAsync({
          openid: this.openidOf(user), scene: 1, mediaUrl: stored.url, mediaType: 2, subject: { kind: 'avatar', uid, fileId: stored.id },
        });
        const updated = await this.userMODEL.updateOne({ _id: user._id }, { $set: { 'wxUserInfo.avatarUrl': stored.url, isWXAuth: true } });
        if (!updated.matchedCount) throw userGone();
      } catch (err) {
        await avatars.remove(stored.id);
        if (traceId) await this.ctx.models.MediaCheck.deleteOne({ _id: traceId });
        throw err;
      }
      // The verdict may have been pushed while this ran: before the check's subject was
      // recorded (the push handler then had nothing to act on) or before the profile showed
      // this image (a rejection then had no URL to clear). Acting once more covers both.
      const check = await this.ctx.models.MediaCheck.findById(traceId, { subject: 1, status: 1 }).lean();
      if (check) await security.actOnVerdict(check);
      await this.pruneAvatars(uid);
      await this.service.account.audit.record('avatar_uploaded', { uid, detail: { avatarUrl: stored.url, traceId } });
      return { avatarUrl: stored.url };
    } finally {
      await this.userMODEL.updateOne({ _id: user._id }, { $unset: { avatarUploadUntil: 1 } });
    }
  }

  /** Takes the user's upload lock (a date on the user: atomic across hosts, lapses on its own if a worker dies). */
  private async lockAvatarUpload(_id: Types.ObjectId): Promise<void> {
    const now = new Date();
    const locked = await this.userMODEL.updateOne(
      { _id, $or: [{ avatarUploadUntil: { $exists: false } }, { avatarUploadUntil: { $lte: now } }] },
      { $set: { avatarUploadUntil: new Date(now.getTime() + this.config.avatar.uploadLockMs) } },
    );
    if (!locked.matchedCount) {
      if (!await this.userMODEL.exists({ _id })) throw userGone();
      throw new ConflictError('Another avatar upload of yours is being processed; retry once it is done', 'UPLOAD_IN_PROGRESS');
    }
  }

  /** Deletes the avatars `uid` no longer needs (never the one their profile shows). */
  async pruneAvatars(uid: string): Promise<void> {
    if (!Types.ObjectId.isValid(uid)) return;
    const avatars = this.service.account.avatar;
    const user = await this.userMODEL.findById(uid, { 'wxUserInfo.avatarUrl': 1 }).lean();
    if (!user) return;
    await avatars.prune(uid, avatars.idOf(user.wxUserInfo?.avatarUrl));
  }

  /**
   * The media check found the avatar risky: it is deleted and leaves the user's profile, which
   * shows their previous approved avatar again, if they had one.
   */
  async rejectAvatar(uid: string, fileId: string): Promise<void> {
    const avatars = this.service.account.avatar;
    await avatars.remove(fileId);
    if (!Types.ObjectId.isValid(uid)) return;
    const fallback = await avatars.fallbackFor(uid, fileId);
    await this.userMODEL.updateOne(
      { _id: new Types.ObjectId(uid), 'wxUserInfo.avatarUrl': avatars.urlOf(fileId) },
      fallback ? { $set: { 'wxUserInfo.avatarUrl': avatars.urlOf(fallback) } } : { $unset: { 'wxUserInfo.avatarUrl': 1 } },
    );
  }

  /**
   * Deletes the account: the user (which frees the phone number), their avatars, media
   * checks, pushed events and rate-limit counters, and their WeChat link on the platform user
   * of their phone (which other apps may still use). Their tokens then get USER_NOT_FOUND.
   */
  async deleteAccount(uid: string, audit: { reason?: string; actor?: string } = {}): Promise<void> {
    const { reason, actor } = audit;
    const user = await this.requireUser(uid, { banned: true });
    const { models } = this.ctx;
    // Their sessions end at once (their tokens then get USER_NOT_FOUND, as before sessions).
    await this.service.account.session.endAll(user._id, 'deleted');
    await this.service.account.audit.record('account_deleted', { uid: user._id, ...(reason ? { reason } : {}), ...(actor ? { actor } : {}) });
    // The user first: an upload in flight then fails its own profile update and removes what
    // it stored; whatever it stored before this line is removed below.
    await this.userMODEL.deleteOne({ _id: user._id });
    if (user.telphone) await this.releaseBasicUser(user, user.telphone);
    await this.service.account.avatar.removeFor(uid);
    const openids = appLinks(user, this.config.wxmp.appid).map(l => l.openid);
    await models.MediaCheck.deleteMany({ $or: [{ openid: { $in: openids } }, { 'subject.uid': uid }] });
    await models.PushEvent.deleteMany({ $or: [{ fromUser: { $in: openids } }, { openid: { $in: openids } }] });
    await models.RateLimit.deleteMany({ key: `user:${uid}` });
  }

  /** The user of `openid` in any app (WeChat's account events name the user by it), or null. */
  async userByOpenid(openid: string): Promise<LeanUser | null> {
    return this.userMODEL.findOne({ $or: [{ openId: openid }, { 'wxApps.openid': openid }] }, USER_PROJECTION).lean<LeanUser>();
  }

  /** Unbinds the user's phone number (WeChat: the user withdrew it) and releases its platform links. */
  async unbindPhone(user: LeanUser): Promise<boolean> {
    const before = await this.userMODEL.findOneAndUpdate({ _id: user._id, telphone: { $type: 'string' } }, { $unset: { telphone: 1 } }, { new: false, projection: USER_FIELDS }).lean<LeanUser>();
    if (!before?.telphone) return false;
    await this.releaseBasicUser(before, before.telphone);
    await this.service.account.audit.record('phone_released', { uid: before._id, actor: 'wechat', detail: { phone: maskPhone(before.telphone), why: 'the user withdrew it in WeChat' } });
    return true;
  }

  /** Clears the nickname and/or the avatar (deleting the stored avatar files), so the app asks again. */
  async clearProfile(user: LeanUser, what: { nickName?: boolean; avatar?: boolean }): Promise<void> {
    const $unset: Record<string, 1> = {};
    if (what.nickName) $unset['wxUserInfo.nickName'] = 1;
    if (what.avatar) $unset['wxUserInfo.avatarUrl'] = 1;
    if (!Object.keys($unset).length) return;
    await this.userMODEL.updateOne({ _id: user._id }, { $unset });
    if (what.avatar) await this.service.account.avatar.removeFor(user._id.toString());
  }

  /**
   * Everything stored about the user (GET /user/export, PIPL art. 45): the account and its
   * apps and openids, phone, unionid, profile, sessions, avatars, content-check outcomes, the
   * pushed events about them, and their links on the platform user of their number. Nothing of
   * another user, no secret (no session_key is ever stored).
   */
  async exportData(uid: string): Promise<Record<string, unknown>> {
    const user = await this.requireUser(uid);
    const { models } = this.ctx;
    const dates = await this.userMODEL.findById(user._id, { createdAt: 1, updatedAt: 1 }).lean();
    const links = appLinks(user, this.config.wxmp.appid);
    const openids = links.map(l => l.openid);
    const [ sessions, avatars, checks, events, basic ] = await Promise.all([
      models.Session.find({ uid: user._id }, { purgeAt: 0 }).sort({ createdAt: -1 }).lean(),
      this.service.account.avatar.urlsFor(uid),
      models.MediaCheck.find({ $or: [{ openid: { $in: openids } }, { 'subject.uid': uid }] }).sort({ createdAt: -1 }).lean(),
      models.PushEvent.find({ $or: [{ fromUser: { $in: openids } }, { openid: { $in: openids } }] }).sort({ receivedAt: -1 }).lean(),
      user.telphone ? this.BASICUSER.findOne({ phone: user.telphone }).lean() : null,
    ]);
    const mine = Object.entries(basic?.wx_apps ?? {}).filter(([ , link ]) => openids.includes(link.openId));
    return {
      exportedAt: new Date().toISOString(),
      user: {
        uid, openId: user.openId, appid: user.appid ?? this.config.wxmp.appid, apps: links, unionid: user.unionid ?? null,
        isWXAuth: user.isWXAuth, profile: user.wxUserInfo ?? {}, telphone: user.telphone ?? null, _merchant: user._merchant ?? null,
        createdAt: dates?.createdAt ?? null, updatedAt: dates?.updatedAt ?? null,
      },
      sessions: sessions.map(s => ({ sid: s._id, appid: s.appid, createdAt: s.createdAt, refreshedAt: s.refreshedAt, expiresAt: s.expiresAt, endedAt: s.endedAt ?? null, endReason: s.endReason ?? null, ip: s.ip, userAgent: s.userAgent })),
      avatars,
      contentChecks: checks.map(c => ({ traceId: c._id, mediaUrl: c.mediaUrl, status: c.status, label: c.label ?? null, createdAt: c.createdAt, checkedAt: c.checkedAt ?? null })),
      pushEvents: events.map(e => ({ appid: e.appid, msgType: e.msgType, event: e.event ?? null, receivedAt: e.receivedAt, message: e.message })),
      platformUser: basic ? { phone: basic.phone, links: Object.fromEntries(mine) } : null,
    };
  }

  /**
   * Re-reads the user and signs a fresh token of the same session (GET /refreshToken): the
   * session's maximum age still counts from its login. A token from before sessions existed
   * (no sid) gets a session from now.
   */
  async refreshToken(uid: string, sid: string | undefined): Promise<SessionAnswer<ProfileUserInfo>> {
    const user = await this.requireUser(uid);
    const { claims, isWXAuth, userInfo, apps } = this.profileOf(user);
    const sessions = this.service.account.session;
    if (sid) await sessions.touch(sid);
    return this.setToken({ ...claims, sid: sid ?? await sessions.open(user._id, this.WXAuth.appid) }, { isWXAuth, userInfo, apps });
  }

  /** The token of the user in this request's app: its openid there, and the app. */
  private claimsOf(user: LeanUser): SessionClaims {
    return {
      uid: user._id.toString(),
      isWXAuth: user.isWXAuth,
      openId: this.openidOf(user),
      appid: this.WXAuth.appid,
      mid: user._merchant?._id ? user._merchant._id.toString() : null,
      role: user._merchant?.role ?? null,
    };
  }

  setToken<T extends object>(params: SessionClaims, other: T): { token: string } & T {
    return { token: this.tokenSERVICE.create(params), ...other };
  }
}
