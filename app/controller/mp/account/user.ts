import BaseController from '../../../lib/base_controller';
import { BadRequestError } from '../../../lib/errors';
import { CODE, encryptedPair, requireObject, stringField } from '../../../lib/validate';

/** The mini-program account API (the seed's UserController). */
export default class UserController extends BaseController {
  private get SERVICE() {
    return this.service.wxminiprogram.user;
  }

  /** POST /api/v1/mp/account/user/auth: log in with `jscode`, optionally with encryptedData+iv. */
  async create(): Promise<void> {
    const body = requireObject(this.ctx.request.body);
    const js_code = stringField(body, 'jscode', CODE, true);
    const { encryptedData, iv } = encryptedPair(body, false);
    this.ctx.body = await this.SERVICE.getUserInfo({ js_code, ...this.withoutEmpty({ encryptedData, iv }) });
  }

  /** POST /api/v1/mp/account/user/bindPhone: `{ code }` or `{ jscode, encryptedData, iv }`. */
  async bindPhone(): Promise<void> {
    const body = requireObject(this.ctx.request.body);
    const code = stringField(body, 'code', CODE);
    const js_code = stringField(body, 'jscode', CODE);
    const { encryptedData, iv } = encryptedPair(body, false);
    if (code === undefined && (js_code === undefined || encryptedData === undefined)) {
      throw new BadRequestError('Send either code, or jscode with encryptedData and iv');
    }
    this.ctx.body = await this.SERVICE.bindPhone(this.withoutEmpty({ code, js_code, encryptedData, iv }), this.uid);
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
    const body = requireObject(this.ctx.request.body);
    const js_code = stringField(body, 'jscode', CODE, true);
    const { encryptedData, iv } = encryptedPair(body, true);
    this.ctx.body = await this.SERVICE.getRun({ js_code, ...this.withoutEmpty({ encryptedData, iv }) }, this.uid);
  }
}
