import assert from 'node:assert/strict';
import type { MockApplication } from 'egg-mock';
import { sandboxWeChat } from '../../sandbox/boot';
import type { WeChatDouble } from '../../sandbox/wechat/server';
import type { PushTarget } from '../../sandbox/wechat/security';

/** The WeChat double the agent started for this test run. */
export function wechat(): WeChatDouble {
  const double = sandboxWeChat();
  assert.ok(double, 'the unittest agent starts the WeChat double');
  return double;
}

/** Forgets every stored and mounted token and lease, and resets the double. */
export async function resetTokens(...apps: MockApplication[]): Promise<void> {
  const [ first ] = apps;
  const ctx = first.mockContext();
  await ctx.models.Auth.deleteMany({});
  await ctx.models.TokenLease.deleteMany({});
  for (const app of apps) {
    app.wxToken = undefined;
    app.wxTokenInfo = undefined;
    app.tokenRefreshFailing.clear();
    app.wxTokens.clear();
  }
  wechat().clearFaults();
  wechat().resetCounts();
}

export async function until(predicate: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 20));
  }
}

/** The push target of the test app's first app at `baseUrl`, as its console would be set up (safe mode, JSON). */
export function pushTargetOf(app: MockApplication, baseUrl: string): PushTarget {
  return { url: `${baseUrl}/api/v1/mp/wechat/push`, token: app.config.wxmp.push.token, aesKey: app.config.wxmp.push.aesKey, format: 'json' };
}

