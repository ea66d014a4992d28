import assert from 'node:assert/strict';
import { app } from 'egg-mock/bootstrap';

describe('test/app/middleware/request_id.test.ts', () => {
  it('gives every response an X-Request-Id, keeping a sane client id and replacing a bad one', async () => {
    const fresh = await app.httpRequest().get('/health');
    assert.match(fresh.headers['x-request-id'], /^[0-9a-f-]{36}$/);
    const kept = await app.httpRequest().get('/health').set('x-request-id', 'client-req-12345');
    assert.equal(kept.headers['x-request-id'], 'client-req-12345');
    const replaced = await app.httpRequest().get('/health').set('x-request-id', 'bad id; drop');
    assert.match(replaced.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  });

  it('puts the request id in the log lines of that request', async () => {
    app.mockLog();
    app.mockService('health', 'check', async () => {
      throw new Error('boom for the log');
    });
    await app.httpRequest().get('/health').set('x-request-id', 'trace-me-0001').expect(500);
    app.expectLog(/\[-\/[^/]+\/trace-me-0001\/[\d.]+ms GET \/health\] .*boom for the log/);
  });
});
