import assert from 'node:assert/strict';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { MiniProgram } from '../../helpers/client';
import { wechat } from '../../helpers/sandbox';

const AUTH = '/api/v1/mp/account/user/auth';
const BIND = '/api/v1/mp/account/user/bindPhone';

describe('test/app/middleware/rate_limit.test.ts', () => {
  const clean = async () => {
    const ctx = app.mockContext();
    await ctx.models.RateLimit.deleteMany({});
    await ctx.models.Account.User.deleteMany({});
    await ctx.models.Basics.User.User.deleteMany({});
  };
  beforeEach(clean);
  afterEach(clean);

  const login = (jscode: string, forwardedFor?: string) => {
    const req = app.httpRequest().post(AUTH).set('content-type', 'application/json');
    return (forwardedFor ? req.set('x-forwarded-for', forwardedFor) : req).send({ jscode });
  };

  it('a login burst from one address is 429 RATE_LIMITED with Retry-After, before WeChat is called', async () => {
    mm(app.config.rateLimit, 'loginPerMinute', 5);
    wechat().resetCounts();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await login(`garbage-code-${i}`);
      statuses.push(res.status);
      if (res.status === 429) {
        assert.equal(res.body.code, 'RATE_LIMITED');
        const retryAfter = Number(res.headers['retry-after']);
        assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${res.headers['retry-after']}`);
      }
    }
    assert.deepEqual(statuses, [ 400, 400, 400, 400, 400, 429, 429, 429 ]);
    assert.equal(wechat().count('/sns/jscode2session'), 5, 'refused logins cost no WeChat call');
    // The counter lives in MongoDB, where every worker and host sees it; once over the limit
    // the address is refused from the worker's memory: the refusals after the first cost no write.
    const counter = await app.mockContext().models.RateLimit.findOne({ key: /^login:/ }).lean();
    assert.equal(counter?.points, 6);
    assert.ok(counter?.expire instanceof Date);
  });

  it('X-Forwarded-For is ignored unless TRUST_PROXY is set', async () => {
    mm(app.config.rateLimit, 'loginPerMinute', 2);
    assert.equal(app.config.proxy, false, 'off by default');
    const spoofed = [ '10.0.0.1', '10.0.0.2', '10.0.0.3' ];
    const statuses = [];
    for (const address of spoofed) statuses.push((await login('garbage', address)).status);
    assert.deepEqual(statuses, [ 400, 400, 429 ], 'a client cannot escape the limit by inventing addresses');

    await app.mockContext().models.RateLimit.deleteMany({});
    // What TRUST_PROXY=1 sets: one proxy of ours appends the address it saw.
    mm(app.config, 'proxy', true);
    mm(app.config, 'maxIpsCount', 1);
    const behindProxy = [];
    for (const address of spoofed) {
      for (let i = 0; i < 2; i++) behindProxy.push((await login('garbage', address)).status);
    }
    assert.deepEqual(behindProxy, Array(6).fill(400), 'each real client address has its own limit');
    assert.equal((await login('garbage', '10.0.0.1')).status, 429);
    // A client writing its own X-Forwarded-For before our proxy's entry changes nothing.
    assert.equal((await login('garbage', '192.0.2.99, 10.0.0.2')).status, 429);
  });

  it('per-user writes: bindPhone over the limit is 429 for that user only, without a WeChat call', async () => {
    mm(app.config.rateLimit, 'userPerMinute', 2);
    const alice = new MiniProgram(app);
    const bob = new MiniProgram(app);
    const a = await alice.login();
    const b = await bob.login();
    const bind = (mp: MiniProgram, token: string, phone: string) => app.httpRequest().post(BIND)
      .set('authorization', `Bearer ${token}`)
      .send({ code: wechat().issuePhoneCode(mp.appid, phone) });
    await bind(alice, a.token, '13700000001').expect(200);
    await bind(alice, a.token, '13700000002').expect(200);
    wechat().resetCounts();
    const limited = await bind(alice, a.token, '13700000003').expect(429);
    assert.equal(limited.body.code, 'RATE_LIMITED');
    assert.ok(limited.headers['retry-after']);
    assert.equal(wechat().count('/wxa/business/getuserphonenumber'), 0);
    await bind(bob, b.token, '13700000004').expect(200);
    // run is a write route too
    await app.httpRequest().post('/api/v1/mp/account/user/run').set('authorization', `Bearer ${a.token}`)
      .send({ jscode: alice.loginCode(), ...alice.encrypt({ stepInfoList: [] }) })
      .expect(429);
  });

  it('0 turns a limit off', async () => {
    mm(app.config.rateLimit, 'loginPerMinute', 0);
    for (let i = 0; i < 5; i++) await login('garbage').expect(400);
    assert.equal(await app.mockContext().models.RateLimit.countDocuments(), 0);
  });

  it('defaults: 60 logins per address and 30 writes per user a minute', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const defaults = require('../../../config/config.default').default({ name: 'x', baseDir: '.', root: '.', env: 'prod' });
    assert.deepEqual(defaults.rateLimit, { loginPerMinute: 60, userPerMinute: 30 });
    assert.equal(defaults.proxy, false);
    mm(process.env, 'TRUST_PROXY', '2');
    const proxied = require('../../../config/config.default').default({ name: 'x', baseDir: '.', root: '.', env: 'prod' });
    assert.equal(proxied.proxy, true);
    assert.equal(proxied.maxIpsCount, 2);
  });
});
