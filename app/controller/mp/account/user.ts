import BaseController from '../../../lib/base_controller';
import { requestedApp } from '../../../lib/apps';
import { ApiError } from '../../../lib/errors';
import type { BindPhoneBody, LoginBody, ProfileBody, RunBody, SubscriptionsBody } from '../../../lib/openapi';
import type { SubscribeAnswer } from '../../../service/wxminiprogram/gateway';
import type { SessionClaims } from '../../../service/account/jwt';

const notInAvatarField = () => new ApiError(400, 'INVALID_PARAM', 'The image must be sent in the field "avatar"');

/** The mini-program account API (the seed's UserController). */
export default class UserController extends BaseController {
  private get SERVICE() {
    return this.service.wxminiprogram.user;
  }

  // Bodies were checked against the operation's OpenAPI schema (validateBody) before these run.

  /** POST /api/v1/mp/account/user/auth: log in with `jscode`, optionally with encryptedData+iv. */
  async create(): Promise<void> {
    // Which mini-program: `appid` in the body, else WeChat's Referer, else the only one served.
    const { jscode, encryptedData, iv, appid } = this.ctx.request.body as LoginBody;
    this.ctx.wxAppid = requestedApp(this.config.wxmp, appid, this.ctx.get('referer') || undefined).appid;
    let answer;
    try {
      answer = await this.SERVICE.getUserInfo({ js_code: jscode, ...this.withoutEmpty({ encryptedData, iv }) });
    } catch (err) {
      // A refusal of no known user goes in the trail without one (a banned user's is recorded with theirs).
      const code = (err as ApiError).code;
      if (err instanceof ApiError && code !== 'USER_BANNED') await this.service.account.audit.record('login_refused', { code });
      throw err;
    }
    // The access log names the user a login produced (the route has no token to name one).
    this.ctx.uid = answer.userInfo.uid;
    this.ctx.body = answer;
  }

  /** POST /api/v1/mp/account/user/bindPhone: `{ code }` or `{ jscode, encryptedData, iv }`. */
  async bindPhone(): Promise<void> {
    const { code, jscode, encryptedData, iv } = this.ctx.request.body as BindPhoneBody;
    this.ctx.body = await this.SERVICE.bindPhone(this.withoutEmpty({ code, js_code: jscode, encryptedData, iv }), this.uid);
  }

  /**
   * GET /api/v1/mp/account/session: the verified token's claims: lets a client check its
   * token (the session read is cached per worker: config.session.cacheMs).
   */
  async session(): Promise<void> {
    // A token with a session was checked against it (jwtAuth); one from before sessions is
    // checked against its user, so a deleted user's token is not answered 200.
    const claims = this.ctx.state.user as SessionClaims;
    if (claims.sid === undefined) await this.SERVICE.requireUser(claims.uid);
    this.ctx.body = claims;
  }

  /** GET /api/v1/mp/account/user/info: the caller's own profile. */
  async show(): Promise<void> {
    const { isWXAuth, userInfo, apps } = await this.SERVICE.profile(this.uid);
    this.ctx.body = { isWXAuth, userInfo, apps };
  }

  /** POST /api/v1/mp/account/user/profile: nickname (content-checked) and the other profile fields. */
  async updateProfile(): Promise<void> {
    this.ctx.body = await this.SERVICE.updateProfile(this.uid, this.ctx.request.body as ProfileBody);
  }

  /** POST /api/v1/mp/account/user/avatar: multipart, the image in field `avatar` (wx.uploadFile({ name: 'avatar' })). */
  async avatar(): Promise<void> {
    const { ctx } = this;
    if (!ctx.is('multipart')) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the image as multipart/form-data in the field "avatar"');
    try {
      const file = await ctx.getFileStream().catch((err: { status?: number }) => {
        // egg-multipart: no file part at all (or a malformed multipart body)
        if (err.status === 400) throw notInAvatarField();
        throw err;
      });
      if (file.fieldname !== 'avatar') {
        file.resume();
        throw notInAvatarField();
      }
      ctx.body = await this.SERVICE.setAvatar(this.uid, file);
    } catch (err) {
      // Do not read the rest of an oversized upload: answer, then close the connection.
      if ((err as { status?: number }).status === 413) ctx.set('Connection', 'close');
      throw err;
    }
  }

  /** DELETE /api/v1/mp/account/user: deletes the caller's account; 204. */
  async destroy(): Promise<void> {
    await this.SERVICE.deleteAccount(this.uid);
    this.ctx.status = 204;
  }

  /** GET /api/v1/mp/account/refreshToken: a fresh token from the current user record. */
  async refreshToken(): Promise<void> {
    this.ctx.body = await this.SERVICE.refreshToken(this.uid, (this.ctx.state.user as SessionClaims).sid);
  }

  /** POST /api/v1/mp/account/user/run: the decrypted WeRun `stepInfoList`. */
  async run(): Promise<void> {
    const { jscode, encryptedData, iv } = this.ctx.request.body as RunBody;
    this.ctx.body = await this.SERVICE.getRun({ js_code: jscode, encryptedData, iv }, this.uid);
  }

  /** POST /api/v1/mp/account/user/logout: ends the token's session; 204. */
  async logout(): Promise<void> {
    const { sid } = this.ctx.state.user as SessionClaims;
    // A token from before sessions has none to end: the client drops it, it expires.
    if (sid) await this.service.account.session.end(this.uid, sid, 'logout').catch(() => undefined);
    this.ctx.status = 204;
  }

  /** GET /api/v1/mp/account/user/sessions: the caller's live sessions, theirs marked `current`. */
  async sessions(): Promise<void> {
    const { sid } = this.ctx.state.user as SessionClaims;
    this.ctx.body = { sessions: await this.service.account.session.list(this.uid, sid) };
  }

  /** DELETE /api/v1/mp/account/user/sessions/:sid: ends one of the caller's sessions; 404 for any other. */
  async endSession(): Promise<void> {
    await this.service.account.session.end(this.uid, String(this.ctx.params.sid), 'ended_by_user');
    this.ctx.status = 204;
  }

  /** GET /api/v1/mp/account/user/export: everything stored about the caller, as a JSON download. */
  async exportData(): Promise<void> {
    const data = await this.SERVICE.exportData(this.uid);
    this.ctx.set('Content-Disposition', `attachment; filename="wxmp-data-${this.uid}.json"`);
    this.ctx.set('Cache-Control', 'no-store');
    this.ctx.body = data;
  }

  /** POST /api/v1/mp/account/user/subscriptions: what wx.requestSubscribeMessage answered (`errMsg` ignored). */
  async subscriptions(): Promise<void> {
    const answers: Record<string, unknown> = { ...(this.ctx.request.body as SubscriptionsBody) };
    delete answers.errMsg;
    await this.SERVICE.requireUser(this.uid);
    this.ctx.body = { subscriptions: await this.service.wxminiprogram.gateway.recordSubscriptions(this.uid, answers as Record<string, SubscribeAnswer>) };
  }
}
