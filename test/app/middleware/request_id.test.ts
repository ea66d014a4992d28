import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { app } from 'egg-mock/bootstrap';
import { MiniProgram } from '../../helpers/client';
import { until } from '../../helpers/sandbox';

describe('test/app/middleware/request_id.test.ts', () => {
  it('gives every response an X-Request-Id, keeping a sane client id and replacing a bad one', async () => {
    const fresh = await app.httpRequest().get('/health');
    assert.match(fresh.headers['x-request-id'], /^[0-9a-f-]{36}$/);
    const kept = await app.httpRequest().get('/health').set('x-request-id', 'client-req-12345');
    assert.equal(kept.headers['x-request-id'], 'client-req-12345');
    const replaced = await app.httpRequest().get('/health').set('x-request-id', 'bad id; drop');
    assert.match(replaced.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  });

  it('every answer, errors and unknown paths included, carries no-store and the browser protections', async () => {
    const answers = [
      await app.httpRequest().get('/health'),
      await app.httpRequest().get('/api/v1/mp/account/user/info').expect(401),
      await app.httpRequest().get('/no/such/path').expect(404),
      await app.httpRequest().post('/api/v1/mp/account/user/auth').set('content-type', 'text/plain')
        .send('x')
        .expect(415),
    ];
    for (const res of answers) {
      assert.equal(res.headers['cache-control'], 'no-store', `${res.status}`);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', `${res.status}`);
      assert.equal(res.headers['x-frame-options'], 'DENY', `${res.status}`);
      assert.equal(res.headers['x-download-options'], 'noopen', `${res.status}`);
      assert.equal(res.headers['x-xss-protection'], '0', `${res.status}`);
      assert.equal(res.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'", `${res.status}`);
    }
  });

  it('/favicon.ico is an API 404, not a redirect to eggjs.org; _method does not turn a POST into a DELETE', async () => {
    const icon = await app.httpRequest().get('/favicon.ico').expect(404);
    assert.equal(icon.body.code, 'NOT_FOUND');
    const res = await app.httpRequest().post('/api/v1/mp/account/user?_method=DELETE').set('x-http-method-override', 'DELETE')
      .expect(405);
    assert.equal(res.headers.allow, 'DELETE, OPTIONS');
  });

  it('puts the request id in the log lines of that request', async () => {
    app.mockLog();
    app.mockService('health', 'check', async () => {
      throw new Error('boom for the log');
    });
    await app.httpRequest().get('/health').set('x-request-id', 'trace-me-0001')
      .expect(500);
    app.expectLog(/\[-\/[^/]+\/trace-me-0001\/[\d.]+ms GET \/health\] .*boom for the log/);
  });
});

describe('test/app/middleware/request_id.test.ts: the access log', () => {
  it('one line per request in access.log: time, id, method, path without query, status, duration, uid, address; nothing from bodies or queries', async () => {
    const marker = `q${Date.now()}`;
    const res = await app.httpRequest().post(`/api/v1/mp/account/user/auth?secret=${marker}`).set('x-request-id', 'access-log-test-0001')
      .send({ jscode: `body-${marker}` })
      .expect(400);
    assert.equal(res.headers['x-request-id'], 'access-log-test-0001');
    const file = path.join(app.config.logger.dir as string, 'access.log');
    let line = '';
    const deadline = Date.now() + 5000;
    while (!line && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 200));
      line = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').find(l => l.includes('access-log-test-0001')) ?? '' : '';
    }
    assert.match(line, /^\d{4}-\d\d-\d\dT\S+Z access-log-test-0001 POST \/api\/v1\/mp\/account\/user\/auth 400 \d+\.\dms uid=- ip=\S+$/);
    assert.ok(!fs.readFileSync(file, 'utf8').includes(marker), 'no query string or body');
    // a login that succeeds names the uid it produced
    const { userInfo } = await new MiniProgram(app).login();
    await until(() => fs.readFileSync(file, 'utf8').split('\n').some(l => / POST \/api\/v1\/mp\/account\/user\/auth 200 /.test(l) && l.includes(`uid=${String(userInfo.uid)} `)), 5000, 'the login\'s line');
  });
});
