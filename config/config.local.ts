import type { EggAppConfig, PowerPartial } from 'egg';
import type { SandboxConfig, WxAppConfig, WxmpConfig } from './config.default';
import { env, envInt } from './env';
import { mongoClientConfig } from './mongo_uri';

/**
 * Fixed ports so the agent (which starts the stand-ins) and the workers agree without
 * talking; SANDBOX_MONGO_PORT / SANDBOX_WECHAT_PORT move them (with PORT for the app).
 */
export const DEV_MONGO_PORT = 37017;
export const DEV_WECHAT_PORT = 37018;

/**
 * `npm run dev`: with nothing set, the agent starts sandbox/mongo (data in .data/mongo) and
 * the WeChat double and serves two mini-programs; set MONGODB_URI, WXMP_APPID or
 * WXMP_APPS_FILE to use real ones instead.
 */
export default () => {
  const config: PowerPartial<EggAppConfig> = {};
  // A development server signs tokens with the repository's fixed secret (below): reachable
  // from other machines, anyone on the network could mint tokens for it. HOST=0.0.0.0 opens it.
  // (egg merges this into config.default's cluster.listen, which holds the port.)
  config.cluster = { listen: { hostname: env('HOST') ?? '127.0.0.1' } };
  const sandbox: SandboxConfig = {};
  const mongoPort = envInt('SANDBOX_MONGO_PORT', DEV_MONGO_PORT);
  const wechatPort = envInt('SANDBOX_WECHAT_PORT', DEV_WECHAT_PORT);
  let mongoUrl = env('MONGODB_URI');
  if (!mongoUrl) {
    sandbox.mongo = { port: mongoPort, dbpath: '.data/mongo' };
    mongoUrl = `mongodb://127.0.0.1:${mongoPort}/wxmp`;
  }
  config.mongoose = { clients: { mp: mongoClientConfig(mongoUrl, 5000) } };

  const wxmp: Partial<WxmpConfig> = {};
  if (!env('WXMP_APPID') && !env('WXMP_APPS_FILE')) {
    sandbox.wechat = { port: wechatPort };
    wxmp.apiBase = `http://127.0.0.1:${wechatPort}`;
    // Two mini-programs of one open-platform account, as teams run them: a customer app and a
    // merchant app (one person logging in to both is one user). The double pushes events
    // (media check verdicts) to each in safe mode, as its console would be set up; the agent
    // gives it these settings.
    const customer: WxAppConfig = {
      appid: 'wxsandbox0000000001', secret: 'sandbox-app-secret', name: 'customer', tokenMode: 'classic',
      push: { token: env('WXMP_PUSH_TOKEN') ?? 'sandboxpushtoken', aesKey: env('WXMP_PUSH_AES_KEY') ?? 'sandboxPushEncodingAesKey0123456789abcdefgh' },
    };
    const merchant: WxAppConfig = {
      appid: 'wxsandbox0000000002', secret: 'sandbox-merchant-secret', name: 'merchant', tokenMode: 'classic',
      push: { token: 'sandboxmerchanttoken', aesKey: 'sandboxMerchantEncodingAesKey0123456789abcd' },
    };
    Object.assign(wxmp, { appid: customer.appid, secret: customer.secret, push: { ...customer.push, maxSkewSeconds: 300 }, apps: [ customer, merchant ] });
  }
  // A development-only secret; prod refuses to start without its own JWT_SECRET.
  config.jwt = { secret: env('JWT_SECRET') ?? 'local-development-jwt-secret-not-for-production' };

  // Avatars are served by this app; the WeChat double fetches them from here.
  const avatar = { publicBaseUrl: (env('PUBLIC_BASE_URL') ?? `http://127.0.0.1:${envInt('PORT', 7001)}`).replace(/\/+$/, '') };

  return { ...config, wxmp, avatar, sandbox };
};
