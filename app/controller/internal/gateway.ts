import { Controller } from 'egg';
import { selectInternalApp } from '../../lib/apps';
import { BadRequestError } from '../../lib/errors';
import type { SubscribeSendBody, UrllinkBody, WxacodeBody } from '../../lib/openapi';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

/** The team's WeChat gateway (INTERNAL_API_KEYS with the `messages` scope), and the token in WeChat's shape for SDKs. */
export default class GatewayController extends Controller {
  private get SERVICE() {
    return this.service.wxminiprogram.gateway;
  }

  /** POST /api/v1/internal/wx/subscribe-messages (Idempotency-Key optional) */
  async subscribeSend(): Promise<void> {
    selectInternalApp(this.ctx);
    const input = this.ctx.request.body as SubscribeSendBody;
    const key = this.ctx.get('idempotency-key') || undefined;
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) throw new BadRequestError('Idempotency-Key must be 1-128 visible ASCII characters');
    const { status, body } = await this.SERVICE.sendSubscribeMessage(input, key);
    this.ctx.status = status;
    this.ctx.body = body;
  }

  /** POST /api/v1/internal/wx/wxacode → image/png */
  async wxacode(): Promise<void> {
    selectInternalApp(this.ctx);
    const input = this.ctx.request.body as WxacodeBody;
    if ((input.scene === undefined) === (input.payload === undefined)) throw new BadRequestError('send either scene or payload');
    const { png, scene, cached } = await this.SERVICE.wxacode(input);
    this.ctx.set('X-Wxacode-Scene', scene);
    this.ctx.set('X-Wxacode-Cache', cached ? 'hit' : 'miss');
    this.ctx.type = 'image/png';
    this.ctx.body = png;
  }

  /** POST /api/v1/internal/wx/urllink */
  async urllink(): Promise<void> {
    selectInternalApp(this.ctx);
    const input = this.ctx.request.body as UrllinkBody;
    this.ctx.body = await this.SERVICE.urllink(input);
  }

  /** GET /api/v1/internal/wx/cgi-bin/token?grant_type=client_credential&appid=..&secret=.. (WeChat's shape) */
  async cgiToken(): Promise<void> {
    const q = this.ctx.query;
    this.ctx.set('Cache-Control', 'no-store');
    this.ctx.body = await this.SERVICE.sdkToken(q.grant_type, q.appid, q.secret, 'token');
  }

  /** POST /api/v1/internal/wx/cgi-bin/stable_token `{ grant_type, appid, secret, force_refresh? }` (WeChat's shape) */
  async cgiStableToken(): Promise<void> {
    const body = (this.ctx.request.body ?? {}) as Record<string, unknown>;
    this.ctx.set('Cache-Control', 'no-store');
    this.ctx.body = await this.SERVICE.sdkToken(body.grant_type, body.appid, body.secret, 'stable_token');
  }
}
