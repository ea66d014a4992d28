import { Service } from 'egg';
import type { WxmpConfig } from '../../../config/config.default';
import { configuredApps } from '../../lib/apps';

const forApp = new WeakMap<object, WxmpConfig>();

/**
 * Base of the mini-program services: carries the WeChat settings of the app this request is
 * for (`ctx.wxAppid`, set by login, the token, the push path or `?appid=`; the first app
 * when unset), as the seed's `WXAuth` carried its one app's.
 */
export default class WxmpIndexService extends Service {
  protected get WXAuth(): WxmpConfig {
    const { wxmp } = this.config;
    const appid = this.ctx.wxAppid;
    if (!wxmp.apps.length || appid === undefined || appid === wxmp.appid) return wxmp;
    let settings = forApp.get(this.ctx);
    if (settings?.appid !== appid) {
      const app = configuredApps(wxmp).find(a => a.appid === appid);
      if (!app) throw new Error(`no configured app ${appid}`);
      settings = { ...wxmp, appid: app.appid, secret: app.secret, tokenMode: app.tokenMode, push: { ...wxmp.push, ...app.push } };
      forApp.set(this.ctx, settings);
    }
    return settings;
  }
}
