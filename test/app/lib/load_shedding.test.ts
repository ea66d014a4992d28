import assert from 'node:assert/strict';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { clusterLikeServer, MiniProgram } from '../../helpers/client';
import { until, wechat } from '../../helpers/sandbox';

describe('test/app/lib/load_shedding.test.ts', () => {
  afterEach(async () => {
    wechat().clearFaults();
    await app.mockContext().models.Account.User.deleteMany({});
  });

  it('beyond maxInFlight a worker answers 503 OVERLOADED with Retry-After at once; /health still answers', async () => {
    mm(app.config.overload, 'maxInFlight', 2);
    wechat().resetCounts();
    const server = await clusterLikeServer(app);
    let inFlight = 0;
    try {
      wechat().inject({ path: '/sns/jscode2session', kind: 'latency', ms: 800 });
      const slow = [ new MiniProgram(app), new MiniProgram(app) ].map(mp => fetch(`${server.url}/api/v1/mp/account/user/auth`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jscode: mp.loginCode() }),
      }).finally(() => inFlight--));
      inFlight = 2;
      await until(() => wechat().count('/sns/jscode2session') >= 2, 2000, 'two logins waiting on WeChat');
      const started = Date.now();
      const refused = await fetch(`${server.url}/api/v1/mp/account/session`);
      assert.ok(Date.now() - started < 300, 'refused without waiting');
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.match(refused.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(((await refused.json()) as { code: string }).code, 'OVERLOADED');
      assert.equal((await fetch(`${server.url}/health`)).status, 200, 'health is always served');
      assert.deepEqual((await Promise.all(slow)).map(r => r.status), [ 200, 200 ], 'the requests already in flight finish');
      wechat().clearFaults();
      assert.equal((await fetch(`${server.url}/api/v1/mp/account/session`)).status, 401, 'served again once below the bound');
    } finally {
      await until(() => inFlight === 0, 3000, 'the slow requests to end');
    }
  });

  it('0 turns it off', async () => {
    mm(app.config.overload, 'maxInFlight', 0);
    wechat().resetCounts();
    const { url } = await clusterLikeServer(app);
    wechat().inject({ path: '/sns/jscode2session', kind: 'latency', ms: 500 });
    const slow = Array.from({ length: 3 }, () => fetch(`${url}/api/v1/mp/account/user/auth`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jscode: 'garbage' }),
    }));
    await until(() => wechat().count('/sns/jscode2session') >= 3, 2000, 'three logins waiting on WeChat');
    assert.equal((await fetch(`${url}/api/v1/mp/account/session`)).status, 401);
    await Promise.all(slow);
  });
});
