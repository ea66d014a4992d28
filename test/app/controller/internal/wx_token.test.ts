import assert from 'node:assert/strict';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { listen } from '../../../helpers/client';
import { resetTokens, wechat } from '../../../helpers/sandbox';

const TOKEN = '/api/v1/internal/wx/access_token';
const REFRESH = '/api/v1/internal/wx/access_token/refresh';
const KEY = 'k'.repeat(20) + 'internal-key-0123456789';

describe('test/app/controller/internal/wx_token.test.ts (the central access_token service)', () => {
  beforeEach(async () => {
    await resetTokens(app);
    mm(app.config.internal, 'keys', [{ name: 'order-service', key: KEY }, { name: 'pay-service', key: 'p'.repeat(40) }]);
  });
  after(() => resetTokens(app));

  const get = (key?: string) => {
    const req = app.httpRequest().get(TOKEN);
    return key ? req.set('authorization', `Bearer ${key}`) : req;
  };

  it('404 when no key is configured', async () => {
    mm(app.config.internal, 'keys', []);
    await get(KEY).expect(404);
    await app.httpRequest().post(REFRESH).send({ access_token: 'x' })
      .expect(404);
  });

  it('401 for a missing or wrong key; the key is never logged, the caller\'s name is', async () => {
    app.mockLog();
    assert.equal((await get().expect(401)).body.code, 'UNAUTHORIZED');
    await get('wrong-key-wrong-key-wrong-key-wrong').expect(401);
    await get(KEY.slice(0, -1)).expect(401);
    await get(KEY).expect(200);
    app.expectLog(/order-service read the access_token/);
    app.notExpectLog(KEY);
  });

  it('answers a usable token with expires_in and expires_at, never cached', async () => {
    const res = await get(KEY).expect(200);
    assert.ok(wechat().isValidToken(res.body.access_token));
    assert.ok(res.body.expires_in > 60 && res.body.expires_in <= 7200, String(res.body.expires_in));
    assert.ok(Math.abs(res.body.expires_at - (Date.now() / 1000 + res.body.expires_in)) <= 2);
    assert.equal(res.headers['cache-control'], 'no-store');
    // Inside its last minute a token is never handed out: a fresh one is.
    await app.mockContext().models.Auth.updateOne({}, { $set: { updateTime: new Date(Date.now() - 7150 * 1000) } });
    app.wxToken = undefined;
    const fresh = await get(KEY).expect(200);
    assert.notEqual(fresh.body.access_token, res.body.access_token);
    assert.ok(fresh.body.expires_in > 7000);
  });

  it('20 concurrent reports of a stale token: the current one, no upstream call', async () => {
    const current = (await get(KEY).expect(200)).body.access_token as string;
    wechat().resetCounts();
    const server = await listen(app);
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${server.url}${REFRESH}`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify({ access_token: 'AT_long_superseded' }),
      }).then(r => r.json() as Promise<{ access_token: string }>)));
      assert.deepEqual(new Set(answers.map(a => a.access_token)), new Set([ current ]));
    } finally {
      await server.close();
    }
    assert.equal(wechat().count('/cgi-bin/token'), 0);
  });

  /** Makes the stored token look fetched `seconds` ago (forced refreshes leave a young token alone). */
  const age = (seconds: number) => app.mockContext().models.Auth.updateMany({}, { $set: { updateTime: new Date(Date.now() - seconds * 1000) } });
  const report = (token: string) => app.httpRequest().post(REFRESH).set('authorization', `Bearer ${KEY}`)
    .send({ access_token: token })
    .expect(200)
    .then(res => res.body.access_token as string);

  it('20 concurrent reports of the current token: one refresh, everyone gets the new token', async () => {
    const current = (await get(KEY).expect(200)).body.access_token as string;
    await age(120);
    wechat().resetCounts();
    const server = await listen(app);
    let answers: { access_token: string }[];
    try {
      answers = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${server.url}${REFRESH}`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${i % 2 ? KEY : 'p'.repeat(40)}` }, body: JSON.stringify({ access_token: current }),
      }).then(r => r.json() as Promise<{ access_token: string }>)));
    } finally {
      await server.close();
    }
    assert.equal(wechat().count('/cgi-bin/token'), 1, 'one upstream call');
    const tokens = new Set(answers.map(a => a.access_token));
    assert.equal(tokens.size, 1);
    const [ fresh ] = [ ...tokens ];
    assert.notEqual(fresh, current);
    assert.ok(wechat().isValidToken(fresh));
    assert.equal(app.wxToken, fresh);
  });

  it('a malformed report is 400', async () => {
    const res = await app.httpRequest().post(REFRESH).set('authorization', `Bearer ${KEY}`)
      .send({ access_token: { $ne: 1 } })
      .expect(400);
    assert.equal(res.body.code, 'INVALID_PARAM');
  });

  it('the token just fetched reported as rejected: answered as it is, no upstream call (forcedRefreshMinAgeSeconds, default 60)', async () => {
    assert.equal(app.config.wxmp.forcedRefreshMinAgeSeconds, 60);
    let token = (await get(KEY).expect(200)).body.access_token as string;
    wechat().resetCounts();
    app.mockLog();
    // a caller looping on "rejected", each time with the token it was just given
    for (let i = 0; i < 100; i++) token = await report(token);
    assert.equal(wechat().count('/cgi-bin/token'), 0, 'no upstream call');
    app.expectLog(/forced refreshes are limited/);
    await age(59);
    assert.equal(await report(token), token, 'still young at 59 s');
    await age(61);
    assert.notEqual(await report(token), token, 'refreshed once it is older');
    assert.equal(wechat().count('/cgi-bin/token'), 1);
    const metrics = await app.httpRequest().get('/metrics').set('authorization', `Bearer ${KEY}`)
      .expect(200);
    assert.match(metrics.text, /wxmp_access_token_forced_refreshes_total\{appid="\w+",outcome="limited"[^}]*\} ([1-9]\d+)/);
  });

  it('at most one forced refresh per forcedRefreshIntervalSeconds (default 60), across processes: older tokens reported in a loop', async () => {
    assert.equal(app.config.wxmp.forcedRefreshIntervalSeconds, 60);
    let token = (await get(KEY).expect(200)).body.access_token as string;
    wechat().resetCounts();
    for (let i = 0; i < 20; i++) {
      await age(120); // every token old enough, so only the interval can hold the loop
      token = await report(token);
    }
    assert.equal(wechat().count('/cgi-bin/token'), 1, 'one upstream call in the interval');
    // the interval is a lease in MongoDB: another process sees it too
    const lease = await app.mockContext().models.TokenLease.findById(`forced:1:${app.config.wxmp.appid}`).lean();
    assert.ok(lease && lease.expiresAt.getTime() > Date.now() + 50_000, 'the interval is recorded where every process reads it');
  });
});
