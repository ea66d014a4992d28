import assert from 'node:assert/strict';
import { app } from 'egg-mock/bootstrap';
import { BadRequestError } from '../../../app/lib/errors';
import { toApiError } from '../../../app/middleware/error_handler';

describe('test/app/middleware/error_handler.test.ts', () => {
  it('answers unknown routes with a JSON 404', async () => {
    const res = await app.httpRequest().get('/no/such/route').expect(404);
    assert.match(res.headers['content-type'], /application\/json/);
    assert.deepEqual(res.body, { code: 'NOT_FOUND', message: 'No route for GET /no/such/route' });
  });

  it('answers malformed JSON bodies with a JSON 400, not a 500', async () => {
    const res = await app.httpRequest().post('/health').set('content-type', 'application/json')
      .send('{"a":')
      .expect(400);
    assert.equal(res.body.code, 'INVALID_BODY');
  });

  it('a body with a __proto__ key is refused as such (it is valid JSON), and nothing else is polluted', async () => {
    const res = await app.httpRequest().post('/health').set('content-type', 'application/json')
      .send('{"nickName":"x","__proto__":{"polluted":1}}')
      .expect(400);
    assert.deepEqual(res.body, { code: 'INVALID_BODY', message: 'Request body must not contain a "__proto__" or "constructor" key with a prototype' });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('answers oversize bodies with 413', async () => {
    const res = await app.httpRequest().post('/health').set('content-type', 'application/json')
      .send(JSON.stringify({ a: 'x'.repeat(100 * 1024) }))
      .expect(413);
    assert.equal(res.body.code, 'PAYLOAD_TOO_LARGE');
  });

  it('maps typed, database and unknown errors to their status and a stable code', () => {
    assert.deepEqual({ ...toApiError(new BadRequestError('bad jscode')) }, { status: 400, code: 'INVALID_PARAM', name: 'ApiError' });
    const dbDown = Object.assign(new Error('Server selection timed out'), { name: 'MongooseServerSelectionError' });
    assert.equal(toApiError(dbDown).status, 503);
    assert.equal(toApiError(new Error('Operation `users.findOne()` buffering timed out after 3000ms')).code, 'DB_UNAVAILABLE');
    const unknown = toApiError(new TypeError('cannot read x of undefined'));
    assert.equal(unknown.status, 500);
    assert.equal(unknown.message, 'Internal server error', 'no internals leak to the client');
  });

  it('answers an unexpected exception with a generic 500 and logs the cause', async () => {
    app.mockLog();
    app.mockService('health', 'check', async () => {
      throw new TypeError('health check exploded');
    });
    const res = await app.httpRequest().get('/health').expect(500);
    assert.deepEqual(res.body, { code: 'INTERNAL_ERROR', message: 'Internal server error' });
    app.expectLog('health check exploded');
  });
});

describe('test/app/middleware/error_handler.test.ts: HTTP details', () => {
  const AUTH = '/api/v1/mp/account/user/auth';

  it('a known path with another method is 405 METHOD_NOT_ALLOWED with Allow; OPTIONS is 204 with Allow', async () => {
    for (const method of [ 'put', 'delete', 'patch' ] as const) {
      const res = await app.httpRequest()[method](AUTH).expect(405);
      assert.equal(res.body.code, 'METHOD_NOT_ALLOWED', method);
      assert.equal(res.headers.allow, 'POST, OPTIONS');
    }
    const info = await app.httpRequest().post('/api/v1/mp/account/user/info').expect(405);
    assert.equal(info.headers.allow, 'HEAD, GET, OPTIONS');
    const options = await app.httpRequest().options(AUTH).expect(204);
    assert.equal(options.headers.allow, 'POST, OPTIONS');
    await app.httpRequest().put('/no/such/path').expect(404);
  });

  it('TRACE is 405 METHOD_NOT_ALLOWED, not INVALID_BODY', async () => {
    const res = await app.httpRequest().trace(AUTH).expect(405);
    assert.equal(res.body.code, 'METHOD_NOT_ALLOWED');
  });

  it('messages are written for the API\'s users (413 names the limit, not egg\'s config)', async () => {
    const res = await app.httpRequest().post(AUTH).set('content-type', 'application/json')
      .send(JSON.stringify({ jscode: 'x'.repeat(70 * 1024) }))
      .expect(413);
    assert.equal(res.body.message, 'Request body is too large (JSON: at most 64 KiB; a message push: 16 KiB)');
  });

  it('every response is Cache-Control: no-store and carries no x-readtime', async () => {
    for (const res of [ await app.httpRequest().get('/health'), await app.httpRequest().post(AUTH).send({}), await app.httpRequest().get('/nope') ]) {
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['x-readtime'], undefined);
    }
  });
});
