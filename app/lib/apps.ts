import type { WxAppConfig, WxmpConfig } from '../../config/config.default';
import type { Context } from 'egg';
import { BadRequestError } from './errors';

/** The apps this deployment serves; the first is the one old tokens and the old push path belong to. */
export function configuredApps(wxmp: WxmpConfig): WxAppConfig[] {
  if (wxmp.apps.length) return wxmp.apps;
  // One app from the one-app settings, read live (tests and ops may change them at run time).
  return [{ appid: wxmp.appid, secret: wxmp.secret, name: wxmp.appid, tokenMode: wxmp.tokenMode, push: wxmp.push }];
}

export function findApp(wxmp: WxmpConfig, appid: string): WxAppConfig | undefined {
  return configuredApps(wxmp).find(a => a.appid === appid);
}

/** `https://servicewechat.com/<appid>/<version>/page-frame.html`: what wx.request and wx.uploadFile send. */
const WECHAT_REFERER = /^https:\/\/servicewechat\.com\/(wx[A-Za-z0-9]{16,32})\/[^/]+\/page-frame\.html$/;

export function appidFromReferer(referer: string | undefined): string | undefined {
  return referer ? WECHAT_REFERER.exec(referer)?.[1] : undefined;
}

/**
 * The app a request names (a body's or query's `appid`, else WeChat's Referer), else the only
 * configured app. Several apps and none named: 400 APP_REQUIRED; an app not configured:
 * 400 UNKNOWN_APP. Neither costs a call to WeChat.
 */
export function requestedApp(wxmp: WxmpConfig, named: string | undefined, referer: string | undefined): WxAppConfig {
  const apps = configuredApps(wxmp);
  const appid = named ?? appidFromReferer(referer);
  if (appid === undefined) {
    if (apps.length === 1) return apps[0];
    throw new BadRequestError(`This server serves several mini-programs (${apps.map(a => a.appid).join(', ')}): send appid`, 'APP_REQUIRED');
  }
  const app = apps.find(a => a.appid === appid);
  if (!app) throw new BadRequestError(`The mini-program ${appid} is not served here`, 'UNKNOWN_APP');
  return app;
}

/**
 * The internal API's app: `appid` in the body or `?appid=` (the two must agree), else the only
 * app (requestedApp's rules). Sets `ctx.wxAppid`, which the services act for.
 */
export function selectInternalApp(ctx: Context): string {
  const fromQuery: unknown = ctx.query.appid;
  const fromBody: unknown = (ctx.request.body as { appid?: unknown } | undefined)?.appid;
  for (const named of [ fromQuery, fromBody ]) {
    if (named !== undefined && typeof named !== 'string') throw new BadRequestError('appid must be a string');
  }
  if (fromQuery && fromBody && fromQuery !== fromBody) throw new BadRequestError('appid in the body and in the query differ');
  const named = (fromBody || fromQuery || undefined) as string | undefined;
  const { appid } = requestedApp(ctx.app.config.wxmp, named, undefined);
  ctx.wxAppid = appid;
  return appid;
}

