import { Controller } from 'egg';
import type { PushQuery } from '../../../service/wxminiprogram/push';

/** WeChat's message push endpoint (消息推送): the URL filled in the mini-program console. */
export default class PushController extends Controller {
  /** GET /api/v1/mp/wechat/push: the console's URL check; echoes `echostr`. */
  async verify(): Promise<void> {
    const echostr = this.service.wxminiprogram.push.verifyUrl(this.ctx.query as PushQuery);
    this.ctx.type = 'text/plain';
    this.ctx.body = echostr;
  }

  /** POST /api/v1/mp/wechat/push: one message, JSON or XML, plaintext or safe mode; answers `success`. */
  async receive(): Promise<void> {
    await this.service.wxminiprogram.push.receive(this.ctx.query as PushQuery, this.ctx.request.body);
    this.ctx.type = 'text/plain';
    this.ctx.body = 'success';
  }
}
