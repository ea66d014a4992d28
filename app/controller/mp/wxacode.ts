import { Controller } from 'egg';

/** What a mini-program code carries (public: the page opened by the code reads it). */
export default class WxacodeController extends Controller {
  /** GET /api/v1/mp/wxacode/scenes/:scene → `{ payload }` */
  async scene(): Promise<void> {
    this.ctx.body = { payload: await this.service.wxminiprogram.gateway.scenePayload(String(this.ctx.params.scene)) };
  }
}
