import type { EggAppConfig, PowerPartial } from 'egg';
import type { SandboxConfig, WxmpConfig } from './config.default';
import { env } from './env';
import { mongoClientConfig } from './mongo_uri';

/** Fixed ports so the agent (which starts the stand-ins) and the workers agree without talking. */
export const DEV_MONGO_PORT = 37017;
export const DEV_WECHAT_PORT = 37018;

/**
 * `npm run dev`: with nothing set, the agent starts sandbox/mongo (data in .data/mongo) and
 * the WeChat double; set MONGODB_URI or WXMP_APPID to use real ones instead.
 */
export default () => {
  const config: PowerPartial<EggAppConfig> = {};
  const sandbox: SandboxConfig = {};
  let mongoUrl = env('MONGODB_URI');
  if (!mongoUrl) {
    sandbox.mongo = { port: DEV_MONGO_PORT, dbpath: '.data/mongo' };
    mongoUrl = `mongodb://127.0.0.1:${DEV_MONGO_PORT}/wxmp`;
  }
  config.mongoose = { clients: { mp: mongoClientConfig(mongoUrl, 5000) } };

  const wxmp: Partial<WxmpConfig> = {};
  if (!env('WXMP_APPID')) {
    sandbox.wechat = { port: DEV_WECHAT_PORT };
    wxmp.appid = 'wxsandbox0000000001';
    wxmp.secret = 'sandbox-app-secret';
    wxmp.apiBase = `http://127.0.0.1:${DEV_WECHAT_PORT}`;
  }
  // A development-only secret; prod refuses to start without its own JWT_SECRET.
  config.jwt = { secret: env('JWT_SECRET') ?? 'local-development-jwt-secret-not-for-production' };

  return { ...config, wxmp, sandbox };
};
