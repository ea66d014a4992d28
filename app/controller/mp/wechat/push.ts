import { Controller } from 'egg';
import { findApp } from '../../../lib/apps';
import { NotFoundError } from '../../../lib/errors';
import type { PushQuery } from '../../../service/wxminiprogram/push';

/** WeChat's message push endpoint (消息推送): the URL filled in the mini-program console. */
export default class PushController extends Controller {
  /** `/push/<appid>` is that app's URL (its Token and EncodingAESKey); `/push` the first app's. */
  private selectApp(): void {
    const { appid } = this.ctx.params as { appid?: string };
    if (appid === undefined) return;
    if (!findApp(this.config.wxmp, appid)) throw new NotFoundError(`No mini-program ${appid} is served here`);
    this.ctx.wxAppid = appid;
  }

  /** GET /api/v1/mp/wechat/push: the console's URL check; echoes `echostr`. */
  async verify(): Promise<void> {
    this.selectApp();
    const echostr = this.service.wxminiprogram.push.verifyUrl(this.ctx.query as PushQuery);
    this.ctx.type = 'text/plain';
    this.ctx.body = echostr;
  }

  /** POST /api/v1/mp/wechat/push: one message, JSON or XML, plaintext or safe mode; answers `success`. */
  async receive(): Promise<void> {
    this.selectApp();
    await this.service.wxminiprogram.push.receive(this.ctx.query as PushQuery, this.ctx.request.body);
    this.ctx.type = 'text/plain';
    this.ctx.body = 'success';
  }
}
