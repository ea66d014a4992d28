import assert from 'node:assert/strict';
import { app } from 'egg-mock/bootstrap';
import { MiniProgram } from '../../helpers/client';

const SESSION = '/api/v1/mp/account/session';

describe('test/app/middleware/jwt_auth.test.ts', () => {
  after(() => app.mockContext().models.Account.User.deleteMany({}));

  it('the Bearer scheme is case-insensitive (RFC 7235)', async () => {
    const { token } = await new MiniProgram(app).login();
    for (const scheme of [ 'Bearer', 'bearer', 'BEARER', 'bEaReR' ]) {
      await app.httpRequest().get(SESSION).set('authorization', `${scheme} ${token}`)
        .expect(200);
    }
  });

  it('tells a missing token from an invalid one', async () => {
    const missing = await app.httpRequest().get(SESSION).expect(401);
    assert.match(missing.body.message, /^Missing bearer token/);
    for (const header of [ 'Bearer abc', 'Bearer a.b', 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a.b.c extra' ]) {
      const res = await app.httpRequest().get(SESSION).set('authorization', header)
        .expect(401);
      assert.equal(res.body.code, 'UNAUTHORIZED', header);
      assert.match(res.body.message, /^Invalid/, header);
    }
  });
});
