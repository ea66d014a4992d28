import { Controller } from 'egg';
import { selectInternalApp } from '../../lib/apps';
import { tokenReads } from '../../lib/metrics';

interface TokenAnswer {
  access_token: string;
  /** Seconds left. */
  expires_in: number;
  /** Epoch seconds. */
  expires_at: number;
}

function answer(token: { access_token: string; expiresAt: number }): TokenAnswer {
  return {
    access_token: token.access_token,
    expires_in: Math.max(0, Math.floor((token.expiresAt - Date.now()) / 1000)),
    expires_at: Math.floor(token.expiresAt / 1000),
  };
}

/**
 * The central access_token service (中控服务器) for the team's other backends: they read the
 * token here instead of fetching their own (which would invalidate ours), and report the
 * one WeChat rejected so it is refreshed once, by compare-and-set.
 */
export default class WxTokenController extends Controller {
  /** GET /api/v1/internal/wx/access_token[?appid=] */
  async show(): Promise<void> {
    const appid = selectInternalApp(this.ctx);
    const token = await this.service.wxminiprogram.auth.current();
    this.ctx.logger.info('[internal] %s read the access_token of %s', this.ctx.internalCaller, appid);
    tokenReads.inc({ appid, via: 'internal' });
    this.ctx.body = answer(token);
  }

  /** POST /api/v1/internal/wx/access_token/refresh[?appid=] `{ access_token, appid? }` */
  async refresh(): Promise<void> {
    // The body was checked against the OpenAPI schema (ReportedToken) by validateBody.
    const appid = selectInternalApp(this.ctx);
    const reported = (this.ctx.request.body as { access_token: string }).access_token;
    const token = await this.service.wxminiprogram.auth.refreshReported(reported);
    this.ctx.logger.info('[internal] %s reported a rejected access_token of %s', this.ctx.internalCaller, appid);
    this.ctx.body = answer(token);
  }
}
