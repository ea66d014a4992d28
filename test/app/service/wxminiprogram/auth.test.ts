import assert from 'node:assert/strict';
import mm, { type MockApplication } from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { WeChatError } from '../../../../app/lib/errors';
import { TOKEN_TYPE_MINIPROGRAM } from '../../../../app/model/auth';
import { resetTokens, until, wechat } from '../../../helpers/sandbox';

const TOKEN = '/cgi-bin/token';

describe('test/app/service/wxminiprogram/auth.test.ts', () => {
  beforeEach(() => resetTokens(app));
  after(() => resetTokens(app));

  async function storedRecord() {
    return app.mockContext().models.Auth.findOne({ type: TOKEN_TYPE_MINIPROGRAM, appid: app.config.wxmp.appid }).lean();
  }

  it('boot mounted a real token; the record and its TTL index are as the seed specified', async () => {
    await app.runSchedule('token_refresh');
    assert.ok(app.wxToken && wechat().isValidToken(app.wxToken), 'a token WeChat accepts is mounted');
    const record = await storedRecord();
    assert.equal(record?.access_token, app.wxToken);
    assert.equal(record?.type, 1);
    assert.equal(record?.expires_in, 7200);
    assert.ok(record?.endTime instanceof Date && record.updateTime instanceof Date && record.created instanceof Date);
    const indexes = await app.mockContext().models.Auth.listIndexes();
    const ttl = indexes.find(i => i.key.endTime === 1);
    assert.equal(ttl?.expireAfterSeconds, 6600);
    assert.ok(indexes.some(i => i.unique && i.key.type === 1 && i.key.appid === 1), 'one record per type and appid');
  });

  it('reuses a fresh stored token without calling WeChat again', async () => {
    await app.runSchedule('token_refresh');
    const first = app.wxToken;
    app.wxToken = undefined;
    await app.runSchedule('token_refresh');
    assert.equal(app.wxToken, first);
    assert.equal(wechat().count(TOKEN), 1);
  });

  it('refreshes proactively inside the margin, and refetches an expired token on demand', async () => {
    await app.runSchedule('token_refresh');
    const old = app.wxToken;
    const ctx = app.mockContext();
    // 7200 s token fetched 7000 s ago: 200 s left, inside the 300 s margin.
    await ctx.models.Auth.updateOne({}, { $set: { updateTime: new Date(Date.now() - 7000 * 1000) } });
    await app.runSchedule('token_refresh');
    assert.notEqual(app.wxToken, old);
    assert.equal(wechat().count(TOKEN), 2);

    await ctx.models.Auth.updateOne({}, { $set: { updateTime: new Date(Date.now() - 7300 * 1000) } });
    app.wxToken = undefined;
    const token = await ctx.service.wxminiprogram.auth.getToken();
    assert.ok(wechat().isValidToken(token));
    assert.equal(wechat().count(TOKEN), 3);
  });

  it('two app instances booting on an empty database make exactly one upstream call', async function() {
    this.timeout(60_000);
    await resetTokens(app);
    const apps: MockApplication[] = [ mm.app({ cache: false }), mm.app({ cache: false }) ];
    try {
      await Promise.all(apps.map(a => a.ready()));
      await until(() => apps.every(a => !!a.wxToken), 10_000, 'both apps to mount a token');
      assert.equal(apps[0].wxToken, apps[1].wxToken);
      // ...and running every instance's schedule again at once still makes no new call.
      await Promise.all([ ...apps, app ].map(a => a.runSchedule('token_refresh')));
      assert.equal(app.wxToken, apps[0].wxToken);
      assert.equal(wechat().count(TOKEN), 1);
    } finally {
      await Promise.all(apps.map(a => a.close()));
    }
  });

  it('100 concurrent calls that all meet 40001 cause one refresh, then succeed', async () => {
    const ctx = app.mockContext();
    const auth = ctx.service.wxminiprogram.auth;
    await app.runSchedule('token_refresh');
    const stale = app.wxToken as string;
    // WeChat supersedes the token behind our back (as a forced refresh elsewhere would); no grace.
    await ctx.models.Auth.updateOne({}, { $set: { access_token: 'AT_revoked' } });
    app.wxToken = 'AT_revoked';
    wechat().resetCounts();
    const used: string[] = [];
    const results = await Promise.all(Array.from({ length: 100 }, () => auth.withAccessToken(async token => {
      used.push(token);
      if (!wechat().isValidToken(token)) throw new WeChatError('/wxa/some/api', 'errcode', 40001, 'invalid credential');
      return token;
    })));
    assert.equal(wechat().count(TOKEN), 1, 'one refresh for 100 failures');
    assert.equal(new Set(results).size, 1);
    assert.notEqual(results[0], 'AT_revoked');
    assert.notEqual(results[0], stale);
    assert.equal(used.length, 200, 'each call retried exactly once');
  });

  it('a late 40001 report never discards a newer token (compare-and-set)', async () => {
    await app.runSchedule('token_refresh');
    const current = app.wxToken as string;
    await app.mockContext().service.wxminiprogram.auth.invalidateToken('AT_some_older_token');
    assert.equal((await storedRecord())?.access_token, current);
    assert.equal(app.wxToken, current);
  });

  for (const [ label, fault ] of [
    [ 'down (HTTP 502)', { kind: 'http5xx' }],
    [ 'slow (past the timeout)', { kind: 'latency', ms: 1500 }],
    [ 'answering garbage', { kind: 'garbage' }],
    [ 'busy (errcode -1)', { kind: 'errcode', errcode: -1 }],
  ] as const) {
    it(`WeChat ${label}: retried with backoff, old token kept, clear log line, no error stored`, async function() {
      this.timeout(15_000);
      await app.runSchedule('token_refresh');
      const good = app.wxToken;
      await app.mockContext().models.Auth.updateOne({}, { $set: { updateTime: new Date(Date.now() - 7000 * 1000) } });
      app.mockLog();
      wechat().resetCounts();
      wechat().inject({ path: TOKEN, ...fault });
      await app.runSchedule('token_refresh');
      assert.equal(app.wxToken, good, 'the still-valid token stays mounted');
      assert.equal((await storedRecord())?.access_token, good, 'nothing but the real token is stored');
      assert.equal(wechat().count(TOKEN), app.config.wxmp.tokenFetchAttempts, 'retried up to the attempt limit');
      app.expectLog(/\[token_refresh\] refresh for appid \w+ failed: \w+ errcode=-?\d+/);
      wechat().clearFaults();
      await new Promise(r => setTimeout(r, app.config.wxmp.tokenFailureCooldownMs));
      await app.runSchedule('token_refresh');
      assert.notEqual(app.wxToken, good, 'recovers once WeChat is back');
    });
  }

  for (const [ label, body ] of [
    [ 'an empty object', {}],
    [ 'an empty access_token', { access_token: '', expires_in: 7200 }],
    [ 'a zero expires_in', { access_token: 'AT_without_lifetime', expires_in: 0 }],
    [ 'expires_in as a string', { access_token: 'AT_string_lifetime', expires_in: '7200' }],
  ] as const) {
    it(`well-formed JSON without a usable token (${label}): old token kept, nothing stored, failure logged`, async function() {
      this.timeout(15_000);
      await app.runSchedule('token_refresh');
      const good = app.wxToken;
      await app.mockContext().models.Auth.updateOne({}, { $set: { updateTime: new Date(Date.now() - 7000 * 1000) } });
      app.mockLog();
      wechat().inject({ path: TOKEN, kind: 'reply', body });
      await app.runSchedule('token_refresh');
      assert.equal(app.wxToken, good, 'the still-valid token stays mounted');
      const stored = await storedRecord();
      assert.equal(stored?.access_token, good, 'the answer was not stored');
      assert.equal(stored?.expires_in, 7200);
      app.expectLog(/\[token_refresh\] refresh for appid \w+ failed: bad_response/);
      wechat().clearFaults();
    });
  }

  it('the schedule logs changes (failed once, then recovered), not every check while failing', async function() {
    this.timeout(10_000);
    await app.runSchedule('token_refresh');
    await app.mockContext().models.Auth.updateOne({}, { $set: { updateTime: new Date(Date.now() - 7000 * 1000) } });
    wechat().inject({ path: TOKEN, kind: 'errcode', errcode: 40164 });
    const lines: string[] = [];
    // ctx.logger writes through app.logger.log(level, args, meta)
    mm(app.logger, 'log', (_level: string, args: unknown[]) => { lines.push(String(args[0])); });
    for (let i = 0; i < 3; i++) {
      await app.runSchedule('token_refresh');
      await new Promise(r => setTimeout(r, app.config.wxmp.tokenFailureCooldownMs));
    }
    assert.equal(lines.filter(l => l.includes('CONFIGURATION ERROR')).length, 1, lines.join('\n'));
    wechat().clearFaults();
    await app.runSchedule('token_refresh');
    assert.equal(lines.filter(l => l.includes('recovered')).length, 1, lines.join('\n'));
  });

  it('configuration errors (40125 invalid appsecret) are not retried and are reported loudly', async () => {
    app.mockLog();
    wechat().inject({ path: TOKEN, kind: 'errcode', errcode: 40125, times: 1 });
    await app.runSchedule('token_refresh');
    assert.equal(app.wxToken, undefined, 'nothing mounted');
    assert.equal(await storedRecord(), null, 'nothing stored');
    assert.equal(wechat().count(TOKEN), 1, 'not retried');
    app.expectLog(/CONFIGURATION ERROR: WeChat refused appid \S+ with errcode 40125/);
  });

  it('a wrong secret really gets 40125 from the double, and the secret never reaches a log line', async () => {
    mm(app.config.wxmp, 'secret', 'wrong-secret-value-123');
    app.mockLog();
    await app.runSchedule('token_refresh');
    assert.equal(app.wxToken, undefined);
    app.expectLog(/errcode 40125/);
    app.notExpectLog('wrong-secret-value-123');
  });

  it('stable mode uses POST /cgi-bin/stable_token without force_refresh', async () => {
    mm(app.config.wxmp, 'tokenMode', 'stable');
    await app.runSchedule('token_refresh');
    assert.ok(app.wxToken && wechat().isValidToken(app.wxToken));
    assert.equal(wechat().count('/cgi-bin/stable_token'), 1);
    assert.equal(wechat().count(TOKEN), 0);
    // A proactive refresh in normal mode gets the same still-valid stable token back.
    const first = app.wxToken;
    await app.mockContext().models.Auth.updateOne({}, { $set: { updateTime: new Date(Date.now() - 7000 * 1000) } });
    await app.runSchedule('token_refresh');
    assert.equal(app.wxToken, first);
  });

  it('/health reads the token state from the database: ok, missing, never the token', async () => {
    await app.runSchedule('token_refresh');
    const res = await app.httpRequest().get('/health').expect(200);
    assert.equal(res.body.wxToken, 'ok');
    assert.equal(res.body.status, 'ok');
    assert.equal(typeof res.body.wxTokenAgeSeconds, 'number');
    assert.ok(!JSON.stringify(res.body).includes(app.wxToken as string));
    app.wxToken = undefined; // what one worker has mounted does not matter...
    assert.equal((await app.httpRequest().get('/health').expect(200)).body.wxToken, 'ok');
    await app.mockContext().models.Auth.deleteMany({}); // ...what the database holds does
    const missing = await app.httpRequest().get('/health').expect(200);
    assert.equal(missing.body.wxToken, 'missing');
    assert.equal(missing.body.status, 'degraded');
  });

  it('a wrong AppSecret shows in /health within one refresh: refresh_failing, errcode 40125, degraded, still 200', async () => {
    await app.runSchedule('token_refresh');
    await app.mockContext().models.Auth.updateOne({}, { $set: { updateTime: new Date(Date.now() - 7000 * 1000) } });
    mm(app.config.wxmp, 'secret', 'wrong-secret-value-123');
    await app.runSchedule('token_refresh');
    const res = await app.httpRequest().get('/health').expect(200);
    assert.equal(res.body.status, 'degraded');
    assert.equal(res.body.wxToken, 'refresh_failing');
    assert.equal(res.body.wxTokenLastFailure.errcode, 40125);
    assert.ok(Date.now() - Date.parse(res.body.wxTokenLastFailure.at) < 10_000);
    mm.restore();
    await new Promise(r => setTimeout(r, app.config.wxmp.tokenFailureCooldownMs));
    await app.runSchedule('token_refresh');
    const recovered = await app.httpRequest().get('/health').expect(200);
    assert.equal(recovered.body.wxToken, 'ok');
    assert.equal(recovered.body.wxTokenLastFailure, null);
  });
});
