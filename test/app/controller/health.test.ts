import assert from 'node:assert/strict';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { restartSandboxMongo, sandboxMongo, stopSandboxMongo } from '../../../sandbox/boot';
import { MiniProgram } from '../../helpers/client';
import { until } from '../../helpers/sandbox';

describe('test/app/controller/health.test.ts', () => {
  it('GET /health answers 200 with mongo up', async () => {
    await app.runSchedule('token_refresh'); // a token stored: status ok, not degraded
    const res = await app.httpRequest().get('/health').expect(200);
    assert.equal(res.body.status, 'ok');
    assert.equal(res.body.mongo, 'up');
  });

  it('a wrong AppSecret met by a login turns /health degraded (wxSecret rejected) while the stored token is still valid; a login that succeeds again clears it', async () => {
    await app.runSchedule('token_refresh');
    const mp = new MiniProgram(app);
    mm(app.config.wxmp, 'secret', 'wrong-secret-value-123');
    const refused = await app.httpRequest().post('/api/v1/mp/account/user/auth').send({ jscode: mp.loginCode() });
    assert.equal(refused.status, 502, refused.text);
    await until(async () => (await app.httpRequest().get('/health')).body.wxSecret === 'rejected', 3000, 'the refusal to be recorded');
    const degraded = await app.httpRequest().get('/health').expect(200);
    assert.deepEqual([ degraded.body.status, degraded.body.wxToken, degraded.body.wxSecret ], [ 'degraded', 'ok', 'rejected' ]);
    mm.restore();
    await mp.login();
    await until(async () => (await app.httpRequest().get('/health')).body.wxSecret === 'ok', 3000, 'the acceptance to be recorded');
    assert.equal((await app.httpRequest().get('/health').expect(200)).body.status, 'ok');
  });

  it('says whether avatar uploads are configured (PUBLIC_BASE_URL)', async () => {
    mm(app.config.avatar, 'publicBaseUrl', '');
    assert.equal((await app.httpRequest().get('/health').expect(200)).body.avatars, 'not_configured');
    mm(app.config.avatar, 'publicBaseUrl', 'https://api.example.com');
    assert.equal((await app.httpRequest().get('/health').expect(200)).body.avatars, 'ok');
  });

  it('answers 503 fast while the database is down, then 200 once it is back', async function() {
    this.timeout(20_000);
    assert.ok(sandboxMongo(), 'the test run uses the sandbox database');
    await stopSandboxMongo();
    try {
      const started = Date.now();
      const down = await app.httpRequest().get('/health').expect(503);
      const took = Date.now() - started;
      assert.equal(down.body.mongo, 'down');
      assert.ok(took < app.config.health.timeoutMs + 500, `answered in ${took} ms`);
    } finally {
      await restartSandboxMongo();
    }
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await app.httpRequest().get('/health')).status;
      if (status === 200) break;
      await new Promise(r => setTimeout(r, 200));
    }
    assert.equal(status, 200, 'recovers after the database returns');
  });
});
