import assert from 'node:assert/strict';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import { restartSandboxMongo, sandboxMongo, stopSandboxMongo } from '../../../sandbox/boot';

describe('test/app/controller/health.test.ts', () => {
  it('GET /health answers 200 with mongo up', async () => {
    await app.runSchedule('token_refresh'); // a token stored: status ok, not degraded
    const res = await app.httpRequest().get('/health').expect(200);
    assert.equal(res.body.status, 'ok');
    assert.equal(res.body.mongo, 'up');
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
