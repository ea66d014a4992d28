import BaseController from '../../../lib/base_controller';
import type { BindPhoneBody, LoginBody, RunBody } from '../../../lib/openapi';

/** The mini-program account API (the seed's UserController). */
export default class UserController extends BaseController {
  private get SERVICE() {
    return this.service.wxminiprogram.user;
  }

  // Bodies were checked against the operation's OpenAPI schema (validateBody) before these run.

  /** POST /api/v1/mp/account/user/auth: log in with `jscode`, optionally with encryptedData+iv. */
  async create(): Promise<void> {
    const { jscode, encryptedData, iv } = this.ctx.request.body as LoginBody;
    this.ctx.body = await this.SERVICE.getUserInfo({ js_code: jscode, ...this.withoutEmpty({ encryptedData, iv }) });
  }

  /** POST /api/v1/mp/account/user/bindPhone: `{ code }` or `{ jscode, encryptedData, iv }`. */
  async bindPhone(): Promise<void> {
    const { code, jscode, encryptedData, iv } = this.ctx.request.body as BindPhoneBody;
    this.ctx.body = await this.SERVICE.bindPhone(this.withoutEmpty({ code, js_code: jscode, encryptedData, iv }), this.uid);
  }

  /**
   * GET /api/v1/mp/account/session: the verified token's claims, without touching the
   * database: lets a client check its token, and is the benchmark's framework ceiling.
   */
  async session(): Promise<void> {
    this.ctx.body = this.ctx.state.user;
  }

  /** GET /api/v1/mp/account/user/info: the caller's own profile. */
  async show(): Promise<void> {
    const { isWXAuth, userInfo } = await this.SERVICE.profile(this.uid);
    this.ctx.body = { isWXAuth, userInfo };
  }

  /** GET /api/v1/mp/account/refreshToken: a fresh token from the current user record. */
  async refreshToken(): Promise<void> {
    this.ctx.body = await this.SERVICE.refreshToken(this.uid);
  }

  /** POST /api/v1/mp/account/user/run: the decrypted WeRun `stepInfoList`. */
  async run(): Promise<void> {
    const { jscode, encryptedData, iv } = this.ctx.request.body as RunBody;
    this.ctx.body = await this.SERVICE.getRun({ js_code: jscode, encryptedData, iv }, this.uid);
  }
}
