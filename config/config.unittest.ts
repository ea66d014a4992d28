import fs from 'node:fs';
import path from 'node:path';
import type { EggAppConfig, EggAppInfo, PowerPartial } from 'egg';
import type { RateLimitConfig, SandboxConfig, WxmpConfig } from './config.default';
import { env } from './env';
import { mongoClientConfig } from './mongo_uri';

/**
 * Tests: with no MONGODB_URI the agent starts a fresh in-memory sandbox/mongo on a free port
 * and publishes its URI as SANDBOX_MONGO_URI before the application's config is read (egg-mock
 * readies the agent first); likewise the WeChat double as SANDBOX_WECHAT_URL.
 */
/** Where every test app of this run writes its logs and config dumps; test/.setup.ts scans it. */
export function testOutputRoot(baseDir: string): string {
  return path.join(baseDir, '.test-output', String(process.pid));
}

let appSeq = 0;

export default (appInfo: EggAppInfo) => {
  const config: PowerPartial<EggAppConfig> = {};
  // Each app (and agent) of the run gets its own log and run dir, kept until the suite's
  // secret scan: egg-mock wipes <baseDir>/logs whenever another test app starts.
  const output = path.join(testOutputRoot(appInfo.baseDir), String(++appSeq));
  config.rundir = path.join(output, 'run');
  fs.mkdirSync(config.rundir, { recursive: true }); // egg's config dump creates only the last level
  const sandbox: SandboxConfig = {};
  const mongoUrl = env('MONGODB_URI');
  if (!mongoUrl) sandbox.mongo = { port: 0 };
  const url = mongoUrl ?? `${process.env.SANDBOX_MONGO_URI ?? 'mongodb://127.0.0.1:1'}/wxmp_test`;
  // 8 s to find the server: on a loaded 2-core machine the suite's first connection (to a
  // sandbox that the agent has just started) twice missed a 3 s window and failed the boot.
  config.mongoose = { clients: { mp: mongoClientConfig(url, 8000) } };

  sandbox.wechat = { port: 0 };
  // A test may boot an app on an apps file (WXMP_APPS_FILE): its apps are then the file's.
  const fromFile = !!process.env.WXMP_APPS_FILE;
  const wxmp: Partial<WxmpConfig> = {
    ...(fromFile ? {} : { appid: 'wxtest00000000000001', secret: 'test-app-secret-value' }),
    apiBase: process.env.SANDBOX_WECHAT_URL ?? 'http://127.0.0.1:1',
    requestTimeoutMs: 1000,
    tokenRetryBaseMs: 20,
    tokenWaitMs: 3000,
    tokenFailureCooldownMs: 200,
    // Boot runs the schedule once (immediate); tests run it again with app.runSchedule.
    tokenCheckInterval: '1h',
    ...(fromFile ? {} : { push: { token: 'unittestpushtoken', aesKey: 'unittestPushEncodingAesKey0123456789abcdefg', maxSkewSeconds: 300 } }),
  };
  config.jwt = { secret: 'unittest-jwt-secret-0123456789abcdef' };
  // Expected 401s and fault tests would otherwise print stack traces all over the run.
  config.logger = { consoleLevel: 'NONE', dir: path.join(output, 'logs') };

  // The suite logs in hundreds of times from one address; the limit tests lower these.
  const rateLimit: RateLimitConfig = { loginPerMinute: 100_000, userPerMinute: 100_000 };

  return { ...config, wxmp, rateLimit, sandbox };
};
