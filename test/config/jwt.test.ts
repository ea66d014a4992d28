import assert from 'node:assert/strict';
import path from 'node:path';
import { app } from 'egg-mock/bootstrap';

function resolvedVersion(fromPackage: string): string {
  const from = path.dirname(require.resolve(`${fromPackage}/package.json`));
  const pkgPath = require.resolve('jsonwebtoken/package.json', { paths: [ from ] });
  return (require(pkgPath) as { version: string }).version;
}

describe('test/config/jwt.test.ts (egg-jwt on jsonwebtoken 9)', () => {
  it('egg-jwt and koa-jwt2 resolve jsonwebtoken 9, not the advisory-laden 8.5', () => {
    for (const pkg of [ 'egg-jwt', 'koa-jwt2' ]) {
      assert.match(resolvedVersion(pkg), /^9\./, `${pkg} uses jsonwebtoken ${resolvedVersion(pkg)}`);
    }
  });

  it('signs HS256 with an expiry and verifies through app.jwt', () => {
    const token = app.jwt.sign({ uid: 'u1' }, app.config.jwt.secret);
    const [ header ] = token.split('.');
    assert.equal(JSON.parse(Buffer.from(header, 'base64url').toString()).alg, 'HS256');
    const payload = app.jwt.verify(token, app.config.jwt.secret) as unknown as { uid: string; exp: number; iat: number };
    assert.equal(payload.uid, 'u1');
    assert.equal(payload.exp - payload.iat, 7 * 24 * 3600, 'JWT_EXPIRES_IN defaults to 7 days');
  });

  it('rejects a token signed with another key and an unsigned (alg none) token', () => {
    const forged = app.jwt.sign({ uid: 'u1' }, 'another-secret-another-secret-123');
    assert.throws(() => app.jwt.verify(forged, app.config.jwt.secret), /invalid signature/);
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ uid: 'u1' })).toString('base64url')}.`;
    assert.throws(() => app.jwt.verify(none, app.config.jwt.secret), /jwt signature is required|invalid algorithm/);
  });
});
