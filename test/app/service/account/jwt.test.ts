import assert from 'node:assert/strict';
import mm from 'egg-mock';
import { app } from 'egg-mock/bootstrap';
import jwt from 'jsonwebtoken';
import { parseTokenTtl } from '../../../../config/config.default';

const CLAIMS = { uid: '6561f0a1b2c3d4e5f6a7b8c9', isWXAuth: false, openId: 'o_jwt_test', mid: null, role: null };

describe('test/app/service/account/jwt.test.ts', () => {
  it('a session token lives exactly JWT_EXPIRES_IN (default 7 days)', () => {
    const token = app.mockContext().service.account.jwt.create(CLAIMS);
    const { iat, exp } = jwt.decode(token) as { iat: number; exp: number };
    assert.equal(exp - iat, 7 * 24 * 3600);
  });

  it('follows a configured lifetime', () => {
    mm(app.config.session, 'tokenTtlSeconds', parseTokenTtl('2h'));
    const ctx = app.mockContext();
    const { iat, exp } = jwt.decode(ctx.service.account.jwt.create(CLAIMS)) as { iat: number; exp: number };
    assert.equal(exp - iat, 7200);
    assert.equal(ctx.service.account.jwt.verify(ctx.service.account.jwt.create(CLAIMS)).uid, CLAIMS.uid);
  });

  it('refuses correctly signed tokens without exp, with a string exp, or living longer than we issue', () => {
    const ctx = app.mockContext();
    const now = Math.floor(Date.now() / 1000);
    const secret = app.config.jwt.secret;
    const cases: [string, string][] = [
      [ 'no exp', jwt.sign(CLAIMS, secret) ],
      [ 'exp in 2500', jwt.sign({ ...CLAIMS, exp: Math.floor(Date.UTC(2500, 0, 1) / 1000) }, secret) ],
      [ 'exp a day past the lifetime', jwt.sign({ ...CLAIMS, exp: now + app.config.session.tokenTtlSeconds + 86_400 }, secret) ],
      [ 'exp 2 minutes past the lifetime (beyond the 60 s clock skew)', jwt.sign({ ...CLAIMS, exp: now + app.config.session.tokenTtlSeconds + 120 }, secret) ],
    ];
    for (const [ label, token ] of cases) {
      assert.throws(() => ctx.service.account.jwt.verify(token), (err: Error & { status?: number; code?: string }) => err.status === 401 && err.code === 'UNAUTHORIZED', label);
    }
    // A token issued now, signed on a host whose clock runs 30 s ahead, is still accepted.
    assert.ok(ctx.service.account.jwt.verify(jwt.sign({ ...CLAIMS, iat: now + 30, exp: now + 30 + app.config.session.tokenTtlSeconds }, secret)));
  });

  it('JWT_PREVIOUS_SECRETS still verify during a rotation; JWT_SECRET signs', () => {
    const ctx = app.mockContext();
    const old = 'the-previous-secret-0123456789abcdef';
    const issuedBefore = jwt.sign(CLAIMS, old, { expiresIn: 3600 });
    assert.throws(() => ctx.service.account.jwt.verify(issuedBefore), /Invalid token/);
    mm(app.config.session, 'previousSecrets', [ old ]);
    assert.equal(ctx.service.account.jwt.verify(issuedBefore).uid, CLAIMS.uid, 'no one is logged out');
    const issuedNow = ctx.service.account.jwt.create(CLAIMS);
    assert.throws(() => jwt.verify(issuedNow, old), /invalid signature/, 'new tokens are signed with JWT_SECRET');
    assert.throws(() => ctx.service.account.jwt.verify(jwt.sign(CLAIMS, 'some-other-secret-0123456789abcdef', { expiresIn: 60 })), /Invalid token/);
  });

  it('JWT_EXPIRES_IN accepts seconds and s/m/h/d/w spans, nothing else', () => {
    assert.equal(parseTokenTtl('3600'), 3600);
    assert.equal(parseTokenTtl('30m'), 1800);
    assert.equal(parseTokenTtl('7d'), 604_800);
    assert.equal(parseTokenTtl('2w'), 1_209_600);
    for (const bad of [ '0', '7 days', '-1h', '1.5h', 'forever', '' ]) assert.throws(() => parseTokenTtl(bad), /JWT_EXPIRES_IN/, bad);
  });
});
